"""The Sketch panel's jobs through a real runner: queued, not cancelled; cancelled from the queue -> idle;
only Live replaces its own live job; failures are shown; Cancel cancels all of the panel's jobs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QApplication, QMessageBox

from atelier.core.documents.palette import PaletteDocument
from atelier.core.jobs import Job, JobState
from atelier.core.requests.colorize import ColorizeRequest
from atelier.core.requests.lineart import LineArtRequest, LineArtResult
from atelier.ui.panels.sketch import SketchPanel
from tests.ui.conftest import ProbeRequest
from tests.ui.real_sketch_panel import real_sketch_panel


@pytest.fixture
def panel(qtbot, isolated_dirs: Path):
    palette = PaletteDocument(["#1b2a41", "#c9a227", "#b23a48", "#e8dab2"])
    with real_sketch_panel(qtbot, isolated_dirs, palette=palette) as widget:
        yield widget


def draw(panel: SketchPanel, y: float = 30) -> None:
    panel.canvas.begin_stroke(QPointF(5, y), 1.0)
    panel.canvas.continue_stroke(QPointF(60, y + 5), 1.0)
    panel.canvas.end_stroke()


def block_the_heavy_lane(panel: SketchPanel, qtbot) -> Job:
    """Another panel's long job, so this panel's jobs have to wait in line."""
    blocker = panel.context.runner.submit(ProbeRequest(steps=2000, step_seconds=0.01))
    qtbot.waitUntil(lambda: blocker.state is JobState.RUNNING, timeout=5000)
    return blocker


def is_idle(panel: SketchPanel) -> bool:
    return not panel.pending and panel.form.working.text() == "" and not panel.form.cancel_button.isEnabled()


def error_boxes() -> list[QMessageBox]:
    return [w for w in QApplication.topLevelWidgets() if w.objectName() == "atelier-error" and w.isVisible()]


def close_error_boxes() -> None:
    for box in error_boxes():
        box.close()


def test_jobs_queue_behind_a_running_job_and_cancelling_them_from_the_queue_leaves_the_panel_idle(panel, qtbot):
    blocker = block_the_heavy_lane(panel, qtbot)
    first, second = panel.trace(), panel.trace()
    assert first is not None and second is not None
    assert first.state is JobState.QUEUED and second.state is JobState.QUEUED  # neither cancelled the other
    assert not first.request.supersedes and first.request.origin == "sketch"
    assert panel.form.working.text() == "◷ 2 queued" and panel.form.cancel_button.isEnabled()
    panel.context.queue.cancel(first.id)  # as the Jobs dock does
    assert first.state is JobState.CANCELLED and second.state is JobState.QUEUED
    assert panel.form.working.text() == "◷ 1 queued"
    panel.context.queue.cancel(second.id)
    assert is_idle(panel)
    third = panel.trace()
    assert third is not None and panel.pending
    panel.context.queue.cancel(blocker.id)
    qtbot.waitUntil(lambda: third.state.done, timeout=20_000)
    assert third.state is JobState.FINISHED, third.error
    assert is_idle(panel) and panel.variations and panel.variations[0][1] == {"kind": "lineart"}


def test_three_traces_all_finish_and_the_label_counts_the_queue(panel, qtbot):
    picture = np.full((64, 64, 4), 255, np.uint8)
    picture[16:48, 16:48, :3] = 0
    panel.set_picture(picture)
    labels: list[str] = []
    panel.context.queue.job_changed.connect(lambda job: labels.append(panel.form.working.text()))
    jobs = [panel.trace() for _ in range(3)]
    assert all(job is not None for job in jobs)
    qtbot.waitUntil(lambda: all(job.state.done for job in jobs if job is not None), timeout=30_000)
    assert [job.state for job in jobs if job is not None] == [JobState.FINISHED] * 3
    assert "◷ tracing… (2 queued)" in labels and "◷ tracing… (1 queued)" in labels and "◷ tracing…" in labels
    assert is_idle(panel)


def test_live_replaces_only_its_own_live_job_and_cancel_cancels_all_of_the_panels_jobs(panel, qtbot):
    blocker = block_the_heavy_lane(panel, qtbot)
    trace = panel.trace()
    assert trace is not None
    panel.form.live_target.setCurrentIndex(panel.form.live_target.findData("colorize"))
    panel.form.live.setChecked(True)

    def live_jobs() -> list[Job]:
        return [job for job in panel.context.queue if isinstance(job.request, ColorizeRequest)]

    draw(panel)
    qtbot.waitUntil(lambda: len(live_jobs()) == 1, timeout=3000)
    draw(panel, 40)
    qtbot.waitUntil(lambda: len(live_jobs()) == 2, timeout=3000)
    older, newer = live_jobs()
    assert older.state is JobState.CANCELLED and newer.state is JobState.QUEUED
    assert newer.request.origin == "sketch-live" and newer.request.supersedes and newer.request.preview
    assert trace.state is JobState.QUEUED  # a live job never replaces a queued Trace or Generate
    assert set(panel.pending) == {trace.id, newer.id}
    panel.form.cancel_button.click()
    assert trace.state is JobState.CANCELLED and newer.state is JobState.CANCELLED
    assert blocker.state is JobState.RUNNING  # another panel's job is not ours to cancel
    assert is_idle(panel)
    panel.form.live.setChecked(False)
    panel.context.queue.cancel(blocker.id)
    qtbot.waitUntil(lambda: blocker.state.done, timeout=5000)


def test_a_failed_job_is_shown_and_the_panel_returns_to_idle(panel, qtbot, isolated_dirs):
    panel.document.set("generation.pack_id", str(isolated_dirs / "no-such-pack"))
    assert panel.form.generate_button.isEnabled()
    jobs = panel.generate()
    assert len(jobs) == 1
    qtbot.waitUntil(lambda: jobs[0].state.done, timeout=20_000)
    assert jobs[0].state is JobState.FAILED
    qtbot.waitUntil(lambda: is_idle(panel), timeout=2000)
    boxes = [w for w in QApplication.topLevelWidgets() if w.objectName() == "atelier-error" and w.isVisible()]
    assert boxes and any(jobs[0].error.split(" ")[0] in box.text() for box in boxes)
    for box in boxes:
        box.close()


def test_an_inpaint_without_a_mask_says_what_to_do_and_queues_nothing(panel, qtbot):
    panel.document.set("generation.pack_id", "any")
    panel.form.mode_combo.setCurrentIndex(panel.form.mode_combo.findData("inpaint"))
    before = len(panel.context.queue)
    assert panel.generate() == []
    assert len(panel.context.queue) == before and is_idle(panel)
    boxes = [w for w in QApplication.topLevelWidgets() if w.objectName() == "atelier-error" and w.isVisible()]
    assert any("Hints layer" in box.text() for box in boxes)
    for box in boxes:
        box.close()


def test_lineart_request_carries_the_sensitivity_slider(panel) -> None:
    panel.line_art.sensitivity.setValue(80)
    job = panel.trace()
    assert job is not None and isinstance(job.request, LineArtRequest) and job.request.sensitivity == 0.8


def test_a_batch_queues_one_job_per_batch_with_seeds_that_never_repeat(panel, qtbot, isolated_dirs):
    blocker = block_the_heavy_lane(panel, qtbot)
    panel.document.set("generation.pack_id", str(isolated_dirs))
    panel.form.seed.setValue(4_294_967_294)
    panel.form.count.setValue(4)
    panel.form.batch.setValue(2)
    jobs = panel.generate()
    assert [job.request.seed for job in jobs] == [4_294_967_294, 2]  # seed + count, wrapped past 2**32 - 1
    assert all(job.state is JobState.QUEUED for job in jobs) and panel.form.working.text() == "◷ 2 queued"
    panel.form.cancel_button.click()
    assert all(job.state is JobState.CANCELLED for job in jobs) and is_idle(panel)
    panel.context.queue.cancel(blocker.id)
    qtbot.waitUntil(lambda: blocker.state.done, timeout=5000)


def test_colorize_with_fewer_than_three_palette_colours_says_what_to_do(panel, qtbot) -> None:
    assert panel.form.colorize_button.isEnabled()
    panel.context.palette.set_colors(["#112233", "#445566"])  # e.g. a two-colour .gpl imported
    tip = panel.form.colorize_button.toolTip()
    assert not panel.form.colorize_button.isEnabled() and "has 2" in tip and "Palette tab" in tip
    before = len(panel.context.queue)
    assert panel.colorize() is None and len(panel.context.queue) == before
    assert any("has 2: add some in the Palette tab" in box.text() for box in error_boxes())
    close_error_boxes()
    panel.context.palette.undo()
    assert panel.form.colorize_button.isEnabled()


def test_live_problems_are_said_beside_live_not_in_a_box_per_stroke(panel, qtbot) -> None:
    panel.context.palette.set_colors(["#112233", "#445566"])
    panel.form.live_target.setCurrentIndex(panel.form.live_target.findData("colorize"))
    panel.form.live.setChecked(True)
    before = len(panel.context.queue)
    for y in (20, 30, 40):
        draw(panel, y)
    qtbot.waitUntil(lambda: panel.form.working.text().startswith("⚠ Colorize needs 3"), timeout=3000)
    assert not error_boxes() and len(panel.context.queue) == before
    panel.context.palette.undo()  # four colours again: the next stroke colorizes
    draw(panel, 50)
    qtbot.waitUntil(lambda: len(panel.context.queue) == before + 1, timeout=3000)
    assert not panel.form.working.text().startswith("⚠")
    panel.form.live.setChecked(False)
    assert not panel.form.working.text().startswith("⚠")
    qtbot.waitUntil(lambda: not panel.pending, timeout=30_000)


def test_live_makes_a_new_image_when_turned_on_and_when_a_setting_changes(panel, qtbot) -> None:
    blocker = block_the_heavy_lane(panel, qtbot)
    start_live_colorize(panel, qtbot)  # no stroke needed for the first image
    panel.form.seed.setValue(5)
    qtbot.waitUntil(lambda: len(live_jobs(panel)) == 2, timeout=3000)
    first, second = live_jobs(panel)
    assert first.state is JobState.CANCELLED and second.request.seed == 5  # replaced, as after a stroke
    panel.form.count.setValue(3)  # a live image is one image: nothing to redo
    qtbot.wait(800)
    assert len(live_jobs(panel)) == 2
    stop_live_and_unblock(panel, blocker, qtbot)


def test_a_new_canvas_cancels_live_jobs_drawn_for_the_old_one(panel, qtbot) -> None:
    blocker = block_the_heavy_lane(panel, qtbot)
    trace = panel.trace()
    start_live_colorize(panel, qtbot)
    [old_live] = live_jobs(panel)
    panel.set_picture(np.full((40, 80, 4), 200, np.uint8))  # a new 80x40 canvas
    assert old_live.state is JobState.CANCELLED and trace is not None and trace.state is JobState.QUEUED
    qtbot.waitUntil(lambda: len(live_jobs(panel)) == 2, timeout=3000)
    assert live_jobs(panel)[1].request.lines.shape[:2] == (40, 80)  # the live job for the new canvas
    stop_live_and_unblock(panel, blocker, qtbot)


def test_opening_another_project_cancels_the_jobs_sent_for_this_one(panel, qtbot) -> None:
    blocker = block_the_heavy_lane(panel, qtbot)
    running, queued = panel.trace(), panel.trace()
    assert running is not None and queued is not None
    # As the worker reports a job it had started (the lane's thread is busy with the blocker here):
    panel.context.queue.notify_started(running.id)
    panel.restore_state({"schema": 2, "canvas": {"width": 48, "height": 32}, "generation": {"prompt": "other"}})
    assert queued.state is JobState.CANCELLED and running.cancel_token.cancelled and is_idle(panel)
    # The started job ends before it sees the cancel: its picture belongs to the closed project.
    lines = np.zeros((64, 64), np.uint8)
    panel.context.queue.notify_finished(running.id, LineArtResult(lines=lines))
    assert running.state is JobState.FINISHED
    assert panel.grid.count() == 0 and panel.canvas.result is None and is_idle(panel)
    assert panel.canvas.canvas_size == (48, 32) and panel.form.prompt.text() == "other"
    panel.context.queue.cancel(blocker.id)
    qtbot.waitUntil(lambda: blocker.state.done, timeout=5000)


def live_jobs(panel: SketchPanel) -> list[Job]:
    return [job for job in panel.context.queue if job.request.origin == "sketch-live"]


def start_live_colorize(panel: SketchPanel, qtbot) -> None:
    panel.form.live_target.setCurrentIndex(panel.form.live_target.findData("colorize"))
    panel.form.live.setChecked(True)
    qtbot.waitUntil(lambda: len(live_jobs(panel)) == 1, timeout=3000)


def stop_live_and_unblock(panel: SketchPanel, blocker: Job, qtbot) -> None:
    panel.form.live.setChecked(False)
    panel.cancel_jobs()
    panel.context.queue.cancel(blocker.id)
    qtbot.waitUntil(lambda: blocker.state.done and is_idle(panel), timeout=5000)
