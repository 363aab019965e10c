"""The Palette panel with a picture of fewer colours than asked: the swatches it really has, the note, the
checks on one or two swatches, then lock and regenerate back to the full count. A real job runner."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from atelier.core.jobs import JobQueue
from atelier.core.project import Project
from atelier.core.settings import Settings
from atelier.ui.context import AppContext
from atelier.ui.panels.palette import PalettePanel
from atelier.ui.worker import JobRunner
from tests.ui.test_palette_panel import error_boxes, wait_for_change


@pytest.fixture
def panel(qtbot, isolated_dirs: Path):
    queue = JobQueue()
    runner = JobRunner(queue, Settings())
    context = AppContext(runner, queue, Settings(), Project(isolated_dirs / "project"))
    widget = PalettePanel(context)
    qtbot.addWidget(widget)
    widget.resize(1100, 800)
    widget.show()
    yield widget
    widget.close_panel()
    runner.shutdown()


def test_a_one_pixel_picture_shows_one_swatch_then_lock_and_regenerate_fill_the_count(
    qtbot, panel: PalettePanel
) -> None:
    panel.action_bar.count.setValue(5)
    red = np.array([[[255, 0, 0]]], np.uint8)
    wait_for_change(qtbot, panel, lambda: panel.from_image(red, "red.png"))
    assert panel.doc.colors == ["#ff0000"] and len(panel.strip.swatches) == 1
    assert panel.strip.swatches[0].name.text()  # named like any swatch
    assert panel.status.text().endswith("This picture has only 1 distinct colour: the palette has 1 swatch, not 5.")
    assert panel.contrast.rowCount() == 1 and panel.colour_blind.rows.count() == 4
    assert not error_boxes()
    assert panel.action_bar.count.value() == 5  # the count asked for stays: regenerate fills it
    panel.strip.swatches[0].lock.click()
    panel.strip.swatches[0].chip.setFocus()
    wait_for_change(qtbot, panel, lambda: qtbot.keyClick(panel.strip, Qt.Key.Key_Space))  # the palette model
    colors = panel.doc.colors
    assert len(colors) == 5 and colors[0] == "#ff0000" and panel.doc.locks == [True, False, False, False, False]
    assert len(set(colors)) == 5 and len(panel.strip.swatches) == 5
    panel.undo_redo.undo_button.click()
    assert panel.doc.colors == ["#ff0000"] and len(panel.strip.swatches) == 1


def test_a_two_colour_picture_with_a_lock_past_the_dropped_slots(qtbot, panel: PalettePanel) -> None:
    panel.action_bar.count.setValue(5)
    panel.doc.set_colors(["#111111", "#222222", "#333333", "#ffffff", "#555555"])
    panel.strip.swatches[3].lock.click()  # white locked in slot 4
    two = np.zeros((10, 30, 3), np.uint8)
    two[:, :20] = (20, 40, 90)
    two[:, 20:] = (230, 200, 60)
    wait_for_change(qtbot, panel, lambda: panel.from_image(two, "two.png"))
    # The picture's two colours, then the locked white: still locked, moved up past the empty slot.
    assert panel.doc.colors == ["#14285a", "#e6c83c", "#ffffff"]
    assert panel.doc.locks == [False, False, True] and panel.strip.swatches[2].lock.isChecked()
    assert "only 2 distinct colours besides the 1 locked swatch" in panel.status.text()
    assert not error_boxes()
