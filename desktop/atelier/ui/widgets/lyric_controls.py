"""Controls for writing with the model (a view of the LyricDocument's settings), and the small pieces
every document view here shares: a widgets-to-settings binder, Undo/Redo buttons, and spin and combo
boxes that leave the mouse wheel to the scrolling panel around them unless they have focus."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence, QWheelEvent
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from atelier.core.documents.lyric import BUILT_IN_PACK, SEED_LIMIT, LyricDocument, LyricSettings, label_of
from atelier.core.requests.lyrics import FORM_LINES
from atelier.core.undo import UndoStack
from atelier.ui.dialogs.pack_licence_dialog import mark_licence_item, pack_item_text

MODE_LABELS = {
    "song": "Song lyric",
    "poem": "Poem",
    "brainstorm": "Brainstorm",
    "continue": "Continue from the cursor",
    "rewrite": "Rewrite the current line",
}

Editor = QComboBox | QLineEdit | QSpinBox | QDoubleSpinBox


def _meta(cls: type[Any], name: str) -> Any:
    return next(f.metadata for f in dataclasses.fields(cls) if f.name == name)


def _wheel_if_focused(box: QWidget, event: QWheelEvent, turn: Callable[[QWheelEvent], None]) -> None:
    """Let the wheel change `box` only once it has focus (clicked or tabbed into): in a scrolling panel,
    a wheel turn over it scrolls the panel instead of silently changing a setting."""
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


class FocusedWheelComboBox(QComboBox):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def wheelEvent(self, event: QWheelEvent) -> None:
        _wheel_if_focused(self, event, super().wheelEvent)


def spin_for(cls: type[Any], name: str, step: float = 0.0) -> QSpinBox | QDoubleSpinBox:
    """A spin box with the range the settings field allows (so the two can never disagree)."""
    meta = _meta(cls, name)
    box: QSpinBox | QDoubleSpinBox
    if step:
        box = FocusedWheelDoubleSpinBox()
        box.setDecimals(2)
        box.setSingleStep(step)
    else:
        box = FocusedWheelSpinBox()
    box.setRange(meta["minimum"], meta["maximum"])
    return box


def combo_for(cls: type[Any], name: str, labels: dict[Any, str] | None = None) -> QComboBox:
    """A combo box of the field's choices; each item's data is the value, its text a label."""
    box = FocusedWheelComboBox()
    for choice in _meta(cls, name)["choices"]:
        box.addItem((labels or {}).get(choice, str(choice)), choice)
    return box


class SettingsBinder:
    """Keeps input widgets and a document's settings in step both ways: `show` puts settings into the
    widgets, and each edit the user makes becomes one `set_value(name, value)` on the document."""

    def __init__(self, widgets: dict[str, Editor], set_value: Callable[[str, Any], None]) -> None:
        self.widgets = widgets
        self._set_value = set_value
        self._quiet = False
        for name, widget in widgets.items():
            if isinstance(widget, QComboBox):
                widget.currentIndexChanged.connect(lambda _i, n=name: self._edited(n))
            elif isinstance(widget, QLineEdit):
                widget.textChanged.connect(lambda _t, n=name: self._edited(n))
            else:
                widget.valueChanged.connect(lambda _v, n=name: self._edited(n))

    @contextmanager
    def quiet(self) -> Iterator[None]:
        """Changes made to the widgets inside the block are the view's own, not the user's edits."""
        self._quiet, was = True, self._quiet
        try:
            yield
        finally:
            self._quiet = was

    def show(self, settings: Any) -> None:
        with self.quiet():
            for name, widget in self.widgets.items():
                _write(widget, getattr(settings, name))

    def _edited(self, name: str) -> None:
        if not self._quiet:
            self._set_value(name, _read(self.widgets[name]))


def _read(widget: Editor) -> Any:
    if isinstance(widget, QComboBox):
        return widget.currentData()
    if isinstance(widget, QLineEdit):
        return widget.text()
    if isinstance(widget, QDoubleSpinBox):
        return round(widget.value(), widget.decimals())
    return widget.value()


def _write(widget: Editor, value: Any) -> None:
    if isinstance(widget, QComboBox):
        index = widget.findData(value)
        if index < 0:  # e.g. a recalled model pack that is not installed here: show it, do not hide it
            widget.addItem(f"{value} (not found)", value)
            index = widget.count() - 1
        widget.setCurrentIndex(index)
    elif isinstance(widget, QLineEdit):
        if widget.text() != value:  # keep the cursor where the user is typing
            widget.setText(value)
    else:
        widget.setValue(value)


class UndoButtons(QObject):
    """Undo and Redo buttons for one UndoStack, also on Ctrl+Z / Ctrl+Shift+Z while `host` (or a child)
    has focus; disabled when there is nothing to undo or redo, their tooltips naming the step."""

    def __init__(self, host: QWidget, stack: UndoStack) -> None:
        super().__init__(host)
        self.stack = stack
        self.undo_action = self._action(host, "Undo", QKeySequence.StandardKey.Undo, stack.undo)
        self.redo_action = self._action(host, "Redo", QKeySequence.StandardKey.Redo, stack.redo)
        shortcuts = [QKeySequence("Ctrl+Shift+Z"), *self.redo_action.shortcuts()]
        self.redo_action.setShortcuts(list(dict.fromkeys(shortcuts)))
        self.undo_button, self.redo_button = QToolButton(host), QToolButton(host)
        self.undo_button.setDefaultAction(self.undo_action)
        self.redo_button.setDefaultAction(self.redo_action)
        stack.changed.connect(self.update)
        self.update()

    @staticmethod
    def _action(host: QWidget, text: str, key: QKeySequence.StandardKey, slot: Callable[[], bool]) -> QAction:
        action = QAction(text, host)
        action.setShortcuts(QKeySequence.keyBindings(key))
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.triggered.connect(lambda: slot())
        host.addAction(action)
        return action

    def take_keys_from(self, widgets: Iterable[QWidget]) -> None:
        """A spin box claims Ctrl+Z for the text in its box, where it undoes nothing useful; its value
        changes are steps on this stack, so the keys go to this stack's Undo and Redo instead."""
        for widget in widgets:
            if isinstance(widget, QAbstractSpinBox):
                widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent):
            keys = [*self.undo_action.shortcuts(), *self.redo_action.shortcuts()]
            if QKeySequence(event.keyCombination()) in keys:
                event.ignore()  # not claimed by the box: the window's shortcut map gets the key
                return True
        return super().eventFilter(watched, event)

    def update(self) -> None:
        self.undo_action.setEnabled(self.stack.can_undo)
        self.redo_action.setEnabled(self.stack.can_redo)
        self.undo_action.setToolTip(f"Undo: {self.stack.undo_text}" if self.stack.can_undo else "Nothing to undo")
        self.redo_action.setToolTip(f"Redo: {self.stack.redo_text}" if self.stack.can_redo else "Nothing to redo")

    def close(self) -> None:
        self.stack.changed.disconnect(self.update)


class LyricControlsWidget(QWidget):
    def __init__(self, document: LyricDocument, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        F = LyricSettings
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)

        write = QGroupBox("Write with the model")
        form = QFormLayout(write)
        self.mode = combo_for(F, "mode", MODE_LABELS)
        self.prompt = QLineEdit()
        self.prompt.setPlaceholderText("Theme or idea, e.g. rain on a city window")
        self.sections = QLineEdit()
        self.sections.setToolTip("Sections in order: Intro, Verse, Pre-Chorus, Chorus, Bridge, Outro")
        self.lines_per_section = spin_for(F, "lines_per_section")
        self.mood = QLineEdit()
        self.mood.setPlaceholderText("e.g. bittersweet, hopeful")
        self.point_of_view = combo_for(F, "point_of_view", {"": "any"})
        self.rhyme_scheme = combo_for(F, "rhyme_scheme")
        self.form = combo_for(F, "form")
        self.poem_lines = spin_for(F, "poem_lines")
        self.brainstorm_kind = combo_for(F, "brainstorm_kind")
        self.brainstorm_count = spin_for(F, "brainstorm_count")
        self.continue_lines = spin_for(F, "continue_lines")
        self.alternatives = spin_for(F, "alternatives")
        self.pack = FocusedWheelComboBox()
        self.pack.setToolTip("Language model packs found (any onnxruntime-genai folder in a models folder)")
        self.pages = QStackedWidget()
        # One page of options per mode, in the order of the modes.
        pages = (
            ("lines_per_section", "sections", "mood", "point_of_view", "rhyme_scheme"),  # song
            ("form", "poem_lines"),
            ("brainstorm_kind", "brainstorm_count"),
            ("continue_lines",),
            ("alternatives",),
        )
        for names in pages:
            page = QWidget()
            page_form = QFormLayout(page)
            page_form.setContentsMargins(0, 0, 0, 0)
            for name in names:
                page_form.addRow(label_of(F, name), getattr(self, name))
            self.pages.addWidget(page)
        self.mode.currentIndexChanged.connect(self.pages.setCurrentIndex)
        self.history = UndoButtons(self, document.undo_stack)
        undo_row = QHBoxLayout()
        undo_row.addWidget(self.history.undo_button)
        undo_row.addWidget(self.history.redo_button)
        undo_row.addStretch(1)
        form.addRow("Settings", undo_row)
        form.addRow("Mode", self.mode)
        form.addRow("Theme", self.prompt)
        form.addRow(self.pages)
        form.addRow("Model", self.pack)
        layout.addWidget(write)

        sampling = QGroupBox("Sampling")
        sampling_form = QFormLayout(sampling)
        self.temperature = spin_for(F, "temperature", 0.05)
        self.top_p = spin_for(F, "top_p", 0.01)
        self.top_k = spin_for(F, "top_k")
        self.top_k.setToolTip("0 turns top-k off")
        self.repetition_penalty = spin_for(F, "repetition_penalty", 0.05)
        self.max_tokens = spin_for(F, "max_tokens")
        self.max_tokens.setToolTip(
            "The longest answer kept, in tokens; lines that fail the checks are written again, which may "
            "spend as many tokens more"
        )
        self.seed = spin_for(F, "seed")
        self.seed.setToolTip("The same seed and settings give the same text")
        self.new_seed = QPushButton("New seed")
        self.new_seed.clicked.connect(lambda: self.seed.setValue(random.randrange(SEED_LIMIT)))
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(self.new_seed)
        for name in ("temperature", "top_p", "top_k", "repetition_penalty", "max_tokens"):
            sampling_form.addRow(label_of(F, name), getattr(self, name))
        sampling_form.addRow("Seed", seed_row)
        layout.addWidget(sampling)

        self.binder = SettingsBinder({f.name: getattr(self, f.name) for f in dataclasses.fields(F)}, document.set)
        self.history.take_keys_from(self.binder.widgets.values())
        self.set_packs([])
        document.settings_changed.connect(self._show)

    def _show(self, settings: LyricSettings) -> None:
        self.binder.show(settings)
        # A fixed poem form has its own number of lines: show it, leave the free-verse count alone.
        fixed = FORM_LINES.get(settings.form)
        self.poem_lines.setEnabled(fixed is None)
        with self.binder.quiet():
            self.poem_lines.setValue(settings.poem_lines if fixed is None else fixed)

    def set_packs(self, packs: list[dict[str, str]]) -> None:
        with self.binder.quiet():
            self.pack.clear()
            self.pack.addItem("SmolLM2 135M (built in, Apache-2.0)", BUILT_IN_PACK)
            for pack in packs:
                if pack.get("kind") == "llm" and pack["id"] != BUILT_IN_PACK:
                    licence = pack.get("licence", "")
                    self.pack.addItem(pack_item_text(pack.get("name") or pack["id"], licence), pack["id"])
                    mark_licence_item(self.pack, self.pack.count() - 1, licence)
        self._show(self.document.settings)

    def current_mode(self) -> str:
        return self.document.settings.mode

    def close_widget(self) -> None:
        self.document.settings_changed.disconnect(self._show)
        self.history.close()
