"""Worker faults through the real JobRunner: a task that raises (anything, on either lane) fails only its own
job and the lane goes on; a cancel at every moment of a job's life (queued, just started, mid-progress, at
the last step, after the end) ends the job exactly once, as cancelled, and never strands the queue."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from threading import _DummyThread as DummyThread

import pytest

from atelier.core.errors import AtelierError
from atelier.core.job_handle import JobDispatcher, JobHandle
from atelier.core.jobs import Job, JobQueue, JobState
from atelier.core.settings import Settings
from atelier.ui.worker import JobRunner
from tests.ui.conftest import PROBE_GATES, LightProbeRequest, ProbeGate, ProbeRequest, ProbeResult

PROBES = {"heavy": ProbeRequest, "light": LightProbeRequest}


@pytest.fixture
def runner(qtbot, isolated_dirs) -> Iterator[JobRunner]:
    before, native_before = set(threading.enumerate()), set(native_threads())
    runner = JobRunner(JobQueue(), Settings(threads=1))
    lanes = new_lane_threads(native_before)
    yield runner
    for gate in PROBE_GATES.values():  # a failed test must not leave a lane waiting at a gate
        gate.release.set()
    PROBE_GATES.clear()
    runner.shutdown()
    assert all(thread.isFinished() for thread in runner.threads()), "lane threads still running"
    # QThreads look like never-ending _DummyThreads to Python: the kernel's list of this process's
    # threads is what says whether a lane is really gone.
    deadline = time.monotonic() + 5  # a finished QThread's kernel thread may still be on its way out
    while lanes & set(native_threads()) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not lanes & set(native_threads()), "lane threads left"
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive() and not isinstance(t, DummyThread)]
    assert not leaked, f"Python threads leaked: {leaked}"


def native_threads() -> dict[int, str]:
    """This process's threads as the kernel lists them, id -> name (Qt names a QThread after its objectName)."""
    names = {}
    for task in Path("/proc/self/task").iterdir():
        with contextlib.suppress(OSError):  # the thread ended while we looked
            names[int(task.name)] = (task / "comm").read_text().strip()
    return names


def new_lane_threads(before: set[int]) -> set[int]:
    """Kernel ids of the two lanes a new JobRunner started. Matched by id, not by name: a library pool
    started from a lane in an earlier test (tokenizers' threads) carries the lane's name for ever."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        lanes = {tid for tid, name in native_threads().items() if tid not in before and name.startswith("atelier-")}
        if len(lanes) == 2:
            return lanes
        time.sleep(0.005)
    raise AssertionError("the two lane threads did not start")


class Outcomes:
    """What each job's JobHandle was told, in order (exactly one end per job is the contract)."""

    def __init__(self, queue: JobQueue) -> None:
        self.dispatcher = JobDispatcher(queue)
        self.calls: dict[int, list[str]] = {}
        self.errors: dict[int, AtelierError] = {}

    def watch(self, job: Job) -> Job:
        calls = self.calls.setdefault(job.id, [])

        def failure(job: Job, error: AtelierError) -> None:
            calls.append("failure")
            self.errors[job.id] = error

        handle = JobHandle(
            success=lambda job, result: calls.append("success"),
            failure=failure,
            cancelled=lambda job: calls.append("cancelled"),
            progress=lambda job, progress: calls.append(f"progress {progress.step}"),
        )
        return self.dispatcher.watch(job, handle)

    def ends(self, job: Job) -> list[str]:
        return [call for call in self.calls[job.id] if not call.startswith("progress")]


def gate(name: str) -> ProbeGate:
    PROBE_GATES[name] = ProbeGate()
    return PROBE_GATES[name]


def wait_done(qtbot, *jobs: Job, timeout: int = 10_000) -> None:
    qtbot.waitUntil(lambda: all(job.state.done for job in jobs), timeout=timeout)


@pytest.mark.parametrize("lane", ["heavy", "light"])
@pytest.mark.parametrize("failure", ["runtime", "atelier", "memory", "unprintable", "system-exit", "keyboard"])
def test_a_task_that_raises_fails_its_job_and_the_next_job_runs(runner: JobRunner, qtbot, lane, failure) -> None:
    outcomes = Outcomes(runner.queue)
    probe = PROBES[lane]
    broken = outcomes.watch(runner.submit(probe(steps=3, fail_at=1, failure=failure)))
    after = outcomes.watch(runner.submit(probe(steps=2)))
    wait_done(qtbot, broken, after)
    assert broken.state is JobState.FAILED and outcomes.ends(broken) == ["failure"]
    assert broken.error  # a message the Jobs dock can show, even for an error that cannot be printed
    assert isinstance(outcomes.errors[broken.id], AtelierError)
    if failure == "atelier":
        assert broken.error.startswith("Probe failed.")  # the task's own words reach the user
    assert after.state is JobState.FINISHED and isinstance(after.result, ProbeResult)
    assert outcomes.ends(after) == ["success"]
    assert all(thread.isRunning() for thread in runner.threads()), "a lane died with its job"


def test_a_task_that_raises_before_its_first_step_and_after_its_last(runner: JobRunner, qtbot) -> None:
    outcomes = Outcomes(runner.queue)
    first = outcomes.watch(runner.submit(ProbeRequest(steps=2, fail_at=0)))
    last = outcomes.watch(runner.submit(ProbeRequest(steps=2, fail_at=2)))
    after = outcomes.watch(runner.submit(ProbeRequest(steps=1)))
    wait_done(qtbot, first, last, after)
    assert [first.state, last.state, after.state] == [JobState.FAILED, JobState.FAILED, JobState.FINISHED]
    assert outcomes.calls[first.id] == ["failure"]  # never started progress
    assert outcomes.calls[last.id] == ["progress 1", "progress 2", "failure"]


def test_cancel_while_queued_never_runs_the_task(runner: JobRunner, qtbot) -> None:
    outcomes = Outcomes(runner.queue)
    hold = gate("hold")
    ahead = outcomes.watch(runner.submit(ProbeRequest(steps=1, gate="hold")))
    queued = outcomes.watch(runner.submit(ProbeRequest(steps=1)))
    assert hold.reached.wait(5)
    assert runner.cancel(queued.id)
    assert queued.state is JobState.CANCELLED and outcomes.ends(queued) == ["cancelled"]  # at once
    hold.release.set()
    wait_done(qtbot, ahead)
    qtbot.wait(50)  # the lane reaches the cancelled job and skips it
    assert queued.state is JobState.CANCELLED and queued.started is None and queued.result is None
    assert outcomes.ends(queued) == ["cancelled"]


# (gate_step, progress the test waits for before cancelling) for each moment of a running job's life.
MOMENTS = {
    "just started": (0, 0),  # the task runs but has yielded nothing
    "mid-progress": (2, 2),  # two of four steps reported
    "last step": (4, 4),  # every step reported; the task is about to return its result
}


@pytest.mark.parametrize("moment", list(MOMENTS))
def test_cancel_at_each_moment_of_a_running_job_ends_it_once(runner: JobRunner, qtbot, moment) -> None:
    gate_step, seen = MOMENTS[moment]
    outcomes = Outcomes(runner.queue)
    here = gate(moment)
    job = outcomes.watch(runner.submit(ProbeRequest(steps=4, gate=moment, gate_step=gate_step)))
    after = outcomes.watch(runner.submit(ProbeRequest(steps=1)))
    assert here.reached.wait(5)
    qtbot.waitUntil(lambda: job.state is JobState.RUNNING and (job.progress.step if job.progress else 0) == seen)
    assert runner.cancel(job.id)
    assert job.state is JobState.RUNNING  # a running job stops at its next step, not at once
    here.release.set()
    wait_done(qtbot, job, after)
    if moment == "last step":
        # Its work was done before it could see the cancel: the result is kept (History can put it
        # back) and the token tells the panel the user had moved on (the Sketch and Palette panels check it).
        assert job.state is JobState.FINISHED and isinstance(job.result, ProbeResult)
        assert job.cancel_token.cancelled and outcomes.ends(job) == ["success"]
    else:
        assert job.state is JobState.CANCELLED and job.result is None and outcomes.ends(job) == ["cancelled"]
        assert outcomes.calls[job.id].count(f"progress {seen + 1}") == 0  # nothing reported past the cancel
    assert after.state is JobState.FINISHED and outcomes.ends(after) == ["success"]


def test_a_task_that_raises_after_a_cancel_ends_cancelled_not_failed(runner: JobRunner, qtbot) -> None:
    """A run stopped mid-way often fails on its way out (a terminated onnxruntime run, a killed build
    process); the user asked to stop, so no error box follows their cancel."""
    outcomes = Outcomes(runner.queue)
    here = gate("raise-after-cancel")
    job = outcomes.watch(runner.submit(ProbeRequest(steps=3, gate="raise-after-cancel", gate_step=1, fail_at=1)))
    assert here.reached.wait(5)
    qtbot.waitUntil(lambda: job.state is JobState.RUNNING)
    runner.cancel(job.id)
    here.release.set()
    wait_done(qtbot, job)
    assert job.state is JobState.CANCELLED and not job.error and outcomes.ends(job) == ["cancelled"]


def test_cancel_after_the_end_changes_nothing(runner: JobRunner, qtbot) -> None:
    outcomes = Outcomes(runner.queue)
    job = outcomes.watch(runner.submit(ProbeRequest(steps=2)))
    wait_done(qtbot, job)
    assert not runner.cancel(job.id)
    assert job.state is JobState.FINISHED and isinstance(job.result, ProbeResult)
    assert outcomes.ends(job) == ["success"]


CLOSE_DURING_A_LONG_STEP = """
import sys, threading, time
sys.path[:0] = [{repo!r}, {desktop!r}]
from PySide6.QtCore import QCoreApplication
from atelier.core.jobs import JobQueue
from atelier.core.settings import Settings
from atelier.ui.worker import JobRunner
from tests.ui.conftest import PROBE_GATES, ProbeGate, ProbeRequest

app = QCoreApplication([])
runner = JobRunner(JobQueue(), Settings(threads=1))
gate = PROBE_GATES["close"] = ProbeGate()
job = runner.submit(ProbeRequest(steps=1, gate="close", gate_step=0))  # a step that cannot see a cancel
if not gate.reached.wait(30):
    sys.exit("the step never began")
# The step ends 1.5 s from now whatever the machine's load; a daemon timer, so only the lane holds the exit.
releaser = threading.Timer(1.5, gate.release.set)
releaser.daemon = True
releaser.start()
runner.shutdown(timeout_ms=100)  # closing the window gives up waiting before the step ends
print("closed", job.state.value, flush=True)
"""


def test_closing_while_a_step_ignores_cancel_exits_cleanly_after_it(tmp_path: Path) -> None:
    """Qt aborts the process when a running QThread is destroyed, which closing the window then did
    (exit status 134 after 'QThread: Destroyed while thread is still running'); the session was saved
    before, but the process crashed on the way out. The lane now finishes its step first."""
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[2]
    script = CLOSE_DURING_A_LONG_STEP.format(repo=str(repo), desktop=str(repo / "desktop"))
    began = time.monotonic()
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "closed running" in done.stdout and "Destroyed while thread" not in done.stderr
    assert time.monotonic() - began >= 1.5  # it waited for the step, it did not cut it off
