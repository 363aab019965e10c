"""Input widgets made from a document's field specs (range, step, choices and their labels, tip), each
bound to its field through a FieldBinder, so a form and its document can never disagree on a range."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit, QSlider, QSpinBox, QWidget
from superqt import QLargeIntSpinBox

from atelier.core.documents.sketch import Spec
from atelier.ui.widgets.document_binding import FieldBinder


class DocumentForm:
    """Makes the widget for a field from its spec and its default's type, and binds it."""

    def __init__(self, binder: FieldBinder, specs: Mapping[str, Spec], defaults: Mapping[str, Any]) -> None:
        self.binder = binder
        self.specs = specs
        self.defaults = defaults

    def field(self, path: str, text: str = "", scale: int = 0) -> Any:
        """A bound widget for `path`: a slider showing value * `scale` when a scale is given, else a check
        box (yes/no, labelled `text`), a combo box (choices), a line edit (text) or a spin box (numbers)."""
        spec, default = self.specs[path], self.defaults[path]
        widget: QWidget
        if scale:
            widget = QSlider(Qt.Orientation.Horizontal)
            widget.setRange(round((spec.low or 0) * scale), round((spec.high or 0) * scale))
        elif isinstance(default, bool):
            widget = QCheckBox(text)
        elif spec.choices:
            widget = QComboBox()
            for value, label in zip(spec.choices, spec.labels or spec.choices, strict=True):
                widget.addItem(label, value)
        elif isinstance(default, str):
            widget = QLineEdit()
            widget.setPlaceholderText(spec.tip)
        else:
            widget = _spin_box(spec, default)
        widget.setToolTip(spec.tip)
        return self.binder.bind(path, widget, scale or 1)


def _spin_box(spec: Spec, default: float) -> QWidget:
    low, high = spec.low or 0, spec.high or 0
    if isinstance(default, float):
        box = QDoubleSpinBox()
        box.setRange(low, high)
        box.setSingleStep(spec.step)
        return box
    whole = QLargeIntSpinBox() if high >= 2**31 else QSpinBox()  # seeds go past a QSpinBox's 2**31 - 1
    whole.setRange(int(low), int(high))
    whole.setSingleStep(int(spec.step))
    return whole
