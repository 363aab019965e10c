"""Input widgets made from a document's field specs (range, step, choices and their labels, tip), each
bound to its field through a FieldBinder, so a form and its document can never disagree on a range."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit, QSlider, QSpinBox, QWidget
from superqt import QLargeIntSpinBox

from atelier.core.documents.sketch import Spec
from atelier.ui.widgets.document_binding import FieldBinder


class DocumentForm:
    """Makes the widget for a field from its spec and its default's type, and binds it.

    With `wheel_needs_focus`, spin and combo boxes take the mouse wheel only once they have focus: in a
    scrolling panel a wheel turn over one scrolls the panel instead of silently changing a setting.
    """

    def __init__(
        self,
        binder: FieldBinder,
        specs: Mapping[str, Spec],
        defaults: Mapping[str, Any],
        wheel_needs_focus: bool = False,
    ) -> None:
        self.binder = binder
        self.specs = specs
        self.defaults = defaults
        self.wheel_needs_focus = wheel_needs_focus

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
            widget = self.combo_box()
            for value, label in zip(spec.choices, spec.labels or spec.choices, strict=True):
                widget.addItem(label, value)
        elif isinstance(default, str):
            widget = QLineEdit()
            widget.setPlaceholderText(spec.tip)
        else:
            widget = _spin_box(spec, default, self.wheel_needs_focus)
        widget.setToolTip(spec.tip)
        return self.binder.bind(path, widget, scale or 1)

    def combo_box(self) -> QComboBox:
        """An empty combo box that follows this form's wheel rule (for choices filled in by the view)."""
        return FocusedWheelComboBox() if self.wheel_needs_focus else QComboBox()


def settings_specs(
    cls: type[Any],
    labels: Mapping[str, Mapping[Any, str]] | None = None,
    steps: Mapping[str, float] | None = None,
    tips: Mapping[str, str] | None = None,
) -> tuple[dict[str, Spec], dict[str, Any]]:
    """Specs and defaults for a frozen settings dataclass whose fields carry `option` metadata (label,
    choices, minimum, maximum), as the lyric and melody documents' settings do; `labels` names choices
    for the artist (a value without one shows as itself), `steps` gives a number's step, `tips` a tip."""
    labels, steps, tips = labels or {}, steps or {}, tips or {}
    specs: dict[str, Spec] = {}
    defaults: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        meta, names = f.metadata, labels.get(f.name, {})
        choices = tuple(meta.get("choices") or ())
        specs[f.name] = Spec(
            str(meta.get("label", f.name)),
            meta.get("minimum"),
            meta.get("maximum"),
            steps.get(f.name, 1),
            choices,
            tuple(names.get(choice, str(choice)) for choice in choices),
            tips.get(f.name, ""),
        )
        defaults[f.name] = f.default
    return specs, defaults


def _wheel_if_focused(box: QWidget, event: QWheelEvent, turn: Callable[[QWheelEvent], None]) -> None:
    """Let the wheel change `box` only once it has focus (clicked or tabbed into)."""
    if box.hasFocus():
        turn(event)
    else:
        event.ignore()  # Qt passes an ignored wheel event on to the parent, up to the scroll area


class FocusedWheelSpinBox(QSpinBox):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # the wheel alone never gives it focus

    def wheelEvent(self, event: QWheelEvent) -> None:
        _wheel_if_focused(self, event, super().wheelEvent)


class FocusedWheelDoubleSpinBox(QDoubleSpinBox):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def wheelEvent(self, event: QWheelEvent) -> None:
        _wheel_if_focused(self, event, super().wheelEvent)


class FocusedWheelLargeIntSpinBox(QLargeIntSpinBox):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def wheelEvent(self, event: QWheelEvent) -> None:
        _wheel_if_focused(self, event, super().wheelEvent)


class FocusedWheelComboBox(QComboBox):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def wheelEvent(self, event: QWheelEvent) -> None:
        _wheel_if_focused(self, event, super().wheelEvent)


def _spin_box(spec: Spec, default: float, wheel_needs_focus: bool) -> QWidget:
    low, high = spec.low or 0, spec.high or 0
    if isinstance(default, float):
        box = FocusedWheelDoubleSpinBox() if wheel_needs_focus else QDoubleSpinBox()
        box.setRange(low, high)
        box.setSingleStep(spec.step)
        return box
    whole: QSpinBox | QLargeIntSpinBox
    if high >= 2**31:  # seeds go past a QSpinBox's 2**31 - 1
        whole = FocusedWheelLargeIntSpinBox() if wheel_needs_focus else QLargeIntSpinBox()
    else:
        whole = FocusedWheelSpinBox() if wheel_needs_focus else QSpinBox()
    whole.setRange(int(low), int(high))
    whole.setSingleStep(int(spec.step))
    return whole
