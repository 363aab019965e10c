"""One typed way for a panel (or widget) to follow the jobs it submitted.

A `JobHandle` names what to do on success, failure (with the typed AtelierError), cancellation and
progress; a `JobDispatcher` listens to the queue and calls the right one exactly once per end state,
whoever cancelled the job (the panel, the Jobs dock, a newer live request, closing the window).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from atelier.core.errors import AtelierError
from atelier.core.jobs import Job, JobQueue, JobState
from atelier.core.progress import Progress
from atelier.core.requests import Result


@dataclass(frozen=True)
class JobHandle:
    success: Callable[[Job, Result], None]
    failure: Callable[[Job, AtelierError], None]
    cancelled: Callable[[Job], None] = lambda job: None
    progress: Callable[[Job, Progress], None] = lambda job, progress: None


class JobDispatcher:
    """Routes a queue's job events to the handles of the jobs one owner submitted."""

    def __init__(self, queue: JobQueue) -> None:
        self.queue = queue
        self._handles: dict[int, JobHandle] = {}
        queue.job_changed.connect(self._on_job_changed)

    def watch(self, job: Job, handle: JobHandle) -> Job:
        self._handles[job.id] = handle
        if job.state.done:  # it ended before we could watch (e.g. cancelled while queued)
            self._on_job_changed(job)
        return job

    def pending(self) -> list[int]:
        """Ids of watched jobs that have not ended, oldest first."""
        return list(self._handles)

    def _on_job_changed(self, job: Job) -> None:
        handle = self._handles.get(job.id)
        if handle is None:
            return
        if job.state is JobState.RUNNING and job.progress is not None:
            handle.progress(job, job.progress)
        elif job.state is JobState.FINISHED and job.result is not None:
            del self._handles[job.id]
            handle.success(job, job.result)
        elif job.state is JobState.FAILED:
            del self._handles[job.id]
            handle.failure(job, job.failure or AtelierError(job.error or "The job failed."))
        elif job.state is JobState.CANCELLED:
            del self._handles[job.id]
            handle.cancelled(job)

    def close(self) -> None:
        """Stop listening (a closed panel must leave no callbacks behind)."""
        self.queue.job_changed.disconnect(self._on_job_changed)
        self._handles.clear()
