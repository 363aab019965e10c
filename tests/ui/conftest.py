"""UI fixtures: a real MainWindow with real worker threads, closed and checked for leaks after each test."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from PySide6.QtCore import QTimer

from atelier.core.errors import AtelierError
from atelier.core.progress import Progress
from atelier.core.requests import Lane, Request, Result
from atelier.core.settings import Settings
from atelier.engine.runner import TaskContext, TaskGenerator, task


@dataclass(frozen=True)
class ProbeRequest(Request):
    """A test task that records which thread ran it and can be made slow (cancel is honoured per step).

    Fault probes: `gate` names a ProbeGate the task stops at before yielding step `gate_step` (`steps`:
    after its last yield, just before it returns), so a test can act at an exact moment of the job's life;
    `fail_at` then raises `failure` (a key of PROBE_FAILURES) at that step instead of yielding it.
    """

    kind = "probe"
    lane = Lane.HEAVY
    steps: int = 1
    step_seconds: float = 0.0
    fail_at: int = -1
    failure: str = "runtime"
    gate: str = ""
    gate_step: int = 0


@dataclass(frozen=True)
class LightProbeRequest(ProbeRequest):
    kind = "light-probe"
    lane = Lane.LIGHT


@dataclass(frozen=True)
class ProbeResult(Result):
    kind = "probe"
    thread_name: str = ""
    is_main_thread: bool = True

    def summary(self) -> str:
        return f"ran on {self.thread_name}"


class ProbeGate:
    """Where a gated probe waits: `reached` is set when the task arrives, `release` lets it go on."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.release = threading.Event()

    def wait_here(self) -> None:
        self.reached.set()
        # Bounded, so a test that forgets to release cannot hang the lane (and the suite) for ever.
        if not self.release.wait(30):
            raise RuntimeError("probe gate was never released")


PROBE_GATES: dict[str, ProbeGate] = {}


class _UnprintableError(Exception):
    def __str__(self) -> str:
        raise ValueError("this error cannot be printed")


PROBE_FAILURES = {
    "runtime": lambda: RuntimeError("probe broke"),
    "atelier": lambda: AtelierError("Probe failed.", "Try again."),
    "memory": lambda: MemoryError("probe ran out of memory"),
    "unprintable": _UnprintableError,
    "system-exit": lambda: SystemExit(3),  # what a library's sys.exit() raises: not an Exception
    "keyboard": lambda: KeyboardInterrupt(),
}


def _run_probe(request: ProbeRequest, context: TaskContext) -> TaskGenerator:
    gate = PROBE_GATES.get(request.gate) if request.gate else None
    for step in range(request.steps + 1):  # the extra round is the moment between the last yield and the return
        if gate is not None and step == request.gate_step:
            gate.wait_here()
        if step == request.fail_at:
            raise PROBE_FAILURES[request.failure]()
        if step == request.steps:
            break
        time.sleep(request.step_seconds)
        yield Progress(step + 1, request.steps, "probing")
    current = threading.current_thread()
    return ProbeResult(thread_name=current.name, is_main_thread=current is threading.main_thread())


task(ProbeRequest)(_run_probe)
task(LightProbeRequest)(_run_probe)


@pytest.fixture
def window(qtbot, isolated_dirs) -> Iterator:
    from atelier.ui.main_window import MainWindow

    before = set(threading.enumerate())
    win = MainWindow(Settings(threads=1))
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()
    assert all(thread.isFinished() for thread in win.runner.threads()), "worker threads still running"
    active_timers = [t for t in win.findChildren(QTimer) if t.isActive()]
    assert not active_timers, f"timers left running: {active_timers}"
    # QThreads appear to Python as _DummyThread entries that never report dead; they are checked above.
    leaked = [
        t
        for t in threading.enumerate()
        if t not in before and t.is_alive() and not isinstance(t, threading._DummyThread)
    ]
    assert not leaked, f"Python threads leaked: {leaked}"
