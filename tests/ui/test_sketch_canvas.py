"""The Sketch canvas: strokes, pressure, eraser, fill, bounded undo/redo, layers, session."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF

from atelier.core.documents.palette import PaletteDocument
from atelier.core.jobs import JobQueue
from atelier.core.session_store import SessionStore
from atelier.core.settings import Settings
from atelier.ui.context import AppContext
from atelier.ui.widgets.canvas import CanvasWidget


class NoRunner:
    """Stands in for the worker where no job is submitted (the generation test uses the real one)."""

    def submit(self, request):  # pragma: no cover - never called here
        raise AssertionError("no job expected")

    def cancel(self, job_id: int) -> bool:
        return False

    def pack_summaries(self) -> list[dict[str, str]]:
        return []


def stroke(canvas: CanvasWidget, points: list[tuple[float, float]], pressure: float = 1.0) -> None:
    canvas.begin_stroke(QPointF(*points[0]), pressure)
    for x, y in points[1:]:
        canvas.continue_stroke(QPointF(x, y), pressure)
    canvas.end_stroke()


@pytest.fixture
def canvas(qtbot) -> CanvasWidget:
    widget = CanvasWidget(128, 96)
    qtbot.addWidget(widget)
    widget.colour = widget.colour.fromString("#000000")
    widget.hardness = 1.0
    return widget


def test_stroke_paints_only_its_region_and_undo_redo_restore_it(canvas) -> None:
    blank = canvas.sketch_array()
    assert (blank[:, :, :3] == 255).all()
    stroke(canvas, [(10, 10), (60, 40)])
    drawn = canvas.sketch_array()
    assert drawn[25, 35, 0] < 50  # on the line
    assert (drawn[80:, 100:, :3] == 255).all()  # far from it
    step = canvas.undo_stack.done[-1]
    assert step.rect.width() < 128 and step.rect.height() < 96  # a region, not the whole image
    assert canvas.undo()
    assert np.array_equal(canvas.sketch_array(), blank)
    assert canvas.redo()
    assert np.array_equal(canvas.sketch_array(), drawn)
    assert not canvas.redo()


def test_pressure_changes_width_and_opacity(canvas) -> None:
    canvas.brush_size = 20
    stroke(canvas, [(20, 20), (100, 20)], pressure=1.0)
    heavy = int((canvas.sketch_array()[:, 60, 0] < 128).sum())
    canvas.clear()
    stroke(canvas, [(20, 20), (100, 20)], pressure=0.3)
    light = int((canvas.sketch_array()[:, 60, 0] < 128).sum())
    assert heavy > light * 2
    canvas.clear()
    canvas.pressure_size, canvas.pressure_opacity = False, True
    stroke(canvas, [(20, 20), (100, 20)], pressure=0.3)
    centre = int(canvas.sketch_array()[20, 60, 0])
    assert 100 < centre < 255  # a light grey, not black


def test_eraser_fill_and_clear(canvas) -> None:
    canvas.brush_size = 10
    stroke(canvas, [(-10, 50), (140, 50)])
    canvas.tool = "fill"
    canvas.colour = canvas.colour.fromString("#ff0000")
    canvas.begin_stroke(QPointF(5, 5), 1.0)  # the fill stops at the black line
    top, bottom = canvas.sketch_array()[10, 20], canvas.sketch_array()[80, 20]
    assert tuple(top[:3]) == (255, 0, 0) and tuple(bottom[:3]) == (255, 255, 255)
    canvas.tool = "eraser"
    stroke(canvas, [(60, 30), (60, 70)])
    assert tuple(canvas.sketch_array()[50, 60, :3]) == (255, 255, 255)
    assert canvas.sketch_array()[50, 20, 0] < 50
    canvas.clear()
    assert (canvas.sketch_array()[:, :, :3] == 255).all()
    assert canvas.undo()  # clear is undoable
    assert tuple(canvas.sketch_array()[10, 20, :3]) == (255, 0, 0)


def test_undo_memory_is_bounded(canvas) -> None:
    canvas.undo_stack.budget_bytes = 200_000
    for i in range(60):
        stroke(canvas, [(5, 5 + i), (120, 5 + i)])
    assert canvas.undo_stack.nbytes() <= 200_000 + canvas.undo_stack.done[-1].nbytes()
    assert 1 <= len(canvas.undo_stack.done) < 60


def test_hints_layer_result_layer_accept_and_discard(canvas) -> None:
    canvas.active_layer = "hints"
    assert canvas.hints_array() is None
    canvas.colour = canvas.colour.fromString("#00ff00")
    stroke(canvas, [(10, 10), (30, 10)])
    hints = canvas.hints_array()
    assert hints is not None and hints[10, 20, 3] == 255 and hints[50, 50, 3] == 0
    assert (canvas.sketch_array()[:, :, :3] == 255).all()  # the sketch is untouched
    result = np.zeros((48, 64, 3), np.uint8)
    result[..., 2] = 200
    canvas.set_result(result)  # scaled to the canvas
    canvas.result_opacity = 0.5
    shown = canvas.composite_array()
    assert 120 < shown[60, 60, 0] < 135 and shown[60, 60, 2] > 200
    canvas.set_result(None)
    assert (canvas.composite_array()[60, 60, :3] == 255).all()
    canvas.set_result(result)
    canvas.result_opacity = 1.0
    canvas.accept_result()
    assert canvas.result is None
    assert tuple(canvas.sketch_array()[60, 60, :3]) == (0, 0, 200)
    canvas.undo()
    assert (canvas.sketch_array()[60, 60, :3] == 255).all()


def test_zoom_keeps_the_anchor_point(canvas) -> None:
    canvas.resize(400, 300)
    anchor = QPointF(150, 120)
    before = canvas.to_canvas(anchor)
    canvas.zoom_by(2.0, anchor)
    after = canvas.to_canvas(anchor)
    assert abs(before.x() - after.x()) < 1e-6 and abs(before.y() - after.y()) < 1e-6


def test_panel_swatches_follow_palette_and_sketch_autosaves(qtbot, isolated_dirs) -> None:
    from atelier.ui.panels.sketch import SketchPanel

    palette = PaletteDocument(["#112233", "#445566", "#778899"])
    context = AppContext(NoRunner(), JobQueue(), Settings(), SessionStore(isolated_dirs / "s"), palette)
    panel = SketchPanel(context)
    qtbot.addWidget(panel)
    assert len(panel.swatches) == 3
    palette.set_colors(["#ff0000", "#00ff00", "#0000ff", "#ffffff"])
    assert len(panel.swatches) == 4
    panel.swatches[2].click()
    assert panel.canvas.colour.name() == "#0000ff"
    stroke(panel.canvas, [(10, 10), (100, 100)])
    state = panel.save_state()
    assert context.session.side_file("sketch.png").is_file()
    other = SketchPanel(context)
    qtbot.addWidget(other)
    other.restore_state(state)
    assert np.array_equal(other.canvas.sketch_array(), panel.canvas.sketch_array())
    assert other.canvas.colour.name() == "#0000ff"
    panel.close_panel()
    other.close_panel()
    palette.set_colors(["#000000", "#111111", "#222222"])  # closed panels no longer listen


def send_tablet(canvas: CanvasWidget, kind, x: float, y: float, pressure: float) -> None:
    from PySide6.QtCore import QPointF as P
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QPointingDevice, QTabletEvent
    from PySide6.QtWidgets import QApplication

    device = QPointingDevice.primaryPointingDevice()
    event = QTabletEvent(kind, device, P(x, y), canvas.mapToGlobal(P(x, y)), pressure, 0.0, 0.0, 0.0, 0.0,
                         0.0, Qt.KeyboardModifier.NoModifier, Qt.MouseButton.LeftButton,
                         Qt.MouseButton.LeftButton)  # fmt: skip
    QApplication.sendEvent(canvas, event)


def test_tablet_pressure_drives_the_stroke(canvas) -> None:
    from PySide6.QtGui import QTabletEvent

    canvas.resize(128, 96)
    canvas.zoom, canvas.offset = 1.0, QPointF(0, 0)
    canvas.brush_size = 24
    widths = []
    for pressure in (1.0, 0.25):
        canvas.clear()
        send_tablet(canvas, QTabletEvent.Type.TabletPress, 10, 40, pressure)
        send_tablet(canvas, QTabletEvent.Type.TabletMove, 110, 40, pressure)
        send_tablet(canvas, QTabletEvent.Type.TabletRelease, 110, 40, pressure)
        widths.append(int((canvas.sketch_array()[:, 60, 0] < 128).sum()))
    assert widths[0] >= 20 and widths[1] <= widths[0] / 2


def test_paste_drop_and_export(qtbot, isolated_dirs) -> None:
    from PIL import Image
    from PySide6.QtCore import QMimeData, Qt, QUrl
    from PySide6.QtGui import QDropEvent
    from PySide6.QtWidgets import QApplication

    from atelier.ui.panels.sketch import SketchPanel
    from atelier.ui.widgets.images import qimage_from_array

    context = AppContext(NoRunner(), JobQueue(), Settings(), SessionStore(isolated_dirs / "s"))
    panel = SketchPanel(context)
    qtbot.addWidget(panel)
    picture = np.zeros((40, 60, 3), np.uint8)
    picture[..., 1] = 180
    QApplication.clipboard().setImage(qimage_from_array(picture))
    panel.paste()
    assert panel.canvas.canvas_size == (60, 40)
    assert tuple(panel.canvas.sketch_array()[5, 5, :3]) == (0, 180, 0)
    dropped = isolated_dirs / "drop.png"
    Image.fromarray(np.full((30, 50, 3), 90, np.uint8)).save(dropped)
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(dropped))])
    event = QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, data, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)  # fmt: skip
    panel.canvas.dropEvent(event)
    assert panel.canvas.canvas_size == (50, 30)
    out = isolated_dirs / "out.png"
    panel.export_png(str(out))
    with Image.open(out) as saved:
        assert saved.size == (50, 30) and saved.convert("RGB").getpixel((3, 3)) == (90, 90, 90)
    panel.copy()
    assert QApplication.clipboard().image().width() == 50
    panel.close_panel()
