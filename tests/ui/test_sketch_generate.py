"""Generating from the Sketch panel through the real worker with a tiny Stable Diffusion folder: variations,
queueing (two Generates both finish), batches with fresh seeds, cancelling a running job, Live."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPointF

from atelier.core.jobs import Job, JobState
from atelier.core.requests.colorize import ColorizeRequest
from atelier.core.requests.sketch import SketchRequest
from atelier.ui.panels.sketch import SketchPanel
from tests.ui.real_sketch_panel import real_sketch_panel


@pytest.fixture(scope="module")
def tiny_folder() -> Path:
    pytest.importorskip("torch")
    pytest.importorskip("diffusers")
    from tests.diffusion_builders import tiny_onnx_folder

    folder, _, _ = tiny_onnx_folder("optimum", scheduler="lcm")
    return folder


@pytest.fixture
def panel(qtbot, isolated_dirs: Path):
    with real_sketch_panel(qtbot, isolated_dirs) as widget:
        yield widget


def configure(panel: SketchPanel, folder: Path, count: int = 3) -> None:
    """As the artist would: Folder…, then the form's widgets."""
    panel.document.set("generation.pack_id", str(folder))
    panel.form.prompt.setText("a lighthouse")
    panel.form.width_box.setValue(64)
    panel.form.height_box.setValue(64)
    panel.form.steps.setValue(2)
    panel.form.guidance.setValue(1.0)
    panel.form.count.setValue(count)


def draw(panel: SketchPanel, offset: int = 0) -> None:
    panel.canvas.begin_stroke(QPointF(5 + offset, 5), 1.0)
    panel.canvas.continue_stroke(QPointF(60, 60 - offset), 1.0)
    panel.canvas.end_stroke()


def sketch_jobs(panel: SketchPanel) -> list[Job]:
    return [job for job in panel.context.queue if isinstance(job.request, SketchRequest)]


@pytest.mark.slow
def test_generate_variations_pick_accept_export_and_recall(panel, qtbot, tiny_folder: Path, tmp_path) -> None:
    configure(panel, tiny_folder)
    assert panel.form.generate_button.isEnabled()
    panel.form.mode_combo.setCurrentIndex(panel.form.mode_combo.findData("img2img"))
    draw(panel)
    jobs = panel.generate()
    assert len(jobs) == 1 and isinstance(jobs[0].request, SketchRequest) and jobs[0].request.image is not None
    qtbot.waitUntil(lambda: jobs[0].state is JobState.FINISHED, timeout=120_000)
    qtbot.waitUntil(lambda: panel.grid.count() == 3, timeout=5000)
    assert panel.form.working.text() == ""
    panel.grid.setCurrentRow(2)
    assert panel.canvas.result is not None and panel.shown_parameters["seed"] == 2
    shown = panel.canvas.composite_array()
    panel.result_bar.accept_button.click()
    assert panel.canvas.result is None
    assert np.array_equal(panel.canvas.sketch_array()[:, :, :3], shown[:, :, :3])
    panel.undo()  # accepting is one step
    assert not np.array_equal(panel.canvas.sketch_array()[:, :, :3], shown[:, :, :3])
    export = tmp_path / "out.png"
    panel.grid.setCurrentRow(0)
    panel.export_png(str(export))
    from atelier.core.provenance import read_parameters

    assert read_parameters(export)["prompt"] == "a lighthouse"
    panel.form.prompt.setText("")
    panel.form.steps.setValue(9)
    assert panel.recall(jobs[0].request)  # History's "Recall settings" puts the parameters back
    assert panel.form.prompt.text() == "a lighthouse" and panel.form.steps.value() == 2
    assert panel.form.mode_combo.currentData() == "img2img"


@pytest.mark.slow
def test_generate_twice_queues_the_second_and_both_finish(panel, qtbot, tiny_folder: Path) -> None:
    configure(panel, tiny_folder, count=1)
    panel.form.mode_combo.setCurrentIndex(panel.form.mode_combo.findData("txt2img"))
    first = panel.generate()[0]
    panel.form.prompt.setText("a harbour")
    second = panel.generate()[0]
    assert not second.request.supersedes and second.request.origin == "sketch"
    assert first.state is not JobState.CANCELLED
    qtbot.waitUntil(lambda: first.state.done and second.state.done, timeout=120_000)
    assert first.state is JobState.FINISHED and second.state is JobState.FINISHED
    assert second.started is not None and first.ended is not None and second.started >= first.ended
    qtbot.waitUntil(lambda: not panel.pending and panel.form.working.text() == "", timeout=2000)


@pytest.mark.slow
def test_a_batch_queues_jobs_with_fresh_seeds_and_fills_one_grid(panel, qtbot, tiny_folder: Path) -> None:
    configure(panel, tiny_folder, count=2)
    panel.form.mode_combo.setCurrentIndex(panel.form.mode_combo.findData("txt2img"))
    panel.form.seed.setValue(10)
    panel.form.batch.setValue(2)
    jobs = panel.generate()
    assert [job.request.seed for job in jobs] == [10, 12]  # job i starts at seed + i * count
    assert "2 queued" in panel.form.working.text() or "1 queued" in panel.form.working.text()
    qtbot.waitUntil(lambda: all(job.state.done for job in jobs), timeout=120_000)
    assert [job.state for job in jobs] == [JobState.FINISHED, JobState.FINISHED]
    qtbot.waitUntil(lambda: panel.grid.count() == 4, timeout=5000)
    assert [panel.grid.item(i).text() for i in range(4)] == ["10", "11", "12", "13"]
    images = [image for image, _ in panel.variations]
    assert not any(np.array_equal(images[0], other) for other in images[1:])


@pytest.mark.slow
def test_cancelling_a_running_generate_from_the_queue_leaves_the_panel_idle(panel, qtbot, tiny_folder) -> None:
    configure(panel, tiny_folder, count=1)
    panel.form.steps.setValue(50)  # the most an LCM pack takes, at a larger size: long enough to cancel
    panel.form.width_box.setValue(256)
    panel.form.height_box.setValue(256)
    panel.form.mode_combo.setCurrentIndex(panel.form.mode_combo.findData("txt2img"))
    job = panel.generate()[0]
    qtbot.waitUntil(lambda: job.state is JobState.RUNNING, timeout=60_000)
    qtbot.waitUntil(lambda: panel.form.working.text().startswith("◷ generating…"), timeout=5000)
    panel.context.queue.cancel(job.id)  # as the Jobs dock does
    qtbot.waitUntil(lambda: job.state.done, timeout=60_000)
    assert job.state is JobState.CANCELLED
    qtbot.waitUntil(lambda: panel.form.working.text() == "" and not panel.pending, timeout=2000)
    assert not panel.progress.isVisible() and not panel.form.cancel_button.isEnabled()


@pytest.mark.slow
def test_live_mode_regenerates_after_strokes_superseding_only_the_last_live_job(panel, qtbot, tiny_folder) -> None:
    configure(panel, tiny_folder)
    panel.form.live.setChecked(True)
    main = threading.main_thread()
    for i in range(3):
        draw(panel, i)
        assert threading.current_thread() is main
    qtbot.waitUntil(lambda: bool(panel.pending), timeout=3000)  # one job after the strokes settle
    jobs = sketch_jobs(panel)
    assert len(jobs) == 1 and jobs[0].request.supersedes and jobs[0].request.count == 1
    assert jobs[0].request.origin == "sketch-live"
    qtbot.waitUntil(lambda: panel.grid.count() == 1, timeout=120_000)
    draw(panel, 10)
    qtbot.waitUntil(lambda: len(sketch_jobs(panel)) == 2, timeout=3000)
    panel.form.live.setChecked(False)
    qtbot.waitUntil(lambda: not panel.pending, timeout=120_000)


def test_colorize_submits_lines_palette_and_hints(panel, qtbot) -> None:
    panel.context.palette.set_colors(["#ff0000", "#00ff00", "#0000ff"])
    job = panel.colorize()
    assert job is not None and isinstance(job.request, ColorizeRequest)
    assert job.request.palette == ("#ff0000", "#00ff00", "#0000ff") and job.request.hints is None
    assert job.request.lines.shape == (64, 64, 3) and not job.request.supersedes
    qtbot.waitUntil(lambda: job.state.done, timeout=30_000)
    assert job.state is JobState.FINISHED, job.error
    qtbot.waitUntil(lambda: panel.form.working.text() == "", timeout=2000)
