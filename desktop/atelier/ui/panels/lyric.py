"""Lyric panel: the words, kept in the shared LyricDocument and saved with the session."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from atelier.ui.context import AppContext
from atelier.ui.panels.base import Panel


class LyricPanel(Panel):
    title = "Lyric"

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.editor = QPlainTextEdit()
        self.editor.setPlaceholderText("Write your lyric here…")
        self.editor.textChanged.connect(lambda: context.lyric.set_text(self.editor.toPlainText()))
        self.counts = QLabel()
        self.editor.textChanged.connect(self._update_counts)
        layout = QVBoxLayout(self)
        layout.addWidget(self.editor, 1)
        layout.addWidget(self.counts)
        self._update_counts()

    def _update_counts(self) -> None:
        text = self.editor.toPlainText()
        lines = [line for line in text.splitlines() if line.strip()]
        self.counts.setText(f"{len(text.split())} words, {len(lines)} lines")

    def save_state(self) -> dict[str, Any]:
        return {"text": self.editor.toPlainText()}

    def restore_state(self, state: dict[str, Any]) -> None:
        text = state.get("text")
        if isinstance(text, str):
            self.editor.setPlainText(text)
