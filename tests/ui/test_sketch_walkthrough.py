"""Found by driving the window as an artist does (Xvfb + xdotool): what moved under the mouse or was lost,
checked here with real widgets: Generate stays put while jobs start, placing a picture keeps the drawing
around it, the Sketch and Palette panels' file dialogs start where the artist's pictures are."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QFileDialog

from atelier.core.documents.palette import PaletteDocument
from atelier.core.jobs import Job, JobState
from atelier.ui.panels.sketch import SketchPanel
from tests.ui.conftest import ProbeRequest
from tests.ui.real_sketch_panel import real_sketch_panel


@pytest.fixture
def panel(qtbot, isolated_dirs: Path):
    palette = PaletteDocument(["#1b2a41", "#c9a227", "#b23a48", "#e8dab2"])
    with real_sketch_panel(qtbot, isolated_dirs, canvas=(128, 96), palette=palette) as widget:
        yield widget


def stroke(panel: SketchPanel, points: list[tuple[float, float]]) -> None:
    panel.canvas.begin_stroke(QPointF(*points[0]), 1.0)
    for point in points[1:]:
        panel.canvas.continue_stroke(QPointF(*point), 1.0)
    panel.canvas.end_stroke()


def block_the_heavy_lane(panel: SketchPanel, qtbot) -> Job:
    blocker = panel.context.runner.submit(ProbeRequest(steps=2000, step_seconds=0.01))
    qtbot.waitUntil(lambda: blocker.state is JobState.RUNNING, timeout=5000)
    return blocker


def test_generate_stays_under_the_mouse_and_the_panel_no_wider_while_jobs_start(panel, qtbot) -> None:
    # Seen in the walkthrough: the first click showed the progress bar and preview, the form was squeezed
    # and Generate moved 50 px up, so the second click missed it; "(2 queued)" widened the window.
    panel.resize(1000, 800)  # the panel's room in the window at its first-start size
    panel.show()
    qtbot.waitExposed(panel)
    button = panel.form.generate_button
    where = button.mapTo(panel, QPoint(0, 0))
    line_art = panel.line_art.mapTo(panel, QPoint(0, 0))
    widest, tallest = panel.minimumSizeHint().width(), panel.minimumSizeHint().height()
    blocker = block_the_heavy_lane(panel, qtbot)
    jobs = [panel.trace(), panel.trace(), panel.trace()]
    qtbot.waitUntil(lambda: panel.progress.isVisible(), timeout=2000)
    assert panel.form.working.text() == "◷ 3 queued"
    assert button.mapTo(panel, QPoint(0, 0)) == where
    assert panel.line_art.mapTo(panel, QPoint(0, 0)) == line_art  # the busy line has its own room
    assert panel.minimumSizeHint().width() <= widest
    assert panel.minimumSizeHint().height() <= tallest  # the window does not grow taller either
    panel.form.show_busy("⚠ " + "a long message about why the live image could not be made " * 3, True)
    assert panel.minimumSizeHint().width() <= widest and button.mapTo(panel, QPoint(0, 0)) == where
    assert panel.form.working.toolTip().startswith("⚠ a long message")  # the whole text, however narrow
    for job in jobs:
        assert job is not None
        panel.context.queue.cancel(job.id)
    panel.context.queue.cancel(blocker.id)
    qtbot.waitUntil(lambda: not panel.progress.isVisible(), timeout=5000)
    assert button.mapTo(panel, QPoint(0, 0)) == where
    # On a short screen (a 1366x768 laptop) the side column scrolls instead of squeezing the form, and the
    # panel does not ask for more height than such a screen has.
    assert panel.minimumSizeHint().height() < 560
    panel.resize(1000, 560)
    qtbot.waitUntil(lambda: panel.height() == 560, timeout=2000)
    assert button.mapTo(panel, QPoint(0, 0)) == where


def test_a_placed_picture_keeps_the_drawing_around_it_and_undo_brings_back_every_pixel(panel, tmp_path) -> None:
    stroke(panel, [(2, 2), (125, 2)])  # along the top edge, where a wide picture leaves the paper showing
    drawing = panel.canvas.sketch_array()
    picture = np.zeros((50, 200, 3), np.uint8)
    picture[..., 2] = 255  # 4:1: 128x32 on the 128x96 canvas, centred (rows 32-63)
    panel.choose_import = lambda picture, canvas: ("place", False)
    assert panel.import_picture(picture)
    placed = panel.canvas.sketch_array()
    assert tuple(placed[48, 64, :3]) == (0, 0, 255)
    assert np.array_equal(placed[:20], drawing[:20])  # the stroke above the picture is still there
    assert np.array_equal(placed[70:], drawing[70:])
    assert panel.undo_redo.undo_button.toolTip() == "Undo: Place a picture"
    panel.undo_redo.undo_button.click()
    assert np.array_equal(panel.canvas.sketch_array(), drawing)
    panel.undo_redo.redo_button.click()
    assert np.array_equal(panel.canvas.sketch_array(), placed)


def test_a_transparent_picture_is_placed_over_the_drawing(panel) -> None:
    stroke(panel, [(10, 48), (118, 48)])  # across the middle, under the picture
    drawing = panel.canvas.sketch_array()
    picture = np.zeros((96, 96, 4), np.uint8)  # another size (square): placed, not a new canvas
    picture[:, :48] = (255, 0, 0, 255)  # left half opaque red, right half clear
    panel.set_picture(picture, "place")
    placed = panel.canvas.sketch_array()
    assert tuple(placed[20, 40, :3]) == (255, 0, 0)  # the opaque half covers
    assert np.array_equal(placed[:, 70:], drawing[:, 70:])  # the clear half shows the stroke beneath


def test_open_starts_in_the_pictures_folder_then_where_the_last_picture_came_from(
    panel, qtbot, isolated_dirs, monkeypatch
) -> None:
    folder = isolated_dirs / "drawings"
    folder.mkdir()
    picture = folder / "a.png"
    from PIL import Image

    Image.new("RGB", (128, 96), (10, 200, 10)).save(picture)
    asked: list[str] = []

    def answer(parent, caption, start, filters):
        asked.append(start)
        return str(picture), filters

    monkeypatch.setattr(QFileDialog, "getOpenFileName", answer)
    panel.context.settings.output_folder = str(isolated_dirs / "out")
    panel.open_dialog()
    assert asked[0] == str(isolated_dirs / "out") and asked[0] != str(Path.cwd())
    assert tuple(panel.canvas.sketch_array()[5, 5, :3]) == (10, 200, 10)
    panel.open_dialog()
    assert asked[1] == str(folder)


def test_the_palette_panels_file_dialogs_start_in_the_pictures_folder_then_the_last_one(
    qtbot, isolated_dirs, monkeypatch
) -> None:
    from PIL import Image

    from atelier.core.jobs import JobQueue
    from atelier.core.project import Project
    from atelier.core.settings import Settings
    from atelier.ui.context import AppContext
    from atelier.ui.panels.palette import PalettePanel
    from atelier.ui.worker import JobRunner

    queue = JobQueue()
    runner = JobRunner(queue, Settings(threads=1))
    context = AppContext(
        runner, queue, Settings(output_folder=str(isolated_dirs / "out")), Project(isolated_dirs / "p")
    )
    panel = PalettePanel(context)
    qtbot.addWidget(panel)
    folder = isolated_dirs / "refs"
    folder.mkdir()
    picture = folder / "bands.png"
    Image.new("RGB", (30, 10), (200, 30, 30)).save(picture)
    gpl = folder / "mine.gpl"
    gpl.write_text("GIMP Palette\nName: mine\n#\n 10  20  30\tone\n200 100  50\ttwo\n 90 180  60\tthree\n")
    asked: list[str] = []
    answers = iter([str(picture), str(gpl)])

    def answer(parent, caption, start, filters):
        asked.append(start)
        return next(answers), filters

    monkeypatch.setattr(QFileDialog, "getOpenFileName", answer)
    try:
        panel.open_image()
        assert asked == [str(isolated_dirs / "out")]
        qtbot.waitUntil(lambda: not panel.jobs.pending(), timeout=10_000)
        panel.import_dialog()
        assert asked[1] == str(folder) and panel.doc.colors[:3] == ["#0a141e", "#c86432", "#5ab43c"]
    finally:
        panel.close_panel()
        runner.shutdown()


def test_painting_hides_a_picked_variation_so_the_strokes_show_and_it_can_be_picked_again(panel) -> None:
    # Seen in the walkthrough: after Generate the first image covers the canvas at full opacity, and strokes
    # drawn then went on the sketch underneath, out of sight.
    from atelier.core.requests.sketch import SketchRequest, SketchResult

    images = tuple(np.full((96, 128, 3), value, np.uint8) for value in (90, 160))
    panel.show_result(SketchRequest(prompt="x"), SketchResult(images=images, seeds=(1, 2), parameters={"prompt": "x"}))
    assert panel.canvas.result is not None and panel.grid.currentRow() == 0
    stroke(panel, [(10, 48), (118, 48)])
    assert panel.canvas.result is None and panel.grid.currentRow() == -1
    shown = panel.canvas.composite_array()
    brush = QColor(panel.document.tools.colour)
    assert tuple(shown[48, 64, :3]) == (brush.red(), brush.green(), brush.blue())  # the stroke shows
    assert not panel.result_bar.accept_button.isEnabled()
    panel.grid.setCurrentRow(0)  # the same variation again
    assert panel.canvas.result is not None and tuple(panel.canvas.composite_array()[5, 5, :3]) == (90, 90, 90)
    panel.document.set("generation.live", True)  # Live keeps its image: the next one follows the stroke
    stroke(panel, [(10, 60), (118, 60)])
    assert panel.canvas.result is not None
    panel.document.set("generation.live", False)


def test_the_greyed_size_boxes_say_that_auto_decides_the_size(panel) -> None:
    from atelier.ui.widgets.generate_form import AUTO_SIZE_TIP

    assert panel.document.generation.auto_size and not panel.form.width_box.isEnabled()
    assert panel.form.width_box.toolTip() == AUTO_SIZE_TIP == panel.form.height_box.toolTip()
    panel.form.auto_size.click()  # off: the boxes are the size, and say nothing more
    assert panel.form.width_box.isEnabled() and panel.form.width_box.toolTip() == ""
    panel.undo()
    assert panel.form.width_box.toolTip() == AUTO_SIZE_TIP


def test_a_wheel_over_an_unclicked_field_scrolls_the_column_instead_of_changing_the_field(panel, qtbot) -> None:
    from PySide6.QtCore import QPointF, Qt
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    panel.resize(1000, 420)  # short: the side column scrolls
    panel.show()
    qtbot.waitExposed(panel)
    steps = panel.form.steps
    bar = panel.side_scroll.verticalScrollBar()
    assert bar.maximum() > 0

    def wheel(widget) -> None:
        event = QWheelEvent(QPointF(5, 5), QPointF(widget.mapToGlobal(QPoint(5, 5))), QPoint(0, 0), QPoint(0, -120),
                            Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase,
                            False)  # fmt: skip
        QApplication.sendEvent(widget, event)

    before, value = bar.value(), steps.value()
    wheel(steps)
    assert steps.value() == value and bar.value() > before  # the column moved, the setting did not
    steps.setFocus()
    qtbot.waitUntil(steps.hasFocus, timeout=2000)
    wheel(steps)
    assert steps.value() != value  # clicked (focused) first: the wheel sets it, as before
