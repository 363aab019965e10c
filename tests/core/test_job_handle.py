"""JobDispatcher: each watched job reaches exactly one end handler, whoever ended it. No Qt."""

from __future__ import annotations

from dataclasses import dataclass

from atelier.core.errors import AtelierError, InvalidRequestError
from atelier.core.job_handle import JobDispatcher, JobHandle
from atelier.core.jobs import Job, JobQueue
from atelier.core.progress import Progress
from atelier.core.requests import Lane, Request, Result


@dataclass(frozen=True)
class EchoRequest(Request):
    kind = "echo"
    lane = Lane.LIGHT


@dataclass(frozen=True)
class EchoResult(Result):
    kind = "echo"


@dataclass(frozen=True)
class HelperRequest(Request):
    kind = "helper"
    in_history = False


def _recording_handle(log: list[tuple[str, object]]) -> JobHandle:
    return JobHandle(
        success=lambda job, result: log.append(("success", result)),
        failure=lambda job, error: log.append(("failure", error)),
        cancelled=lambda job: log.append(("cancelled", job.id)),
        progress=lambda job, progress: log.append(("progress", progress.fraction)),
    )


def test_success_progress_failure_and_cancel_each_reach_their_handler() -> None:
    queue = JobQueue()
    dispatcher = JobDispatcher(queue)
    log: list[tuple[str, object]] = []
    ok, _ = queue.enqueue(EchoRequest())
    bad, _ = queue.enqueue(EchoRequest())
    gone, _ = queue.enqueue(EchoRequest())
    for job in (ok, bad, gone):
        dispatcher.watch(job, _recording_handle(log))
    queue.notify_started(ok.id)
    queue.notify_progress(ok.id, Progress(1, 4, "quarter"))
    result = EchoResult()
    queue.notify_finished(ok.id, result)
    queue.notify_started(bad.id)
    queue.notify_failed(bad.id, InvalidRequestError("Bad count."))
    queue.cancel(gone.id)  # as the Jobs dock does: not through the dispatcher's owner
    assert log[0] == ("progress", 0.25)
    assert log[1] == ("success", result)
    kind, error = log[2]
    assert kind == "failure" and isinstance(error, InvalidRequestError) and "Bad count." in str(error)
    assert log[3] == ("cancelled", gone.id)
    assert dispatcher.pending() == []
    queue.notify_finished(ok.id, EchoResult())  # a late event reaches nobody
    assert len(log) == 4


def test_plain_string_failures_become_typed_errors() -> None:
    queue = JobQueue()
    dispatcher = JobDispatcher(queue)
    errors: list[AtelierError] = []
    job, _ = queue.enqueue(EchoRequest())
    dispatcher.watch(job, JobHandle(lambda j, r: None, lambda j, e: errors.append(e)))
    queue.notify_failed(job.id, "disk full")
    assert isinstance(errors[0], AtelierError) and errors[0].user_message() == "disk full"
    assert job.failure is errors[0]


def test_watching_a_job_that_already_ended_still_reports_it() -> None:
    queue = JobQueue()
    dispatcher = JobDispatcher(queue)
    job, _ = queue.enqueue(EchoRequest())
    queue.cancel(job.id)
    ended: list[Job] = []
    dispatcher.watch(job, JobHandle(lambda j, r: None, lambda j, e: None, cancelled=ended.append))
    assert ended == [job]


def test_close_disconnects() -> None:
    queue = JobQueue()
    dispatcher = JobDispatcher(queue)
    log: list[tuple[str, object]] = []
    job, _ = queue.enqueue(EchoRequest())
    dispatcher.watch(job, _recording_handle(log))
    dispatcher.close()
    queue.cancel(job.id)
    assert log == []


def test_history_numbers_skip_helper_jobs_and_positions_follow_the_lane() -> None:
    queue = JobQueue()
    first, _ = queue.enqueue(EchoRequest())
    helper, _ = queue.enqueue(HelperRequest())
    second, _ = queue.enqueue(EchoRequest())
    third, _ = queue.enqueue(EchoRequest())
    assert (first.number, helper.number, second.number, third.number) == (1, 0, 2, 3)
    assert [queue.position(j) for j in (first, second, third)] == [1, 2, 3]
    queue.notify_started(first.id)
    assert [queue.position(j) for j in (first, second, third)] == [0, 1, 2]
    queue.cancel(second.id)
    assert queue.position(third) == 1


def test_numbers_continue_after_a_reopened_history_and_never_go_back() -> None:
    queue = JobQueue()
    first, _ = queue.enqueue(EchoRequest())
    queue.continue_numbers_after(40)
    second, _ = queue.enqueue(EchoRequest())
    queue.continue_numbers_after(3)  # a project with a shorter history: no number is reused
    third, _ = queue.enqueue(EchoRequest())
    assert (first.number, second.number, third.number) == (1, 41, 42)
