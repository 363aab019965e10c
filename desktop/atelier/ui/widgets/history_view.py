"""The History tab: every finished job's result stored in the project, kept across restarts.

Each entry shows a thumbnail (images, palettes) or its summary; it can be starred (pruning keeps
starred ones), deleted (Undo delete brings it back until the project closes), put back into its panel,
or used to recall its settings. Results still being
written are counted beside the listing ("saving 2…") until they are in it.
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
    # The history changes on the writer's thread; re-emitted through this Qt signal, the refresh is
    # queued onto the GUI thread that owns the list.
    _history_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.history: ProjectHistory | None = None
        self._pending: list[tuple[int, str, str]] = []  # (job number, kind, summary) being written
        self._entries: list[HistoryEntry] = []  # as last listed
        # A thumbnail never changes once its entry is in place: decoded once, not at every refresh.
        self._icons: dict[str, QIcon] = {}
        self._history_changed.connect(self.refresh)
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
        self.delete_button.setToolTip(
            "Remove this result from the project (Undo delete brings it back until you close it)"
        )
        self.delete_button.clicked.connect(self._delete)
        self.undo_delete_button = QPushButton("Undo delete")
        self.undo_delete_button.setToolTip("Bring back the last result you deleted")
        self.undo_delete_button.clicked.connect(self._undo_delete)
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
        # The label takes the rest of the row (an Ignored width with no stretch factor left it 0 px wide,
        # so the count never showed); it may shrink, so the dock stays narrow.
        top.addWidget(self.count_label, 1)
        self.count_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        # Two rows, so the dock stays narrow enough for the panels beside it.
        actions, keeping = QHBoxLayout(), QHBoxLayout()
        for row, pair in ((actions, (self.put_back_button, self.recall_button)),
                          (keeping, (self.star_button, self.delete_button, self.undo_delete_button))):  # fmt: skip
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
            self.history.changed.disconnect(self._on_history_changed)
            if self.history is not history:
                self.history.purge_deleted()  # the project it belongs to is closing
        self.history = history
        if history is not None:
            history.changed.connect(self._on_history_changed)
        self.refresh()

    def _on_history_changed(self) -> None:
        self._history_changed.emit()

    def set_pending(self, pending: list[tuple[int, str, str]]) -> None:
        """Results still being written into this history, oldest first: (job number, kind, summary)."""
        self._pending = list(pending)
        self._show_count()  # the listing itself changes when the history says it did

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
            icon = self._icon(entry)
            if icon is not None:
                item.setIcon(icon)
            self.list.addItem(item)
            if selected is not None and entry.id == selected.id:
                item.setSelected(True)
        self._entries = entries
        listed = {str(e.thumbnail) for e in entries}
        self._icons = {key: icon for key, icon in self._icons.items() if key in listed}
        self._show_count()
        self._update_buttons()

    def _icon(self, entry: HistoryEntry) -> QIcon | None:
        if entry.thumbnail is None:
            return None
        key = str(entry.thumbnail)
        if key not in self._icons:
            pixmap = QPixmap(key)
            if pixmap.isNull():
                return None
            self._icons[key] = QIcon(pixmap)
        return self._icons[key]

    def _show_count(self) -> None:
        entries = self._entries
        starred = sum(e.starred for e in entries)
        # A write that ended may be listed before the writer's word arrives: it is not counted twice.
        written = {e.number for e in entries if e.number}
        saving = [p for p in self._pending if not p[0] or p[0] not in written]
        text = f"{len(entries)} results, {starred} starred"
        self.count_label.setText(f"{text} · saving {len(saving)}…" if saving else text)
        self.count_label.setToolTip("\n".join(f"Saving #{n} {kind}: {summary}" for n, kind, summary in saving))

    def selected_entry(self) -> HistoryEntry | None:
        items = self.list.selectedItems()
        if not items or self.history is None:
            return None
        return self.history.get(str(items[0].data(Qt.ItemDataRole.UserRole)))

    def _update_buttons(self) -> None:
        entry = self.selected_entry()
        for button in (self.delete_button, self.put_back_button, self.recall_button, self.star_button):
            button.setEnabled(entry is not None)
        self.undo_delete_button.setEnabled(self.history is not None and self.history.can_undo_delete())
        self.star_button.setText("★ Unstar" if entry is not None and entry.starred else "☆ Star")

    def _toggle_star(self) -> None:
        entry = self.selected_entry()
        if entry is not None and self.history is not None:
            self.history.star(entry.id, not entry.starred)

    def _delete(self) -> None:
        entry = self.selected_entry()
        if entry is not None and self.history is not None:
            self.history.delete(entry.id)

    def _undo_delete(self) -> None:
        entry_id = self.history.undo_delete() if self.history is not None else None
        if entry_id is None:
            return
        # The history's `changed` has refreshed the list already (emitted on this thread, so at once).
        for row in range(self.list.count()):
            if self.list.item(row).data(Qt.ItemDataRole.UserRole) == entry_id:
                self.list.setCurrentRow(row)
                break

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
