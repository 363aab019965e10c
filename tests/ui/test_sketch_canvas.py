"""The Sketch canvas: strokes, pressure, eraser, fill, bounded undo/redo, layers, new canvases, session."""

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
    whole = 2 * 128 * 96 * 4  # the layer before and after
    assert 0 < canvas.undo_stack.nbytes() < whole / 3  # the step keeps the stroke's region only
    assert canvas.undo_stack.undo_text == "Brush stroke on the sketch"
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
    one_stroke = 2 * 128 * 16 * 4  # a generous bound on one stroke's region, before and after
    assert canvas.undo_stack.nbytes() <= 200_000 + one_stroke
    assert 1 <= len(canvas.undo_stack) < 60


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
    assert len(panel.brush_bar.swatches) == 3
    palette.set_colors(["#ff0000", "#00ff00", "#0000ff", "#ffffff"])
    assert len(panel.brush_bar.swatches) == 4
    assert "#1b2a41" in panel.brush_bar.colour_chip.toolTip()  # the brush colour is shown from the start
    panel.brush_bar.swatches[2].click()
    assert panel.canvas.colour.name() == "#0000ff" and "#0000ff" in panel.brush_bar.colour_chip.toolTip()
    assert "#0000ff" in panel.brush_bar.colour_chip.styleSheet()
    stroke(panel.canvas, [(10, 10), (100, 100)])
    panel.canvas.active_layer = "hints"
    stroke(panel.canvas, [(20, 80), (90, 80)])
    state = panel.save_state()
    assert context.session.side_file("sketch.png").is_file() and context.session.side_file("hints.png").is_file()
    other = SketchPanel(context)
    qtbot.addWidget(other)
    other.restore_state(state)
    assert np.array_equal(other.canvas.sketch_array(), panel.canvas.sketch_array())
    assert np.array_equal(other.canvas.layer_array("hints"), panel.canvas.layer_array("hints"))
    assert other.canvas.colour.name() == "#0000ff" and not other.undo_redo.undo_button.isEnabled()
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
    asked: list[tuple[tuple[int, int], tuple[int, int]]] = []
    panel.choose_import = lambda picture, canvas: asked.append((picture, canvas)) or ("new", False)
    picture = np.zeros((40, 60, 3), np.uint8)
    picture[..., 1] = 180
    QApplication.clipboard().setImage(qimage_from_array(picture))
    panel.paste()
    assert asked == [((60, 40), (512, 512))]
    assert panel.canvas.canvas_size == (60, 40) == (panel.document.canvas.width, panel.document.canvas.height)
    assert tuple(panel.canvas.sketch_array()[5, 5, :3]) == (0, 180, 0)
    dropped = isolated_dirs / "drop.png"
    Image.fromarray(np.full((30, 50, 3), 90, np.uint8)).save(dropped)
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(dropped))])
    event = QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, data, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)  # fmt: skip
    panel.canvas.dropEvent(event)
    assert panel.canvas.canvas_size == (50, 30) and len(asked) == 2
    out = isolated_dirs / "out.png"
    panel.export_png(str(out))
    with Image.open(out) as saved:
        assert saved.size == (50, 30) and saved.convert("RGB").getpixel((3, 3)) == (90, 90, 90)
    panel.copy()
    assert QApplication.clipboard().image().width() == 50
    data = QMimeData()
    data.setImageData(qimage_from_array(np.full((30, 50, 3), 40, np.uint8)))  # image data, no file: same size
    panel.canvas.dropEvent(QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, data, Qt.MouseButton.LeftButton,
                                      Qt.KeyboardModifier.NoModifier))  # fmt: skip
    assert tuple(panel.canvas.sketch_array()[3, 3, :3]) == (40, 40, 40) and len(asked) == 2
    panel.undo()  # each picture was one step: back through all three
    assert tuple(panel.canvas.sketch_array()[3, 3, :3]) == (90, 90, 90)
    panel.undo()
    assert panel.canvas.canvas_size == (60, 40)
    panel.undo()
    assert panel.canvas.canvas_size == (512, 512) and not panel.undo_redo.undo_button.isEnabled()
    panel.close_panel()


def test_a_new_canvas_undoes_back_to_the_old_layers_result_and_history(canvas) -> None:
    stroke(canvas, [(10, 10), (60, 40)])
    canvas.active_layer = "hints"
    canvas.colour = canvas.colour.fromString("#00ff00")
    stroke(canvas, [(10, 80), (100, 80)])
    result = np.full((96, 128, 3), 30, np.uint8)
    canvas.set_result(result)
    sketch, hints = canvas.sketch_array(), canvas.layer_array("hints")
    sizes: list[tuple[int, int]] = []
    canvas.size_changed.connect(lambda w, h: sizes.append((w, h)))
    picture = np.full((30, 40, 3), 120, np.uint8)
    canvas.new_canvas(40, 30, sketch=picture, text="Open a picture")
    assert canvas.canvas_size == (40, 30) and canvas.result is None and canvas.hints_array() is None
    assert tuple(canvas.sketch_array()[5, 5, :3]) == (120, 120, 120)
    assert canvas.undo_stack.undo_text == "Open a picture" and len(canvas.undo_stack) == 3
    assert canvas.undo()
    assert canvas.canvas_size == (128, 96) and sizes == [(40, 30), (128, 96)]
    assert np.array_equal(canvas.sketch_array(), sketch)  # pixel for pixel
    assert np.array_equal(canvas.layer_array("hints"), hints)
    assert canvas.result is not None
    assert canvas.undo()  # the history before the new canvas is still there
    assert canvas.hints_array() is None
    assert canvas.redo() and canvas.redo()
    assert canvas.canvas_size == (40, 30) and tuple(canvas.sketch_array()[5, 5, :3]) == (120, 120, 120)
    stroke(canvas, [(5, 5), (30, 20)])  # painting on the new canvas does not change what undo brings back
    assert canvas.undo() and canvas.undo()
    assert np.array_equal(canvas.sketch_array(), sketch) and np.array_equal(canvas.layer_array("hints"), hints)


def test_a_picture_is_placed_scaled_to_fit_and_centred(canvas) -> None:
    blank = canvas.sketch_array()
    picture = np.zeros((50, 200, 3), np.uint8)
    picture[..., 0] = 255  # 4:1, so on the 128x96 canvas it is 128x32 with white bands above and below
    canvas.place_picture(picture)
    placed = canvas.sketch_array()
    assert canvas.canvas_size == (128, 96)
    assert tuple(placed[48, 64, :3]) == (255, 0, 0) and tuple(placed[48, 2, :3]) == (255, 0, 0)
    assert tuple(placed[10, 64, :3]) == (255, 255, 255) and tuple(placed[85, 64, :3]) == (255, 255, 255)
    assert canvas.undo_stack.undo_text == "Place a picture"
    assert canvas.undo() and np.array_equal(canvas.sketch_array(), blank)
    assert canvas.redo() and np.array_equal(canvas.sketch_array(), placed)
    with pytest.raises(ValueError):
        canvas.set_sketch(picture)  # another size must be placed or become a new canvas


def test_a_fill_on_the_hints_layer_stays_inside_the_drawn_shape(canvas) -> None:
    canvas.brush_size = 3
    stroke(canvas, [(30, 20), (90, 20), (90, 70), (30, 70), (30, 20)])  # a closed box on the sketch
    sketch = canvas.sketch_array()
    canvas.active_layer, canvas.tool = "hints", "fill"
    canvas.colour = canvas.colour.fromString("#00aa00")
    canvas.begin_stroke(QPointF(60, 45), 1.0)
    hints = canvas.hints_array()
    assert hints is not None and tuple(hints[45, 60]) == (0, 170, 0, 255)  # inside the box
    assert hints[5, 5, 3] == 0 and hints[90, 120, 3] == 0  # outside it, the hints stay empty
    assert np.array_equal(canvas.sketch_array(), sketch)  # and the sketch is untouched
    assert canvas.undo_stack.undo_text == "Fill on the hints"
    canvas.begin_stroke(QPointF(60, 45), 1.0)  # the same colour again changes nothing: no step
    assert len(canvas.undo_stack) == 2
    canvas.undo()
    assert canvas.hints_array() is None


def test_a_fill_at_half_opacity_keeps_the_sketch_opaque(canvas) -> None:
    canvas.tool, canvas.opacity = "fill", 0.5
    canvas.colour = canvas.colour.fromString("#000000")
    canvas.begin_stroke(QPointF(10, 10), 1.0)
    sketch = canvas.sketch_array()
    assert (sketch[:, :, 3] == 255).all()  # paper, half covered: no see-through holes
    assert 120 <= sketch[50, 50, 0] <= 135
