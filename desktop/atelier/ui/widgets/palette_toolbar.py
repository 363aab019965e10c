"""The Palette panel's bars: where a palette comes from (words, the lyric, a picture, the sketch), and
what to do with it (harmony, colour count, regenerate with the model or the source, undo, favourite,
import and export). The words, count, harmony rule, lock handling, regenerate mode and temperature are
a view of the PaletteDocument's settings."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from atelier.core.color.formats import EXPORT_FORMATS
from atelier.core.color.harmony import HARMONY_MODES
from atelier.core.documents.palette import REGENERATE_MODES
from atelier.core.requests.palette import LOW_TEMPERATURE, MAX_COUNT, MAX_TEMPERATURE, MIN_COUNT
from atelier.ui.widgets.buttons import button, click_through
from atelier.ui.widgets.document_binding import FieldBinder
from atelier.ui.widgets.swatch_strip import ink_for

FORMAT_LABELS = {
    "gpl": "GIMP / Krita / Inkscape (.gpl)",
    "ase": "Adobe swatch exchange (.ase)",
    "aco": "Photoshop swatches (.aco)",
    "css": "CSS custom properties (.css)",
    "json": "JSON (.json)",
    "png": "PNG swatch strip (.png)",
}


class PaletteSourcesWidget(QWidget):
    """The words for the next palette, and the buttons that ask for one from each source."""

    text_requested = Signal()
    lyric_requested = Signal()
    image_requested = Signal()
    sketch_requested = Signal()

    def __init__(self, binder: FieldBinder, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.text = binder.bind("text", QLineEdit())
        self.text.setPlaceholderText("Describe a mood or scene, e.g. “stormy sea at dusk”")
        self.text.setClearButtonEnabled(True)
        self.text.returnPressed.connect(self.text_requested)
        self.text_button = button("Palette from text")
        self.text_button.setDefault(True)
        self.lyric_button = button("From lyric", "A palette from the Lyric panel's words")
        self.image_button = button("From image…")
        self.sketch_button = button("From sketch", "The main colours of the Sketch panel")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.text, 1)
        click_through((
            (self.text_button, self.text_requested),
            (self.lyric_button, self.lyric_requested),
            (self.image_button, self.image_requested),
            (self.sketch_button, self.sketch_requested),
        ))  # fmt: skip
        for widget in (self.text_button, self.lyric_button, self.image_button, self.sketch_button):
            row.addWidget(widget)


class PaletteActionsWidget(QWidget):
    """Harmony (base colour, rule, around the locks or not), count, Regenerate (with the palette model at a
    temperature, or the same source), Undo/Redo, favourite, import and export."""

    base_requested = Signal()  # the base colour button: choose another
    harmony_requested = Signal()
    regenerate_requested = Signal()
    favourite_requested = Signal()
    import_requested = Signal()
    export_requested = Signal(str)  # the format (a key of FORMAT_LABELS)

    def __init__(self, binder: FieldBinder, undo_redo: tuple[QWidget, QWidget], parent: QWidget | None = None):
        super().__init__(parent)
        self.base_button = button("", "Base colour for the harmony", kind=QToolButton)
        self.mode = QComboBox()
        for mode in HARMONY_MODES:
            self.mode.addItem(mode.replace("-", " ").capitalize(), mode)
        binder.bind("mode", self.mode)
        self.harmony_button = button("Harmony")
        self.around_locks = binder.bind("around_locks", QCheckBox("Around locks"))
        self.around_locks.setToolTip(
            "Build the harmony around the locked swatches (from the first one, keeping them all).\n"
            "Unticked, a harmony is a fresh palette from the base colour and ignores the locks."
        )
        self.count = QSpinBox()
        self.count.setRange(MIN_COUNT, MAX_COUNT)  # before binding: the range's own change is no edit
        self.count.setPrefix("Colours: ")
        binder.bind("count", self.count)
        self.regenerate_button = button(
            "⟳ Regenerate", "New colours for the unlocked swatches (Space); locked swatches never change"
        )
        self.regenerate_mode = QComboBox()
        for mode, label in REGENERATE_MODES.items():
            self.regenerate_mode.addItem(label, mode)
        self.regenerate_mode.setToolTip(
            "Palette model: colours that go with the locked ones, learned from palettes people made.\n"
            "Same source: the words, picture or harmony rule asked again with a new seed."
        )
        binder.bind("regenerate", self.regenerate_mode)
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.0, MAX_TEMPERATURE)
        self.temperature.setSingleStep(0.1)
        self.temperature.setDecimals(1)
        self.temperature.setPrefix("Temperature ")
        self.temperature.setToolTip(
            "How adventurous the palette model is: 0 gives its safest colours (they may repeat),\n"
            f"about 0.8 variety, 1.5 surprises. From {LOW_TEMPERATURE:g} up, every press differs from the last."
        )
        binder.bind("temperature", self.temperature)
        self.favourite_button = button("", "Keep this palette in the favourites", kind=QToolButton)
        self.favourite_button.setCheckable(True)
        self.import_button = button("Import…", kind=QToolButton)
        click_through((
            (self.base_button, self.base_requested),
            (self.harmony_button, self.harmony_requested),
            (self.regenerate_button, self.regenerate_requested),
            (self.favourite_button, self.favourite_requested),
            (self.import_button, self.import_requested),
        ))  # fmt: skip
        self._lay_out(undo_redo)

    def _lay_out(self, undo_redo: tuple[QWidget, QWidget]) -> None:
        rows = QVBoxLayout(self)
        rows.setContentsMargins(0, 0, 0, 0)
        first, second = QHBoxLayout(), QHBoxLayout()
        rows.addLayout(first)
        rows.addLayout(second)
        first.addWidget(QLabel("Harmony from"))
        for widget in (self.base_button, self.mode, self.harmony_button, self.around_locks):
            first.addWidget(widget)
        first.addStretch(1)
        for tool in (*undo_redo, self.favourite_button):
            first.addWidget(tool)
        first.addSpacing(8)
        first.addWidget(self.import_button)
        first.addWidget(self._build_export_button())
        second.addWidget(self.count)
        second.addWidget(self.regenerate_button)
        second.addWidget(QLabel("with"))
        second.addWidget(self.regenerate_mode)
        second.addWidget(self.temperature)
        second.addStretch(1)

    def _build_export_button(self) -> QToolButton:
        self.export_button = button("Export ▾", kind=QToolButton)
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.export_button)
        for fmt in EXPORT_FORMATS:
            menu.addAction(FORMAT_LABELS[fmt]).triggered.connect(
                lambda _checked=False, f=fmt: self.export_requested.emit(f)
            )
        self.export_button.setMenu(menu)
        return self.export_button

    def show_base(self, colour: str) -> None:
        if self.base_button.text() != colour:
            self.base_button.setText(colour)
            self.base_button.setStyleSheet(f"background:{colour}; color:{ink_for(colour)}; padding:4px 8px;")

    def show_regenerate_mode(self, mode: str) -> None:
        self.temperature.setEnabled(mode == "model")  # the source's own rules have no temperature

    def show_favourite(self, favourite: bool) -> None:
        self.favourite_button.setChecked(favourite)
        self.favourite_button.setText("★ Favourite" if favourite else "☆ Favourite")
