"""The Jobs dock: this session's jobs in order with state, place in line, progress, time and device;
cancel queued or running ones, see a result, recall its settings."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from atelier.core.jobs import Job, JobQueue, JobState
from atelier.ui.widgets.images import qimage_from_array

_STATE_MARKS = {
    JobState.QUEUED: "◷ queued",
    JobState.RUNNING: "▶ running",
    JobState.FINISHED: "✓ done",
    JobState.CANCELLED: "■ cancelled",
    JobState.FAILED: "✗ failed",
}


class JobsWidget(QWidget):
    cancel_requested = Signal(int)
    recall_requested = Signal(object)  # the Job whose parameters go back into its panel

    def __init__(self, queue: JobQueue, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.queue = queue
        self.tree = QTreeWidget()
        # Progress lives in the State column ("▶ 45%", "◷ 2nd" for queued and 2nd in line; not ⏳, which
        # common fonts lack): a dock is narrow, and the job's name needs the room.
        self.tree.setHeaderLabels(["Job", "State", "Time", "Device"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        # Fixed widths sized for the longest text each column can hold: columns sized to their contents
        # grew after a cancel ("■ cancelled") and squeezed the job column down to "#1…".
        metrics = self.tree.fontMetrics()
        for column, widest in ((1, "■ cancelled"), (2, "00.0s"), (3, "CUDA ⚠")):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(column, metrics.horizontalAdvance(widest) + 12)
        header.setMinimumSectionSize(metrics.horizontalAdvance("000.0s") + 12)
        self.tree.setMinimumWidth(320)
        self.tree.itemSelectionChanged.connect(self._show_selected)
        self.detail = QLabel("Select a job to see its result.")
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail.setMinimumHeight(72)
        self.detail.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        # A wide preview (a palette strip) must never widen the dock, and so the window.
        self.detail.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.cancel_button = QPushButton("Cancel job")
        self.cancel_button.clicked.connect(self._cancel_selected)
        self.recall_button = QPushButton("Recall settings")
        self.recall_button.setToolTip("Put this job's parameters back into its panel")
        self.recall_button.clicked.connect(self._recall_selected)
        clear = QPushButton("Clear finished")
        clear.clicked.connect(self.queue.clear_finished)
        buttons = QHBoxLayout()
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.recall_button)
        buttons.addStretch(1)
        buttons.addWidget(clear)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.tree, 3)
        layout.addLayout(buttons)
        layout.addWidget(self.detail, 1)
        self._items: dict[int, QTreeWidgetItem] = {}
        for job in queue:
            self._on_added(job)
        queue.job_added.connect(self._on_added)
        queue.job_changed.connect(self._on_changed)
        queue.job_removed.connect(self._on_removed)
        self._update_buttons()

    def close_widget(self) -> None:
        self.queue.job_added.disconnect(self._on_added)
        self.queue.job_changed.disconnect(self._on_changed)
        self.queue.job_removed.disconnect(self._on_removed)

    def _on_added(self, job: Job) -> None:
        if not job.request.in_history:
            return
        item = QTreeWidgetItem()
        item.setData(0, Qt.ItemDataRole.UserRole, job.id)
        self._items[job.id] = item
        self.tree.insertTopLevelItem(0, item)  # newest first
        self._fill(item, job)

    def _on_changed(self, job: Job) -> None:
        item = self._items.get(job.id)
        if item is not None:
            self._fill(item, job)
            if item.isSelected():
                self._show_selected()
        if job.state is not JobState.QUEUED:  # a job left the line: the others moved up
            self._refresh_queued()

    def _refresh_queued(self) -> None:
        for job_id, item in self._items.items():
            job = self.queue.get(job_id)
            if job is not None and job.state is JobState.QUEUED:
                self._fill(item, job)

    def _on_removed(self, job: Job) -> None:
        item = self._items.pop(job.id, None)
        if item is not None:
            self.tree.takeTopLevelItem(self.tree.indexOfTopLevelItem(item))

    def _fill(self, item: QTreeWidgetItem, job: Job) -> None:
        summary = job.request.summary()
        item.setText(0, f"#{job.number} {summary}")
        item.setToolTip(0, summary)
        state = _STATE_MARKS[job.state]
        if job.state is JobState.QUEUED:
            place = _ordinal(self.queue.position(job))
            state = f"◷ {place}"
            item.setToolTip(1, f"Queued, {place} in line: waits for the jobs above it in its lane; cancel it here.")
        elif job.state is JobState.RUNNING and job.progress is not None:
            state = f"▶ {job.progress.fraction * 100:.0f}%"
        item.setText(1, state)
        seconds = job.seconds
        item.setText(2, f"{seconds:.1f}s" if seconds is not None else "")
        if job.result is not None:
            item.setText(3, job.result.device.label + (" ⚠" if job.result.device.fell_back else ""))
            item.setToolTip(3, job.result.device.describe())
        if job.state is JobState.FAILED:
            item.setToolTip(1, job.error)
        self._update_buttons()

    def selected_job(self) -> Job | None:
        items = self.tree.selectedItems()
        if not items:
            return None
        return self.queue.get(int(items[0].data(0, Qt.ItemDataRole.UserRole)))

    def _update_buttons(self) -> None:
        job = self.selected_job()
        self.cancel_button.setEnabled(job is not None and not job.state.done)
        self.recall_button.setEnabled(job is not None)

    def _cancel_selected(self) -> None:
        job = self.selected_job()
        if job is not None:
            self.cancel_requested.emit(job.id)

    def _recall_selected(self) -> None:
        job = self.selected_job()
        if job is not None:
            self.recall_requested.emit(job)

    def _show_selected(self) -> None:
        self._update_buttons()
        job = self.selected_job()
        if job is None:
            self.detail.setText("Select a job to see its result.")
            self.detail.setPixmap(QPixmap())
            return
        preview = getattr(job.result, "preview_image", None) if job.result is not None else None
        if callable(preview):
            array = preview()
            if array is not None:
                pixmap = QPixmap.fromImage(qimage_from_array(array))
                width = max(64, self.detail.width() - 8)
                self.detail.setPixmap(
                    pixmap.scaled(
                        width, 96, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
                    )
                )
                return
        lines = [job.request.summary(), f"State: {job.state.value}"]
        if job.result is not None:
            lines.append(job.result.summary())
            lines.append(job.result.device.describe())
        if job.error:
            lines.append(job.error)
        if job.notice:
            lines.append("Note: " + job.notice)
        self.detail.setText("\n".join(lines))


def _ordinal(n: int) -> str:
    if n <= 0:
        return "next"
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
