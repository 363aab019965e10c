"""Controls for writing with the model (a view of the LyricDocument's settings, bound through a FieldBinder),
and the Undo/Redo buttons every document view shares."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Iterable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QPushButton,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from atelier.core.documents.lyric import BUILT_IN_PACK, SEED_LIMIT, LyricDocument, LyricSettings
from atelier.core.requests.lyrics import FORM_LINES
from atelier.core.undo import UndoStack
from atelier.ui.dialogs.pack_licence_dialog import mark_licence_item, pack_item_text
from atelier.ui.widgets.document_binding import FieldBinder
from atelier.ui.widgets.document_form import DocumentForm, settings_specs

MODE_LABELS = {
    "song": "Song lyric",
    "poem": "Poem",
    "brainstorm": "Brainstorm",
    "continue": "Continue from the cursor",
    "rewrite": "Rewrite the current line",
}


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


# What the widgets say beyond a setting's label; the ranges and choices come from LyricSettings itself.
TIPS = {
    "prompt": "Theme or idea, e.g. rain on a city window",
    "sections": "Sections in order: Intro, Verse, Pre-Chorus, Chorus, Bridge, Outro",
    "mood": "e.g. bittersweet, hopeful",
    "top_k": "0 turns top-k off",
    "max_tokens": (
        "The longest answer kept, in tokens; lines that fail the checks are written again, which may "
        "spend as many tokens more"
    ),
    "seed": "The same seed and settings give the same text",
}
STEPS = {"temperature": 0.05, "top_p": 0.01, "repetition_penalty": 0.05}
# One page of options per mode, in the order of the modes.
MODE_PAGES = (
    ("lines_per_section", "sections", "mood", "point_of_view", "rhyme_scheme"),  # song
    ("form", "poem_lines"),
    ("brainstorm_kind", "brainstorm_count"),
    ("continue_lines",),
    ("alternatives",),
)


class LyricControlsWidget(QWidget):
    def __init__(self, document: LyricDocument, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.binder = FieldBinder(document.set, document.undo_stack.break_merge)
        labels = {"mode": MODE_LABELS, "point_of_view": {"": "any"}}
        specs, defaults = settings_specs(LyricSettings, labels, STEPS, TIPS)
        form = DocumentForm(self.binder, specs, defaults, wheel_needs_focus=True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)

        write = QGroupBox("Write with the model")
        write_form = QFormLayout(write)
        self.mode, self.prompt = form.field("mode"), form.field("prompt")
        self.sections, self.lines_per_section = form.field("sections"), form.field("lines_per_section")
        self.mood, self.point_of_view = form.field("mood"), form.field("point_of_view")
        self.rhyme_scheme, self.form = form.field("rhyme_scheme"), form.field("form")
        self.poem_lines = form.field("poem_lines")
        self.brainstorm_kind, self.brainstorm_count = form.field("brainstorm_kind"), form.field("brainstorm_count")
        self.continue_lines, self.alternatives = form.field("continue_lines"), form.field("alternatives")
        self.pack = self.binder.bind("pack", form.combo_box())
        self.pack.setToolTip("Language model packs found (any onnxruntime-genai folder in a models folder)")
        self.pages = QStackedWidget()
        for names in MODE_PAGES:
            page = QWidget()
            page_form = QFormLayout(page)
            page_form.setContentsMargins(0, 0, 0, 0)
            for name in names:
                page_form.addRow(specs[name].label, self.binder.widgets[name])
            self.pages.addWidget(page)
        self.mode.currentIndexChanged.connect(self.pages.setCurrentIndex)
        self.history = UndoButtons(self, document.undo_stack)
        undo_row = QHBoxLayout()
        undo_row.addWidget(self.history.undo_button)
        undo_row.addWidget(self.history.redo_button)
        undo_row.addStretch(1)
        write_form.addRow("Settings", undo_row)
        write_form.addRow("Mode", self.mode)
        write_form.addRow("Theme", self.prompt)
        write_form.addRow(self.pages)
        write_form.addRow("Model", self.pack)
        layout.addWidget(write)

        sampling = QGroupBox("Sampling")
        sampling_form = QFormLayout(sampling)
        self.temperature, self.top_p, self.top_k = form.field("temperature"), form.field("top_p"), form.field("top_k")
        self.repetition_penalty, self.max_tokens = form.field("repetition_penalty"), form.field("max_tokens")
        for name in ("temperature", "top_p", "top_k", "repetition_penalty", "max_tokens"):
            sampling_form.addRow(specs[name].label, self.binder.widgets[name])
        self.seed = form.field("seed")
        self.new_seed = QPushButton("New seed")
        self.new_seed.clicked.connect(lambda: self.seed.setValue(random.randrange(SEED_LIMIT)))
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(self.new_seed)
        sampling_form.addRow("Seed", seed_row)
        layout.addWidget(sampling)

        self.history.take_keys_from(self.binder.widgets.values())
        self.set_packs([])
        document.settings_changed.connect(self._show)

    def _show(self, settings: LyricSettings) -> None:
        self.binder.show_all(dataclasses.asdict(settings))
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
