"""Base class for panels: job submission with callbacks, session state, clean disconnection."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QWidget

from atelier.core.jobs import Job, JobState
from atelier.core.progress import Progress
from atelier.core.requests import Request, Result
from atelier.ui.context import AppContext
from atelier.ui.errors import show_error

ResultCallback = Callable[[Result], None]
ProgressCallback = Callable[[Progress], None]
ErrorCallback = Callable[[str], None]


class Panel(QWidget):
    title = "Panel"

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self._callbacks: dict[int, tuple[ResultCallback, ProgressCallback | None, ErrorCallback | None]] = {}
        context.queue.job_changed.connect(self._on_job_changed)

    def submit(
        self,
        request: Request,
        on_result: ResultCallback,
        on_progress: ProgressCallback | None = None,
        on_error: ErrorCallback | None = None,
    ) -> Job:
        job = self.context.runner.submit(request)
        self._callbacks[job.id] = (on_result, on_progress, on_error)
        return job

    def _on_job_changed(self, job: Job) -> None:
        callbacks = self._callbacks.get(job.id)
        if callbacks is None:
            return
        on_result, on_progress, on_error = callbacks
        if job.state is JobState.RUNNING and job.progress is not None and on_progress is not None:
            on_progress(job.progress)
        elif job.state is JobState.FINISHED and job.result is not None:
            del self._callbacks[job.id]
            on_result(job.result)
        elif job.state is JobState.FAILED:
            del self._callbacks[job.id]
            (on_error or (lambda message: show_error(self, message)))(job.error)
        elif job.state is JobState.CANCELLED:
            del self._callbacks[job.id]

    # -- session -----------------------------------------------------------------------------
    def save_state(self) -> dict[str, Any]:
        return {}

    def restore_state(self, state: dict[str, Any]) -> None:
        pass

    def close_panel(self) -> None:
        """Disconnect from shared objects so a closed window leaves no callbacks behind."""
        self.context.queue.job_changed.disconnect(self._on_job_changed)
        self._callbacks.clear()
