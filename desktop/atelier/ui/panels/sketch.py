"""Sketch panel: draw on a canvas, then trace line art, colorize, or generate images from the drawing.

Generated variations (Stable-Diffusion packs or the colorizer) land in a grid; picking one shows it
on the result layer over the sketch, where it can be compared (opacity), accepted or discarded.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QColor, QIcon, QKeySequence, QPixmap, QShortcut
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
    QProgressBar,
    QPushButton,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from atelier.core.errors import AtelierError, InputFileError, InvalidRequestError
from atelier.core.jobs import Job
from atelier.core.progress import Progress
from atelier.core.provenance import save_png
from atelier.core.requests import Request, Result
from atelier.core.requests.colorize import ColorizeRequest, ColorizeResult
from atelier.core.requests.lineart import LineArtRequest, LineArtResult
from atelier.core.requests.sketch import SketchRequest, SketchResult
from atelier.ui.context import AppContext
from atelier.ui.errors import show_error
from atelier.ui.panels.base import Panel
from atelier.ui.widgets.canvas import CanvasWidget
from atelier.ui.widgets.images import array_from_qimage, qimage_from_array

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.bmp *.tif *.tiff)"
MODES = ("Text to image", "Image to image", "ControlNet (lines)", "Inpaint (hints layer = mask)")
LIVE_DELAY_MS = 500


def load_image(path: str) -> np.ndarray:
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGBA"))
    except (OSError, ValueError) as exc:
        raise InputFileError(f"Cannot open {path} as an image ({exc}).") from exc


def _slider(low: int, high: int, value: int, tip: str) -> QSlider:
    slider = QSlider(Qt.Orientation.Horizontal)
    slider.setRange(low, high)
    slider.setValue(value)
    slider.setToolTip(tip)
    return slider


class SketchPanel(Panel):
    title = "Sketch"

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.canvas = CanvasWidget()
        self.canvas.image_dropped.connect(self.import_path)
        self.canvas.stroke_finished.connect(self._on_canvas_changed)
        self.variations: list[tuple[np.ndarray, dict[str, Any]]] = []
        self.shown_parameters: dict[str, Any] = {}
        self.running: dict[int, str] = {}  # job id -> what it does ("generate", "colorize", "trace")
        self.live_timer = QTimer(self)
        self.live_timer.setSingleShot(True)
        self.live_timer.timeout.connect(self._live_regenerate)

        layout = QHBoxLayout(self)
        left = QVBoxLayout()
        left.addLayout(self._build_file_bar())
        left.addLayout(self._build_brush_bar())
        left.addLayout(self._build_palette_bar())
        left.addWidget(self.canvas, 1)
        left.addLayout(self._build_result_bar())
        layout.addLayout(left, 3)
        layout.addWidget(self._build_side(), 1)
        self._build_shortcuts()
        context.palette.changed.connect(self._set_swatches)
        self._set_swatches(context.palette.colors)
        self.refresh_packs()

    # -- building ----------------------------------------------------------------------------------
    def _button(self, text: str, slot: Any, tip: str = "") -> QPushButton:
        button = QPushButton(text)
        button.clicked.connect(slot)
        if tip:
            button.setToolTip(tip)
        return button

    def _build_file_bar(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        bar.addWidget(self._button("Open…", self.open_dialog, "Open or import a picture (or drop one on the canvas)"))
        bar.addWidget(self._button("Paste", self.paste, "Paste an image from the clipboard"))
        bar.addWidget(self._button("Export PNG…", self.export_dialog, "Save what you see as a PNG"))
        bar.addWidget(self._button("Copy", self.copy, "Copy what you see to the clipboard"))
        bar.addSpacing(12)
        bar.addWidget(self._button("Undo", self.canvas.undo))
        bar.addWidget(self._button("Redo", self.canvas.redo))
        bar.addWidget(self._button("Clear", lambda: self.canvas.clear(), "Clear the active layer"))
        bar.addSpacing(12)
        bar.addWidget(self._button("Fit", self.canvas.fit, "Fit the canvas in view (wheel zooms, middle-drag pans)"))
        bar.addStretch(1)
        return bar

    def _build_brush_bar(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        self.tool_buttons: dict[str, QToolButton] = {}
        for tool in ("brush", "eraser", "fill"):
            button = QToolButton()
            button.setText(tool.capitalize())
            button.setCheckable(True)
            button.setAutoExclusive(True)
            button.clicked.connect(lambda _checked=False, t=tool: self.set_tool(t))
            self.tool_buttons[tool] = button
            bar.addWidget(button)
        self.tool_buttons["brush"].setChecked(True)
        self.layer_combo = QComboBox()
        self.layer_combo.addItems(["Sketch layer", "Hints layer"])
        self.layer_combo.setToolTip("Hints: colour scribbles for Colorize, and the mask for Inpaint")
        self.layer_combo.currentIndexChanged.connect(self._on_layer_changed)
        bar.addWidget(self.layer_combo)
        self.size_slider = _slider(1, 200, 8, "Brush size (pixels)")
        self.opacity_slider = _slider(1, 100, 100, "Brush opacity")
        self.hardness_slider = _slider(0, 100, 80, "Brush hardness")
        for label, slider in (
            ("Size", self.size_slider),
            ("Opacity", self.opacity_slider),
            ("Hardness", self.hardness_slider),
        ):
            bar.addWidget(QLabel(label))
            slider.setFixedWidth(90)
            slider.valueChanged.connect(self._apply_brush)
            bar.addWidget(slider)
        self.pressure_size = QCheckBox("Pressure→size")
        self.pressure_size.setChecked(True)
        self.pressure_opacity = QCheckBox("Pressure→opacity")
        for box in (self.pressure_size, self.pressure_opacity):
            box.toggled.connect(self._apply_brush)
        bar.addStretch(1)
        self._apply_brush()
        return bar

    def _build_palette_bar(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        self.colour_button = QPushButton("Colour…")
        self.colour_button.clicked.connect(self.choose_colour)
        bar.addWidget(self.colour_button)
        self.swatch_bar = QHBoxLayout()
        self.swatch_bar.setSpacing(2)
        bar.addLayout(self.swatch_bar)
        bar.addStretch(1)
        bar.addWidget(self.pressure_size)  # built with the brush bar; shown here to keep rows short
        bar.addWidget(self.pressure_opacity)
        self.swatches: list[QToolButton] = []
        return bar

    def _build_result_bar(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Result opacity"))
        self.result_opacity = _slider(0, 100, 100, "Fade the result to compare it with the sketch")
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

        generate = QGroupBox("Generate")
        form = QFormLayout(generate)
        pack_row = QHBoxLayout()
        self.pack_combo = QComboBox()
        self.pack_combo.setToolTip("A diffusion pack, or a diffusers/optimum ONNX folder")
        self.pack_combo.setPlaceholderText("none: use Folder…")
        self.pack_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.pack_combo.setMinimumContentsLength(14)
        pack_row.addWidget(self.pack_combo, 1)
        pack_row.addWidget(self._button("Folder…", self.choose_pack_folder, "Use an ONNX folder made by other tools"))
        form.addRow("Pack", pack_row)
        self.prompt = QLineEdit()
        self.prompt.setPlaceholderText("e.g. a lighthouse at dusk")
        self.negative = QLineEdit()
        self.negative.setPlaceholderText("what to avoid")
        form.addRow("Prompt", self.prompt)
        form.addRow("Negative", self.negative)
        self.mode_combo = QComboBox()
        self.mode_combo.addItems(MODES)
        self.mode_combo.setCurrentIndex(1)
        form.addRow("From sketch", self.mode_combo)
        self.strength = QDoubleSpinBox()
        self.strength.setRange(0.05, 1.0)
        self.strength.setSingleStep(0.05)
        self.strength.setValue(0.6)
        self.strength.setToolTip("How much is redrawn: low keeps the sketch, 1 ignores it")
        form.addRow("Strength", self.strength)
        self.guidance = QDoubleSpinBox()
        self.guidance.setRange(0.0, 30.0)
        self.guidance.setValue(7.5)
        self.guidance.setToolTip("Guidance scale; 0-1.5 for SD-Turbo and LCM packs")
        form.addRow("Guidance", self.guidance)
        self.steps = QSpinBox()
        self.steps.setRange(1, 150)
        self.steps.setValue(20)
        form.addRow("Steps", self.steps)
        size_row = QHBoxLayout()
        self.width_box = QSpinBox()
        self.height_box = QSpinBox()
        for box in (self.width_box, self.height_box):
            box.setRange(64, 2048)
            box.setSingleStep(64)
            box.setValue(512)
            size_row.addWidget(box)
        form.addRow("Size", size_row)
        self.scheduler_combo = QComboBox()
        self.scheduler_combo.addItems(["pack default", "euler", "euler_a", "ddim", "lcm"])
        form.addRow("Scheduler", self.scheduler_combo)
        seed_row = QHBoxLayout()
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.count = QSpinBox()
        self.count.setRange(1, 16)
        self.count.setValue(4)
        seed_row.addWidget(self.seed)
        seed_row.addWidget(QLabel("×"))
        seed_row.addWidget(self.count)
        form.addRow("Seed × count", seed_row)
        buttons = QHBoxLayout()
        self.generate_button = self._button("Generate", self.generate)
        self.colorize_button = self._button("Colorize", self.colorize, "Colour the sketch's lines with the palette")
        self.cancel_button = self._button("Cancel", self.cancel_jobs)
        buttons.addWidget(self.generate_button)
        buttons.addWidget(self.colorize_button)
        buttons.addWidget(self.cancel_button)
        form.addRow(buttons)
        live_row = QHBoxLayout()
        self.live = QCheckBox("Live")
        self.live.setToolTip("Regenerate shortly after each stroke (best with LCM / SD-Turbo packs)")
        self.live_target = QComboBox()
        self.live_target.addItems(["Generate", "Colorize (preview)"])
        self.working = QLabel("")
        self.working.setObjectName("working-indicator")
        live_row.addWidget(self.live)
        live_row.addWidget(self.live_target)
        live_row.addWidget(self.working, 1)
        form.addRow(live_row)
        column.addWidget(generate)

        trace = QGroupBox("Line art")
        trace_row = QHBoxLayout(trace)
        self.trace_button = self._button("Trace line art", self.trace, "Trace the sketch (or an imported photo)")
        self.sensitivity = _slider(0, 100, 50, "Line sensitivity: higher keeps fainter edges")
        trace_row.addWidget(self.trace_button)
        trace_row.addWidget(self.sensitivity)
        column.addWidget(trace)

        self.progress = QProgressBar()
        self.progress.setVisible(False)
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

    def _build_shortcuts(self) -> None:
        for sequence, slot in (
            (QKeySequence.StandardKey.Undo, self.canvas.undo),
            (QKeySequence.StandardKey.Redo, self.canvas.redo),
            (QKeySequence.StandardKey.Paste, self.paste),
            (QKeySequence.StandardKey.ZoomIn, lambda: self.canvas.zoom_by(1.25)),
            (QKeySequence.StandardKey.ZoomOut, lambda: self.canvas.zoom_by(0.8)),
        ):
            shortcut = QShortcut(QKeySequence(sequence), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)

    # -- brush -------------------------------------------------------------------------------------
    def set_tool(self, tool: str) -> None:
        self.canvas.tool = tool
        self.tool_buttons[tool].setChecked(True)

    def _apply_brush(self) -> None:
        self.canvas.brush_size = float(self.size_slider.value())
        self.canvas.opacity = self.opacity_slider.value() / 100
        self.canvas.hardness = self.hardness_slider.value() / 100
        self.canvas.pressure_size = self.pressure_size.isChecked()
        self.canvas.pressure_opacity = self.pressure_opacity.isChecked()

    def _on_layer_changed(self, index: int) -> None:
        self.canvas.active_layer = "hints" if index == 1 else "sketch"

    def set_colour(self, colour: QColor | str) -> None:
        colour = QColor(colour)
        if colour.isValid():
            self.canvas.colour = colour
            self.colour_button.setStyleSheet(
                f"background:{colour.name()}; color:{'black' if colour.lightness() > 128 else 'white'}"
            )

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

    # -- files -------------------------------------------------------------------------------------
    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open picture", "", IMAGE_FILTER)
        if path:
            self.import_path(path)

    def import_path(self, path: str) -> None:
        try:
            self.set_picture(load_image(path))
        except InputFileError as exc:
            show_error(self, exc)

    def set_picture(self, picture: np.ndarray) -> None:
        self.canvas.set_sketch(picture)

    def paste(self) -> None:
        image = QApplication.clipboard().image()
        if image.isNull():
            show_error(self, "The clipboard holds no image. Copy an image first, then paste.")
            return
        self.canvas.set_sketch(array_from_qimage(image))

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

    def show_variations(self, images: list[np.ndarray], params: list[dict[str, Any]]) -> None:
        self.variations = list(zip(images, params, strict=True))
        self.grid.blockSignals(True)
        self.grid.clear()
        for index, image in enumerate(images):
            icon = QIcon(
                QPixmap.fromImage(qimage_from_array(image)).scaled(
                    96, 96, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
                )
            )
            # Generated images are told apart by their seed; colorize variations share one seed.
            label = params[index].get("variation", params[index].get("seed", index + 1))
            item = QListWidgetItem(icon, str(label))
            self.grid.addItem(item)
        self.grid.blockSignals(False)
        if images:
            self.grid.setCurrentRow(0)

    def pick_variation(self, row: int) -> None:
        if 0 <= row < len(self.variations):
            image, params = self.variations[row]
            self.shown_parameters = params
            self.canvas.set_result(image)

    # -- jobs --------------------------------------------------------------------------------------
    def refresh_packs(self) -> None:
        current = self.pack_combo.currentData()
        self.pack_combo.clear()
        for summary in self.context.runner.pack_summaries():
            if summary.get("kind") == "diffusion":
                self.pack_combo.addItem(f"{summary['name']} ({summary['licence']})", summary["id"])
        if current:
            self._select_pack(str(current))

    def _select_pack(self, pack: str) -> None:
        index = self.pack_combo.findData(pack)
        if index < 0:
            self.pack_combo.addItem(Path(pack).name if Path(pack).is_absolute() else pack, pack)
            index = self.pack_combo.count() - 1
        self.pack_combo.setCurrentIndex(index)

    def choose_pack_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "ONNX Stable Diffusion folder")
        if folder:
            self._select_pack(folder)

    def sketch_request(self, live: bool = False) -> SketchRequest:
        mode = self.mode_combo.currentIndex()
        width, height = self.width_box.value(), self.height_box.value()
        sketch = self.canvas.sketch_array()
        image = control = mask = None
        if mode in (1, 3):
            image = sketch
        if mode == 2:
            control = sketch
        if mode == 3:
            hints = self.canvas.layer_array("hints")
            mask = np.where(hints[:, :, 3] > 0, 255, 0).astype(np.uint8)
            if not mask.any():
                raise InvalidRequestError("Paint the region to regenerate on the Hints layer first.")
        scheduler = self.scheduler_combo.currentText()
        return SketchRequest(
            prompt=self.prompt.text(),
            negative=self.negative.text(),
            pack_id=str(self.pack_combo.currentData() or ""),
            width=width,
            height=height,
            steps=self.steps.value(),
            guidance=self.guidance.value(),
            seed=self.seed.value(),
            count=1 if live else self.count.value(),
            strength=self.strength.value(),
            image=image,
            control=control,
            mask=mask,
            scheduler="" if scheduler == "pack default" else scheduler,
            origin="sketch",
            supersedes=True,
        )

    def colorize_request(self, preview: bool = False) -> ColorizeRequest:
        return ColorizeRequest(
            lines=self.canvas.sketch_array()[:, :, :3].copy(),
            palette=tuple(self.context.palette.colors[:8]),
            hints=self.canvas.hints_array(),
            count=1 if preview else self.count.value(),
            seed=self.seed.value(),
            preview=preview,
            origin="sketch",
            supersedes=True,
        )

    def _start(self, build: Any, what: str) -> Job | None:
        try:
            request: Request = build()
        except AtelierError as exc:
            show_error(self, exc)
            return None
        job = self.submit(request, self._on_result, self._on_progress, self._on_error)
        self.running = {job.id: what}  # supersedes=True: the queue cancels the older one
        self.progress.setVisible(True)
        self.progress.setValue(0)
        self.working.setText(f"⏳ {what}…")
        return job

    def generate(self) -> Job | None:
        return self._start(self.sketch_request, "generating")

    def colorize(self) -> Job | None:
        return self._start(self.colorize_request, "colorizing")

    def trace(self) -> Job | None:
        def build() -> LineArtRequest:
            return LineArtRequest(
                image=self.canvas.sketch_array(),
                sensitivity=self.sensitivity.value() / 100,
                origin="sketch",
                supersedes=True,
            )

        return self._start(build, "tracing")

    def cancel_jobs(self) -> None:
        for job_id in list(self.running):
            self.context.runner.cancel(job_id)
        self._idle()

    def _on_canvas_changed(self) -> None:
        if self.live.isChecked():
            self.live_timer.start(LIVE_DELAY_MS)

    def _live_regenerate(self) -> None:
        if self.live_target.currentIndex() == 1:
            self._start(lambda: self.colorize_request(preview=True), "colorizing")
        else:
            self._start(lambda: self.sketch_request(live=True), "generating")

    def _idle(self) -> None:
        self.running.clear()
        self.progress.setVisible(False)
        self.working.setText("")
        self.preview.clear()

    def _on_progress(self, progress: Progress) -> None:
        self.progress.setValue(int(progress.fraction * 100))
        if isinstance(progress.preview, np.ndarray):
            pixmap = QPixmap.fromImage(qimage_from_array(progress.preview))
            self.preview.setPixmap(pixmap.scaled(128, 128, Qt.AspectRatioMode.KeepAspectRatio))

    def _on_error(self, message: str) -> None:
        self._idle()
        show_error(self, message)

    def _on_result(self, result: Result) -> None:
        self._idle()
        if isinstance(result, SketchResult):
            params = [{**result.parameters, "seed": seed} for seed in result.seeds]
            self.show_variations(list(result.images), params)
        elif isinstance(result, ColorizeResult):
            self.show_variations(list(result.images), list(result.parameters))
        elif isinstance(result, LineArtResult):
            self.show_variations([result.lines], [{"kind": "lineart"}])

    def recall(self, job: Job) -> None:
        """History's "Recall settings": put a generation's parameters back into the form."""
        request = job.request
        if not isinstance(request, SketchRequest):
            return
        self.prompt.setText(request.prompt)
        self.negative.setText(request.negative)
        self.steps.setValue(request.steps)
        self.guidance.setValue(request.guidance)
        self.seed.setValue(min(request.seed, 2**31 - 1))
        self.count.setValue(request.count)
        self.strength.setValue(request.strength)
        self.width_box.setValue(request.width)
        self.height_box.setValue(request.height)
        self.scheduler_combo.setCurrentText(request.scheduler or "pack default")
        self.mode_combo.setCurrentIndex(
            3
            if request.mask is not None
            else 2
            if request.control is not None
            else 1
            if request.image is not None
            else 0
        )
        if request.pack_id:
            self._select_pack(request.pack_id)

    # -- session -----------------------------------------------------------------------------------
    def save_state(self) -> dict[str, Any]:
        # The rest of the session still saves if this fails; the next autosave retries.
        with contextlib.suppress(OSError):
            self.canvas.save_sketch(self.context.session.side_file("sketch.png"))
        return {
            "sensitivity": self.sensitivity.value(),
            "prompt": self.prompt.text(),
            "negative": self.negative.text(),
            "steps": self.steps.value(),
            "guidance": self.guidance.value(),
            "strength": self.strength.value(),
            "seed": self.seed.value(),
            "count": self.count.value(),
            "width": self.width_box.value(),
            "height": self.height_box.value(),
            "mode": self.mode_combo.currentIndex(),
            "pack": str(self.pack_combo.currentData() or ""),
            "brush": [self.size_slider.value(), self.opacity_slider.value(), self.hardness_slider.value()],
            "colour": self.canvas.colour.name(),
        }

    def restore_state(self, state: dict[str, Any]) -> None:
        path = self.context.session.side_file("sketch.png")
        if path.is_file():
            # A damaged autosave leaves a blank canvas rather than failing start-up.
            with contextlib.suppress(InputFileError):
                self.canvas.set_sketch(load_image(str(path)), undoable=False)
        setters: dict[str, Any] = {
            "sensitivity": self.sensitivity.setValue,
            "prompt": self.prompt.setText,
            "negative": self.negative.setText,
            "steps": self.steps.setValue,
            "guidance": self.guidance.setValue,
            "strength": self.strength.setValue,
            "seed": self.seed.setValue,
            "count": self.count.setValue,
            "width": self.width_box.setValue,
            "height": self.height_box.setValue,
            "mode": self.mode_combo.setCurrentIndex,
            "colour": self.set_colour,
        }
        for key, setter in setters.items():
            if key in state:
                with contextlib.suppress(TypeError, ValueError):  # a bad old value keeps the default
                    setter(state[key])
        brush = state.get("brush")
        if isinstance(brush, list) and len(brush) == 3:
            for slider, value in zip((self.size_slider, self.opacity_slider, self.hardness_slider), brush, strict=True):
                if isinstance(value, int):
                    slider.setValue(value)
        if state.get("pack"):
            self._select_pack(str(state["pack"]))

    def close_panel(self) -> None:
        self.live_timer.stop()
        self.context.palette.changed.disconnect(self._set_swatches)
        super().close_panel()
