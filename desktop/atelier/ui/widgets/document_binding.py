"""Binds input widgets to a document's fields both ways: the document's value shows in its widget, and
each edit the artist makes becomes one change on the document (a run of typing or a drag, one step)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QComboBox,
    QDoubleSpinBox,
    QLineEdit,
    QSlider,
    QWidget,
)

# What `bind` accepts: a text field, a combo box (each item's data is a value), a check box or other
# checkable button, a slider (showing value * scale) or any spin box (superqt's QLargeIntSpinBox too).
Editor = QLineEdit | QComboBox | QAbstractButton | QSlider | QAbstractSpinBox
E = TypeVar("E", bound=QWidget)
Show = Callable[[Any], None]


class FieldBinder:
    """Keeps widgets and document fields (named by path, e.g. "generation.steps") in step.

    `set_value(path, value)` is how an edit reaches the document (which makes it an undo step);
    `end_edit()` is called when a run of edits ends (focus leaves a text field or spin box, a slider
    is released), so the next edit of that field is a new step. The document's change signal calls
    `show(path, value)`; values shown that way are never mistaken for the artist's edits.
    """

    def __init__(self, set_value: Callable[[str, Any], None], end_edit: Callable[[], None] | None = None) -> None:
        self._set_value = set_value
        self._end_edit = end_edit or (lambda: None)
        self._views: dict[str, list[Show]] = {}
        self.widgets: dict[str, QWidget] = {}
        self._quiet = False

    @property
    def paths(self) -> list[str]:
        return list(self._views)

    # -- binding -----------------------------------------------------------------------------
    def bind(self, path: str, widget: E, scale: float = 1, show: Show | None = None) -> E:
        """Bind `widget` (an Editor) to `path` and return it; `show` replaces the usual way of
        putting a value into the widget (e.g. a pack list that names a folder it does not list)."""
        if isinstance(widget, QLineEdit):
            widget.textChanged.connect(lambda text: self.edit(path, text))
            widget.editingFinished.connect(self._end_edit)
        elif isinstance(widget, QComboBox):
            widget.currentIndexChanged.connect(lambda index: self.edit(path, widget.itemData(index)))
        elif isinstance(widget, QAbstractButton):
            widget.toggled.connect(lambda checked: self.edit(path, checked))
        elif isinstance(widget, QSlider):
            widget.valueChanged.connect(lambda value: self.edit(path, value / scale))
            widget.sliderReleased.connect(self._end_edit)  # one drag, one step; the next drag is another
        elif isinstance(widget, QAbstractSpinBox):
            widget.valueChanged.connect(lambda _value: self.edit(path, _spin_value(widget)))  # type: ignore[attr-defined]
            widget.editingFinished.connect(self._end_edit)
        else:
            raise TypeError(f"No binding for a {type(widget).__name__}; use bind_view and edit.")
        self.widgets[path] = widget
        self.bind_view(path, show or (lambda value: _write(widget, value, scale)))
        return widget

    def bind_choices(self, path: str, choices: Mapping[Any, QAbstractButton | QAction]) -> None:
        """Checkable buttons or actions, one per value of `path` (tools, a menu of choices)."""
        for value, choice in choices.items():
            signal = choice.triggered if isinstance(choice, QAction) else choice.clicked
            signal.connect(lambda _checked=False, v=value: self.edit(path, v))
        self.bind_view(path, lambda value: choices[value].setChecked(True))

    def bind_view(self, path: str, show: Show) -> None:
        """Another view of `path` (a colour chip, the widgets a mode turns off); inputs of its own call `edit`."""
        self._views.setdefault(path, []).append(show)

    # -- both directions -----------------------------------------------------------------------
    def edit(self, path: str, value: Any) -> None:
        """The artist changed `path` to `value` (None, e.g. an emptied combo box, changes nothing)."""
        if not self._quiet and value is not None:
            self._set_value(path, value)

    def show(self, path: str, value: Any) -> None:
        """Put the document's value of `path` into its views (nothing if `path` has none here)."""
        with self.quiet():
            for view in self._views.get(path, ()):
                view(value)

    def show_all(self, values: Mapping[str, Any]) -> None:
        for path, value in values.items():
            self.show(path, value)

    @contextmanager
    def quiet(self) -> Iterator[None]:
        """Widget changes made inside the block are the view's own (refilling a list), not edits."""
        self._quiet, was = True, self._quiet
        try:
            yield
        finally:
            self._quiet = was


def _spin_value(box: QAbstractSpinBox) -> Any:
    if isinstance(box, QDoubleSpinBox):  # 0.7000000000000001 is 0.7 to the artist, and to the document
        return round(box.value(), box.decimals())
    return box.value()  # type: ignore[attr-defined]


def _write(widget: QWidget, value: Any, scale: float) -> None:
    if isinstance(widget, QLineEdit):
        if widget.text() != value:  # setting the same text would move the cursor while typing
            widget.setText(value)
    elif isinstance(widget, QComboBox):
        index = widget.findData(value)
        if index < 0:  # e.g. a recalled value this machine does not list: show it rather than hide it
            widget.addItem(f"{value} (not found)", value)
            index = widget.count() - 1
        widget.setCurrentIndex(index)
    elif isinstance(widget, QAbstractButton):
        widget.setChecked(bool(value))
    elif isinstance(widget, QSlider):
        widget.setValue(round(value * scale))
    else:
        widget.setValue(value)  # type: ignore[attr-defined]  # a spin box
