"""New canvas of a chosen size (presets, custom, aspect lock) as one undo step; the variations grid shows every
variation untinted with a visible frame and whole numbers; Upscale 2x of what is shown, accepted as a new canvas."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint
from PySide6.QtGui import QColor

from atelier.core.requests.upscale import UpscaleResult
from atelier.ui.widgets.sketch_bars import NewCanvasDialog
from atelier.ui.widgets.variations_grid import VariationsGridWidget
from tests.ui.real_sketch_panel import real_sketch_panel


@pytest.fixture
def panel(qtbot, isolated_dirs: Path):
    with real_sketch_panel(qtbot, isolated_dirs, (128, 96)) as widget:
        widget.document.undo.clear()
        yield widget


def test_new_canvas_of_a_chosen_size_is_one_undo_step(panel) -> None:
    panel.choose_canvas_size = lambda canvas: (1216, 832)  # as the dialog answers
    panel.new_canvas_dialog()
    assert panel.canvas.canvas_size == (1216, 832)
    assert (panel.document.canvas.width, panel.document.canvas.height) == (1216, 832)
    assert len(panel.document.undo) == 1 and panel.document.undo.undo_text == "New canvas 1216×832"
    panel.undo()
    assert panel.canvas.canvas_size == (128, 96) and (panel.document.canvas.width, panel.document.canvas.height) == (
        128,
        96,
    )
    panel.choose_canvas_size = lambda canvas: None  # cancelled: nothing happens
    panel.new_canvas_dialog()
    assert panel.canvas.canvas_size == (128, 96)


def test_dialog_presets_custom_sizes_and_the_aspect_lock(qtbot) -> None:
    dialog = NewCanvasDialog((128, 96))
    qtbot.addWidget(dialog)
    assert dialog.preset.currentText() == "Custom" and dialog.chosen_size == (128, 96)
    dialog.preset.setCurrentIndex(dialog.preset_index((1920, 1080)))
    assert dialog.chosen_size == (1920, 1080) and "1.78:1" in dialog.shape.text()
    dialog.lock.setChecked(True)
    dialog.width_box.setValue(1280)
    assert dialog.chosen_size == (1280, 720)  # the height followed
    assert dialog.preset.currentText() == "Custom"
    dialog.height_box.setValue(1080)
    assert dialog.chosen_size == (1920, 1080) and dialog.preset.currentText() == "1920 × 1080"
    dialog.lock.setChecked(False)
    dialog.width_box.setValue(1000)
    assert dialog.chosen_size == (1000, 1080)  # unlocked: the other side stays


def solid(colour: tuple[int, int, int], size: int = 64) -> np.ndarray:
    return np.tile(np.array(colour, np.uint8), (size, size, 1))


def test_four_variations_fit_untinted_framed_and_numbered_in_the_side_column(qtbot) -> None:
    grid = VariationsGridWidget()
    qtbot.addWidget(grid)
    grid.resize(310, 190)  # about the room the side column leaves it
    grid.show()
    colours = [(200, 30, 30), (30, 160, 40), (40, 60, 200), (230, 200, 40)]
    grid.show_variations([(solid(c), {"seed": 4_000_000_000 + i}) for i, c in enumerate(colours)])
    qtbot.waitExposed(grid)
    grid.setCurrentRow(1)
    assert grid.verticalScrollBar().maximum() == 0 or not grid.verticalScrollBar().isVisible()
    shot = grid.viewport().grab().toImage()
    viewport = grid.viewport().rect()
    highlight = grid.palette().color(grid.palette().ColorRole.Highlight)
    for row, colour in enumerate(colours):
        item = grid.item(row)
        rect = grid.visualItemRect(item)
        assert viewport.contains(rect), (row, rect, viewport)  # all four in sight
        # The whole number fits its cell.
        assert grid.fontMetrics().horizontalAdvance(item.text()) <= rect.width(), (item.text(), rect)
        icon = grid.iconSize()
        centre = QPoint(rect.center().x(), rect.top() + 4 + icon.height() // 2)
        seen = QColor(shot.pixel(centre))
        # The selected one too is shown in its own colour, not tinted by the selection colour.
        assert abs(seen.red() - colour[0]) + abs(seen.green() - colour[1]) + abs(seen.blue() - colour[2]) < 12, (
            row,
            seen.name(),
        )
    assert grid.iconSize().width() >= 56  # not thumbnails the size of a stamp
    selected = grid.visualItemRect(grid.item(1))
    frame = QColor(shot.pixel(QPoint(selected.center().x(), selected.top() + 1)))
    assert frame == highlight or abs(frame.lightness() - highlight.lightness()) < 10, (frame.name(), highlight.name())
    unselected = grid.visualItemRect(grid.item(2))
    no_frame = QColor(shot.pixel(QPoint(unselected.center().x(), unselected.top() + 1)))
    assert no_frame != frame


def test_upscale_without_a_pack_resizes_says_so_and_accepting_makes_a_new_canvas(panel, qtbot, tmp_path) -> None:
    from atelier.core.provenance import read_parameters

    panel.document.set("generation.pack_id", "")
    panel.form.set_packs([])  # no diffusion pack installed here
    job = panel.upscale()
    assert job is not None
    qtbot.waitUntil(lambda: panel.grid.count() == 1 and not panel.pending, timeout=20_000)
    assert isinstance(job.result, UpscaleResult)
    assert panel.shown_image is not None and panel.shown_image.shape[:2] == (192, 256)
    assert "Lanczos only" in panel.form.working.text()
    out = tmp_path / "big.png"
    panel.export_png(str(out))
    params = read_parameters(out)
    assert params is not None and params["upscale"]["to"] == [256, 192]
    panel.document.undo.clear()
    panel.accept_result()
    assert panel.canvas.canvas_size == (256, 192) and len(panel.document.undo) == 1
    panel.undo()
    assert panel.canvas.canvas_size == (128, 96)
