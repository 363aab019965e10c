"""The Sketch panel as a view of its document: one undo stack for strokes and settings, pictures of another
size (ask, place, new canvas, remember), recall and put-back of each kind, the pack gate, projects."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QLabel

from atelier.core.documents.palette import PaletteDocument
from atelier.core.requests.colorize import ColorizeRequest, ColorizeResult
from atelier.core.requests.lineart import LineArtRequest, LineArtResult
from atelier.core.requests.sketch import SketchRequest, SketchResult
from atelier.ui.dialogs.picture_import_dialog import PictureImportDialog
from atelier.ui.panels.sketch import SketchPanel
from atelier.ui.widgets.generate_form import NO_PACK_TIP
from tests.ui.real_sketch_panel import real_sketch_panel


@pytest.fixture
def panel(qtbot, isolated_dirs: Path):
    palette = PaletteDocument(["#112233", "#445566", "#778899"])
    with real_sketch_panel(qtbot, isolated_dirs, (128, 96), palette) as widget:
        widget.document.undo.clear()
        widget.canvas.colour = widget.canvas.colour.fromString("#000000")
        yield widget


def stroke(panel: SketchPanel, points: list[tuple[float, float]]) -> None:
    canvas = panel.canvas
    canvas.begin_stroke(QPointF(*points[0]), 1.0)
    for x, y in points[1:]:
        canvas.continue_stroke(QPointF(x, y), 1.0)
    canvas.end_stroke()


def picture_file(folder: Path, width: int, height: int, value: int = 90) -> Path:
    path = folder / f"picture-{width}x{height}.png"
    Image.fromarray(np.full((height, width, 3), value, np.uint8)).save(path)
    return path


def refuse(picture: tuple[int, int], canvas: tuple[int, int]) -> tuple[str, bool] | None:
    raise AssertionError("the panel should not ask")


def test_undo_is_disabled_on_a_fresh_canvas_and_names_the_step(panel) -> None:
    assert not panel.undo_redo.undo_button.isEnabled() and not panel.undo_redo.redo_button.isEnabled()
    assert panel.undo_redo.undo_button.toolTip() == "Nothing to undo"
    stroke(panel, [(10, 10), (60, 40)])
    assert panel.undo_redo.undo_button.isEnabled() and panel.undo_redo.undo_button.toolTip().startswith(
        "Undo: Brush stroke"
    )
    panel.undo_redo.undo_button.click()
    assert not panel.undo_redo.undo_button.isEnabled() and panel.undo_redo.redo_button.isEnabled()
    assert panel.undo_redo.redo_button.toolTip() == "Redo: Brush stroke on the sketch"


def test_one_undo_walks_back_strokes_and_settings_in_order(panel, qtbot) -> None:
    blank = panel.canvas.sketch_array()
    stroke(panel, [(10, 10), (60, 40)])
    first = panel.canvas.sketch_array()
    panel.form.strength.setValue(0.7)  # a spin box stepped twice: one step
    panel.form.strength.setValue(0.8)
    qtbot.keyClicks(panel.form.prompt, "a boat")  # typing: one step
    stroke(panel, [(10, 80), (120, 80)])
    assert len(panel.document.undo) == 4
    panel.undo()
    assert np.array_equal(panel.canvas.sketch_array(), first) and panel.form.prompt.text() == "a boat"
    panel.undo()
    assert panel.form.prompt.text() == "" and panel.document.generation.prompt == ""
    panel.undo()
    assert panel.form.strength.value() == pytest.approx(0.6) and panel.document.generation.strength == 0.6
    panel.undo()
    assert np.array_equal(panel.canvas.sketch_array(), blank)
    for _ in range(4):
        assert panel.redo()
    assert panel.form.prompt.text() == "a boat" and panel.form.strength.value() == pytest.approx(0.8)
    assert not np.array_equal(panel.canvas.sketch_array(), first)


def test_tool_widgets_drive_the_canvas_through_the_document(panel) -> None:
    stroke(panel, [(10, 10), (60, 40)])
    panel.brush_bar.tool_buttons["eraser"].click()
    panel.brush_bar.size_slider.setValue(30)
    panel.brush_bar.opacity_slider.setValue(40)
    panel.brush_bar.layer_combo.setCurrentIndex(1)
    assert (panel.canvas.tool, panel.canvas.brush_size, panel.canvas.active_layer) == ("eraser", 30.0, "hints")
    assert panel.canvas.opacity == pytest.approx(0.4) and panel.document.tools.opacity == pytest.approx(0.4)
    # Tool settings are preferences, as in Krita: Undo takes back the stroke, not the brush changes.
    assert panel.document.undo.undo_text != "Change brush size"
    panel.undo()
    assert not panel.document.undo.can_undo
    assert (
        panel.canvas.tool == "eraser"
        and panel.brush_bar.size_slider.value() == 30
        and panel.canvas.active_layer == "hints"
    )


def test_seeds_above_two_to_the_31_fit_the_seed_box(panel) -> None:
    panel.form.seed.setValue(4_294_967_295)
    assert panel.document.generation.seed == 4_294_967_295


def test_a_picture_of_another_size_as_a_new_canvas_undoes_to_the_drawing(panel, isolated_dirs) -> None:
    stroke(panel, [(10, 10), (60, 40)])
    panel.canvas.active_layer = "hints"
    stroke(panel, [(20, 70), (90, 70)])
    sketch, hints = panel.canvas.sketch_array(), panel.canvas.layer_array("hints")
    asked: list[tuple[tuple[int, int], tuple[int, int]]] = []
    panel.choose_import = lambda picture, canvas: asked.append((picture, canvas)) or ("new", False)
    assert panel.import_path(str(picture_file(isolated_dirs, 200, 150)))
    assert asked == [((200, 150), (128, 96))]
    assert panel.canvas.canvas_size == (200, 150) == (panel.document.canvas.width, panel.document.canvas.height)
    assert panel.canvas.hints_array() is None and panel.document.pictures.other_size == "ask"
    assert panel.undo_redo.undo_button.toolTip() == "Undo: Open a 200×150 picture"
    panel.undo_redo.undo_button.click()
    assert panel.canvas.canvas_size == (128, 96) == (panel.document.canvas.width, panel.document.canvas.height)
    assert np.array_equal(panel.canvas.sketch_array(), sketch)
    assert np.array_equal(panel.canvas.layer_array("hints"), hints)
    panel.undo_redo.redo_button.click()
    assert panel.canvas.canvas_size == (200, 150)
    assert tuple(panel.canvas.sketch_array()[75, 100, :3]) == (90, 90, 90)


def test_a_picture_of_another_size_placed_on_the_canvas_is_one_step(panel, isolated_dirs) -> None:
    stroke(panel, [(10, 10), (60, 40)])
    sketch = panel.canvas.sketch_array()
    panel.choose_import = lambda picture, canvas: ("place", False)
    assert panel.import_path(str(picture_file(isolated_dirs, 64, 96, value=30)))  # 2:3 -> 64x96, centred
    placed = panel.canvas.sketch_array()
    assert panel.canvas.canvas_size == (128, 96)
    assert tuple(placed[48, 64, :3]) == (30, 30, 30) and tuple(placed[48, 10, :3]) == (255, 255, 255)
    panel.undo()
    assert np.array_equal(panel.canvas.sketch_array(), sketch)
    panel.redo()
    assert np.array_equal(panel.canvas.sketch_array(), placed)


def test_the_same_size_replaces_cancel_keeps_everything_and_a_bad_file_says_so(panel, isolated_dirs, qtbot) -> None:
    panel.choose_import = refuse
    assert panel.import_path(str(picture_file(isolated_dirs, 128, 96, value=200)))
    assert tuple(panel.canvas.sketch_array()[50, 50, :3]) == (200, 200, 200)
    assert len(panel.document.undo) == 1 and panel.undo_redo.undo_button.toolTip() == "Undo: Replace the sketch"
    before = panel.canvas.sketch_array()
    panel.choose_import = lambda picture, canvas: None  # Cancel
    assert not panel.import_path(str(picture_file(isolated_dirs, 30, 30)))
    assert np.array_equal(panel.canvas.sketch_array(), before) and len(panel.document.undo) == 1
    broken = isolated_dirs / "broken.png"
    broken.write_bytes(b"not a png")
    assert not panel.import_path(str(broken))
    assert np.array_equal(panel.canvas.sketch_array(), before)


def test_the_remembered_choice_is_used_and_can_be_changed_back(panel, isolated_dirs) -> None:
    panel.choose_import = lambda picture, canvas: ("place", True)
    panel.import_path(str(picture_file(isolated_dirs, 64, 64)))
    assert panel.document.pictures.other_size == "place"
    assert panel.file_bar.other_size_actions["place"].isChecked()
    panel.choose_import = refuse
    panel.import_path(str(picture_file(isolated_dirs, 32, 48)))  # not asked: placed
    assert panel.canvas.canvas_size == (128, 96)
    panel.file_bar.other_size_actions["ask"].trigger()  # the Open button's menu
    assert panel.document.pictures.other_size == "ask"
    asked: list[object] = []
    panel.choose_import = lambda picture, canvas: asked.append(picture) or None
    panel.import_path(str(picture_file(isolated_dirs, 32, 48)))
    assert asked == [(32, 48)]


def test_the_dialog_offers_both_choices_and_remember(qtbot) -> None:
    dialog = PictureImportDialog((200, 150), (128, 96))
    qtbot.addWidget(dialog)
    dialog.show()
    texts = " ".join(label.text() for label in dialog.findChildren(QLabel))
    assert "200×150" in texts and "128×96" in texts
    assert "arrow beside Open…" in dialog.remember.toolTip()  # where the remembered choice is changed back
    dialog.remember.setChecked(True)
    dialog.new_button.click()
    assert dialog.choice == "new" and dialog.result() == dialog.DialogCode.Accepted
    other = PictureImportDialog((200, 150), (128, 96))
    qtbot.addWidget(other)
    other.show()
    other.place_button.click()
    assert other.choice == "place" and not other.remember.isChecked()


def test_recall_fills_the_widgets_for_each_kind_as_one_step(panel) -> None:
    lines = np.full((64, 64, 3), 255, np.uint8)
    sketch = SketchRequest(
        prompt="dusk", negative="fog", width=128, height=192, steps=3, guidance=1.5, seed=4_000_000_000,
        count=2, strength=0.3, image=lines, mask=np.full((64, 64), 255, np.uint8), scheduler="lcm",
        pack_id="/packs/tiny",
    )  # fmt: skip
    assert panel.recall(sketch)
    assert panel.form.prompt.text() == "dusk" and panel.form.negative.text() == "fog"
    assert (panel.form.width_box.value(), panel.form.height_box.value(), panel.form.steps.value()) == (128, 192, 3)
    assert panel.form.seed.value() == 4_000_000_000 and panel.form.count.value() == 2
    assert panel.form.strength.value() == pytest.approx(0.3) and panel.form.guidance.value() == pytest.approx(1.5)
    assert panel.form.mode_combo.currentData() == "inpaint" and panel.form.scheduler_combo.currentData() == "lcm"
    assert panel.form.pack_combo.currentData() == "/packs/tiny" and panel.form.generate_button.isEnabled()
    assert len(panel.document.undo) == 1
    panel.undo()
    assert (
        panel.form.prompt.text() == ""
        and panel.form.seed.value() == 0
        and panel.form.mode_combo.currentData() == "img2img"
    )
    assert not panel.form.generate_button.isEnabled()
    colorize = ColorizeRequest(lines=lines, palette=("#aa0000", "#00aa00", "#0000aa", "#aaaa00"), seed=77, count=5)
    assert panel.recall(colorize)
    assert panel.form.seed.value() == 77 and panel.form.count.value() == 5
    assert panel.context.palette.colors == ["#aa0000", "#00aa00", "#0000aa", "#aaaa00"]
    assert len(panel.brush_bar.swatches) == 4
    panel.context.palette.undo()  # the palette change is an undo step of the palette
    assert panel.context.palette.colors == ["#112233", "#445566", "#778899"]
    assert panel.recall(LineArtRequest(image=np.zeros((16, 16, 3), np.uint8), sensitivity=0.85))
    assert panel.line_art.sensitivity.value() == 85
    from tests.ui.conftest import ProbeRequest

    assert not panel.recall(ProbeRequest())


def test_show_result_puts_each_kind_back_in_the_grid(panel) -> None:
    request = SketchRequest(prompt="x")
    images = tuple(np.full((64, 64, 3), v, np.uint8) for v in (10, 20))
    assert panel.show_result(request, SketchResult(images=images, seeds=(5, 6), parameters={"prompt": "x"}))
    assert [panel.grid.item(i).text() for i in range(panel.grid.count())] == ["5", "6"]
    assert panel.canvas.result is not None and panel.shown_parameters["seed"] == 5
    lines = np.full((64, 64, 3), 255, np.uint8)
    colorize = ColorizeRequest(lines=lines, palette=("#111111", "#222222", "#333333"))
    result = ColorizeResult(images=images, palettes=(("#111111",), ("#222222",)),
                            parameters=({"variation": 1}, {"variation": 2}))  # fmt: skip
    assert panel.show_result(colorize, result)
    assert [panel.grid.item(i).text() for i in range(panel.grid.count())] == ["1", "2"]
    assert panel.show_result(LineArtRequest(image=lines), LineArtResult(lines=np.full((64, 64), 255, np.uint8)))
    assert panel.grid.count() == 1 and panel.variations[0][1] == {"kind": "lineart"}
    from tests.ui.conftest import ProbeRequest, ProbeResult

    assert not panel.show_result(ProbeRequest(), ProbeResult())


def test_generate_is_disabled_without_a_pack_and_enabled_once_one_is_chosen(panel, isolated_dirs) -> None:
    assert panel.form.pack_combo.count() == 0  # no diffusion pack is installed in the test folders
    assert not panel.form.generate_button.isEnabled()
    tip = panel.form.generate_button.toolTip()
    assert tip == NO_PACK_TIP and "Folder…" in tip and "atelier models import-diffusers" in tip
    from PySide6.QtGui import Qt as QtGui

    assert QtGui.mightBeRichText(tip)  # Qt wraps rich tooltips; the plain one was a line 800 px wide
    panel.document.set("generation.pack_id", str(isolated_dirs))  # what Folder… does
    assert panel.form.generate_button.isEnabled() and panel.form.pack_combo.currentData() == str(isolated_dirs)
    assert panel.form.generate_button.toolTip() != NO_PACK_TIP
    panel.undo()
    assert not panel.form.generate_button.isEnabled() and panel.form.pack_combo.currentIndex() == -1


def test_restore_replaces_document_and_canvas_and_may_be_called_again(panel, isolated_dirs) -> None:
    session = panel.context.session
    stroke(panel, [(10, 10), (60, 40)])
    panel.canvas.active_layer = "hints"
    stroke(panel, [(20, 70), (90, 70)])
    panel.form.prompt.setText("a harbour")
    state = panel.save_state()
    assert state["schema"] == 2 and state["canvas"] == {"width": 128, "height": 96}
    sketch, hints = panel.canvas.sketch_array(), panel.canvas.layer_array("hints")
    stroke(panel, [(5, 90), (120, 5)])
    panel.restore_state(state)
    assert np.array_equal(panel.canvas.sketch_array(), sketch)
    assert np.array_equal(panel.canvas.layer_array("hints"), hints)
    assert panel.form.prompt.text() == "a harbour" and not panel.undo_redo.undo_button.isEnabled()
    stroke(panel, [(5, 90), (120, 5)])  # the new document's stack takes the canvas's steps
    assert panel.undo_redo.undo_button.isEnabled() and panel.document.undo.undo_text.startswith("Brush stroke")
    # Another project: no side files -> a blank canvas of the saved size.
    for name in ("sketch.png", "hints.png"):
        session.side_file(name).unlink()
    panel.restore_state({"schema": 2, "canvas": {"width": 64, "height": 48}, "generation": {"prompt": "new"}})
    assert panel.canvas.canvas_size == (64, 48) and (panel.canvas.sketch_array()[:, :, :3] == 255).all()
    assert panel.form.prompt.text() == "new" and not panel.undo_redo.undo_button.isEnabled()
    # A damaged PNG leaves a blank canvas.
    session.side_file("sketch.png").write_bytes(b"\x89PNG damaged")
    panel.restore_state({"schema": 2, "canvas": {"width": 80, "height": 40}})
    assert panel.canvas.canvas_size == (80, 40) and (panel.canvas.sketch_array()[:, :, :3] == 255).all()


def test_a_schema_1_section_restores_into_the_widgets(panel) -> None:
    old = {"sensitivity": 70, "prompt": "a lighthouse", "steps": 12, "seed": 99999999999, "mode": 0,
           "brush": [30, 50, 20], "colour": "#00ff00", "width": 384}  # fmt: skip
    panel.restore_state(old)
    assert (
        panel.form.prompt.text() == "a lighthouse"
        and panel.form.steps.value() == 12
        and panel.form.width_box.value() == 384
    )
    assert panel.form.seed.value() == 0  # out of range: the default, no crash
    assert panel.form.mode_combo.currentData() == "txt2img" and panel.line_art.sensitivity.value() == 70
    assert (
        panel.brush_bar.size_slider.value() == 30
        and panel.brush_bar.opacity_slider.value() == 50
        and panel.canvas.hardness == 0.2
    )
    assert panel.canvas.colour.name() == "#00ff00" and "#00ff00" in panel.brush_bar.colour_chip.toolTip()
    assert not panel.form.strength.isEnabled()  # text to image ignores the sketch


def test_closing_disconnects_from_the_document(panel) -> None:
    document = panel.document
    panel.close_panel()
    document.set("generation.prompt", "after closing")
    assert panel.form.prompt.text() == ""


def test_ctrl_z_in_a_spin_box_undoes_the_last_step_and_ctrl_shift_z_redoes_it(panel, qtbot) -> None:
    panel.show()
    stroke(panel, [(10, 10), (60, 40)])
    panel.form.steps.setValue(30)
    panel.activateWindow()
    panel.form.steps.setFocus()
    qtbot.waitUntil(panel.form.steps.hasFocus, timeout=2000)
    qtbot.keyClick(panel.form.steps, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert panel.form.steps.value() == 20 and panel.document.generation.steps == 20
    qtbot.keyClick(panel.form.steps, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # then the stroke
    assert not panel.document.undo.can_undo
    shift_ctrl = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(panel.form.steps, Qt.Key.Key_Z, shift_ctrl)
    assert panel.document.undo.undo_text.startswith("Brush stroke")


def test_auto_size_rests_the_size_boxes_and_fit(panel) -> None:
    assert panel.form.auto_size.isChecked() and panel.document.generation.auto_size  # the default
    assert not panel.form.width_box.isEnabled() and not panel.form.fit_button.isEnabled()
    panel.form.auto_size.click()
    assert not panel.document.generation.auto_size
    assert panel.form.width_box.isEnabled() and panel.form.height_box.isEnabled()
    assert panel.form.fit_button.isEnabled()  # 512×512 is not the 128×96 canvas's shape
    panel.undo()
    assert panel.form.auto_size.isChecked() and not panel.form.width_box.isEnabled()


def test_fit_canvas_gives_the_images_the_canvas_shape_as_one_step(panel) -> None:
    panel.form.auto_size.click()  # choose the size by hand
    panel.form.width_box.setValue(512)
    panel.form.height_box.setValue(512)
    panel.document.undo.clear()
    assert panel.form.fit_button.isEnabled()  # 512×512 images are not in the 128×96 canvas's shape
    assert "Images of 512×512 are not in the shape of the 128×96 canvas" in panel.form.fit_button.toolTip()
    panel.form.fit_button.click()
    assert (panel.form.width_box.value(), panel.form.height_box.value()) == (576, 448)  # 4:3, about as many pixels
    assert not panel.form.fit_button.isEnabled() and len(panel.document.undo) == 1
    panel.set_picture(np.full((64, 192, 4), 255, np.uint8))  # a new 3:1 canvas
    assert panel.form.fit_button.isEnabled() and "192×64 canvas" in panel.form.fit_button.toolTip()
    panel.undo()  # back to the 4:3 canvas: the images fit it again
    assert not panel.form.fit_button.isEnabled()
    panel.undo()
    assert (panel.document.generation.width, panel.document.generation.height) == (512, 512)


def test_another_project_keeps_the_brush_and_the_remembered_picture_choice(panel) -> None:
    panel.restore_state({"schema": 2, "tools": {"size": 30, "colour": "#00ff00"}})  # the session, at start
    assert panel.document.tools.size == 30 and panel.canvas.colour.name() == "#00ff00"
    panel.brush_bar.size_slider.setValue(50)
    panel.file_bar.other_size_actions["place"].trigger()  # as "Remember my choice" does
    panel.restore_state({"schema": 2, "tools": {"size": 3}, "generation": {"prompt": "B"}})  # New/Open project
    assert panel.form.prompt.text() == "B"  # the work is the project's...
    assert panel.brush_bar.size_slider.value() == 50 and panel.canvas.brush_size == 50  # ...the brush the artist's
    assert panel.canvas.colour.name() == "#00ff00" and panel.file_bar.other_size_actions["place"].isChecked()
    assert panel.document.pictures.other_size == "place"
