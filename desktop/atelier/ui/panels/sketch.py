"""Sketch panel: draw on a canvas, then trace line art, colorize, or generate images from the drawing.

The panel wires a SketchDocument (every setting, and the one undo stack the canvas's pixel steps also
go on), the canvas and the jobs together; its views (the bars, the Generate form, the variations grid)
live in ui/widgets. Picking a variation shows it on the result layer over the sketch, where it can be
compared (opacity), accepted or discarded.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QColorDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from atelier.core.atomic_files import set_aside
from atelier.core.content_credentials import export_hooks
from atelier.core.documents.sketch import (
    DEFAULTS,
    LAYERS,
    LIVE_ORIGIN,
    MAX_CANVAS_SIDE,
    SPECS,
    CanvasPixels,
    SketchDocument,
    variations_of,
)
from atelier.core.errors import AtelierError, InputFileError, InvalidRequestError
from atelier.core.job_handle import JobHandle
from atelier.core.jobs import Job, JobState
from atelier.core.picture_io import read_picture
from atelier.core.progress import Progress
from atelier.core.provenance import read_parameters, save_png
from atelier.core.provenance_sketch import composite_record, generation_mode, record_summary, sketch_request_from_record
from atelier.core.requests import Request, Result
from atelier.core.requests.colorize import ColorizeRequest
from atelier.core.settings import export_folder
from atelier.ui.context import AppContext
from atelier.ui.dialogs.export_choice import ask_export_path
from atelier.ui.dialogs.picture_import_dialog import USE_SETTINGS, ask_generated_picture, ask_picture_import
from atelier.ui.errors import show_error
from atelier.ui.panels.base import Panel
from atelier.ui.widgets.canvas import CanvasWidget
from atelier.ui.widgets.document_binding import FieldBinder
from atelier.ui.widgets.document_form import DocumentForm
from atelier.ui.widgets.generate_form import GenerateFormWidget, LineArtFormWidget
from atelier.ui.widgets.images import array_from_qimage, limit_side, qimage_from_array, thumbnail
from atelier.ui.widgets.lyric_controls import UndoButtons
from atelier.ui.widgets.side_column import scrolling_column
from atelier.ui.widgets.sketch_bars import BrushBarWidget, FileBarWidget, ResultBarWidget, ask_canvas_size
from atelier.ui.widgets.variations_grid import Variation, VariationsGridWidget

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.bmp *.tif *.tiff)"
LIVE_DELAY_MS = 500
PREVIEW_SIDE = 64  # the running job's preview, beside its progress bar
NOT_LIVE = ("generation.count", "generation.batch")  # settings a live image does not use
SIZE_FIELDS = ("canvas.width", "canvas.height", "generation.width", "generation.height")
# (picture size, canvas size) -> ("place" | "new", remember) or None when cancelled; tests replace it.
ImportChooser = Callable[[tuple[int, int], tuple[int, int]], tuple[str, bool] | None]
# The canvas size -> the new canvas's size, or None when cancelled; tests replace it.
SizeChooser = Callable[[tuple[int, int]], tuple[int, int] | None]


class SketchPanel(Panel):
    title = "Sketch"

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.document = SketchDocument()
        self.binder = FieldBinder(self.document.set, self.document.undo.break_merge)
        self.canvas = CanvasWidget(undo_stack=self.document.undo)
        self.undo_redo = UndoButtons(self, self.document.undo)
        self.choose_import: ImportChooser = lambda picture, canvas: ask_picture_import(picture, canvas, self)
        self.choose_canvas_size: SizeChooser = lambda canvas: ask_canvas_size(canvas, self)
        # A PNG Atelier made: use its settings, or open it as a picture (None: cancelled).
        self.choose_generated: Callable[[str], str | None] = lambda summary: ask_generated_picture(summary, self)
        self.shown_parameters: dict[str, Any] = {}
        self.shown_image: np.ndarray | None = None  # the variation on the result layer, at its own size
        self.pending: dict[int, str] = {}  # job id -> what it does ("generating", ...), oldest first
        self._batch_of: dict[int, int] = {}  # job id -> its Generate batch (a batch's images share the grid)
        self._shown_batch: int | None = None
        self._batches = itertools.count(1)
        self._live_problem = ""  # why the last live job could not be sent (said beside Live, not in a box)
        self._restored = False  # the first restore (the session at start) also brings back the tools
        self._open_folder = ""  # where the last picture was opened from: Open… starts there next time
        self.live_timer = QTimer(self)
        self.live_timer.setSingleShot(True)
        self.live_timer.timeout.connect(self._live_regenerate)
        self._build(DocumentForm(self.binder, SPECS, DEFAULTS))
        self._connect()
        self.refresh_packs()
        self._update_busy()

    # -- building ----------------------------------------------------------------------------------
    def _build(self, form: DocumentForm) -> None:
        self.file_bar = FileBarWidget(form, (self.undo_redo.undo_button, self.undo_redo.redo_button))
        self.brush_bar = BrushBarWidget(form)
        self.result_bar = ResultBarWidget()
        self.form = GenerateFormWidget(form)
        self.line_art = LineArtFormWidget(form)
        self.grid = VariationsGridWidget()
        self.job_row = self._build_job_row()
        side = QWidget()
        column = QVBoxLayout(side)
        column.setContentsMargins(0, 0, 0, 0)
        for part in (self.form, self.line_art, self.job_row):
            column.addWidget(part)
        column.addWidget(QLabel("Variations (click to show on the result layer)"))
        column.addWidget(self.grid, 1)
        left = QVBoxLayout()
        for bar in (self.file_bar, self.brush_bar, self.canvas, self.result_bar):
            left.addWidget(bar, 1 if bar is self.canvas else 0)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 3)
        self.side_scroll = scrolling_column(side, 330)
        layout.addWidget(self.side_scroll, 1)
        self.undo_redo.take_keys_from(self.binder.widgets.values())
        for sequence, slot in (
            (QKeySequence.StandardKey.Paste, self.paste),
            (QKeySequence.StandardKey.ZoomIn, lambda: self.canvas.zoom_by(1.25)),
            (QKeySequence.StandardKey.ZoomOut, lambda: self.canvas.zoom_by(0.8)),
        ):
            shortcut = QShortcut(QKeySequence(sequence), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)

    def _build_job_row(self) -> QWidget:
        """Progress and the running job's latest preview in one short row, shown only while a job runs.
        Taller and appearing, they squeezed the Generate form and Generate moved up under the mouse (a
        second click missed it); the row's room is kept while hidden, or the window grew taller instead."""
        self.progress = QProgressBar()
        self.preview = QLabel()
        self.preview.setFixedSize(PREVIEW_SIDE, PREVIEW_SIDE)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        job_row = QWidget()
        row = QHBoxLayout(job_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.preview)
        row.addWidget(self.progress, 1)
        policy = job_row.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        job_row.setSizePolicy(policy)
        job_row.setVisible(False)
        return job_row

    def _connect(self) -> None:
        """Views to actions, and the document, the canvas and the palette to the views."""
        for signal, slot in (
            (self.file_bar.new_requested, self.new_canvas_dialog),
            (self.file_bar.open_requested, self.open_dialog), (self.file_bar.paste_requested, self.paste),
            (self.file_bar.export_requested, self.export_dialog), (self.file_bar.copy_requested, self.copy),
            (self.file_bar.clear_requested, lambda: self.canvas.clear()),
            (self.file_bar.fit_requested, self.canvas.fit),
            (self.brush_bar.colour_dialog_requested, self.choose_colour),
            (self.brush_bar.colour_chosen, self.set_colour),
            (self.result_bar.opacity_changed, self._show_result_opacity),
            (self.result_bar.accept_requested, self.accept_result),
            (self.result_bar.discard_requested, self.discard_result),
            (self.result_bar.upscale_requested, self.upscale),
            (self.form.generate_requested, self.generate), (self.form.colorize_requested, self.colorize),
            (self.form.cancel_requested, self.cancel_jobs), (self.line_art.trace_requested, self.trace),
            (self.form.fit_requested, self.document.fit_size_to_canvas),
            (self.grid.picked, self._show_variation),
            (self.canvas.image_dropped, self.import_path), (self.canvas.picture_dropped, self.import_picture),
            (self.canvas.stroke_started, self._on_stroke_started),
            (self.canvas.stroke_finished, self._on_canvas_changed), (self.canvas.size_changed, self._on_resized),
            (self.canvas.result_changed, lambda: self.result_bar.show_has_result(self.canvas.result is not None)),
            (self.document.changed, self._on_document_changed),
            (self.context.palette.changed, self._show_palette),
            (self.context.queue.job_changed, self._on_job_changed),  # a job of ours started: say so
        ):  # fmt: skip
            signal.connect(slot)
        self.binder.show_all(self.document.values())
        self.canvas.set_tools(self.document.tools)
        self._show_size_fit()
        self._show_palette(self.context.palette.colors)

    # -- the view of the document ------------------------------------------------------------------
    def _on_document_changed(self, path: str, value: Any) -> None:
        self.binder.show(path, value)
        if path in SIZE_FIELDS:
            self._show_size_fit()
        if path.startswith("tools."):
            self.canvas.set_tools(self.document.tools)
        elif path == "generation.live" and not value:
            self.live_timer.stop()
            self._live_problem = ""
            self._update_busy()
        elif path.startswith("generation.") and path not in NOT_LIVE and self.document.generation.live:
            self.live_timer.start(LIVE_DELAY_MS)  # Live on, or a setting changed: a fresh live image

    def _show_size_fit(self) -> None:
        g, c = self.document.generation, self.document.canvas
        self.form.show_size_fit((g.width, g.height), self.document.size_for_canvas(), (c.width, c.height))

    def _show_palette(self, colors: list[str]) -> None:
        self.brush_bar.set_swatches(colors)
        self.form.show_palette_size(len(colors))

    def undo(self) -> bool:
        return self.document.undo.undo()

    def redo(self) -> bool:
        return self.document.undo.redo()

    # -- brush -------------------------------------------------------------------------------------
    def set_tool(self, tool: str) -> None:
        self.document.set("tools.tool", tool)

    def set_colour(self, colour: QColor | str) -> None:
        colour = QColor(colour)
        if colour.isValid():
            self.document.set("tools.colour", colour.name())

    def choose_colour(self) -> None:
        colour = QColorDialog.getColor(self.canvas.colour, self, "Brush colour")
        if colour.isValid():
            self.set_colour(colour)

    # -- pictures ----------------------------------------------------------------------------------
    def new_canvas_dialog(self) -> None:
        size = self.choose_canvas_size(self.canvas.canvas_size)
        if size is not None:
            self.new_canvas(*size)

    def new_canvas(self, width: int, height: int) -> None:
        """A blank canvas of this size, as one undo step (Undo brings back the old canvas and its layers)."""
        self.canvas.new_canvas(width, height)

    def open_dialog(self) -> None:
        start = self._open_folder or str(export_folder(self.context.settings))  # never the start-up folder
        path, _ = QFileDialog.getOpenFileName(self, "Open picture", start, IMAGE_FILTER)
        if path:
            self._open_folder = str(Path(path).parent)
            self.import_path(path)

    def import_path(self, path: str) -> bool:
        try:
            picture = read_picture(path, max_side=MAX_CANVAS_SIDE)
        except InputFileError as exc:
            show_error(self, exc)
            return False
        record = read_parameters(path)
        known = {str(summary["id"]) for summary in self.context.runner.pack_summaries()}
        request = sketch_request_from_record(record, known)
        if record is not None and request is not None:
            choice = self.choose_generated(record_summary(record))
            if choice is None:
                return False
            if choice == USE_SETTINGS:
                with self.document.undo.macro("Use the picture's settings"):
                    self.recall(request)
                    self.document.set("generation.mode", generation_mode(record))
                return True
        return self.import_picture(picture)

    def import_picture(self, picture: np.ndarray) -> bool:
        """Open, paste or drop: a picture of the canvas's size replaces the sketch; another size is
        placed on the canvas or starts a new one, as the artist chooses (or chose to remember)."""
        height, width = picture.shape[:2]
        choice = self.document.pictures.other_size
        if (width, height) != self.canvas.canvas_size and choice == "ask":
            answer = self.choose_import((width, height), self.canvas.canvas_size)
            if answer is None:
                return False
            choice, remember = answer
            if remember:
                self.document.set("pictures.other_size", choice)
        self.set_picture(picture, choice)
        return True

    def set_picture(self, picture: np.ndarray, other_size: str = "new") -> None:
        """Put a picture on the sketch without asking, as one undo step: the same size replaces the
        sketch; another size is placed ("place") or starts a canvas of its size ("new")."""
        height, width = picture.shape[:2]
        if (width, height) == self.canvas.canvas_size:
            self.canvas.set_sketch(picture)
        elif other_size == "place":
            self.canvas.place_picture(picture)
        else:
            self.canvas.new_canvas(width, height, sketch=picture, text=f"Open a {width}×{height} picture")

    def paste(self) -> None:
        image = QApplication.clipboard().image()
        if image.isNull():
            show_error(self, "The clipboard holds no image. Copy an image first, then paste.")
            return
        self.import_picture(array_from_qimage(limit_side(image, MAX_CANVAS_SIDE)))

    def export_dialog(self) -> None:
        suggested = str(export_folder(self.context.settings) / "sketch.png")
        answer = ask_export_path(self, "Export PNG", suggested, [("PNG", "*.png")])
        if answer:
            self.export_png(str(answer[0]), metadata=answer[1])

    def export_png(self, path: str, metadata: bool = True) -> None:
        """Save what is shown; a generated result carries its parameters in the PNG, a sketch holding
        accepted results says it is a composite. A result of another size than the canvas (an upscale) is
        saved at its own size, alone. Settings may add a watermark and content credentials (signed last)."""
        if self.canvas.result is not None:
            params: dict[str, Any] | None = self.shown_parameters or None
        else:
            params = composite_record(self.document.accepted)
        image = self.canvas.composite_array()
        if self._shown_is_larger():
            assert self.shown_image is not None
            image = self.shown_image
        over_drawing = params is not None and params.get("mode") != "txt2img"
        hooks = export_hooks(self.context.settings, [self.canvas.sketch_array()] if over_drawing else ())
        try:
            save_png(
                path,
                image,
                hooks.params(params, image.shape),
                metadata=metadata,
                watermark=hooks.watermark,
                sign=hooks.sign,
            )
        except (OSError, AtelierError) as exc:
            show_error(self, f"Cannot write {path} ({exc}). Choose another folder.")

    def copy(self) -> None:
        QApplication.clipboard().setImage(qimage_from_array(self.canvas.composite_array()))

    # -- result layer ------------------------------------------------------------------------------
    @property
    def variations(self) -> list[Variation]:
        return self.grid.variations

    def _show_result_opacity(self, opacity: float) -> None:
        self.canvas.result_opacity = opacity
        self.canvas.update()

    def current_image(self) -> np.ndarray:
        """What the artist sees: the shown result if there is one, else the sketch (RGBA)."""
        if self.canvas.result is not None:
            return array_from_qimage(self.canvas.result)
        return self.canvas.sketch_array()

    def accept_result(self) -> None:
        """Merge the shown result into the sketch (one undo step). A result of another size (an upscale)
        becomes a new canvas of its size instead, also one undo step."""
        if self.canvas.result is None:
            return
        with self.document.undo.macro("Accept the result"):
            if self._shown_is_larger():
                assert self.shown_image is not None
                height, width = self.shown_image.shape[:2]
                self.canvas.new_canvas(
                    width, height, sketch=self.shown_image, text=f"Accept the {width}×{height} result"
                )
            else:
                self.canvas.accept_result()
            self.document.keep_accepted(self.shown_parameters or None, "result")

    def _shown_is_larger(self) -> bool:
        if self.canvas.result is None or self.shown_image is None:
            return False
        height, width = self.shown_image.shape[:2]
        return (width, height) != self.canvas.canvas_size

    def discard_result(self) -> None:
        self.canvas.set_result(None)
        self.shown_image = None
        self.grid.setCurrentRow(-1)

    def pick_variation(self, row: int) -> None:
        self.grid.pick(row)

    def _show_variation(self, image: np.ndarray, params: dict[str, Any]) -> None:
        self.shown_parameters = params
        self.shown_image = image
        self.canvas.set_result(image)

    def show_result(self, request: Request, result: Result) -> bool:
        """The History's "put back": the result's images in the grid, the first on the result layer."""
        return self._show_result(result, batch=None)

    def _show_result(self, result: Result, batch: int | None) -> bool:
        variations = variations_of(result)
        if variations is None:
            return False
        self.grid.show_variations(variations, append=batch is not None and batch == self._shown_batch)
        self._shown_batch = batch
        return True

    # -- jobs --------------------------------------------------------------------------------------
    def refresh_packs(self) -> None:
        self.form.set_packs(self.context.runner.pack_summaries())

    def _start(self, kind: str, what: str, live: bool = False, seed: int | None = None) -> Job | None:
        """Queue a job behind whatever runs (only a live job replaces this panel's earlier live job)."""
        pixels = CanvasPixels(self.canvas.sketch_array(), self.canvas.hints_array())
        try:
            request = self.document.to_request(kind, pixels, self.context.palette.colors, live=live, seed=seed)
        except AtelierError as exc:
            if not live:
                show_error(self, exc)
            else:  # after every stroke a box would stop the drawing: say it beside Live instead
                self._live_problem = exc.user_message()
                self._update_busy()
            return None
        self._live_problem = ""
        handle = JobHandle(self._on_success, self._on_failure, self._on_cancelled, self._on_progress)
        job = self.submit(request, handle)
        if not job.state.done:
            self.pending[job.id] = what
        self._update_busy()
        return job

    def generate(self) -> list[Job]:
        """Queue the batch: job i starts at seed + i * count, so no image repeats."""
        batch = next(self._batches)
        jobs: list[Job] = []
        for seed in self.document.seeds_for_batch():
            job = self._start("sketch", "generating", seed=seed)
            if job is None or job.state.done:  # declined (e.g. the pack's licence was not accepted)
                break
            self._batch_of[job.id] = batch
            jobs.append(job)
        return jobs

    def colorize(self) -> Job | None:
        return self._start("colorize", "colorizing")

    def trace(self) -> Job | None:
        return self._start("lineart", "tracing")

    def upscale(self) -> Job | None:
        """Upscale 2x what is shown: the result on the result layer, else the sketch (with the panel's pack;
        without one the engine resizes with Lanczos only and says so)."""
        if self.canvas.result is not None and self.shown_image is not None:
            image, params = self.shown_image, self.shown_parameters
        else:
            image, params = self.canvas.sketch_array(), {}
        try:
            request = self.document.upscale_request(image, params)
        except AtelierError as exc:
            show_error(self, exc)
            return None
        handle = JobHandle(self._on_success, self._on_failure, self._on_cancelled, self._on_progress)
        job = self.submit(request, handle)
        if not job.state.done:
            self.pending[job.id] = "upscaling"
        self._update_busy()
        return job

    def cancel_jobs(self) -> None:
        self.live_timer.stop()
        for job_id in list(self.pending):
            self.context.runner.cancel(job_id)

    def _on_stroke_started(self) -> None:
        """Painting while a picked variation covers the sketch drew out of sight (at full result opacity the
        strokes never showed): the pen hides the result, which stays in the grid to pick again. Live keeps
        its image: the next one follows the stroke."""
        if self.canvas.result is not None and not self.document.generation.live:
            self.discard_result()

    def _on_canvas_changed(self) -> None:
        if self.document.generation.live:
            self.live_timer.start(LIVE_DELAY_MS)

    def _on_resized(self, width: int, height: int) -> None:
        """A new canvas (or undoing back to the old one): a live job still at work drew the other canvas,
        and its picture would land stretched on this one; the live job for this canvas follows."""
        self.document.set_canvas_size(width, height)
        for job_id in list(self.pending):
            job = self.context.queue.get(job_id)
            if job is not None and job.request.origin == LIVE_ORIGIN:
                self.context.runner.cancel(job_id)

    def _live_regenerate(self) -> None:
        if self.document.generation.live_target == "colorize":
            self._start("colorize", "colorizing", live=True)
        elif self.form.has_pack:  # no pack: a failed job after every stroke helps nobody
            self._start("sketch", "generating", live=True)

    def _update_busy(self) -> None:
        jobs = [job for job in (self.context.queue.get(i) for i in self.pending) if job is not None]
        running = [job for job in jobs if job.state is JobState.RUNNING]
        queued = len(self.pending) - len(running)
        if running:
            text = f"◷ {self.pending[running[0].id]}…" + (f" ({queued} queued)" if queued else "")
        else:
            text = f"◷ {queued} queued" if queued else ""
        if self._live_problem and self.document.generation.live:
            text = f"⚠ {self._live_problem}" + (f"  {text}" if text else "")
        self.form.show_busy(text, bool(self.pending))
        self.job_row.setVisible(bool(self.pending))
        if not self.pending:
            self.progress.setValue(0)
            self.preview.clear()

    def _on_job_changed(self, job: Job) -> None:
        if job.id in self.pending and job.state is JobState.RUNNING:
            self._update_busy()

    def _finished(self, job: Job) -> int | None:
        self.pending.pop(job.id, None)
        batch = self._batch_of.pop(job.id, None)
        self._update_busy()
        return batch

    def _on_success(self, job: Job, result: Result) -> None:
        batch = self._finished(job)
        if not job.cancel_token.cancelled:  # asked to stop (by a project switch too) but it finished first
            self._show_result(result, batch)
            note = getattr(result, "note", "")
            if note and not self.pending:  # e.g. an upscale without a pack: only resized, and said so
                self.form.show_busy(f"ⓘ {note}", False)

    def _on_failure(self, job: Job, error: AtelierError) -> None:
        self._finished(job)
        if job.request.origin != LIVE_ORIGIN:
            self.show_failure(job, error)
        else:  # the next stroke sends another; a box for each would stop the drawing
            self._live_problem = error.user_message()
            self._update_busy()

    def _on_cancelled(self, job: Job) -> None:
        self._finished(job)

    def _on_progress(self, job: Job, progress: Progress) -> None:
        self.progress.setValue(int(progress.fraction * 100))
        if isinstance(progress.preview, np.ndarray):
            self.preview.setPixmap(thumbnail(progress.preview, PREVIEW_SIDE))

    def recall(self, request: Request) -> bool:
        """Put a past request's settings back as one undo step (a colorize palette goes to the palette)."""
        if not self.document.apply_request(request):
            return False
        if isinstance(request, ColorizeRequest):
            with contextlib.suppress(InvalidRequestError):
                self.context.palette.set_colors(list(request.palette))
        return True

    # -- session -----------------------------------------------------------------------------------
    def save_state(self) -> dict[str, Any]:
        for layer in LAYERS:
            # The rest of the session still saves if this fails; the next autosave retries.
            with contextlib.suppress(OSError):
                self.context.session.write_side_file(f"{layer}.png", self.canvas.layer_png(layer))
        return self.document.to_dict()

    def restore_state(self, state: dict[str, Any]) -> None:
        """Replace the document and the canvas with a saved one; the undo history starts empty, and the
        jobs sent for the project being closed are cancelled (their results belong to that project).
        Tool settings come from the session restored at start; another project opened keeps them."""
        self.cancel_jobs()
        self.pending.clear()  # a cancelled job may still be winding down: this project has no part in it
        self._batch_of.clear()
        self.document.restore(state, keep_preferences=self._restored)  # the brush stays the artist's
        self._restored = True
        sketch, hints = (self._read_layer(f"{layer}.png") for layer in LAYERS)
        canvas = self.document.canvas
        height, width = sketch.shape[:2] if sketch is not None else (canvas.height, canvas.width)
        self.canvas.new_canvas(width, height, sketch=sketch, hints=hints, undoable=False)
        self.live_timer.stop()  # the canvas was opened, not drawn on
        self.document.undo.clear()
        self.discard_result()
        self.grid.show_variations([])
        self._shown_batch = None
        self._update_busy()

    def _read_layer(self, name: str) -> np.ndarray | None:
        path = self.context.session.side_file(name)
        if not path.is_file():
            return None
        try:  # a damaged file leaves that layer blank rather than failing start-up
            return read_picture(path, max_side=MAX_CANVAS_SIDE)
        except InputFileError as exc:
            # Kept aside before the next autosave writes the blank layer over it.
            with contextlib.suppress(OSError):
                kept = set_aside(path)
                show_error(self, f"The saved layer {name} could not be read ({exc}); it was kept as {kept}.")
            return None

    def close_panel(self) -> None:
        self.live_timer.stop()
        self.context.palette.changed.disconnect(self._show_palette)
        self.context.queue.job_changed.disconnect(self._on_job_changed)
        self.document.changed.disconnect(self._on_document_changed)
        self.undo_redo.close()
        super().close_panel()
