"""Draw on the real canvas, colorize with the bundled pack through the real worker, pick and accept."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF

from atelier.core.jobs import JobState
from atelier.core.provenance import read_parameters
from atelier.core.requests.colorize import ColorizeResult


def draw(canvas, points: list[tuple[float, float]]) -> None:
    canvas.begin_stroke(QPointF(*points[0]), 1.0)
    for x, y in points[1:]:
        canvas.continue_stroke(QPointF(x, y), 1.0)
    canvas.end_stroke()


def draw_house(canvas) -> None:
    width, height = canvas.canvas_size
    sx, sy = width / 256, height / 256
    canvas.brush_size = 4
    canvas.hardness = 1.0
    canvas.colour = canvas.colour.fromString("#111111")
    walls = [(60, 120), (196, 120), (196, 220), (60, 220), (60, 120)]
    roof = [(50, 124), (128, 50), (206, 124)]
    door = [(110, 220), (110, 170), (146, 170), (146, 220)]
    for shape in (walls, roof, door):
        draw(canvas, [(x * sx, y * sy) for x, y in shape])


def test_colorize_a_drawing_with_the_palette(window, qtbot, tmp_path) -> None:
    panel = window.panels["sketch"]
    palette = ["#1b2a41", "#c9a227", "#b23a48", "#e8dab2"]
    window.context.palette.set_colors(palette)
    draw_house(panel.canvas)
    panel.form.count.setValue(2)
    job = panel.colorize()
    assert job is not None
    qtbot.waitUntil(lambda: job.state.done, timeout=60000)
    assert job.state is JobState.FINISHED, job.error
    assert isinstance(job.result, ColorizeResult) and len(job.result.images) == 2
    assert len(panel.variations) == 2
    assert [panel.grid.item(row).text() for row in range(2)] == ["1", "2"]  # not the shared seed twice
    image = job.result.images[0]
    height, width = panel.canvas.canvas_size[1], panel.canvas.canvas_size[0]
    assert image.shape[:2] == (height, width)
    # Inside the walls (away from the lines) the fill is one of the palette colours or paper.
    wall = image[int(height * 0.62), int(width * 0.3)].astype(int)
    allowed = [np.array([int(c[i : i + 2], 16) for i in (1, 3, 5)]) for c in [*palette, "#ffffff"]]
    assert min(np.abs(wall - colour).max() for colour in allowed) <= 12
    panel.pick_variation(1)
    assert panel.shown_parameters["palette"] == list(job.result.palettes[1])
    export = tmp_path / "colorized.png"
    panel.export_png(str(export))
    record = read_parameters(export)  # provenance, as for any generated image
    assert record is not None and record["kind"] == "colorize" and record["variation"] == 2
    assert record["device"] == "CPUExecutionProvider" and record["pack_id"] == job.result.pack_id
    panel.accept_result()
    assert not np.array_equal(panel.canvas.sketch_array()[:, :, :3], np.full_like(image, 255))
