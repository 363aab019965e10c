"""The History tab: every finished job's result stored in the project, kept across restarts.

Each entry shows a thumbnail (images, palettes) or its summary; it can be starred (pruning keeps
starred ones), deleted, put back into its panel, or used to recall its settings.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from atelier.core.history import HistoryEntry, ProjectHistory

THUMB = 64


class HistoryWidget(QWidget):
    put_back_requested = Signal(object)  # HistoryEntry
    recall_requested = Signal(object)  # HistoryEntry

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.history: ProjectHistory | None = None
        self.list = QListWidget()
        self.list.setObjectName("history-list")
        self.list.setIconSize(QSize(THUMB, THUMB))
        self.list.setUniformItemSizes(True)
        self.list.setWordWrap(True)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.itemSelectionChanged.connect(self._update_buttons)
        self.list.itemDoubleClicked.connect(lambda _item: self._put_back())
        self.starred_only = QCheckBox("Starred only")
        self.starred_only.toggled.connect(self.refresh)
        self.star_button = QPushButton("☆ Star")
        self.star_button.setToolTip("Starred results are never pruned")
        self.star_button.clicked.connect(self._toggle_star)
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(self._delete)
        self.put_back_button = QPushButton("Put back")
        self.put_back_button.setToolTip("Show this result in its panel again (canvas, suggestions, melody, palette)")
        self.put_back_button.clicked.connect(self._put_back)
        self.recall_button = QPushButton("Recall settings")
        self.recall_button.setToolTip("Put this job's settings back into its panel")
        self.recall_button.clicked.connect(self._recall)
        self.count_label = QLabel()
        self.count_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        top = QHBoxLayout()
        top.addWidget(self.starred_only)
        top.addStretch(1)
        top.addWidget(self.count_label)
        # Two rows, so the dock stays narrow enough for the panels beside it.
        actions, keeping = QHBoxLayout(), QHBoxLayout()
        for row, pair in ((actions, (self.put_back_button, self.recall_button)),
                          (keeping, (self.star_button, self.delete_button))):  # fmt: skip
            for button in pair:
                row.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.list, 1)
        layout.addLayout(actions)
        layout.addLayout(keeping)
        self._update_buttons()

    def set_history(self, history: ProjectHistory | None) -> None:
        if self.history is not None:
            self.history.changed.disconnect(self.refresh)
        self.history = history
        if history is not None:
            history.changed.connect(self.refresh)
        self.refresh()

    def close_widget(self) -> None:
        self.set_history(None)

    def refresh(self) -> None:
        selected = self.selected_entry()
        self.list.clear()
        entries = self.history.entries() if self.history is not None else []
        shown = [e for e in entries if e.starred or not self.starred_only.isChecked()]
        for entry in shown:
            item = QListWidgetItem(_label(entry))
            item.setData(Qt.ItemDataRole.UserRole, entry.id)
            item.setToolTip(f"{entry.summary}\n{entry.device}".strip())
            if entry.thumbnail is not None and entry.thumbnail.is_file():
                pixmap = QPixmap(str(entry.thumbnail))
                if not pixmap.isNull():
                    item.setIcon(QIcon(pixmap))
            self.list.addItem(item)
            if selected is not None and entry.id == selected.id:
                item.setSelected(True)
        starred = sum(e.starred for e in entries)
        self.count_label.setText(f"{len(entries)} results, {starred} starred")
        self._update_buttons()

    def selected_entry(self) -> HistoryEntry | None:
        items = self.list.selectedItems()
        if not items or self.history is None:
            return None
        return self.history.get(str(items[0].data(Qt.ItemDataRole.UserRole)))

    def _update_buttons(self) -> None:
        entry = self.selected_entry()
        for button in (self.delete_button, self.put_back_button, self.recall_button, self.star_button):
            button.setEnabled(entry is not None)
        self.star_button.setText("★ Unstar" if entry is not None and entry.starred else "☆ Star")

    def _toggle_star(self) -> None:
        entry = self.selected_entry()
        if entry is not None and self.history is not None:
            self.history.star(entry.id, not entry.starred)

    def _delete(self) -> None:
        entry = self.selected_entry()
        if entry is not None and self.history is not None:
            self.history.delete(entry.id)

    def _put_back(self) -> None:
        entry = self.selected_entry()
        if entry is not None:
            self.put_back_requested.emit(entry)

    def _recall(self) -> None:
        entry = self.selected_entry()
        if entry is not None:
            self.recall_requested.emit(entry)


def _label(entry: HistoryEntry) -> str:
    when = time.strftime("%d %b %H:%M", time.localtime(entry.created))
    star = "★ " if entry.starred else ""
    number = f"#{entry.number} " if entry.number else ""
    return f"{star}{number}{entry.kind} · {when}\n{entry.summary}"
