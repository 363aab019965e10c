"""Palette panel: the current palette as swatches (shared with the Sketch panel's brush)."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from atelier.ui.context import AppContext
from atelier.ui.panels.base import Panel


class PalettePanel(Panel):
    title = "Palette"

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.row = QHBoxLayout()
        layout = QVBoxLayout(self)
        layout.addLayout(self.row)
        layout.addStretch(1)
        self._swatches: list[QLabel] = []
        context.palette.changed.connect(self._redraw)
        self._redraw(context.palette.colors)

    def _redraw(self, colors: list[str]) -> None:
        for swatch in self._swatches:
            swatch.deleteLater()
        self._swatches = []
        for color in colors:
            swatch = QLabel(color)
            swatch.setFixedSize(96, 96)
            swatch.setStyleSheet(f"background:{color}; color:white; border-radius:6px; padding:4px;")
            self.row.addWidget(swatch)
            self._swatches.append(swatch)

    def save_state(self) -> dict[str, Any]:
        return self.context.palette.to_dict()

    def restore_state(self, state: dict[str, Any]) -> None:
        self.context.palette.restore(state)

    def close_panel(self) -> None:
        self.context.palette.changed.disconnect(self._redraw)
        super().close_panel()
