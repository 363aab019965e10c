"""A JobQueue listener that raises: every other listener still gets every event, the fault is logged with
the listener's name and announced, and the queue's own book-keeping finishes. No Qt."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pytest
from psygnal import Signal

from atelier.core.errors import AtelierError
from atelier.core.job_handle import JobDispatcher, JobHandle
from atelier.core.jobs import Job, JobQueue, JobState, ListenerFault
from atelier.core.progress import Progress
from atelier.core.requests import Lane, Request, Result


@dataclass(frozen=True)
class EchoRequest(Request):
    kind = "echo"
    lane = Lane.LIGHT


@dataclass(frozen=True)
class HelperRequest(Request):
    """Helper work (a rhyme look-up): dropped from the queue once its result is handed out."""

    kind = "helper"
    lane = Lane.LIGHT
    in_history = False


@dataclass(frozen=True)
class EchoResult(Result):
    kind = "echo"


class BrokenPanel:
    """A panel whose result handler has a bug: it raises on every job it watches."""

    def __init__(self, queue: JobQueue) -> None:
        self.dispatcher = JobDispatcher(queue)
        self.calls = 0

    def watch(self, job: Job) -> None:
        self.dispatcher.watch(job, JobHandle(success=self._broken, failure=self._broken, progress=self._broken))

    def _broken(self, *args: object) -> None:
        self.calls += 1
        raise KeyError("swatch")


class BusyPanel:
    """A panel that shows 'busy' from submit until its job's end handler runs."""

    def __init__(self, queue: JobQueue) -> None:
        self.dispatcher = JobDispatcher(queue)
        self.busy = False
        self.ended: list[str] = []
        self.progress: list[float] = []

    def watch(self, job: Job) -> None:
        self.busy = True
        handle = JobHandle(
            success=lambda job, result: self._end("success"),
            failure=lambda job, error: self._end(f"failure: {error}"),
            cancelled=lambda job: self._end("cancelled"),
            progress=lambda job, progress: self.progress.append(progress.fraction),
        )
        self.dispatcher.watch(job, handle)

    def _end(self, how: str) -> None:
        self.busy = False
        self.ended.append(how)


def _queue_with_two_panels() -> tuple[JobQueue, BrokenPanel, BusyPanel, list[ListenerFault]]:
    queue = JobQueue()
    broken = BrokenPanel(queue)  # connected first: psygnal alone would never reach the second
    busy = BusyPanel(queue)
    faults: list[ListenerFault] = []
    queue.listener_failed.connect(faults.append)
    return queue, broken, busy, faults


def test_a_raising_listener_does_not_keep_the_next_panel_busy(caplog: pytest.LogCaptureFixture) -> None:
    queue, broken, busy, faults = _queue_with_two_panels()
    job, _ = queue.enqueue(EchoRequest())
    broken.watch(job)
    busy.watch(job)
    with caplog.at_level(logging.ERROR, logger="atelier.core.jobs"):
        queue.notify_started(job.id)
        queue.notify_progress(job.id, Progress(1, 2, "half"))
        queue.notify_finished(job.id, EchoResult())
    assert job.state is JobState.FINISHED and job.result is not None
    assert busy.progress == [0.5] and busy.ended == ["success"] and not busy.busy
    assert broken.calls == 2  # its progress and success handlers both ran (and raised)
    assert [(f.event, f.job_id) for f in faults] == [("job_changed", job.id)] * 2
    assert all(f.listener.endswith("JobDispatcher._on_job_changed") for f in faults)
    assert faults[0].error == "KeyError: 'swatch'"
    message = faults[0].message()
    assert message.startswith("Internal error in JobDispatcher._on_job_changed (KeyError: 'swatch')")
    assert "Details are in the log." in message and "\n" not in message
    records = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(records) == 2
    text = records[0].getMessage()
    assert "JobDispatcher._on_job_changed" in text and f"job {job.id}" in text
    assert "KeyError: 'swatch'" in text and "Traceback" in text  # the whole traceback is in the log


def test_failure_and_cancel_still_reach_the_second_panel() -> None:
    queue, broken, busy, faults = _queue_with_two_panels()
    failing, _ = queue.enqueue(EchoRequest())
    waiting, _ = queue.enqueue(EchoRequest())
    for job in (failing, waiting):
        broken.watch(job)
        busy.watch(job)
    queue.notify_started(failing.id)
    queue.notify_failed(failing.id, AtelierError("The model ran out of memory."))
    assert queue.cancel(waiting.id)
    assert busy.ended == ["failure: The model ran out of memory.", "cancelled"] and not busy.busy
    assert failing.state is JobState.FAILED and waiting.state is JobState.CANCELLED
    # The broken panel's cancelled handler is the default no-op: only its failure handler raised.
    assert len(faults) == 1 and faults[0].job_id == failing.id


def test_the_queue_finishes_its_own_book_keeping_after_a_listener_raises() -> None:
    queue = JobQueue(max_jobs=2)
    faults: list[ListenerFault] = []
    queue.listener_failed.connect(faults.append)
    added: list[int] = []
    removed: list[int] = []

    def broken(job: Job) -> None:
        raise RuntimeError(f"cannot draw job {job.id}")

    for signal in (queue.job_added, queue.job_changed, queue.job_removed):
        signal.connect(broken)
    queue.job_added.connect(lambda job: added.append(job.id))
    queue.job_removed.connect(lambda job: removed.append(job.id))

    # enqueue returns its job and prunes the oldest finished one past max_jobs, as without a fault.
    finished = []
    for _ in range(3):
        job, _ = queue.enqueue(EchoRequest())
        queue.notify_started(job.id)
        queue.notify_finished(job.id, EchoResult())
        finished.append(job)
    assert [job.id for job in queue] == [finished[1].id, finished[2].id]
    assert removed == [finished[0].id] and added == [job.id for job in finished]

    # A helper job is handed out, then dropped from the queue, even though every listener of it raises.
    helper, _ = queue.enqueue(HelperRequest())
    queue.notify_started(helper.id)
    queue.notify_finished(helper.id, EchoResult())
    assert queue.get(helper.id) is None and removed[-1] == helper.id
    assert helper.id not in [job.id for job in queue.active()]
    events = [(f.event, f.job_id) for f in faults]
    assert ("job_added", helper.id) in events and ("job_removed", helper.id) in events
    assert all(f.listener.endswith("broken") for f in faults)


def test_a_broken_fault_listener_is_only_logged(caplog: pytest.LogCaptureFixture) -> None:
    queue = JobQueue()
    seen: list[int] = []

    def broken_display(fault: ListenerFault) -> None:
        raise ValueError("no status bar")

    def broken(job: Job) -> None:
        raise RuntimeError("bug")

    queue.listener_failed.connect(broken_display)
    queue.job_added.connect(broken)
    queue.job_added.connect(lambda job: seen.append(job.id))
    with caplog.at_level(logging.ERROR, logger="atelier.core.jobs"):
        job, _ = queue.enqueue(EchoRequest())
    assert seen == [job.id] and queue.get(job.id) is job
    messages = [r.getMessage() for r in caplog.records]
    assert any("Could not announce the failure of listener" in m for m in messages)


class PlainPsygnalQueue(JobQueue):
    """The queue with psygnal's own signals, to compare the guarded ones with."""

    job_added = Signal(Job)
    job_changed = Signal(Job)
    job_removed = Signal(Job)


def _weak_nested_and_disconnecting_listeners(queue: JobQueue, raising: bool) -> list[str]:
    log: list[str] = []

    class Listener:
        def on_changed(self, job: Job) -> None:
            log.append(f"weak {job.id - first.id} {job.state.value}")

    listener = Listener()
    queue.job_changed.connect(listener.on_changed)  # held weakly, as psygnal holds bound methods

    def cancel_the_other(job: Job) -> None:  # a nested emit from inside a listener
        if job.state is JobState.RUNNING and other.state is JobState.QUEUED:
            queue.cancel(other.id)
        if raising:
            raise RuntimeError("after the nested emit")

    def once(job: Job) -> None:
        log.append("once")
        queue.job_changed.disconnect(once)

    queue.job_changed.connect(cancel_the_other)
    queue.job_changed.connect(once)
    first, _ = queue.enqueue(EchoRequest())
    other, _ = queue.enqueue(EchoRequest())
    queue.notify_started(first.id)
    assert other.state is JobState.CANCELLED
    del listener  # a garbage-collected listener is dropped, not called
    queue.notify_finished(first.id, EchoResult())
    log.append(f"{len(queue.job_changed)} left")
    return log


def test_guarded_signals_keep_psygnal_order_weak_refs_nested_emits_and_disconnects() -> None:
    guarded = _weak_nested_and_disconnecting_listeners(JobQueue(), raising=True)
    plain = _weak_nested_and_disconnecting_listeners(PlainPsygnalQueue(), raising=False)
    assert guarded == plain
    assert guarded[:2] == ["weak 0 running", "weak 1 cancelled"] and guarded[-1] == "1 left"
