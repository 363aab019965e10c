"""A queue listener that raises, with the real worker and the real Jobs dock: the dock (a later listener)
still shows every job ending, the worker's events after the fault are still applied, and the fault is
announced once per event."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt

from atelier.core.jobs import Job, JobQueue, JobState, ListenerFault
from atelier.core.settings import Settings
from atelier.ui.widgets.jobs_dock import JobsWidget
from atelier.ui.worker import JobRunner
from tests.ui.conftest import LightProbeRequest


@pytest.fixture
def runner(qtbot, isolated_dirs) -> Iterator[JobRunner]:
    runner = JobRunner(JobQueue(), Settings(threads=1))
    yield runner
    runner.shutdown()
    assert all(thread.isFinished() for thread in runner.threads()), "lane threads still running"


def test_jobs_dock_is_not_left_stale_by_a_listener_that_raises(runner, qtbot) -> None:
    queue = runner.queue
    dock = JobsWidget(queue)
    qtbot.addWidget(dock)
    faults: list[ListenerFault] = []
    queue.listener_failed.connect(faults.append)

    def broken_panel(job: Job) -> None:
        raise AttributeError("'NoneType' object has no attribute 'setText'")

    # priority: called before the dock's listeners, where a raising listener did the most harm (psygnal
    # alone stopped there).
    queue.job_added.connect(broken_panel, priority=10)
    queue.job_changed.connect(broken_panel, priority=10)
    jobs = [runner.submit(LightProbeRequest(steps=3, origin="test")) for _ in range(2)]
    qtbot.waitUntil(lambda: all(job.state is JobState.FINISHED for job in jobs), timeout=10_000)
    tree = dock.tree
    items = [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]
    rows = {int(item.data(0, Qt.ItemDataRole.UserRole)): item for item in items if item is not None}
    assert sorted(rows) == sorted(job.id for job in jobs)
    assert all(item.text(1) == "✓ done" for item in rows.values())
    assert all(job.state is JobState.FINISHED and job.result is not None for job in jobs)
    # Each job: added, started, three progress reports, finished; every one reached the broken listener.
    assert len(faults) == 2 * 6
    assert {fault.listener.rsplit(".", 1)[-1] for fault in faults} == {"broken_panel"}
    queue.job_added.disconnect(broken_panel)
    queue.job_changed.disconnect(broken_panel)
    dock.close_widget()


def test_the_window_tells_the_artist_once_and_every_job_still_ends(window, qtbot) -> None:
    from PySide6.QtWidgets import QMessageBox

    def broken(job: Job) -> None:
        raise KeyError("swatch")

    window.queue.job_changed.connect(broken)
    try:
        jobs = [window.runner.submit(LightProbeRequest(steps=2, step_seconds=0.0)) for _ in range(3)]
        qtbot.waitUntil(lambda: all(job is not None and job.state is JobState.FINISHED for job in jobs), timeout=10000)
        boxes = [b for b in window.findChildren(QMessageBox) if b.objectName() == "atelier-error" and b.isVisible()]
        assert len(boxes) == 1, "one box per run, not one per event"
        assert "Internal error in" in boxes[0].text() and "broken" in boxes[0].text()
        assert "carried on" in window.statusBar().currentMessage()
        qtbot.waitUntil(lambda: window.history.list.count() == 3, timeout=10000)  # the later listeners ran
    finally:
        window.queue.job_changed.disconnect(broken)
        window.statusBar().clearMessage()  # stops the message's 30 s timer, which the fixture checks
