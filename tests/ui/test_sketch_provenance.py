"""The Sketch panel and provenance: an accepted result leaves a record (undone with it), the sketch then
exports as a composite, and a generated PNG opened on the panel offers its settings."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from atelier.core.jobs import JobState
from atelier.core.provenance import COMPOSITE, read_parameters, save_png
from atelier.core.provenance_read import read_provenance
from atelier.ui.dialogs.picture_import_dialog import OPEN_PICTURE, USE_SETTINGS
from tests.ui.test_colorize_flow import draw_house


def test_an_accepted_result_makes_the_sketch_a_composite_until_undone(window, qtbot, tmp_path: Path) -> None:
    panel = window.panels["sketch"]
    draw_house(panel.canvas)
    panel.export_png(str(tmp_path / "own.png"))
    assert read_parameters(tmp_path / "own.png") is None  # the artist's own drawing: nothing to disclose
    job = panel.trace()
    qtbot.waitUntil(lambda: job.state.done, timeout=60000)
    assert job.state is JobState.FINISHED, job.error
    qtbot.waitUntil(lambda: panel.canvas.result is not None, timeout=10000)
    panel.accept_result()
    assert len(panel.document.accepted) == 1
    panel.export_png(str(tmp_path / "mixed.png"))
    record = read_parameters(tmp_path / "mixed.png")
    assert record is not None and record["ai"] == COMPOSITE and record["accepted"][0]["task"]
    assert read_provenance(tmp_path / "mixed.png")["ai"] == COMPOSITE
    assert panel.document.to_dict()["accepted"] == panel.document.accepted  # kept in the project
    panel.export_png(str(tmp_path / "bare.png"), metadata=False)
    assert read_parameters(tmp_path / "bare.png") is None
    panel.document.undo.undo()  # the accept, pixels and record together
    assert panel.document.accepted == []


def test_a_generated_png_offers_its_settings_or_opens_as_a_picture(window, tmp_path: Path) -> None:
    panel = window.panels["sketch"]
    made = np.full((64, 96, 3), 200, np.uint8)
    params = {"prompt": "a lighthouse at dawn", "negative": "", "seed": 77, "steps": 9, "guidance": 5.5,
              "width": 512, "height": 512, "mode": "img2img", "strength": 0.45, "scheduler": "euler",
              "pack_id": "no-such-pack", "app_version": "0"}  # fmt: skip
    save_png(tmp_path / "made.png", made, params)
    asked: list[str] = []
    panel.choose_generated = lambda summary: asked.append(summary) or USE_SETTINGS
    before = panel.canvas.sketch_array().copy()
    assert panel.import_path(str(tmp_path / "made.png"))
    assert asked and "lighthouse" in asked[0]
    assert panel.document.generation.prompt == "a lighthouse at dawn"
    assert panel.document.generation.seed == 77 and panel.document.generation.steps == 9
    assert np.array_equal(panel.canvas.sketch_array(), before)  # settings only: the drawing is untouched
    panel.choose_generated = lambda summary: OPEN_PICTURE
    panel.choose_import = lambda picture, canvas: ("new", False)
    assert panel.import_path(str(tmp_path / "made.png"))
    assert panel.canvas.canvas_size == (96, 64)
    panel.choose_generated = lambda summary: None  # cancelled: nothing changes
    size = panel.canvas.canvas_size
    assert not panel.import_path(str(tmp_path / "made.png"))
    assert panel.canvas.canvas_size == size
