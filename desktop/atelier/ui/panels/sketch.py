"""Sketch panel: draw on a canvas, then trace line art, colorize, or generate images from the drawing.

The panel is a view of a SketchDocument (every setting, and the one undo stack the canvas's pixel
steps also go on). Generated variations land in a grid; picking one shows it on the result layer
over the sketch, where it can be compared (opacity), accepted or discarded.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QColor, QIcon, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QColorDialog,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QProgressBar,
    QPushButton,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from superqt import QLargeIntSpinBox

from atelier.core.documents.sketch import (
    DEFAULTS,
    LAYERS,
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
from atelier.core.provenance import save_png
from atelier.core.requests import Request, Result
from atelier.core.requests.colorize import ColorizeRequest
from atelier.ui.context import AppContext
from atelier.ui.dialogs.picture_import_dialog import ask_picture_import
from atelier.ui.errors import show_error
from atelier.ui.panels.base import Panel
from atelier.ui.widgets.canvas import CanvasWidget
from atelier.ui.widgets.images import array_from_qimage, limit_side, qimage_from_array, thumbnail

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.bmp *.tif *.tiff)"
NO_PACK_TIP = (
    "No image pack yet: choose an ONNX Stable Diffusion folder with Folder…, "
    "or add a pack with `atelier models import-diffusers PATH`."
)
GENERATE_TIP = "Generate images from the prompt and the sketch (queued behind any running job)"
LIVE_DELAY_MS = 500
# (picture size, canvas size) -> ("place" | "new", remember) or None when cancelled; tests replace it.
ImportChooser = Callable[[tuple[int, int], tuple[int, int]], tuple[str, bool] | None]


def _show_in(widget: QWidget, value: Any, scale: float) -> None:
    """Put a document value into its widget (the caller blocks the widget's signals)."""
    if isinstance(widget, QLineEdit):
        if widget.text() != value:  # setting the same text would move the cursor while typing
            widget.setText(value)
    elif isinstance(widget, QComboBox):
        widget.setCurrentIndex(widget.findData(value))
    elif isinstance(widget, QCheckBox):
        widget.setChecked(value)
    elif isinstance(widget, QSlider):
        widget.setValue(round(value * scale))
    else:
        widget.setValue(value)  # type: ignore[attr-defined]  # a spin box


class SketchPanel(Panel):
    title = "Sketch"

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.document = SketchDocument()
        self.canvas = CanvasWidget(undo_stack=self.document.undo)
        self.canvas.image_dropped.connect(self.import_path)
        self.canvas.picture_dropped.connect(self.import_picture)
        self.canvas.stroke_finished.connect(self._on_canvas_changed)
        self.canvas.size_changed.connect(lambda width, height: self.document.set_canvas_size(width, height))
        self.choose_import: ImportChooser = lambda picture, canvas: ask_picture_import(picture, canvas, self)
        self.variations: list[tuple[np.ndarray, dict[str, Any]]] = []
        self.shown_parameters: dict[str, Any] = {}
        self.pending: dict[int, str] = {}  # job id -> what it does ("generating", ...), oldest first
        self._batch_of: dict[int, int] = {}  # job id -> its Generate batch (a batch's images share the grid)
        self._shown_batch: int | None = None
        self._batches = itertools.count(1)
        self._installed_packs: list[str] = []
        self._views: dict[str, tuple[QWidget | None, Callable[[Any], Any]]] = {}
        self.live_timer = QTimer(self)
        self.live_timer.setSingleShot(True)
        self.live_timer.timeout.connect(self._live_regenerate)

        layout = QHBoxLayout(self)
        left = QVBoxLayout()
        left.addLayout(self._build_file_bar())
        left.addLayout(self._build_brush_bar())
        left.addWidget(self.canvas, 1)
        left.addLayout(self._build_result_bar())
        layout.addLayout(left, 3)
        layout.addWidget(self._build_side(), 1)
        self._build_shortcuts()
        context.palette.changed.connect(self._set_swatches)
        context.queue.job_changed.connect(self._on_job_changed)  # a job of ours started: say so
        self._set_swatches(context.palette.colors)
        self.refresh_packs()
        self._connect_document()
        self._update_busy()

    # -- building ----------------------------------------------------------------------------------
    def _button(self, text: str, slot: Any, tip: str = "") -> QPushButton:
        button = QPushButton(text)
        button.clicked.connect(slot)
        button.setToolTip(tip)
        return button

    def _field(self, path: str, text: str = "", scale: int = 0) -> Any:
        """A widget for a document field, made from its spec (a slider when `scale` is given): it shows
        the field, and the artist's edits become document commands."""
        spec, default = SPECS[path], DEFAULTS[path]
        low, high = spec.low or 0, spec.high or 0
        widget: QWidget
        if scale:
            slider = widget = QSlider(Qt.Orientation.Horizontal)
            slider.setRange(round(low * scale), round(high * scale))
            slider.valueChanged.connect(lambda value: self._edit(path, value / scale))
            slider.sliderReleased.connect(self._end_edit)  # one drag, one step; the next drag is another
        elif isinstance(default, bool):
            check = widget = QCheckBox(text)
            check.toggled.connect(lambda value: self._edit(path, value))
        elif spec.choices:
            combo = widget = QComboBox()
            for value, label in zip(spec.choices, spec.labels or spec.choices, strict=True):
                combo.addItem(label, value)
            combo.currentIndexChanged.connect(lambda index: self._edit(path, combo.itemData(index)))
        elif isinstance(default, str):
            line = widget = QLineEdit()
            line.setPlaceholderText(spec.tip)
            line.textChanged.connect(lambda value: self._edit(path, value))  # typed or set by code
            line.editingFinished.connect(self._end_edit)
        else:
            spin: QSpinBox | QDoubleSpinBox | QLargeIntSpinBox
            if isinstance(default, float):
                spin = QDoubleSpinBox()
                spin.setRange(low, high)
                spin.setSingleStep(spec.step)
            else:  # seeds go past a QSpinBox's 2**31 - 1
                spin = QLargeIntSpinBox() if high >= 2**31 else QSpinBox()
                spin.setRange(int(low), int(high))
                spin.setSingleStep(int(spec.step))
            widget = spin
            spin.valueChanged.connect(lambda value: self._edit(path, value))
            spin.editingFinished.connect(self._end_edit)
        widget.setToolTip(spec.tip)
        self._views[path] = (widget, lambda value: _show_in(widget, value, scale or 1))
        return widget

    def _build_file_bar(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        bar.addWidget(self._build_open_button())
        bar.addWidget(self._button("Paste", self.paste, "Paste an image from the clipboard"))
        bar.addWidget(self._button("Export PNG…", self.export_dialog, "Save what you see as a PNG"))
        bar.addWidget(self._button("Copy", self.copy, "Copy what you see to the clipboard"))
        bar.addSpacing(12)
        self.undo_button = self._button("Undo", self.undo)
        self.redo_button = self._button("Redo", self.redo)
        bar.addWidget(self.undo_button)
        bar.addWidget(self.redo_button)
        bar.addWidget(self._button("Clear", lambda: self.canvas.clear(), "Clear the active layer"))
        bar.addWidget(self._button("Fit", self.canvas.fit, "Fit the canvas in view (wheel zooms, middle-drag pans)"))
        bar.addStretch(1)
        return bar

    def _build_open_button(self) -> QToolButton:
        """Open… with a menu for what to do with a picture of another size (a preference, kept out of
        the bar so the panel fits a 1366-pixel screen)."""
        button = QToolButton()
        button.setText("Open…")
        button.setToolTip("Open or import a picture (or drop one on the canvas); the arrow sets what happens "
                          "to a picture of another size")  # fmt: skip
        button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        button.clicked.connect(self.open_dialog)
        menu = QMenu(button)
        menu.addSection("A picture of another size")
        group = QActionGroup(menu)
        spec = SPECS["pictures.other_size"]
        self.other_size_actions: dict[str, QAction] = {}
        for value, label in zip(spec.choices, spec.labels, strict=True):
            action = menu.addAction(label)
            action.setCheckable(True)
            action.triggered.connect(lambda _checked=False, v=value: self._edit("pictures.other_size", v))
            group.addAction(action)
            self.other_size_actions[value] = action
        self._views["pictures.other_size"] = (None, lambda value: self.other_size_actions[value].setChecked(True))
        button.setMenu(menu)
        return button

    def _build_brush_bar(self) -> QVBoxLayout:
        rows = QVBoxLayout()
        bar = QHBoxLayout()
        self.tool_buttons: dict[str, QToolButton] = {}
        for tool in ("brush", "eraser", "fill"):
            button = self.tool_buttons[tool] = QToolButton()
            button.setText(tool.capitalize())
            button.setCheckable(True)
            button.setAutoExclusive(True)
            button.clicked.connect(lambda _checked=False, t=tool: self._edit("tools.tool", t))
            bar.addWidget(button)
        self._views["tools.tool"] = (None, lambda tool: self.tool_buttons[tool].setChecked(True))
        self.layer_combo = self._field("tools.layer")
        bar.addWidget(self.layer_combo)
        self.size_slider = self._field("tools.size", scale=1)
        self.opacity_slider = self._field("tools.opacity", scale=100)
        self.hardness_slider = self._field("tools.hardness", scale=100)
        for label, slider in (("Size", self.size_slider), ("Opacity", self.opacity_slider),
                              ("Hardness", self.hardness_slider)):  # fmt: skip
            bar.addWidget(QLabel(label))
            slider.setFixedWidth(90)
            bar.addWidget(slider)
        bar.addStretch(1)
        colours = QHBoxLayout()
        colours.addWidget(self._button("Colour…", self.choose_colour, "Choose any brush colour"))
        self.colour_chip = QToolButton()  # the brush colour, always in sight
        self.colour_chip.setObjectName("brush-colour")
        self.colour_chip.setFixedSize(26, 22)
        self.colour_chip.clicked.connect(self.choose_colour)
        self._views["tools.colour"] = (None, self._show_colour)
        colours.addWidget(self.colour_chip)
        self.swatch_bar = QHBoxLayout()
        self.swatch_bar.setSpacing(2)
        self.swatches: list[QToolButton] = []
        colours.addLayout(self.swatch_bar)
        colours.addStretch(1)
        self.pressure_size = self._field("tools.pressure_size", "Pressure→size")
        self.pressure_opacity = self._field("tools.pressure_opacity", "Pressure→opacity")
        colours.addWidget(self.pressure_size)
        colours.addWidget(self.pressure_opacity)
        rows.addLayout(bar)
        rows.addLayout(colours)
        return rows

    def _build_result_bar(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Result opacity"))
        self.result_opacity = QSlider(Qt.Orientation.Horizontal)  # how the result is seen, not part of the work
        self.result_opacity.setRange(0, 100)
        self.result_opacity.setValue(100)
        self.result_opacity.setToolTip("Fade the result to compare it with the sketch")
        self.result_opacity.valueChanged.connect(self._apply_result_opacity)
        bar.addWidget(self.result_opacity)
        self.accept_button = self._button("Accept into sketch", self.accept_result)
        self.discard_button = self._button("Discard result", self.discard_result)
        bar.addWidget(self.accept_button)
        bar.addWidget(self.discard_button)
        self.canvas.result_changed.connect(self._update_result_buttons)
        self._update_result_buttons()
        return bar

    def _build_side(self) -> QWidget:
        side = QWidget()
        side.setMaximumWidth(330)
        column = QVBoxLayout(side)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self._build_generate_group())
        trace = QGroupBox("Line art")
        trace_row = QHBoxLayout(trace)
        self.trace_button = self._button("Trace line art", self.trace, "Trace the sketch (or an imported photo)")
        self.sensitivity = self._field("generation.sensitivity", scale=100)
        trace_row.addWidget(self.trace_button)
        trace_row.addWidget(self.sensitivity)
        column.addWidget(trace)
        self.progress = QProgressBar()
        self.preview = QLabel()
        self.preview.setFixedHeight(128)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        column.addWidget(self.progress)
        column.addWidget(self.preview)
        column.addWidget(QLabel("Variations (click to show on the result layer)"))
        self.grid = QListWidget()
        self.grid.setViewMode(QListWidget.ViewMode.IconMode)
        self.grid.setIconSize(QSize(96, 96))
        self.grid.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.grid.setMovement(QListWidget.Movement.Static)
        self.grid.currentRowChanged.connect(self.pick_variation)
        column.addWidget(self.grid, 1)
        return side

    def _build_generate_group(self) -> QGroupBox:
        group = QGroupBox("Generate")
        form = QFormLayout(group)
        pack_row = QHBoxLayout()
        self.pack_combo = QComboBox()
        self.pack_combo.setToolTip("A diffusion pack, or a diffusers/optimum ONNX folder")
        self.pack_combo.setPlaceholderText("none: use Folder…")
        self.pack_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.pack_combo.setMinimumContentsLength(14)
        pack = self.pack_combo
        pack.currentIndexChanged.connect(lambda index: self._edit("generation.pack_id", pack.itemData(index)))
        self._views["generation.pack_id"] = (pack, self._show_pack)
        pack_row.addWidget(pack, 1)
        pack_row.addWidget(self._button("Folder…", self.choose_pack_folder, "Use an ONNX folder made by other tools"))
        form.addRow("Pack", pack_row)
        self.prompt, self.negative = self._field("generation.prompt"), self._field("generation.negative")
        self.mode_combo, self.strength = self._field("generation.mode"), self._field("generation.strength")
        self.control_scale, self.guidance = self._field("generation.control_scale"), self._field("generation.guidance")
        self.steps, self.scheduler_combo = self._field("generation.steps"), self._field("generation.scheduler")
        self.width_box, self.height_box = self._field("generation.width"), self._field("generation.height")
        self.seed, self.count = self._field("generation.seed"), self._field("generation.count")
        self.batch = self._field("generation.batch")
        size_row, seed_row = QHBoxLayout(), QHBoxLayout()
        size_row.addWidget(self.width_box)
        size_row.addWidget(self.height_box)
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(QLabel("×"))
        seed_row.addWidget(self.count)
        for label, row in (("Prompt", self.prompt), ("Negative", self.negative), ("From sketch", self.mode_combo),
                           ("Strength", self.strength), ("Control weight", self.control_scale),
                           ("Guidance", self.guidance), ("Steps", self.steps), ("Size", size_row),
                           ("Scheduler", self.scheduler_combo), ("Seed × count", seed_row),
                           ("Batch", self.batch)):  # fmt: skip
            form.addRow(label, row)
        buttons = QHBoxLayout()
        self.generate_button = self._button("Generate", self.generate, GENERATE_TIP)
        self.colorize_button = self._button("Colorize", self.colorize, "Colour the sketch's lines with the palette")
        self.cancel_button = self._button("Cancel", self.cancel_jobs, "Cancel this panel's running and queued jobs")
        for button in (self.generate_button, self.colorize_button, self.cancel_button):
            buttons.addWidget(button)
        form.addRow(buttons)
        live_row = QHBoxLayout()
        self.live, self.live_target = self._field("generation.live", "Live"), self._field("generation.live_target")
        self.working = QLabel("")
        self.working.setObjectName("working-indicator")
        live_row.addWidget(self.live)
        live_row.addWidget(self.live_target)
        live_row.addWidget(self.working, 1)
        form.addRow(live_row)
        return group

    def _build_shortcuts(self) -> None:
        for sequence, slot in (
            (QKeySequence.StandardKey.Undo, self.undo),
            (QKeySequence.StandardKey.Redo, self.redo),
            (QKeySequence.StandardKey.Paste, self.paste),
            (QKeySequence.StandardKey.ZoomIn, lambda: self.canvas.zoom_by(1.25)),
            (QKeySequence.StandardKey.ZoomOut, lambda: self.canvas.zoom_by(0.8)),
        ):
            shortcut = QShortcut(QKeySequence(sequence), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)

    # -- the view of the document ------------------------------------------------------------------
    def _edit(self, path: str, value: Any) -> None:
        if value is not None:
            self.document.set(path, value)

    def _end_edit(self) -> None:
        self.document.undo.break_merge()

    def _connect_document(self) -> None:
        self.document.changed.connect(self._on_document_changed)
        self.document.undo.changed.connect(self._update_undo_buttons)
        for path in SPECS:
            self._on_document_changed(path, self.document.get(path))
        self._update_undo_buttons()

    def set_document(self, document: SketchDocument) -> None:
        """Show another document (a project opened); its undo stack also takes the canvas's steps."""
        self.document.changed.disconnect(self._on_document_changed)
        self.document.undo.changed.disconnect(self._update_undo_buttons)
        self.document = document
        self.canvas.undo_stack = document.undo
        self._connect_document()

    def _on_document_changed(self, path: str, value: Any) -> None:
        widget, show = self._views.get(path, (None, None))
        if show is not None:
            blocked = widget.blockSignals(True) if widget is not None else False
            try:
                show(value)
            finally:
                if widget is not None:
                    widget.blockSignals(blocked)
        if path.startswith("tools."):
            self.canvas.set_tools(self.document.tools)
        elif path == "generation.mode":
            self.strength.setEnabled(value in ("img2img", "inpaint"))
            self.control_scale.setEnabled(value == "controlnet")
        elif path == "generation.live" and not value:
            self.live_timer.stop()

    def _update_undo_buttons(self) -> None:
        stack = self.document.undo
        self.undo_button.setEnabled(stack.can_undo)
        self.redo_button.setEnabled(stack.can_redo)
        self.undo_button.setToolTip(f"Undo: {stack.undo_text} (Ctrl+Z)" if stack.can_undo else "Nothing to undo")
        self.redo_button.setToolTip(f"Redo: {stack.redo_text}" if stack.can_redo else "Nothing to redo")

    def undo(self) -> bool:
        return self.document.undo.undo()

    def redo(self) -> bool:
        return self.document.undo.redo()

    # -- brush -------------------------------------------------------------------------------------
    def set_tool(self, tool: str) -> None:
        self._edit("tools.tool", tool)

    def set_colour(self, colour: QColor | str) -> None:
        colour = QColor(colour)
        if colour.isValid():
            self._edit("tools.colour", colour.name())

    def _show_colour(self, colour: str) -> None:
        ink = "black" if QColor(colour).lightness() > 128 else "white"
        self.colour_chip.setStyleSheet(f"background:{colour}; color:{ink}; border:2px solid #888")
        self.colour_chip.setToolTip(f"Brush colour {colour}: click to choose another")

    def choose_colour(self) -> None:
        colour = QColorDialog.getColor(self.canvas.colour, self, "Brush colour")
        if colour.isValid():
            self.set_colour(colour)

    def _set_swatches(self, colors: list[str]) -> None:
        for button in self.swatches:
            self.swatch_bar.removeWidget(button)
            button.deleteLater()
        self.swatches = []
        for colour in colors:
            button = QToolButton()
            button.setFixedSize(22, 22)
            button.setToolTip(colour)
            button.setStyleSheet(f"background:{colour}; border:1px solid #555")
            button.clicked.connect(lambda _checked=False, c=colour: self.set_colour(c))
            self.swatch_bar.addWidget(button)
            self.swatches.append(button)

    # -- pictures ----------------------------------------------------------------------------------
    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open picture", "", IMAGE_FILTER)
        if path:
            self.import_path(path)

    def import_path(self, path: str) -> bool:
        try:
            picture = read_picture(path, max_side=MAX_CANVAS_SIDE)
        except InputFileError as exc:
            show_error(self, exc)
            return False
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
        path, _ = QFileDialog.getSaveFileName(self, "Export PNG", "sketch.png", "PNG (*.png)")
        if path:
            self.export_png(path)

    def export_png(self, path: str) -> None:
        """Save what is shown; a generated result carries its parameters in the PNG."""
        params = self.shown_parameters if self.canvas.result is not None else {}
        try:
            save_png(path, self.canvas.composite_array(), params or None)
        except OSError as exc:
            show_error(self, f"Cannot write {path} ({exc}). Choose another folder.")

    def copy(self) -> None:
        QApplication.clipboard().setImage(qimage_from_array(self.canvas.composite_array()))

    # -- result layer ------------------------------------------------------------------------------
    def _apply_result_opacity(self) -> None:
        self.canvas.result_opacity = self.result_opacity.value() / 100
        self.canvas.update()

    def _update_result_buttons(self) -> None:
        has = self.canvas.result is not None
        self.accept_button.setEnabled(has)
        self.discard_button.setEnabled(has)

    def current_image(self) -> np.ndarray:
        """What the artist sees: the shown result if there is one, else the sketch (RGBA)."""
        if self.canvas.result is not None:
            return array_from_qimage(self.canvas.result)
        return self.canvas.sketch_array()

    def accept_result(self) -> None:
        self.canvas.accept_result()

    def discard_result(self) -> None:
        self.canvas.set_result(None)
        self.grid.setCurrentRow(-1)

    def show_variations(self, variations: list[tuple[np.ndarray, dict[str, Any]]], append: bool = False) -> None:
        if not append:
            self.variations = []
            self.grid.clear()
        self.grid.blockSignals(True)
        for image, params in variations:
            pixmap = QPixmap.fromImage(qimage_from_array(image))
            icon = QIcon(
                pixmap.scaled(96, 96, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
            )
            # Generated images are told apart by their seed; colorize variations share one seed.
            label = params.get("variation", params.get("seed", len(self.variations) + 1))
            self.grid.addItem(QListWidgetItem(icon, str(label)))
            self.variations.append((image, params))
        self.grid.blockSignals(False)
        if variations and not append:
            self.grid.setCurrentRow(0)

    def pick_variation(self, row: int) -> None:
        if 0 <= row < len(self.variations):
            image, params = self.variations[row]
            self.shown_parameters = params
            self.canvas.set_result(image)

    def show_result(self, request: Request, result: Result) -> bool:
        """The History's "put back": the result's images in the grid, the first on the result layer."""
        return self._show_result(result, batch=None)

    def _show_result(self, result: Result, batch: int | None) -> bool:
        variations = variations_of(result)
        if variations is None:
            return False
        self.show_variations(variations, append=batch is not None and batch == self._shown_batch)
        self._shown_batch = batch
        return True

    # -- jobs --------------------------------------------------------------------------------------
    def refresh_packs(self) -> None:
        self._installed_packs = []
        self.pack_combo.blockSignals(True)
        self.pack_combo.clear()
        for summary in self.context.runner.pack_summaries():
            if summary.get("kind") == "diffusion":
                self.pack_combo.addItem(f"{summary['name']} ({summary['licence']})", summary["id"])
                self._installed_packs.append(str(summary["id"]))
        self.pack_combo.blockSignals(False)
        self._show_pack(self.document.generation.pack_id)

    def _show_pack(self, pack: str) -> None:
        self.pack_combo.blockSignals(True)
        if pack:
            index = self.pack_combo.findData(pack)
            if index < 0:
                self.pack_combo.addItem(Path(pack).name if Path(pack).is_absolute() else pack, pack)
                index = self.pack_combo.count() - 1
        else:  # "" is the first installed pack, as the engine reads it
            index = 0 if self._installed_packs else -1
        self.pack_combo.setCurrentIndex(index)
        self.pack_combo.blockSignals(False)
        has_pack = bool(pack or self._installed_packs)
        self.generate_button.setEnabled(has_pack)
        self.generate_button.setToolTip(GENERATE_TIP if has_pack else NO_PACK_TIP)

    def choose_pack_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "ONNX Stable Diffusion folder")
        if folder:
            self._edit("generation.pack_id", folder)

    def _pixels(self) -> CanvasPixels:
        return CanvasPixels(self.canvas.sketch_array(), self.canvas.hints_array())

    def _start(self, kind: str, what: str, live: bool = False, seed: int | None = None) -> Job | None:
        """Queue a job behind whatever runs (only a live job replaces this panel's earlier live job)."""
        try:
            palette = self.context.palette.colors
            request = self.document.to_request(kind, self._pixels(), palette, live=live, seed=seed)
        except AtelierError as exc:
            show_error(self, exc)
            return None
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
            if job is None:
                break
            self._batch_of[job.id] = batch
            jobs.append(job)
        return jobs

    def colorize(self) -> Job | None:
        return self._start("colorize", "colorizing")

    def trace(self) -> Job | None:
        return self._start("lineart", "tracing")

    def cancel_jobs(self) -> None:
        self.live_timer.stop()
        for job_id in list(self.pending):
            self.context.runner.cancel(job_id)

    def _on_canvas_changed(self) -> None:
        if self.document.generation.live:
            self.live_timer.start(LIVE_DELAY_MS)

    def _live_regenerate(self) -> None:
        if self.document.generation.live_target == "colorize":
            self._start("colorize", "colorizing", live=True)
        elif self.generate_button.isEnabled():  # no pack: a failed job after every stroke helps nobody
            self._start("sketch", "generating", live=True)

    def _update_busy(self) -> None:
        jobs = [job for job in (self.context.queue.get(i) for i in self.pending) if job is not None]
        running = [job for job in jobs if job.state is JobState.RUNNING]
        queued = len(self.pending) - len(running)
        if running:
            text = f"◷ {self.pending[running[0].id]}…" + (f" ({queued} queued)" if queued else "")
        else:
            text = f"◷ {queued} queued" if queued else ""
        self.working.setText(text)
        self.progress.setVisible(bool(self.pending))
        self.cancel_button.setEnabled(bool(self.pending))
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
        self._show_result(result, batch)

    def _on_failure(self, job: Job, error: AtelierError) -> None:
        self._finished(job)
        self.show_failure(job, error)

    def _on_cancelled(self, job: Job) -> None:
        self._finished(job)

    def _on_progress(self, job: Job, progress: Progress) -> None:
        self.progress.setValue(int(progress.fraction * 100))
        if isinstance(progress.preview, np.ndarray):
            self.preview.setPixmap(thumbnail(progress.preview, 128))

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
                self.canvas.save_layer(layer, self.context.session.side_file(f"{layer}.png"))
        return self.document.to_dict()

    def restore_state(self, state: dict[str, Any]) -> None:
        """Replace the document and the canvas with a saved one; the undo history starts empty."""
        document = SketchDocument.from_dict(state)
        sketch, hints = (self._read_layer(f"{layer}.png") for layer in LAYERS)
        height, width = sketch.shape[:2] if sketch is not None else (document.canvas.height, document.canvas.width)
        self.set_document(document)
        self.canvas.new_canvas(width, height, sketch=sketch, hints=hints, undoable=False)
        self.document.undo.clear()
        self.discard_result()
        self.show_variations([])
        self._shown_batch = None

    def _read_layer(self, name: str) -> np.ndarray | None:
        path = self.context.session.side_file(name)
        if not path.is_file():
            return None
        try:  # a damaged file leaves that layer blank rather than failing start-up
            return read_picture(path, max_side=MAX_CANVAS_SIDE)
        except InputFileError:
            return None

    def close_panel(self) -> None:
        self.live_timer.stop()
        self.context.palette.changed.disconnect(self._set_swatches)
        self.context.queue.job_changed.disconnect(self._on_job_changed)
        self.document.changed.disconnect(self._on_document_changed)
        self.document.undo.changed.disconnect(self._update_undo_buttons)
        super().close_panel()
