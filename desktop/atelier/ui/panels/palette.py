"""Palette panel: palettes from a mood, the lyric, an image, the sketch or a harmony rule; lock and
regenerate, edit and reorder swatches, check contrast and colour blindness, keep history and favourites,
import and export. The palette is the shared PaletteDocument, so the Sketch panel's brushes follow it.
"""

from __future__ import annotations

import contextlib
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QKeySequence, QResizeEvent, QShortcut
from PySide6.QtWidgets import (
    QColorDialog,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from atelier.core.color.formats import EXPORT_FORMATS, PaletteFile, export_file, import_file
from atelier.core.color.harmony import HARMONY_MODES
from atelier.core.color.names import nearest_name, nearest_names
from atelier.core.documents.palette import PaletteSnapshot, normalise_hex
from atelier.core.errors import AtelierError, InvalidRequestError
from atelier.core.jobs import Job
from atelier.core.picture_io import read_picture
from atelier.core.progress import Progress
from atelier.core.requests import Request, Result
from atelier.core.requests.palette import (
    MAX_COUNT,
    MIN_COUNT,
    HarmonyRequest,
    PaletteFromImageRequest,
    PaletteFromTextRequest,
    PaletteResult,
)
from atelier.ui.context import AppContext
from atelier.ui.errors import show_error
from atelier.ui.panels.base import Panel
from atelier.ui.widgets.palette_checks import ColourBlindWidget, ContrastMatrixWidget, RolesWidget
from atelier.ui.widgets.palette_history import PaletteHistoryWidget
from atelier.ui.widgets.swatch_strip import SwatchStripWidget, ink_for

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.bmp *.tif *.tiff)"
IMPORT_FILTER = "Palettes (*.gpl *.ase *.aco *.json)"
FORMAT_LABELS = {
    "gpl": "GIMP / Krita / Inkscape (.gpl)",
    "ase": "Adobe swatch exchange (.ase)",
    "aco": "Photoshop swatches (.aco)",
    "css": "CSS custom properties (.css)",
    "json": "JSON (.json)",
    "png": "PNG swatch strip (.png)",
}


class PalettePanel(Panel):
    title = "Palette"

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.doc = context.palette
        self._seed = 0
        self._image: np.ndarray | None = None
        self._image_label = ""
        self.base_color = self.doc.colors[0] if self.doc.colors else "#336699"

        # -- sources -------------------------------------------------------------------------
        self.text = QLineEdit()
        self.text.setPlaceholderText("Describe a mood or scene, e.g. “stormy sea at dusk”")
        self.text.setClearButtonEnabled(True)
        self.text.returnPressed.connect(self.from_text)
        self.text_button = QPushButton("Palette from text")
        self.text_button.setDefault(True)
        self.text_button.clicked.connect(self.from_text)
        self.lyric_button = QPushButton("From lyric")
        self.lyric_button.setToolTip("A palette from the Lyric panel's words (each line's mood)")
        self.lyric_button.clicked.connect(self.from_lyric)
        self.image_button = QPushButton("From image…")
        self.image_button.clicked.connect(self.open_image)
        self.sketch_button = QPushButton("From sketch")
        self.sketch_button.setToolTip("The dominant colours of the Sketch panel's picture")
        self.sketch_button.clicked.connect(self.from_sketch)
        self.count = QSpinBox()
        self.count.setRange(MIN_COUNT, MAX_COUNT)
        self.count.setValue(min(MAX_COUNT, max(MIN_COUNT, len(self.doc.colors) or 5)))
        self.count.setPrefix("Colours: ")
        sources = QHBoxLayout()
        sources.addWidget(self.text, 1)
        sources.addWidget(self.text_button)
        sources.addWidget(self.lyric_button)
        sources.addWidget(self.image_button)
        sources.addWidget(self.sketch_button)

        self.base_button = QToolButton()
        self.base_button.setToolTip("Base colour for the harmony")
        self.base_button.clicked.connect(self.choose_base)
        self.mode = QComboBox()
        for mode in HARMONY_MODES:
            self.mode.addItem(mode.replace("-", " ").capitalize(), mode)
        self.harmony_button = QPushButton("Harmony")
        self.harmony_button.clicked.connect(self.from_harmony)
        self.regenerate_button = QPushButton("⟳ Regenerate")
        self.regenerate_button.setToolTip("New colours for the unlocked swatches, from the same source (Space)")
        self.regenerate_button.clicked.connect(self.regenerate)
        self.undo_button = QToolButton()
        self.undo_button.setText("↶ Undo")
        self.undo_button.clicked.connect(self.doc.undo)
        self.redo_button = QToolButton()
        self.redo_button.setText("↷ Redo")
        self.redo_button.clicked.connect(self.doc.redo)
        self.favourite_button = QToolButton()
        self.favourite_button.setCheckable(True)
        self.favourite_button.setToolTip("Keep this palette in the favourites")
        self.favourite_button.clicked.connect(self._toggle_favourite)
        self.import_button = QToolButton()
        self.import_button.setText("Import…")
        self.import_button.clicked.connect(self.import_dialog)
        self.export_button = QToolButton()
        self.export_button.setText("Export ▾")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        export_menu = QMenu(self.export_button)
        for fmt in EXPORT_FORMATS:
            action = export_menu.addAction(FORMAT_LABELS[fmt])
            action.triggered.connect(partial(self.export_dialog, fmt))
        self.export_button.setMenu(export_menu)
        actions = QHBoxLayout()
        actions.addWidget(QLabel("Harmony from"))
        actions.addWidget(self.base_button)
        actions.addWidget(self.mode)
        actions.addWidget(self.harmony_button)
        actions.addSpacing(12)
        actions.addWidget(self.count)
        actions.addWidget(self.regenerate_button)
        actions.addStretch(1)
        for button in (self.undo_button, self.redo_button, self.favourite_button):
            actions.addWidget(button)
        actions.addSpacing(8)
        actions.addWidget(self.import_button)
        actions.addWidget(self.export_button)

        # -- swatches and checks ------------------------------------------------------------
        self.strip = SwatchStripWidget()
        self.strip.edit_requested.connect(self.edit_swatch)
        self.strip.hex_entered.connect(self._hex_entered)
        self.strip.lock_toggled.connect(self.doc.set_locked)
        self.strip.moved.connect(self.doc.move)
        self.strip_scroll = strip_scroll = QScrollArea()
        strip_scroll.setWidgetResizable(True)
        strip_scroll.setWidget(self.strip)
        strip_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.status = QLabel()
        self.status.setObjectName("palette-status")
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setMaximumWidth(140)
        self.progress.setVisible(False)
        status_row = QHBoxLayout()
        status_row.addWidget(self.status, 1)
        status_row.addWidget(self.progress)

        self.contrast = ContrastMatrixWidget()
        self.roles = RolesWidget()
        self.colour_blind = ColourBlindWidget()
        self.history = PaletteHistoryWidget()
        self.history.chosen.connect(self._load_snapshot)
        self.checks = QTabWidget()
        self.checks.addTab(self.contrast, "Contrast (WCAG)")
        self.checks.addTab(self.roles, "Roles")
        self.checks.addTab(self.colour_blind, "Colour blindness")
        self.checks.addTab(self.history, "History && favourites")

        layout = QVBoxLayout(self)
        layout.addLayout(sources)
        layout.addLayout(actions)
        layout.addWidget(strip_scroll)
        layout.addLayout(status_row)
        layout.addWidget(self.checks, 1)

        self.space = QShortcut(QKeySequence(Qt.Key.Key_Space), self)
        self.space.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.space.activated.connect(self.regenerate)
        self.undo_shortcut = QShortcut(QKeySequence.StandardKey.Undo, self)
        self.undo_shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.undo_shortcut.activated.connect(self.doc.undo)
        self.redo_shortcut = QShortcut(QKeySequence.StandardKey.Redo, self)
        self.redo_shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.redo_shortcut.activated.connect(self.doc.redo)

        self.doc.state_changed.connect(self._redraw)
        self._show_base()
        self._redraw()

    # -- drawing ------------------------------------------------------------------------------
    def display_names(self) -> list[str]:
        names = self.doc.names
        missing = [i for i, n in enumerate(names) if not n]
        if missing:
            found = nearest_names([self.doc.colors[i] for i in missing])
            for i, name in zip(missing, found, strict=True):
                names[i] = name
        return names

    def _redraw(self) -> None:
        colors, names = self.doc.colors, self.display_names()
        self.strip.set_palette(colors, names, self.doc.locks)
        # New swatches count in the layout only once shown, after this event; measure then.
        QTimer.singleShot(0, self, self._fit_strip)
        self.contrast.set_colors(colors)
        self.roles.set_colors(colors)
        self.colour_blind.set_colors(colors, names)
        self.history.set_history(self.doc.recent, self.doc.favourites)
        self.undo_button.setEnabled(self.doc.can_undo)
        self.redo_button.setEnabled(self.doc.can_redo)
        favourite = self.doc.is_favourite()
        self.favourite_button.setChecked(favourite)
        self.favourite_button.setText("★ Favourite" if favourite else "☆ Favourite")
        warnings = self.roles.warnings + self.colour_blind.warnings
        self.checks.setTabText(1, "Roles ⚠" if self.roles.warnings else "Roles")
        self.checks.setTabText(2, "Colour blindness ⚠" if self.colour_blind.warnings else "Colour blindness")
        if not self.progress.isVisible():
            self.status.setText(" · ".join(warnings[:1]) if warnings else self._source_text())

    def _fit_strip(self) -> None:
        """As tall as the wrapped swatches need (up to three rows), so the checks get the rest."""
        width = max(200, self.strip_scroll.viewport().width())
        needed = self.strip.flow.heightForWidth(width) if self.strip.swatches else 60
        self.strip_scroll.setFixedHeight(min(max(needed, 60) + 6, 560))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_strip()

    def _source_text(self) -> str:
        source = self.doc.source
        kind = source.get("kind")
        if kind == "text":
            return f"From the words “{source.get('text', '')[:60]}”. Space regenerates the unlocked swatches."
        if kind == "image":
            return f"From {source.get('label', 'an image')}. Space regenerates the unlocked swatches."
        if kind == "harmony":
            return f"{str(source.get('mode', '')).capitalize()} harmony from {source.get('base', '')}."
        if kind == "import":
            return f"Imported from {source.get('path', 'a file')}."
        return "Click a swatch to edit it, drag to reorder, lock the ones to keep."

    def _show_base(self) -> None:
        self.base_button.setText(self.base_color)
        self.base_button.setStyleSheet(
            f"background:{self.base_color}; color:{ink_for(self.base_color)}; padding:4px 8px; border-radius:4px;"
        )

    # -- making palettes ----------------------------------------------------------------------
    def _locked_for(self, count: int) -> tuple[tuple[int, str], ...]:
        return tuple((slot, color) for slot, color in self.doc.locked_slots() if slot < count)

    def _next_seed(self) -> int:
        self._seed += 1
        return self._seed

    def _run(self, request: Request, source: dict[str, Any]) -> Job | None:
        self.progress.setVisible(True)
        self.status.setText("Making the palette…")
        return self.submit(
            request,
            lambda result: self._apply_result(result, source),
            self._on_progress,
            self._on_error,
        )

    def from_text(self, _checked: bool = False, seed: int = 0) -> Job | None:
        text = self.text.text().strip()
        if not text:
            show_error(self, InvalidRequestError("Type a mood or scene first, e.g. “autumn forest”."))
            return None
        return self._make_text(text, "text", seed)

    def from_lyric(self) -> Job | None:
        text = self.context.lyric.text.strip()
        if not text:
            show_error(self, InvalidRequestError("The Lyric panel has no words yet; write some lines first."))
            return None
        return self._make_text(text, "lyric", 0)

    def _make_text(self, text: str, label: str, seed: int) -> Job | None:
        count = self.count.value()
        try:
            request = PaletteFromTextRequest(
                text=text, count=count, seed=seed, locked=self._locked_for(count), origin="palette"
            )
        except AtelierError as exc:
            show_error(self, exc)
            return None
        return self._run(request, {"kind": "text", "text": text, "label": label})

    def open_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Palette from image", "", IMAGE_FILTER)
        if path:
            try:
                self.from_image(read_picture(path), Path(path).name)
            except AtelierError as exc:
                show_error(self, exc)

    def from_image(self, image: np.ndarray, label: str, seed: int = 0) -> Job | None:
        self._image, self._image_label = image, label
        count = self.count.value()
        try:
            request = PaletteFromImageRequest(
                image=image,
                count=count,
                seed=seed,
                locked=self._locked_for(count),
                label=label,
                origin="palette",
            )
        except AtelierError as exc:
            show_error(self, exc)
            return None
        return self._run(request, {"kind": "image", "label": label})

    def sketch_image(self) -> np.ndarray | None:
        """The Sketch panel's picture (what the artist sees there), through the shared context."""
        image = self.context.sketch_picture()
        return image if isinstance(image, np.ndarray) else None

    def from_sketch(self) -> Job | None:
        image = self.sketch_image()
        if image is None:
            show_error(self, InvalidRequestError("The Sketch panel has no picture yet; open or draw one first."))
            return None
        return self.from_image(image, "the sketch")

    def choose_base(self) -> None:
        color = QColorDialog.getColor(QColor(self.base_color), self, "Base colour")
        if color.isValid():
            self.base_color = color.name()
            self._show_base()

    def from_harmony(self, _checked: bool = False, seed: int = 0) -> Job | None:
        count = self.count.value()
        mode = str(self.mode.currentData())
        request = HarmonyRequest(
            base=self.base_color,
            mode=mode,
            count=count,
            seed=seed,
            locked=self._locked_for(count),
            origin="palette",
        )
        return self._run(request, {"kind": "harmony", "base": self.base_color, "mode": mode})

    def regenerate(self) -> Job | None:
        """New colours for the unlocked swatches from the palette's own source (text, image or harmony)."""
        source = self.doc.source
        seed = self._next_seed()
        kind = source.get("kind")
        if kind == "text" and source.get("text"):
            return self._make_text(str(source["text"]), str(source.get("label", "text")), seed)
        if kind == "image" and self._image is not None:
            return self.from_image(self._image, self._image_label, seed)
        if kind == "harmony":
            self.base_color = normalise_hex(str(source.get("base", self.base_color)))
            index = self.mode.findData(source.get("mode"))
            if index >= 0:
                self.mode.setCurrentIndex(index)
            self._show_base()
            return self.from_harmony(seed=seed)
        if self.text.text().strip():
            return self.from_text(seed=seed)
        if self.doc.colors:  # imported or hand-made: a harmony around the first swatch
            self.base_color = self.doc.colors[0]
            self._show_base()
        return self.from_harmony(seed=seed)

    def _on_progress(self, progress: Progress) -> None:
        if progress.message:
            self.status.setText(progress.message)

    def _on_error(self, message: str) -> None:
        self.progress.setVisible(False)
        self._redraw()
        show_error(self, message)

    def _apply_result(self, result: Result, source: dict[str, Any]) -> None:
        self.progress.setVisible(False)
        if not isinstance(result, PaletteResult):
            return
        locked = {slot for slot, _ in self._locked_for(len(result.colors))}
        locks = [i in locked for i in range(len(result.colors))]
        self.doc.set_colors(list(result.colors), list(result.names), locks, source=source)
        if result.detail:
            self.status.setText(f"{self._source_text()} {result.detail}.")

    # -- editing ------------------------------------------------------------------------------
    def edit_swatch(self, index: int) -> None:
        current = QColor(self.doc.colors[index])
        color = QColorDialog.getColor(current, self, f"Swatch {index + 1}")
        if color.isValid() and color.name() != self.doc.colors[index]:
            self.doc.set_color(index, color.name(), nearest_name(color.name()))

    def _hex_entered(self, index: int, text: str) -> None:
        try:
            color = normalise_hex(text)
        except InvalidRequestError as exc:
            show_error(self, exc)
            self._redraw()
            return
        self.doc.set_color(index, color, nearest_name(color))

    def _toggle_favourite(self) -> None:
        self.doc.toggle_favourite()

    def _load_snapshot(self, snap: PaletteSnapshot) -> None:
        self.doc.load(snap)

    # -- files --------------------------------------------------------------------------------
    def import_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import palette", "", IMPORT_FILTER)
        if path:
            self.import_path(path)

    def import_path(self, path: str) -> bool:
        try:
            loaded = import_file(path)
        except AtelierError as exc:
            show_error(self, exc)  # the palette is unchanged: the file is read fully before it is used
            return False
        names = [n or nearest_name(c) for c, n in zip(loaded.colors, loaded.names, strict=False)]
        self.doc.set_colors(list(loaded.colors), names, source={"kind": "import", "path": Path(path).name})
        return True

    def export_dialog(self, fmt: str, _checked: bool = False) -> None:
        folder = self.context.settings.output_folder or str(Path.home())
        suggested = str(Path(folder) / f"palette.{fmt}")
        path, _ = QFileDialog.getSaveFileName(self, "Export palette", suggested, FORMAT_LABELS[fmt])
        if path:
            if not path.lower().endswith(f".{fmt}"):
                path += f".{fmt}"
            self.export_path(path)

    def export_path(self, path: str) -> bool:
        title = str(self.doc.source.get("text") or self.doc.source.get("label") or "Atelier palette")
        try:
            written = export_file(
                PaletteFile(tuple(self.doc.colors), tuple(self.display_names()), title[:80]),
                path,
                str(self.doc.source.get("kind", "")),
            )
        except AtelierError as exc:
            show_error(self, exc)
            return False
        self.status.setText(f"Exported {written}")
        return True

    # -- session ------------------------------------------------------------------------------
    def recall(self, job: Job) -> None:
        request = job.request
        if isinstance(request, (PaletteFromTextRequest, PaletteFromImageRequest, HarmonyRequest)):
            self.count.setValue(request.count)
        if isinstance(request, PaletteFromTextRequest):
            self.text.setText(request.text.replace("\n", " / "))
        elif isinstance(request, HarmonyRequest):
            self.base_color = request.base
            self.mode.setCurrentIndex(max(0, self.mode.findData(request.mode)))
            self._show_base()

    def save_state(self) -> dict[str, Any]:
        return {
            **self.doc.to_dict(),
            "panel": {
                "text": self.text.text(),
                "count": self.count.value(),
                "mode": self.mode.currentData(),
                "base": self.base_color,
                "tab": self.checks.currentIndex(),
            },
        }

    def restore_state(self, state: dict[str, Any]) -> None:
        self.doc.restore(state)
        panel = state.get("panel", {})
        if not isinstance(panel, dict):
            return
        if isinstance(panel.get("text"), str):
            self.text.setText(panel["text"])
        if isinstance(panel.get("count"), int):
            self.count.setValue(panel["count"])
        index = self.mode.findData(panel.get("mode"))
        if index >= 0:
            self.mode.setCurrentIndex(index)
        with contextlib.suppress(InvalidRequestError):  # a damaged session keeps the current base
            self.base_color = normalise_hex(str(panel.get("base", self.base_color)))
        self._show_base()
        if isinstance(panel.get("tab"), int):
            self.checks.setCurrentIndex(panel["tab"])

    def close_panel(self) -> None:
        self.doc.state_changed.disconnect(self._redraw)
        super().close_panel()
