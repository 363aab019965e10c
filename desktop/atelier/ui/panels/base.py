"""Base class for panels: job submission with typed handles, session state, clean disconnection."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QWidget

from atelier.core.errors import AtelierError
from atelier.core.job_handle import JobDispatcher, JobHandle
from atelier.core.jobs import Job
from atelier.core.requests import Request, Result
from atelier.ui.context import AppContext
from atelier.ui.errors import show_error


class Panel(QWidget):
    title = "Panel"

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.jobs = JobDispatcher(context.queue)

    def submit(self, request: Request, handle: JobHandle) -> Job:
        """Queue `request`; `handle` hears exactly one of success, failure or cancelled.

        Every panel's jobs pass the context's licence gate here (through `context.runner`): when the user
        cancels a pack's first-use licence question the job is never queued, the returned job is already
        cancelled (`job.state.done`, not in the history) and `handle.cancelled` runs, so the panel stays idle."""
        return self.jobs.watch(self.context.runner.submit(request), handle)

    def show_failure(self, job: Job, error: AtelierError) -> None:
        """The default failure handler: the one place errors are shown."""
        show_error(self, error)

    # -- history -----------------------------------------------------------------------------
    def recall(self, request: Request) -> bool:
        """Put a request's settings back into this panel (one undo step); False if not this panel's."""
        return False

    def show_result(self, request: Request, result: Result) -> bool:
        """Show a past result as if its job had just finished (from the history); False if not ours."""
        return False

    # -- session -----------------------------------------------------------------------------
    def save_state(self) -> dict[str, Any]:
        return {}

    def restore_state(self, state: dict[str, Any]) -> None:
        """Replace the panel's document with a saved one (may be called again when a project opens)."""

    def close_panel(self) -> None:
        """Disconnect from shared objects so a closed window leaves no callbacks behind."""
        self.jobs.close()
