"""Palette panel: a view of the shared PaletteDocument (so the Sketch panel's brushes follow it).

Palettes from a mood, the lyric, an image, the sketch or a harmony rule; lock and regenerate, edit
and reorder swatches, check contrast and colour blindness, recent palettes and favourites, import
and export. Every change goes through the document, which makes it one undo step.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QKeySequence, QResizeEvent, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QColorDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QScrollArea,
    QSizePolicy,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from atelier.core.color.formats import PaletteFile, export_file, import_file, palette_record
from atelier.core.color.names import nearest_name, nearest_names
from atelier.core.documents.palette import SKETCH_LABEL, PaletteSource, normalise_hex
from atelier.core.errors import AtelierError, InputFileError, InvalidRequestError
from atelier.core.job_handle import JobHandle
from atelier.core.jobs import Job
from atelier.core.picture_io import read_picture
from atelier.core.progress import Progress
from atelier.core.requests import Request, Result
from atelier.core.requests.palette import HarmonyRequest, PaletteResult
from atelier.core.settings import export_folder
from atelier.ui.context import AppContext
from atelier.ui.dialogs.export_choice import ask_export_path
from atelier.ui.errors import show_error
from atelier.ui.panels.base import Panel
from atelier.ui.widgets.document_binding import FieldBinder
from atelier.ui.widgets.lyric_controls import UndoButtons
from atelier.ui.widgets.palette_checks import ColourBlindWidget, ContrastMatrixWidget, RolesWidget
from atelier.ui.widgets.palette_history import PaletteHistoryWidget
from atelier.ui.widgets.palette_toolbar import FORMAT_LABELS, PaletteActionsWidget, PaletteSourcesWidget
from atelier.ui.widgets.swatch_strip import SwatchStripWidget

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.bmp *.tif *.tiff)"
IMPORT_FILTER = "Palettes (*.gpl *.ase *.aco *.json)"
# The picture an image or sketch palette came from, saved beside the session so Regenerate still
# works on it after a restart.
PICTURE_FILE = "palette-source.png"
BUSY_TEXT = "Making the palette…"
HINT = "Click a swatch to edit it, drag to reorder, lock the ones to keep."
SOURCE_REGENERATES = ("text", "lyric", "image", "sketch", "harmony")  # sources Regenerate can ask again
STRIP_SHORTEST = 120  # one row of swatches with its names: the strip scrolls below this


class PalettePanel(Panel):
    title = "Palette"

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.doc = context.palette
        self._drawn: tuple[Any, ...] | None = None  # the swatches last drawn (redraws skip when equal)
        self._detail: tuple[list[str], str] = ([], "")  # a result's note, shown while its colours are current
        self._saved_picture: tuple[np.ndarray, Path] | None = None  # the source picture last written, and where
        self._open_folder = ""  # where the last picture or palette was opened from: the next dialog starts there
        setters: dict[str, Callable[[Any], None]] = {
            "text": self.doc.set_text, "count": self.doc.set_count, "mode": self.doc.set_mode,
            "around_locks": self.doc.set_around_locks, "regenerate": self.doc.set_regenerate_mode,
            "temperature": self.doc.set_temperature,
        }  # fmt: skip
        self.binder = FieldBinder(lambda name, value: setters[name](value), self.doc.undo_stack.break_merge)
        self.undo_redo = UndoButtons(self, self.doc.undo_stack)
        self.source_bar = PaletteSourcesWidget(self.binder)
        self.action_bar = PaletteActionsWidget(self.binder, (self.undo_redo.undo_button, self.undo_redo.redo_button))
        layout = QVBoxLayout(self)
        layout.addWidget(self.source_bar)
        layout.addWidget(self.action_bar)
        layout.addWidget(self._build_strip())
        layout.addLayout(self._build_status_row())
        layout.addWidget(self._build_checks(), 1)
        self.undo_redo.take_keys_from([self.action_bar.count, self.action_bar.temperature])
        self.space = QShortcut(QKeySequence(Qt.Key.Key_Space), self)
        self.space.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.space.activated.connect(self.regenerate)
        self._connect()
        self._redraw()

    def _build_strip(self) -> QScrollArea:
        self.strip = SwatchStripWidget()
        self.strip_scroll = QScrollArea()
        self.strip_scroll.setWidgetResizable(True)
        self.strip_scroll.setWidget(self.strip)
        self.strip_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        return self.strip_scroll

    def _build_status_row(self) -> QHBoxLayout:
        self.status = QLabel()
        self.status.setObjectName("palette-status")
        # Wrapped in the room the panel has: a long note (the hint plus what Regenerate does) widened the
        # window past a laptop's screen.
        self.status.setWordWrap(True)
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setMaximumWidth(140)
        self.progress.setVisible(False)
        row = QHBoxLayout()
        row.addWidget(self.status, 1)
        row.addWidget(self.progress)
        return row

    def _build_checks(self) -> QTabWidget:
        self.contrast = ContrastMatrixWidget()
        self.roles = RolesWidget()
        self.colour_blind = ColourBlindWidget()
        self.history = PaletteHistoryWidget()
        self.checks = QTabWidget()
        self.checks.addTab(self.contrast, "Contrast (WCAG)")
        self.checks.addTab(self.roles, "Roles")
        self.checks.addTab(self.colour_blind, "Colour blindness")
        self.checks.addTab(self.history, "History && favourites")
        return self.checks

    def _connect(self) -> None:
        for signal, slot in (
            (self.source_bar.text_requested, self.from_text),
            (self.source_bar.lyric_requested, self.from_lyric),
            (self.source_bar.image_requested, self.open_image),
            (self.source_bar.sketch_requested, self.from_sketch),
            (self.action_bar.base_requested, self.choose_base),
            (self.action_bar.harmony_requested, self.from_harmony),
            (self.action_bar.regenerate_requested, self.regenerate),
            (self.action_bar.favourite_requested, self.doc.toggle_favourite),
            (self.action_bar.import_requested, self.import_dialog),
            (self.action_bar.export_requested, self.export_dialog),
            (self.strip.edit_requested, self.edit_swatch),
            (self.strip.hex_entered, self._hex_entered),
            (self.strip.lock_toggled, self.doc.set_locked),
            (self.strip.moved, self.doc.move),
            (self.history.chosen, self.doc.load),
            (self.doc.state_changed, self._redraw),
        ):
            signal.connect(slot)

    # -- the view -----------------------------------------------------------------------------
    def display_names(self) -> list[str]:
        names = self.doc.names
        missing = [i for i, n in enumerate(names) if not n]
        if missing:
            for i, name in zip(missing, nearest_names([self.doc.colors[i] for i in missing]), strict=True):
                names[i] = name
        return names

    def _redraw(self) -> None:
        doc = self.doc
        self.binder.show_all({
            "text": doc.text, "count": doc.count, "mode": doc.mode, "around_locks": doc.around_locks,
            "regenerate": doc.regenerate_mode, "temperature": doc.temperature,
        })  # fmt: skip
        self.action_bar.show_base(doc.base)
        self.action_bar.show_regenerate_mode(doc.regenerate_mode)
        self.action_bar.show_favourite(doc.is_favourite())
        drawn = (doc.colors, doc.names, doc.locks, doc.recent, doc.favourites)
        if drawn != self._drawn:  # typing or a setting leaves the swatches and checks as they are
            self._drawn = drawn
            self._draw_swatches_and_checks()
        self._show_status()

    def _draw_swatches_and_checks(self) -> None:
        colors, names = self.doc.colors, self.display_names()
        self.strip.set_palette(colors, names, self.doc.locks)
        # New swatches count in the layout only once shown, after this event; measure then.
        QTimer.singleShot(0, self, self._fit_strip)
        self.contrast.set_colors(colors)
        self.roles.set_colors(colors)
        self.colour_blind.set_colors(colors, names)
        self.history.set_history(self.doc.recent, self.doc.favourites)
        self.checks.setTabText(1, "Roles ⚠" if self.roles.warnings else "Roles")
        self.checks.setTabText(2, "Colour blindness ⚠" if self.colour_blind.warnings else "Colour blindness")

    def _show_status(self) -> None:
        waiting = len(self.jobs.pending())
        self.progress.setVisible(bool(waiting))
        if waiting:
            self.status.setText(BUSY_TEXT if waiting == 1 else f"Making {waiting} palettes…")
            return
        warnings = self.roles.warnings + self.colour_blind.warnings
        source = self.doc.source
        text = source.describe() or HINT
        if self.doc.colors and (self.doc.regenerate_mode == "model" or source.kind in SOURCE_REGENERATES):
            text += " Space regenerates the unlocked swatches."
        detail_colors, detail = self._detail
        if detail and detail_colors == self.doc.colors:  # what the words matched, while that palette is shown
            self.status.setText(f"{text} {detail.rstrip('.')}.")  # a note may end a sentence of its own
        else:  # the checks' tabs carry a ⚠ too, so a warning is never only here
            self.status.setText(warnings[0] if warnings else text)

    def _fit_strip(self) -> None:
        """As tall as the wrapped swatches need (up to three rows), so the checks get the rest; on a short
        screen it may shrink to one row and scroll (a fixed height made the window 815 px tall, more than
        a 1366x768 laptop shows)."""
        width = max(200, self.strip_scroll.viewport().width())
        needed = self.strip.flow.heightForWidth(width) if self.strip.swatches else 60
        tallest = min(max(needed, 60) + 6, 560)
        self.strip_scroll.setMinimumHeight(min(tallest, STRIP_SHORTEST))
        self.strip_scroll.setMaximumHeight(tallest)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_strip()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        # Fitted while the tab was hidden, the strip measured a width it does not have; measure again
        # once the shown tab is laid out.
        QTimer.singleShot(0, self, self._fit_strip)

    # -- making palettes ----------------------------------------------------------------------
    def ask(self, source: PaletteSource | None = None, seed: int | None = None) -> Job | None:
        """Queue the document's request for `source` (default: the palette's own source)."""
        try:
            request = self.doc.to_request(source, seed)
        except AtelierError as exc:
            show_error(self, exc)
            return None
        return self._queue(request)

    def _queue(self, request: Request) -> Job:
        handle = JobHandle(self._finished, self._failed, self._cancelled, self._progress)
        job = self.submit(request, handle)
        self._show_status()
        return job

    def from_text(self) -> Job | None:
        text = self.doc.text.strip()
        if not text:
            show_error(self, InvalidRequestError("Type a mood or scene first, e.g. “autumn forest”."))
            return None
        return self.ask(PaletteSource("text", text=text))

    def from_lyric(self) -> Job | None:
        text = self.context.lyric.text.strip()
        if not text:
            show_error(self, InvalidRequestError("The Lyric panel has no words yet; write some lines first."))
            return None
        return self.ask(PaletteSource("lyric", text=text))

    def open_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Palette from image", self._start_folder(), IMAGE_FILTER)
        if path:
            self._open_folder = str(Path(path).parent)
            try:
                self.from_image(read_picture(path), Path(path).name)
            except AtelierError as exc:
                show_error(self, exc)

    def from_image(self, image: np.ndarray, label: str) -> Job | None:
        return self.ask(PaletteSource.picture(image, label))

    def from_sketch(self) -> Job | None:
        image = self.context.sketch_picture()
        if not isinstance(image, np.ndarray):
            show_error(self, InvalidRequestError("The Sketch panel has no picture yet; open or draw one first."))
            return None
        return self.from_image(image, SKETCH_LABEL)

    def from_harmony(self) -> Job | None:
        """A palette from the harmony rule; it ignores the locks unless *Around locks* is ticked."""
        return self._queue(self.doc.harmony_request())

    def regenerate(self) -> Job | None:
        """New colours for the unlocked swatches: from the palette model (the default), or the palette's
        own request with a new seed."""
        try:
            request = self.doc.regenerate_request()
        except AtelierError as exc:
            show_error(self, exc)
            return None
        return self._queue(request)

    def choose_base(self) -> None:
        color = QColorDialog.getColor(QColor(self.doc.base), self, "Base colour")
        if color.isValid():
            self.doc.set_base(color.name())

    def _progress(self, job: Job, progress: Progress) -> None:
        if progress.message:
            self.status.setText(progress.message)

    def _finished(self, job: Job, result: Result) -> None:
        if job.cancel_token.cancelled:  # asked to stop (by a project switch too) but it finished first
            self._show_status()
            return
        request = job.request
        if isinstance(result, PaletteResult):
            detail = result.detail
            if isinstance(request, HarmonyRequest) and not request.locked and self.doc.locked_slots():
                detail = "Locks ignored: the rule made a fresh palette (tick “Around locks” to keep them)"
            self._detail = (list(result.colors), detail)
        self.doc.apply_result(request, result)
        self._show_status()

    def _failed(self, job: Job, error: AtelierError) -> None:
        self._show_status()
        self.show_failure(job, error)

    def _cancelled(self, job: Job) -> None:
        self._show_status()

    # -- editing ------------------------------------------------------------------------------
    def edit_swatch(self, index: int) -> None:
        color = QColorDialog.getColor(QColor(self.doc.colors[index]), self, f"Swatch {index + 1}")
        if color.isValid() and color.name() != self.doc.colors[index]:
            self.doc.set_color(index, color.name(), nearest_name(color.name()))

    def _hex_entered(self, index: int, text: str) -> None:
        try:
            color = normalise_hex(text)
        except InvalidRequestError as exc:
            show_error(self, exc)
            self._drawn = None  # put the swatch's own hex back in its field
            self._redraw()
            return
        self.doc.set_color(index, color, nearest_name(color))

    # -- files --------------------------------------------------------------------------------
    def import_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import palette", self._start_folder(), IMPORT_FILTER)
        if path:
            self._open_folder = str(Path(path).parent)
            self.import_path(path)

    def _start_folder(self) -> str:
        """Where the last file was opened from, else the Output or Pictures folder; never the folder
        Atelier happened to be started from (the walkthrough's dialog offered the source checkout)."""
        return self._open_folder or str(export_folder(self.context.settings))

    def import_path(self, path: str) -> bool:
        try:
            loaded = import_file(path)
        except AtelierError as exc:
            show_error(self, exc)  # the palette is unchanged: the file is read fully before it is used
            return False
        names = [n or nearest_name(c) for c, n in zip(loaded.colors, loaded.names, strict=False)]
        source = PaletteSource("import", label=Path(path).name)
        self.doc.set_colors(list(loaded.colors), names, source=source, text="Import palette")
        return True

    def export_dialog(self, fmt: str) -> None:
        suggested = str(export_folder(self.context.settings) / f"palette.{fmt}")
        label = FORMAT_LABELS[fmt].rsplit(" (", 1)[0]
        answer = ask_export_path(self, "Export palette", suggested, [(label, f"*.{fmt}")])
        if answer:
            path = str(answer[0])
            self.export_path(path if path.lower().endswith(f".{fmt}") else f"{path}.{fmt}", metadata=answer[1])

    def export_path(self, path: str, metadata: bool = True) -> bool:
        """Write the palette; with `metadata`, a record of what made it where the format has room."""
        source = self.doc.source
        title = (source.text or source.label or "Atelier palette").split("\n")[0]
        made = source.kind in ("text", "lyric", "image", "sketch", "harmony", "model")
        record = palette_record(source.kind, source.text, self.doc.seed) if metadata and made else None
        try:
            written = export_file(
                PaletteFile(tuple(self.doc.colors), tuple(self.display_names()), title[:80]),
                path,
                source.kind,
                record,
            )
        except AtelierError as exc:
            show_error(self, exc)
            return False
        self.status.setText(f"Exported {written}")
        return True

    # -- history and session -------------------------------------------------------------------
    def recall(self, request: Request) -> bool:
        return self.doc.apply_request(request)

    def show_result(self, request: Request, result: Result) -> bool:
        if isinstance(result, PaletteResult):
            self._detail = (list(result.colors), result.detail)
        return self.doc.apply_result(request, result, "Put back palette")

    def save_state(self) -> dict[str, Any]:
        state = {**self.doc.to_dict(), "view": {"tab": self.checks.currentIndex()}}
        image = self.doc.source.image
        if image is not None:
            path = self.context.session.side_file(PICTURE_FILE)
            # The rest of the session still saves if this fails; the next autosave retries.
            if self._saved_picture is None or self._saved_picture[0] is not image or self._saved_picture[1] != path:
                with contextlib.suppress(OSError, ValueError, TypeError):
                    buffer = io.BytesIO()
                    picture = image[:, :, 0] if image.ndim == 3 and image.shape[2] == 1 else image
                    Image.fromarray(picture).save(buffer, format="PNG")
                    self.context.session.write_side_file(PICTURE_FILE, buffer.getvalue())  # atomic: never half a file
                    self._saved_picture = (image, path)
            state["picture"] = PICTURE_FILE
        return state

    def restore_state(self, state: dict[str, Any]) -> None:
        """Replace the document with a saved one; palettes still being made belong to the project being
        closed, so their jobs are cancelled."""
        for job_id in self.jobs.pending():
            self.context.runner.cancel(job_id)
        image = None
        if state.get("picture") == PICTURE_FILE:
            path = self.context.session.side_file(PICTURE_FILE)
            with contextlib.suppress(InputFileError):  # a missing picture only stops Regenerate, with a message
                image = read_picture(path)
        self.doc.restore(state, image)
        self._saved_picture = (image, self.context.session.side_file(PICTURE_FILE)) if image is not None else None
        view = state.get("view")
        if isinstance(view, dict) and isinstance(view.get("tab"), int):
            self.checks.setCurrentIndex(view["tab"])

    def close_panel(self) -> None:
        self.doc.state_changed.disconnect(self._redraw)
        self.undo_redo.close()
        super().close_panel()
