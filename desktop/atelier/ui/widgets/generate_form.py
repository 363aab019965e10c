"""The Sketch panel's Generate and Line art forms: a view of the SketchDocument's generation settings,
with the buttons that ask for jobs and the line that says what this panel's jobs are doing."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QToolButton,
    QWidget,
)

from atelier.core.documents.sketch import COLORIZE_COLOURS, colorize_palette_problem
from atelier.ui.dialogs.pack_licence_dialog import mark_licence_item, pack_item_text
from atelier.ui.widgets.buttons import button, click_through
from atelier.ui.widgets.document_form import DocumentForm

# Rich text, so Qt wraps it: as plain text the tooltip was one line 800 px wide across the canvas.
NO_PACK_TIP = (
    "<p>No image pack yet: choose an ONNX Stable Diffusion folder with <b>Folder…</b>, "
    "or add a pack with <code>atelier models import-diffusers PATH</code>.</p>"
)
GENERATE_TIP = "Generate images from the prompt and the sketch (queued behind any running job)"
AUTO_SIZE_TIP = (
    "<p>Auto is on: images are made at the pack's own size (512² for SD 1.x, 1024² for SDXL) in the canvas's "
    "shape. This size is kept for when you untick Auto.</p>"
)
COLORIZE_TIP = "Colour the sketch's lines with the palette (queued behind any running job)"


class GenerateFormWidget(QGroupBox):
    generate_requested = Signal()
    colorize_requested = Signal()
    cancel_requested = Signal()
    fit_requested = Signal()  # make the image size the canvas's shape

    def __init__(self, form: DocumentForm, parent: QWidget | None = None) -> None:
        super().__init__("Generate", parent)
        self.binder = form.binder
        self._installed_packs: list[str] = []
        self._pack = ""
        self._auto = True
        self._fit_needed = False
        layout = QFormLayout(self)
        layout.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)  # the side column is 330 px wide
        layout.addRow("Pack", self._build_pack_row())
        self.prompt, self.negative = form.field("generation.prompt"), form.field("generation.negative")
        self.mode_combo, self.strength = form.field("generation.mode"), form.field("generation.strength")
        self.control_scale, self.guidance = form.field("generation.control_scale"), form.field("generation.guidance")
        self.steps, self.scheduler_combo = form.field("generation.steps"), form.field("generation.scheduler")
        self.width_box, self.height_box = form.field("generation.width"), form.field("generation.height")
        self.seed, self.count = form.field("generation.seed"), form.field("generation.count")
        self.batch = form.field("generation.batch")
        self.auto_size = form.field("generation.auto_size", "Auto")
        self.detail = form.field("generation.detail_upscale", "Detail pass for large canvases")
        size_row, seed_row = QHBoxLayout(), QHBoxLayout()
        self.fit_button = button("Fit canvas", kind=QToolButton)
        self.fit_button.clicked.connect(self.fit_requested)
        for widget in (self.auto_size, self.width_box, self.height_box, self.fit_button):
            size_row.addWidget(widget)
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(QLabel("×"))
        seed_row.addWidget(self.count)
        for label, row in (("Prompt", self.prompt), ("Negative", self.negative), ("From sketch", self.mode_combo),
                           ("Strength", self.strength), ("Control strength", self.control_scale),
                           ("Guidance", self.guidance), ("Steps", self.steps), ("Size", size_row),
                           ("", self.detail), ("Scheduler", self.scheduler_combo), ("Seed × count", seed_row),
                           ("Batch", self.batch)):  # fmt: skip
            layout.addRow(label, row)
        layout.addRow(self._build_buttons())
        layout.addRow(self._build_live_row(form))
        layout.addRow(self.working)
        self.binder.bind_view("generation.mode", self.show_mode)
        self.binder.bind_view("generation.auto_size", self.show_auto_size)

    def _build_pack_row(self) -> QHBoxLayout:
        self.pack_combo = QComboBox()
        self.pack_combo.setToolTip("A diffusion pack, or a diffusers/optimum ONNX folder")
        self.pack_combo.setPlaceholderText("none: use Folder…")
        self.pack_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.pack_combo.setMinimumContentsLength(14)
        self.binder.bind("generation.pack_id", self.pack_combo, show=self._show_pack)
        folder = button("Folder…", "Use an ONNX folder made by other tools")
        folder.clicked.connect(self.choose_pack_folder)
        row = QHBoxLayout()
        row.addWidget(self.pack_combo, 1)
        row.addWidget(folder)
        return row

    def _build_buttons(self) -> QHBoxLayout:
        self.generate_button = button("Generate", GENERATE_TIP)
        self.colorize_button = button("Colorize", COLORIZE_TIP)
        self.cancel_button = button("Cancel", "Cancel this panel's running and queued jobs")
        click_through((
            (self.generate_button, self.generate_requested),
            (self.colorize_button, self.colorize_requested),
            (self.cancel_button, self.cancel_requested),
        ))  # fmt: skip
        row = QHBoxLayout()
        for widget in (self.generate_button, self.colorize_button, self.cancel_button):
            row.addWidget(widget)
        return row

    def _build_live_row(self, form: DocumentForm) -> QHBoxLayout:
        self.live, self.live_target = form.field("generation.live", "Live"), form.field("generation.live_target")
        self.working = QLabel("")
        self.working.setObjectName("working-indicator")
        # What the jobs are doing changes while the artist clicks: a line of its own, kept whether or not
        # there is something to say, wrapping in the column's width; beside Live it once widened the whole
        # window ("(2 queued)"), then wrapped to three lines and pushed the form down.
        self.working.setWordWrap(True)
        self.working.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.working.setMinimumHeight(self.working.fontMetrics().height())
        row = QHBoxLayout()
        row.addWidget(self.live)
        row.addWidget(self.live_target)
        row.addStretch(1)
        return row

    # -- packs -------------------------------------------------------------------------------
    @property
    def has_pack(self) -> bool:
        """Whether Generate has a pack to run ("" is the first installed one, as the engine reads it)."""
        return bool(self._pack or self._installed_packs)

    def set_packs(self, summaries: list[dict[str, str]]) -> None:
        """List the installed diffusion packs (the document's pack stays chosen)."""
        with self.binder.quiet():
            self.pack_combo.clear()
            self._installed_packs = []
            for summary in summaries:
                if summary.get("kind") == "diffusion":
                    self.pack_combo.addItem(pack_item_text(summary["name"], summary["licence"]), summary["id"])
                    mark_licence_item(self.pack_combo, self.pack_combo.count() - 1, summary["licence"])
                    self._installed_packs.append(str(summary["id"]))
            self._show_pack(self._pack)

    def _show_pack(self, pack: str) -> None:
        # Called quietly (by the binder, or above): choosing the combo's row here is not the artist's edit.
        self._pack = pack
        if pack:
            index = self.pack_combo.findData(pack)
            if index < 0:  # a folder (or a recalled pack not installed here): listed by its name
                name = Path(pack).name if Path(pack).is_absolute() else pack
                self.pack_combo.addItem(f"{name} (licence unknown)", pack)
                index = self.pack_combo.count() - 1
                mark_licence_item(self.pack_combo, index, "unknown")
        else:
            index = 0 if self._installed_packs else -1
        self.pack_combo.setCurrentIndex(index)
        self.generate_button.setEnabled(self.has_pack)
        self.generate_button.setToolTip(GENERATE_TIP if self.has_pack else NO_PACK_TIP)

    def choose_pack_folder(self) -> None:
        # Start beside the folder in use, else at home: never the folder Atelier was started from.
        start = Path(self._pack).parent if Path(self._pack).is_absolute() else Path.home()
        folder = QFileDialog.getExistingDirectory(self, "ONNX Stable Diffusion folder", str(start))
        if folder:
            self.binder.edit("generation.pack_id", folder)

    # -- what the settings allow ------------------------------------------------------------------
    def show_mode(self, mode: str) -> None:
        self.strength.setEnabled(mode in ("img2img", "inpaint"))
        self.control_scale.setEnabled(mode == "controlnet")

    def show_auto_size(self, auto: bool) -> None:
        """Auto size: the pack chooses (its native area in the canvas's shape), so width and height rest."""
        # Greyed out, the boxes still show the size kept for when Auto is off (512×512 on a 200×400 canvas
        # looked like the size Auto would use): the tooltip says which size is used.
        tip = AUTO_SIZE_TIP if auto else ""
        for widget in (self.width_box, self.height_box):
            widget.setEnabled(not auto)
            widget.setToolTip(tip)
        self._auto = auto
        self.fit_button.setEnabled(not auto and self._fit_needed)

    def show_palette_size(self, colours: int) -> None:
        """Colorize is off, saying what to do, while the palette has too few colours."""
        problem = colorize_palette_problem(colours)
        high = COLORIZE_COLOURS[1]
        extra = f"; the first {high} of the palette's {colours} colours are used" if colours > high else ""
        self.colorize_button.setEnabled(not problem)
        self.colorize_button.setToolTip(problem or COLORIZE_TIP + extra)

    def show_size_fit(self, size: tuple[int, int], fitted: tuple[int, int], canvas: tuple[int, int]) -> None:
        """Fit canvas is on while a chosen size is not of the canvas's shape (the canvas is then fitted
        inside the image, and the margin is generated for nothing)."""
        self._fit_needed = size != fitted
        self.fit_button.setEnabled(self._fit_needed and not self._auto)
        self.fit_button.setToolTip(
            f"<p>Images of {size[0]}×{size[1]} are not in the shape of the {canvas[0]}×{canvas[1]} canvas (it is "
            f"fitted inside them, never stretched): make them {fitted[0]}×{fitted[1]}, its shape</p>"
            if size != fitted
            else "The images have the canvas's shape"
        )

    def minimumSizeHint(self) -> QSize:
        """Never shorter than the rows need at this width: in the narrow side column some rows wrap, and a
        form squeezed below that (when a job's progress appeared below it) moved Generate under the mouse."""
        hint = super().minimumSizeHint()
        if self.width() > 0:
            hint.setHeight(max(hint.height(), self.heightForWidth(self.width())))
        return hint

    def show_busy(self, text: str, busy: bool) -> None:
        self.working.setText(text)
        self.working.setToolTip(text)
        self.cancel_button.setEnabled(busy)


class LineArtFormWidget(QGroupBox):
    trace_requested = Signal()

    def __init__(self, form: DocumentForm, parent: QWidget | None = None) -> None:
        super().__init__("Line art", parent)
        self.trace_button = button("Trace line art", "Trace the sketch (or an imported photo)")
        self.trace_button.clicked.connect(self.trace_requested)
        self.sensitivity = form.field("generation.sensitivity", scale=100)
        row = QHBoxLayout(self)
        row.addWidget(self.trace_button)
        row.addWidget(self.sensitivity)
