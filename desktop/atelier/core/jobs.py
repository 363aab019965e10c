"""Jobs and the job queue, which is also the history of everything the user asked for.

The queue is thread-safe, but its `notify_*` methods are meant to be called on one thread (the
UI's main thread), so that its events reach listeners in order. Every listener gets every event even
when another one raises: the fault is logged with the listener's name and announced on `listener_failed`.
"""

from __future__ import annotations

import enum
import itertools
import logging
import threading
import time
import traceback
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from psygnal import Signal, SignalInstance

from atelier.core.cancel import CancelToken
from atelier.core.errors import AtelierError
from atelier.core.progress import Progress
from atelier.core.requests import Request, Result


class JobState(enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    CANCELLED = "cancelled"
    FAILED = "failed"

    @property
    def done(self) -> bool:
        return self in (JobState.FINISHED, JobState.CANCELLED, JobState.FAILED)


_job_ids = itertools.count(1)


@dataclass(eq=False)
class Job:
    request: Request
    id: int = field(default_factory=lambda: next(_job_ids))
    state: JobState = JobState.QUEUED
    created: float = field(default_factory=time.time)
    started: float | None = None
    ended: float | None = None
    progress: Progress | None = None
    result: Result | None = None
    error: str = ""  # the user-facing message when failed
    failure: AtelierError | None = None  # the typed error when failed (job handles receive it)
    # What the Jobs dock shows as "#N": numbered among the jobs in the history only, so helper jobs
    # (rhymes, analysis) never make the user's numbers skip. 0 for helper jobs.
    number: int = 0
    notice: str = ""  # e.g. "retried on the CPU after CUDA failed"
    cancel_token: CancelToken = field(default_factory=CancelToken, repr=False)

    def nbytes(self) -> int:
        return self.result.nbytes() if self.result is not None else 0

    @property
    def seconds(self) -> float | None:
        if self.started is None:
            return None
        return (self.ended or time.time()) - self.started


log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ListenerFault:
    """A queue listener that raised: which event, which listener, on which job, and what it raised."""

    event: str  # "job_added", "job_changed" or "job_removed"
    listener: str  # e.g. "atelier.ui.panels.sketch.SketchPanel._on_job_changed"
    job_id: int
    error: str  # "ValueError: ..."

    def message(self) -> str:
        """One line for the user: what failed, that Atelier went on, where the details are."""
        short = ".".join(self.listener.split(".")[-2:])  # "SketchPanel._on_job_changed"
        return f"Internal error in {short} ({self.error}); Atelier carried on. Details are in the log."


class EveryListenerSignalInstance(SignalInstance):
    """A psygnal SignalInstance whose emit calls every listener even when an earlier one raises.

    psygnal (0.16) stops its emit loop at the first listener that raises and raises EmitLoopError
    from `emit`; it has no option to go on (pyapp-kit/psygnal#106 was closed without one, and
    `emit(check_nargs=...)` only checks the arguments). On the job queue that would leave a panel
    busy for ever or the Jobs dock stale because another panel's handler has a bug, and would stop
    the queue's own book-keeping (pruning, dropping a helper job) half-way. So the one loop psygnal
    runs for "immediate" re-emission (the mode these signals are declared with) is replaced with the
    same loop, guarded per listener. The loop uses psygnal's slot list and `WeakCallback.cb`, so
    weak references, argument trimming, nested emits and disconnects keep psygnal's behaviour.
    """

    def _run_emit_loop_immediate(self) -> None:
        args = self._emit_queue.popleft()
        for caller in list(self._slots):
            if not caller._is_alive():
                continue
            # Exception, not BaseException: Ctrl+C or a deliberate exit still ends the program.
            try:
                caller.cb(args)
            except Exception as exc:
                _report_fault(self, caller.slot_repr(), args, exc)


def _report_fault(signal: SignalInstance, listener: str, args: tuple[Any, ...], exc: Exception) -> None:
    job = args[0] if args else None
    job_id = job.id if isinstance(job, Job) else 0
    try:  # one short line for a message; the log keeps the whole traceback
        text = str(exc).strip().splitlines()
        error = f"{type(exc).__name__}: {text[0][:160]}" if text else type(exc).__name__
    except Exception:  # an exception whose str() fails still gets its name
        error = type(exc).__name__
    fault = ListenerFault(str(signal.name), listener, job_id, error)
    log.error(
        "Listener %s failed on %s for job %s; the other listeners were still called:\n%s",
        listener,
        fault.event,
        job_id,
        "".join(traceback.format_exception(exc)),
    )
    queue = signal.instance
    if isinstance(queue, JobQueue):
        try:
            queue.listener_failed.emit(fault)
        except Exception:  # whoever shows faults failed too: the log already has the fault
            log.exception("Could not announce the failure of listener %s", listener)


def _job_signal() -> Signal:
    return Signal(Job, reemission="immediate", signal_instance_class=EveryListenerSignalInstance)


class JobQueue:
    """Ordered jobs, oldest first; finished ones are pruned beyond `max_jobs` or `max_bytes`."""

    job_added = _job_signal()
    job_changed = _job_signal()
    job_removed = _job_signal()
    # A listener of the three above raised (already logged); the main window shows it like other
    # internal errors. A plain psygnal signal: a fault of its own listener is only logged.
    listener_failed = Signal(ListenerFault)

    def __init__(self, max_jobs: int = 200, max_bytes: int = 512 * 1024 * 1024) -> None:
        self.max_jobs = max_jobs
        self.max_bytes = max_bytes
        self._jobs: OrderedDict[int, Job] = OrderedDict()
        self._lock = threading.RLock()
        self._numbers = itertools.count(1)

    # -- queries -----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._jobs)

    def __iter__(self):
        with self._lock:
            return iter(list(self._jobs.values()))

    def get(self, job_id: int) -> Job | None:
        return self._jobs.get(job_id)

    def active(self) -> list[Job]:
        with self._lock:
            return [job for job in self._jobs.values() if not job.state.done]

    def continue_numbers_after(self, number: int) -> None:
        """Number the next history job above `number` (a reopened project's history already has
        #1..#number), never going back below numbers already handed out."""
        with self._lock:
            upcoming = next(self._numbers)
            self._numbers = itertools.count(max(upcoming, number + 1))

    def position(self, job: Job) -> int:
        """1-based place of a queued job in its lane's line (1 = runs next); 0 when not queued."""
        if job.state is not JobState.QUEUED:
            return 0
        with self._lock:
            waiting = [
                j for j in self._jobs.values() if j.state is JobState.QUEUED and j.request.lane == job.request.lane
            ]
        return waiting.index(job) + 1 if job in waiting else 0

    def memory_bytes(self) -> int:
        with self._lock:
            return sum(job.nbytes() for job in self._jobs.values())

    # -- changes -----------------------------------------------------------------------------
    def enqueue(self, request: Request) -> tuple[Job, list[Job]]:
        """Add a job; returns it and the jobs it superseded (already told to cancel)."""
        superseded: list[Job] = []
        job = Job(request)
        with self._lock:
            if request.in_history:
                job.number = next(self._numbers)
            if request.supersedes:
                for other in self._jobs.values():
                    if (
                        not other.state.done
                        and other.request.kind == request.kind
                        and other.request.origin == request.origin
                    ):
                        superseded.append(other)
            self._jobs[job.id] = job
        for other in superseded:
            self.cancel(other.id, reason="superseded by a newer request")
        self.job_added.emit(job)
        self._prune()
        return job, superseded

    def cancel(self, job_id: int, reason: str = "cancelled") -> bool:
        """Ask a job to stop. A queued job is cancelled at once; a running one when it next yields."""
        job = self._jobs.get(job_id)
        if job is None or job.state.done:
            return False
        job.cancel_token.cancel(reason)
        if job.state is JobState.QUEUED:
            self._finish(job, JobState.CANCELLED)
        return True

    def notify_started(self, job_id: int) -> None:
        job = self._jobs.get(job_id)
        if job is None or job.state is not JobState.QUEUED:
            return
        job.state = JobState.RUNNING
        job.started = time.time()
        self.job_changed.emit(job)

    def notify_progress(self, job_id: int, progress: Progress) -> None:
        job = self._jobs.get(job_id)
        if job is None or job.state.done:
            return
        job.progress = progress
        self.job_changed.emit(job)

    def notify_finished(self, job_id: int, result: Result, notice: str = "") -> None:
        job = self._jobs.get(job_id)
        if job is None or job.state.done:
            return
        job.result = result
        job.notice = notice
        self._finish(job, JobState.FINISHED)
        self._prune()

    def notify_failed(self, job_id: int, error: BaseException | str) -> None:
        job = self._jobs.get(job_id)
        if job is None or job.state.done:
            return
        job.failure = error if isinstance(error, AtelierError) else AtelierError(str(error))
        job.error = job.failure.user_message()
        self._finish(job, JobState.FAILED)

    def notify_cancelled(self, job_id: int) -> None:
        job = self._jobs.get(job_id)
        if job is None or job.state.done:
            return
        self._finish(job, JobState.CANCELLED)

    def remove(self, job_id: int) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or not job.state.done:
                return
            del self._jobs[job_id]
        self.job_removed.emit(job)

    def clear_finished(self) -> None:
        for job in [job for job in self if job.state.done]:
            self.remove(job.id)

    def _finish(self, job: Job, state: JobState) -> None:
        job.state = state
        job.ended = time.time()
        self.job_changed.emit(job)  # callers' result handlers run here, before a helper job is dropped
        if not job.request.in_history:
            self.remove(job.id)

    def _prune(self) -> None:
        """Drop the oldest finished jobs while over the count (of history jobs) or memory budget."""
        while True:
            with self._lock:
                done = [job for job in self._jobs.values() if job.state.done]
                over_count = sum(job.request.in_history for job in self._jobs.values()) > self.max_jobs
                over_bytes = sum(job.nbytes() for job in self._jobs.values()) > self.max_bytes
                if not done or not (over_count or over_bytes):
                    return
                oldest = done[0]
            self.remove(oldest.id)
