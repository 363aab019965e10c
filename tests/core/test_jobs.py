"""JobQueue: states, supersede, cancel, pruning by count and memory. No Qt."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import numpy as np
import pytest

from atelier.core.errors import InvalidRequestError
from atelier.core.jobs import JobQueue, JobState
from atelier.core.progress import Progress
from atelier.core.requests import Lane, Request, Result
from atelier.core.requests.lineart import LineArtRequest


@dataclass(frozen=True)
class EchoRequest(Request):
    kind = "echo"
    lane = Lane.LIGHT
    text: str = ""


@dataclass(frozen=True)
class BlobResult(Result):
    kind = "blob"
    blob: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint8), compare=False)


def test_lifecycle_emits_events_in_order() -> None:
    queue = JobQueue()
    events: list[tuple[str, JobState]] = []
    queue.job_added.connect(lambda job: events.append(("added", job.state)))
    queue.job_changed.connect(lambda job: events.append(("changed", job.state)))
    job, superseded = queue.enqueue(EchoRequest(text="hi"))
    assert superseded == []
    queue.notify_started(job.id)
    queue.notify_progress(job.id, Progress(1, 2, "half"))
    queue.notify_finished(job.id, BlobResult())
    assert job.state is JobState.FINISHED
    assert job.started is not None and job.ended is not None and job.ended >= job.started
    assert [e[1] for e in events] == [
        JobState.QUEUED,
        JobState.RUNNING,
        JobState.RUNNING,
        JobState.FINISHED,
    ]
    # A late report for a finished job changes nothing.
    queue.notify_failed(job.id, "late")
    assert job.state is JobState.FINISHED and job.error == ""


def test_cancel_queued_is_immediate_and_running_sets_token() -> None:
    queue = JobQueue()
    queued, _ = queue.enqueue(EchoRequest())
    running, _ = queue.enqueue(EchoRequest())
    queue.notify_started(running.id)
    assert queue.cancel(queued.id)
    assert queued.state is JobState.CANCELLED
    assert queue.cancel(running.id)
    assert running.state is JobState.RUNNING and running.cancel_token.cancelled
    queue.notify_cancelled(running.id)
    assert running.state is JobState.CANCELLED
    assert not queue.cancel(running.id)


def test_supersede_cancels_same_kind_same_origin_only() -> None:
    queue = JobQueue()
    old, _ = queue.enqueue(EchoRequest(origin="sketch"))
    other_origin, _ = queue.enqueue(EchoRequest(origin="lyric"))
    new, superseded = queue.enqueue(EchoRequest(origin="sketch", supersedes=True))
    assert superseded == [old]
    assert old.state is JobState.CANCELLED
    assert "superseded" in old.cancel_token.reason
    assert other_origin.state is JobState.QUEUED and new.state is JobState.QUEUED


def test_prunes_oldest_finished_by_count() -> None:
    queue = JobQueue(max_jobs=3)
    jobs = [queue.enqueue(EchoRequest(text=str(i)))[0] for i in range(5)]
    for job in jobs[:4]:
        queue.notify_started(job.id)
        queue.notify_finished(job.id, BlobResult())
    remaining = [job.id for job in queue]
    assert len(remaining) == 3
    assert jobs[4].id in remaining  # the active job is never pruned
    assert jobs[0].id not in remaining and jobs[1].id not in remaining


@dataclass(frozen=True)
class LookupRequest(Request):
    """Helper work like a rhyme look-up: not part of the history."""

    kind = "lookup"
    lane = Lane.LIGHT
    in_history = False


def test_helper_jobs_report_their_result_then_leave_the_history() -> None:
    queue = JobQueue(max_jobs=3)
    kept = queue.enqueue(EchoRequest(text="a generated picture"))[0]
    queue.notify_started(kept.id)
    queue.notify_finished(kept.id, BlobResult())
    delivered: list[int] = []
    queue.job_changed.connect(lambda job: delivered.append(job.id) if job.state.done else None)
    removed: list[int] = []
    queue.job_removed.connect(lambda job: removed.append(job.id))
    helpers = [queue.enqueue(LookupRequest())[0] for _ in range(10)]
    assert len(queue) == 11  # queued and running helpers are there to be cancelled
    for job in helpers[:9]:
        queue.notify_started(job.id)
        queue.notify_finished(job.id, BlobResult())
    queue.cancel(helpers[9].id)
    assert delivered == [job.id for job in helpers]  # each result was handed out first
    assert removed == [job.id for job in helpers]
    assert [job.id for job in queue] == [kept.id]  # ten look-ups did not push the picture out


def test_prunes_by_memory_budget() -> None:
    queue = JobQueue(max_jobs=100, max_bytes=3_500_000)
    for _ in range(5):
        job, _ = queue.enqueue(EchoRequest())
        queue.notify_started(job.id)
        queue.notify_finished(job.id, BlobResult(blob=np.zeros(1_000_000, np.uint8)))
    assert queue.memory_bytes() <= 3_500_000
    assert len(queue) == 3


def test_failed_job_keeps_user_message() -> None:
    queue = JobQueue()
    job, _ = queue.enqueue(EchoRequest())
    queue.notify_started(job.id)
    queue.notify_failed(job.id, InvalidRequestError("Count must be 3 to 12."))
    assert job.state is JobState.FAILED
    assert "Count must be 3 to 12." in job.error and "Change the value" in job.error


def test_request_validation_messages() -> None:
    with pytest.raises(InvalidRequestError, match="RGB or RGBA"):
        LineArtRequest(image=np.zeros((10, 10), np.uint8))
    with pytest.raises(InvalidRequestError, match="between 0 and 1"):
        LineArtRequest(image=np.zeros((10, 10, 3), np.uint8), sensitivity=2)
    record = LineArtRequest(image=np.zeros((10, 12, 3), np.uint8), origin="cli").to_record()
    assert record["kind"] == "lineart" and record["image"].startswith("<array (10, 12, 3)")


def test_core_imports_no_qt_or_onnxruntime() -> None:
    import subprocess

    code = (
        "import sys, atelier.core.jobs, atelier.core.settings, atelier.core.requests.lineart, "
        "atelier.core.session_store, atelier.core.documents.palette;"
        "bad=[m for m in sys.modules if m.split('.')[0] in ('PySide6','onnxruntime','torch')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
