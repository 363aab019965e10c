"""UI fixtures: a real MainWindow with real worker threads, closed and checked for leaks after each test."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from PySide6.QtCore import QTimer

from atelier.core.progress import Progress
from atelier.core.requests import Lane, Request, Result
from atelier.core.settings import Settings
from atelier.engine.runner import TaskContext, TaskGenerator, task


@dataclass(frozen=True)
class ProbeRequest(Request):
    """A test task that records which thread ran it and can be made slow (cancel is honoured per step)."""

    kind = "probe"
    lane = Lane.HEAVY
    steps: int = 1
    step_seconds: float = 0.0


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


def _run_probe(request: ProbeRequest, context: TaskContext) -> TaskGenerator:
    for step in range(request.steps):
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
