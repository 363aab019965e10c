"""The Palette panel with a real job runner: make, lock, regenerate, edit, reorder, undo, files, session."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from atelier.core.jobs import JobQueue
from atelier.core.session_store import SessionStore
from atelier.core.settings import Settings
from atelier.ui.context import AppContext
from atelier.ui.panels.palette import PalettePanel
from atelier.ui.worker import JobRunner


@pytest.fixture
def panel(qtbot, isolated_dirs: Path):
    queue = JobQueue()
    runner = JobRunner(queue, Settings())
    context = AppContext(runner, queue, Settings(), SessionStore(isolated_dirs / "session"))
    widget = PalettePanel(context)
    qtbot.addWidget(widget)
    widget.resize(1100, 800)
    widget.show()
    yield widget
    widget.close_panel()
    runner.shutdown()


def error_boxes() -> list[QMessageBox]:
    return [w for w in QApplication.topLevelWidgets() if w.objectName() == "atelier-error" and w.isVisible()]


def wait_for_change(qtbot, panel: PalettePanel, action) -> None:
    with qtbot.waitSignal(panel.doc.changed, timeout=20000):
        action()
    qtbot.waitUntil(lambda: not panel.progress.isVisible(), timeout=5000)


def test_harmony_then_lock_and_regenerate_with_space(qtbot, panel: PalettePanel) -> None:
    panel.count.setValue(6)
    panel.base_color = "#336699"
    panel.mode.setCurrentIndex(panel.mode.findData("triad"))
    wait_for_change(qtbot, panel, panel.harmony_button.click)
    first = panel.doc.colors
    assert len(first) == 6 and first[0] == "#336699"
    assert len(panel.strip.swatches) == 6
    assert all(s.name.text() for s in panel.strip.swatches)
    panel.strip.swatches[2].lock.click()
    assert panel.doc.locks[2]
    panel.strip.swatches[0].chip.setFocus()
    wait_for_change(qtbot, panel, lambda: qtbot.keyClick(panel.strip, Qt.Key.Key_Space))
    assert panel.doc.colors[2] == first[2] and panel.doc.colors != first
    assert panel.doc.source["kind"] == "harmony"
    assert panel.undo_button.isEnabled()
    panel.undo_button.click()
    assert panel.doc.colors == first
    panel.redo_button.click()
    assert panel.doc.colors[2] == first[2] and panel.doc.colors != first


def test_image_palette_and_checks(qtbot, panel: PalettePanel) -> None:
    picture = np.zeros((40, 120, 3), np.uint8)
    picture[:, :40] = (250, 250, 245)
    picture[:, 40:80] = (20, 20, 30)
    picture[:, 80:] = (210, 40, 50)
    panel.count.setValue(3)
    wait_for_change(qtbot, panel, lambda: panel.from_image(picture, "test.png"))
    assert panel.doc.source == {"kind": "image", "label": "test.png"}
    assert panel.contrast.rowCount() == 3
    cells = [panel.contrast.item(r, c).text() for r in range(3) for c in range(3) if r != c]
    assert any("AAA" in t for t in cells)
    assert panel.roles.background in (panel.roles.background,)
    assert not panel.roles.warnings  # near-white and near-black: text passes
    assert panel.colour_blind.rows.count() == 4


def test_edit_hex_reorder_and_favourite(qtbot, panel: PalettePanel) -> None:
    swatch = panel.strip.swatches[1]
    swatch.hex.setText("#ABCDEF")
    swatch.hex.editingFinished.emit()
    assert panel.doc.colors[1] == "#abcdef" and panel.doc.names[1]
    panel.strip.moved.emit(1, 0)
    assert panel.doc.colors[0] == "#abcdef"
    panel.favourite_button.click()
    assert panel.doc.is_favourite() and panel.history.favourites.count() == 1
    panel.strip.swatches[0].hex.setText("nonsense")
    panel.strip.swatches[0].hex.editingFinished.emit()
    qtbot.waitUntil(lambda: bool(error_boxes()))
    assert panel.doc.colors[0] == "#abcdef"
    for box in error_boxes():
        box.close()


def test_import_export_and_malformed_import(qtbot, panel: PalettePanel, tmp_path: Path) -> None:
    before = panel.doc.colors
    for fmt in ("gpl", "ase", "aco", "css", "json", "png"):
        assert panel.export_path(str(tmp_path / f"out.{fmt}"))
    bad = tmp_path / "bad.ase"
    bad.write_bytes(b"ASEF\x00\x01\x00\x00\x00\x00\x00\x05truncated")
    assert not panel.import_path(str(bad))
    qtbot.waitUntil(lambda: bool(error_boxes()))
    assert panel.doc.colors == before
    for box in error_boxes():
        box.close()
    (tmp_path / "p.gpl").write_text("GIMP Palette\n255 0 0 Red\n0 0 255\n")
    assert panel.import_path(str(tmp_path / "p.gpl"))
    assert panel.doc.colors == ["#ff0000", "#0000ff"] and panel.doc.names == ["Red", "blue"]
    assert panel.doc.recent[0].colors == ("#ff0000", "#0000ff")


def test_from_lyric_needs_words_and_session_round_trip(qtbot, panel: PalettePanel) -> None:
    panel.context.lyric.set_text("")
    assert panel.from_lyric() is None
    qtbot.waitUntil(lambda: bool(error_boxes()))
    for box in error_boxes():
        box.close()
    assert panel.from_sketch() is None  # no Sketch panel beside it in this test
    panel.text.setText("sea")
    panel.count.setValue(7)
    panel.doc.toggle_favourite()
    state = panel.save_state()
    panel.doc.set_colors(["#000000", "#111111", "#222222"])
    panel.text.setText("")
    panel.restore_state(state)
    assert panel.text.text() == "sea" and panel.count.value() == 7
    assert panel.doc.is_favourite()


@pytest.mark.slow
def test_text_and_lyric_palettes_with_the_real_model(qtbot, panel: PalettePanel) -> None:
    from atelier.engine.text_embedding import built_pack

    if built_pack() is None:
        pytest.importorskip("torch")
    panel.count.setValue(5)
    panel.text.setText("autumn forest")
    with qtbot.waitSignal(panel.doc.changed, timeout=300000):
        panel.text_button.click()
    qtbot.waitUntil(lambda: not panel.progress.isVisible(), timeout=5000)
    assert panel.doc.source == {"kind": "text", "text": "autumn forest", "label": "text"}
    assert "autumn forest" in panel.status.text()
    panel.context.lyric.set_text("Grey rain on the window\nCold streets and empty rooms")
    with qtbot.waitSignal(panel.doc.changed, timeout=60000):
        panel.lyric_button.click()
    assert panel.doc.source["label"] == "lyric" and len(panel.doc.colors) == 5
