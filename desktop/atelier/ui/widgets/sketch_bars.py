"""The bars around the Sketch panel's canvas: files and undo above it, brushes under those, the result
layer below it, and the New canvas dialog. The brush bar is a view of the SketchDocument's tool settings."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, SignalInstance
from PySide6.QtGui import QAction, QActionGroup, QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QMenu,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from atelier.core.documents.sketch import CANVAS_PRESETS, MAX_CANVAS_SIDE, SPECS, TOOLS, locked_size
from atelier.ui.widgets.buttons import button
from atelier.ui.widgets.document_form import DocumentForm


def _row(parent: QWidget | None = None) -> QHBoxLayout:
    row = QHBoxLayout(parent) if parent is not None else QHBoxLayout()
    row.setContentsMargins(0, 0, 0, 0)
    return row


def _add_buttons(bar: QHBoxLayout, buttons: tuple[tuple[str, SignalInstance, str], ...]) -> None:
    # Tool buttons, sized to their text: Fusion makes every push button at least 80 px wide, which put the
    # window at 1,396 px, wider than a 1366-pixel laptop screen.
    for text, signal, tip in buttons:
        widget = button(text, tip, kind=QToolButton)
        widget.clicked.connect(signal)
        bar.addWidget(widget)


class FileBarWidget(QWidget):
    new_requested = Signal()
    open_requested = Signal()
    paste_requested = Signal()
    export_requested = Signal()
    copy_requested = Signal()
    clear_requested = Signal()
    fit_requested = Signal()

    def __init__(self, form: DocumentForm, history: tuple[QWidget, QWidget], parent: QWidget | None = None) -> None:
        """`history`: the Undo and Redo buttons of the document's stack."""
        super().__init__(parent)
        bar = _row(self)
        _add_buttons(bar, (("New…", self.new_requested, "A new blank canvas of a chosen size (undoable)"),))
        bar.addWidget(self._build_open_button(form))
        _add_buttons(bar, (
            ("Paste", self.paste_requested, "Paste an image from the clipboard"),
            ("Export PNG…", self.export_requested, "Save what you see as a PNG"),
            ("Copy", self.copy_requested, "Copy what you see to the clipboard"),
        ))  # fmt: skip
        bar.addSpacing(12)
        for widget in history:
            bar.addWidget(widget)
        _add_buttons(bar, (
            ("Clear", self.clear_requested, "Clear the active layer"),
            ("Fit", self.fit_requested, "Fit the canvas in view (wheel zooms, middle-drag pans)"),
        ))  # fmt: skip
        bar.addStretch(1)

    def _build_open_button(self, form: DocumentForm) -> QToolButton:
        """Open… with a menu for what to do with a picture of another size (a preference, kept out of
        the bar so the panel fits a 1366-pixel screen)."""
        open_button = QToolButton()
        open_button.setText("Open…")
        open_button.setToolTip("Open or import a picture (or drop one on the canvas); the arrow sets what happens "
                               "to a picture of another size")  # fmt: skip
        open_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        open_button.clicked.connect(self.open_requested)
        menu = QMenu(open_button)
        menu.addSection("A picture of another size")
        group = QActionGroup(menu)
        spec = SPECS["pictures.other_size"]
        self.other_size_actions: dict[str, QAction] = {}
        for value, label in zip(spec.choices, spec.labels, strict=True):
            action = self.other_size_actions[value] = menu.addAction(label)
            action.setCheckable(True)
            group.addAction(action)
        form.binder.bind_choices("pictures.other_size", self.other_size_actions)
        open_button.setMenu(menu)
        return open_button


class BrushBarWidget(QWidget):
    colour_dialog_requested = Signal()
    colour_chosen = Signal(str)  # a palette swatch was clicked

    def __init__(self, form: DocumentForm, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        rows = QVBoxLayout(self)
        rows.setContentsMargins(0, 0, 0, 0)
        rows.addLayout(self._build_tools(form))
        rows.addLayout(self._build_colours(form))

    def _build_tools(self, form: DocumentForm) -> QHBoxLayout:
        bar = _row()
        self.tool_buttons: dict[str, QToolButton] = {}
        for tool in TOOLS:
            tool_button = self.tool_buttons[tool] = QToolButton()
            tool_button.setText(tool.capitalize())
            tool_button.setCheckable(True)
            tool_button.setAutoExclusive(True)
            bar.addWidget(tool_button)
        form.binder.bind_choices("tools.tool", self.tool_buttons)
        self.layer_combo = form.field("tools.layer")
        bar.addWidget(self.layer_combo)
        self.size_slider = form.field("tools.size", scale=1)
        self.opacity_slider = form.field("tools.opacity", scale=100)
        self.hardness_slider = form.field("tools.hardness", scale=100)
        for label, slider in (("Size", self.size_slider), ("Opacity", self.opacity_slider),
                              ("Hardness", self.hardness_slider)):  # fmt: skip
            bar.addWidget(QLabel(label))
            slider.setFixedWidth(72)
            bar.addWidget(slider)
        bar.addStretch(1)
        return bar

    def _build_colours(self, form: DocumentForm) -> QHBoxLayout:
        colours = _row()
        choose = button("Colour…", "Choose any brush colour", kind=QToolButton)
        choose.clicked.connect(self.colour_dialog_requested)
        colours.addWidget(choose)
        self.colour_chip = QToolButton()  # the brush colour, always in sight
        self.colour_chip.setObjectName("brush-colour")
        self.colour_chip.setFixedSize(26, 22)
        self.colour_chip.clicked.connect(self.colour_dialog_requested)
        form.binder.bind_view("tools.colour", self._show_colour)
        colours.addWidget(self.colour_chip)
        self.swatch_bar = QHBoxLayout()
        self.swatch_bar.setSpacing(2)
        self.swatches: list[QToolButton] = []
        colours.addLayout(self.swatch_bar)
        colours.addStretch(1)
        colours.addWidget(form.field("tools.pressure_size", "Pressure→size"))
        colours.addWidget(form.field("tools.pressure_opacity", "Pressure→opacity"))
        return colours

    def _show_colour(self, colour: str) -> None:
        ink = "black" if QColor(colour).lightness() > 128 else "white"
        self.colour_chip.setStyleSheet(f"background:{colour}; color:{ink}; border:2px solid #888")
        self.colour_chip.setToolTip(f"Brush colour {colour}: click to choose another")

    def set_swatches(self, colors: list[str]) -> None:
        """One button per palette colour; a click makes it the brush colour."""
        for swatch in self.swatches:
            self.swatch_bar.removeWidget(swatch)
            swatch.deleteLater()
        self.swatches = []
        for colour in colors:
            swatch = QToolButton()
            swatch.setFixedSize(22, 22)
            swatch.setToolTip(colour)
            swatch.setStyleSheet(f"background:{colour}; border:1px solid #555")
            swatch.clicked.connect(lambda _checked=False, c=colour: self.colour_chosen.emit(c))
            self.swatch_bar.addWidget(swatch)
            self.swatches.append(swatch)


class ResultBarWidget(QWidget):
    """How the result layer is seen (its opacity is a view setting, not part of the work), Accept/Discard,
    and Upscale 2× of what is shown."""

    opacity_changed = Signal(float)
    accept_requested = Signal()
    discard_requested = Signal()
    upscale_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        bar = _row(self)
        bar.addWidget(QLabel("Result opacity"))
        self.result_opacity = QSlider(Qt.Orientation.Horizontal)
        self.result_opacity.setRange(0, 100)
        self.result_opacity.setValue(100)
        self.result_opacity.setToolTip("Fade the result to compare it with the sketch")
        self.result_opacity.valueChanged.connect(lambda value: self.opacity_changed.emit(value / 100))
        bar.addWidget(self.result_opacity)
        self.accept_button = button("Accept into sketch")
        self.discard_button = button("Discard result")
        self.accept_button.clicked.connect(self.accept_requested)
        self.discard_button.clicked.connect(self.discard_requested)
        self.upscale_button = button(
            "Upscale 2×",
            "Twice the size of the result shown (or the sketch): Lanczos, then the pack redraws detail tile by tile; "
            "without a pack, Lanczos only",
        )
        self.upscale_button.clicked.connect(self.upscale_requested)
        bar.addWidget(self.accept_button)
        bar.addWidget(self.discard_button)
        bar.addWidget(self.upscale_button)
        self.show_has_result(False)

    def show_has_result(self, has: bool) -> None:
        self.accept_button.setEnabled(has)
        self.discard_button.setEnabled(has)


class NewCanvasDialog(QDialog):
    """A size for a new canvas: a preset or any size, with the aspect lock keeping the shape while typing."""

    def __init__(self, current: tuple[int, int], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New canvas")
        layout = QFormLayout(self)
        self.preset = QComboBox()
        for width, height in CANVAS_PRESETS:
            self.preset.addItem(f"{width} × {height}", (width, height))
        self.preset.addItem("Custom", None)
        self.width_box, self.height_box = QSpinBox(), QSpinBox()
        for box, value in ((self.width_box, current[0]), (self.height_box, current[1])):
            box.setRange(8, MAX_CANVAS_SIDE)
            box.setSuffix(" px")
            box.setValue(value)
        self.lock = QCheckBox("Lock aspect")
        self.lock.setToolTip("Typing one side changes the other so the shape stays")
        self.shape = QLabel()
        size_row = QHBoxLayout()
        for widget in (self.width_box, QLabel("×"), self.height_box, self.lock):
            size_row.addWidget(widget)
        layout.addRow("Preset", self.preset)
        layout.addRow("Size", size_row)
        layout.addRow("", self.shape)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addRow(buttons)
        self._aspect = current[0] / current[1]
        self._busy = False
        self.preset.currentIndexChanged.connect(self._preset_chosen)
        self.width_box.valueChanged.connect(lambda: self._typed("width"))
        self.height_box.valueChanged.connect(lambda: self._typed("height"))
        self.lock.toggled.connect(self._locked)
        self._show_preset()

    @property
    def chosen_size(self) -> tuple[int, int]:
        return self.width_box.value(), self.height_box.value()

    def set_size(self, width: int, height: int) -> None:
        self._busy = True
        self.width_box.setValue(width)
        self.height_box.setValue(height)
        self._busy = False
        self._show_preset()

    def preset_index(self, size: tuple[int, int]) -> int:
        """The preset row of `size`, or -1 (Qt's findData does not compare Python tuples)."""
        return CANVAS_PRESETS.index(size) if size in CANVAS_PRESETS else -1

    def _preset_chosen(self) -> None:
        size = self.preset.currentData()
        if size is not None and not self._busy:
            self._aspect = size[0] / size[1]
            self.set_size(*size)

    def _typed(self, side: str) -> None:
        if self._busy:
            return
        if self.lock.isChecked():
            self.set_size(*locked_size(*self.chosen_size, side, self._aspect))
        else:
            self._aspect = self.chosen_size[0] / self.chosen_size[1]
            self._show_preset()

    def _locked(self, on: bool) -> None:
        if on:
            self._aspect = self.chosen_size[0] / self.chosen_size[1]

    def _show_preset(self) -> None:
        """The preset row follows the size (Custom when none matches), and the shape is named."""
        index = self.preset_index(self.chosen_size)
        self._busy = True
        self.preset.setCurrentIndex(index if index >= 0 else self.preset.count() - 1)
        self._busy = False
        width, height = self.chosen_size
        self.shape.setText(f"{width / height:.3g}:1, {width * height / 1e6:.2f} megapixels")


def ask_canvas_size(current: tuple[int, int], parent: QWidget | None = None) -> tuple[int, int] | None:
    dialog = NewCanvasDialog(current, parent)
    return dialog.chosen_size if dialog.exec() == QDialog.DialogCode.Accepted else None
