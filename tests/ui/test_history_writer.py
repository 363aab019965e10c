"""The history is written off the GUI thread, through the real window, worker and project folders: the
window goes on while a big result is written, writes land in order and in the project that sent the job,
a project switch and Quit wait for them, and a failed write is told once while the next one lands."""

from __future__ import annotations

import resource
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QMessageBox

from atelier.core.jobs import Job, JobState
from atelier.core.project import Project
from atelier.core.requests import Lane, Request, Result
from atelier.core.settings import Settings
from atelier.engine.runner import TaskContext, TaskGenerator, task
from tests.ui.conftest import ProbeRequest

RNG = np.random.default_rng(6)
SIDE = 1024


class WriteGate:
    """Where a history write waits: the writer thread reaches it while encoding the entry's thumbnail."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.release = threading.Event()


WRITE_GATES: dict[str, WriteGate] = {}


@dataclass(frozen=True)
class BigPictureRequest(Request):
    """A job whose result is a real 1024x1024 picture; `gate` holds its history write open."""

    kind = "history-writer-probe"
    lane = Lane.LIGHT
    gate: str = ""


@dataclass(frozen=True)
class BigPictureResult(Result):
    kind = "history-writer-probe"
    image: np.ndarray = field(default_factory=lambda: np.zeros((1, 1, 3), np.uint8))
    gate: str = ""

    def preview_image(self) -> np.ndarray:
        # Called by ProjectHistory.add on the writer thread, between the PNG files and the thumbnail.
        gate = WRITE_GATES.get(self.gate)
        if gate is not None:
            gate.reached.set()
            assert gate.release.wait(30), "history write gate never released"
        return self.image


@task(BigPictureRequest)
def _big_picture(request: BigPictureRequest, context: TaskContext) -> TaskGenerator:
    yield from ()
    return BigPictureResult(image=RNG.integers(0, 256, (SIDE, SIDE, 3), dtype=np.uint8), gate=request.gate)


@pytest.fixture
def open_window(qtbot):
    """Makes real windows; afterwards the held writes are let go, then the windows still open are closed
    (not through qtbot.addWidget: pytest-qt closes those before any fixture ends, with a write held)."""
    from atelier.ui.main_window import MainWindow

    windows: list[MainWindow] = []

    def make() -> MainWindow:
        window = MainWindow(Settings(threads=1))
        window.show()
        windows.append(window)
        return window

    yield make
    for gate in WRITE_GATES.values():
        gate.release.set()
    WRITE_GATES.clear()
    for window in windows:
        if window.isVisible():
            window.close()
        window.deleteLater()


def _gate(name: str) -> WriteGate:
    gate = WRITE_GATES[name] = WriteGate()
    return gate


def _history_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("atelier-history") and t.is_alive()]


def _finished(qtbot, job: Job) -> None:
    qtbot.waitUntil(lambda: job.state is JobState.FINISHED, timeout=15000)


def test_the_window_goes_on_while_a_big_result_is_written_and_lists_it_when_written(
    qtbot, isolated_dirs, open_window
) -> None:
    window = open_window()
    history = window.context.session.history
    gate = _gate("slow")
    job = window.runner.submit(BigPictureRequest(gate="slow", origin="test"))
    _finished(qtbot, job)  # the GUI thread has handed the result over ...
    assert gate.reached.wait(10)  # ... and the writer thread is inside the write, its PNG already encoded
    assert history.entries() == [] and window.history.list.count() == 0
    window.dock_tabs.setCurrentWidget(window.history)
    label = window.history.count_label
    assert "saving 1…" in label.text()
    qtbot.waitUntil(lambda: label.isVisible())
    assert label.width() >= label.fontMetrics().horizontalAdvance("0 results, 0 starred")  # not squeezed to 0 px
    ticks: list[float] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start(10)
    qtbot.waitUntil(lambda: len(ticks) >= 5, timeout=5000)  # the event loop runs while the write is held
    timer.stop()
    assert not gate.release.is_set() and history.entries() == []
    gate.release.set()
    qtbot.waitUntil(lambda: window.history.list.count() == 1, timeout=10000)
    [entry] = history.entries()
    assert entry.number == job.number and entry.thumbnail is not None
    assert np.array_equal(history.load_result(entry).image, job.result.image)
    assert "saving" not in window.history.count_label.text()
    window.close()
    assert not _history_threads()


def test_writes_keep_the_order_of_the_results_under_many_quick_ones(qtbot, isolated_dirs, open_window) -> None:
    window = open_window()
    gate = _gate("first")
    first = window.runner.submit(BigPictureRequest(gate="first", origin="test"))
    _finished(qtbot, first)
    assert gate.reached.wait(10)
    # Twenty quick results pile up behind the held write.
    quick = [window.runner.submit(ProbeRequest(origin="test")) for _ in range(20)]
    qtbot.waitUntil(lambda: all(j.state is JobState.FINISHED for j in quick), timeout=15000)
    assert len(window.history_writer.pending()) == 21
    gate.release.set()
    qtbot.waitUntil(lambda: window.history.list.count() == 21, timeout=15000)
    entries = window.context.session.history.entries()
    # Ids are given as each entry is moved into place: their order is the order the writes landed in.
    assert [e.number for e in sorted(entries, key=lambda e: e.id)] == [first.number] + [j.number for j in quick]
    assert [e.number for e in entries] == sorted((e.number for e in entries), reverse=True)  # newest first
    window.close()


def test_a_project_switch_waits_for_the_old_projects_writes_and_they_land_there(
    qtbot, isolated_dirs: Path, open_window
) -> None:
    window = open_window()
    song_a, song_b = isolated_dirs / "song-a", isolated_dirs / "song-b"
    assert window.new_project(song_a)
    gate = _gate("switch")
    job = window.runner.submit(BigPictureRequest(gate="switch", origin="test"))
    _finished(qtbot, job)
    assert gate.reached.wait(10)
    releaser = threading.Timer(0.3, gate.release.set)
    releaser.start()
    started = time.perf_counter()
    assert window.new_project(song_b)
    waited = time.perf_counter() - started
    releaser.join()
    assert waited >= 0.25  # the switch waited for the write it found under way
    # Landed before the switch returned, in the project that sent the job; none in the new one.
    assert [e.number for e in Project.open(song_a).history.entries()] == [job.number]
    assert window.context.session.history.entries() == []
    assert window.history.list.count() == 0 and "saving" not in window.history.count_label.text()
    window.close()


def test_quit_waits_for_the_writes_and_asks_before_giving_up_on_them(qtbot, isolated_dirs, open_window) -> None:
    window = open_window()
    window.history_quit_wait_s = 0.2
    folder = window.context.session.folder
    gate = _gate("quit")
    jobs = [window.runner.submit(BigPictureRequest(gate="quit" if i == 0 else "", origin="test")) for i in range(3)]
    for job in jobs:
        _finished(qtbot, job)
    assert gate.reached.wait(10)
    asked: list[str] = []

    answered: list[QMessageBox] = []
    closed = False

    def answer_wait_longer() -> None:
        # Asked again after each further 0.2 s: the three pictures take longer than that to write.
        for box in window.findChildren(QMessageBox, "history-quit-wait"):
            if box.isVisible() and box not in answered:
                answered.append(box)
                asked.append(box.text())
                gate.release.set()  # the disk comes back while the question is open
                next(b for b in box.buttons() if b.text() == "Wait Longer").click()
        if not closed:
            QTimer.singleShot(20, answer_wait_longer)

    QTimer.singleShot(0, answer_wait_longer)
    window.close()  # the box's own event loop runs the timer above
    closed = True
    assert asked and "3 results are still being written" in asked[0] and "after 0.2 s" in asked[0]
    assert not _history_threads()
    assert sorted(e.number for e in Project.untitled(folder).history.entries()) == [j.number for j in jobs]


def test_quit_writes_what_is_queued_without_asking_when_it_is_quick(qtbot, isolated_dirs, open_window) -> None:
    window = open_window()
    folder = window.context.session.folder
    gate = _gate("quick-quit")
    job = window.runner.submit(BigPictureRequest(gate="quick-quit", origin="test"))
    _finished(qtbot, job)
    assert gate.reached.wait(10)
    threading.Timer(0.2, gate.release.set).start()
    window.close()
    assert not window.findChildren(QMessageBox, "history-quit-wait")
    assert [e.number for e in Project.untitled(folder).history.entries()] == [job.number]
    assert not _history_threads()


def test_a_failed_write_is_told_once_the_result_stays_in_its_panel_and_the_next_write_lands(
    qtbot, isolated_dirs, open_window
) -> None:
    """RLIMIT_FSIZE fails every write past 200 KB with EFBIG, as a full disk fails with ENOSPC."""
    window = open_window()
    sketch = window.panels["sketch"]
    width, height = sketch.canvas.canvas_size
    sketch.set_picture(RNG.integers(0, 256, (height, width, 4), dtype=np.uint8))  # a PNG far over 200 KB
    history = window.context.session.history
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    limits = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, limits[1]))
    try:
        failed = [sketch.trace(), sketch.trace()]
        for job in failed:
            assert job is not None
            _finished(qtbot, job)
        assert window.history_writer.wait(timeout=20)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limits)
        signal.signal(signal.SIGXFSZ, old_handler)
    assert history.entries() == []
    assert not [p for p in history.folder.iterdir()]  # no half entry, no temporary folder left
    boxes = [b for b in window.findChildren(QMessageBox, "atelier-error") if "could not be kept" in b.text()]
    assert len(boxes) == 1, "one box for a run of failures"
    assert f"#{failed[0].number} (lineart)" in boxes[0].text() and "export it" in boxes[0].text()
    assert f"#{failed[1].number} (lineart)" in window.statusBar().currentMessage()
    assert sketch.variations, "the traced result is still shown in the panel"
    assert np.array_equal(sketch.variations[0][0], failed[1].result.lines)

    again = sketch.trace()
    assert again is not None
    _finished(qtbot, again)
    qtbot.waitUntil(lambda: window.history.list.count() == 1, timeout=10000)
    assert [e.number for e in history.entries()] == [again.number]
    window.close()
