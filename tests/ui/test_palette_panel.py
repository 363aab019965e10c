"""The Palette panel with a real job runner: make, lock, regenerate, edit, undo, recall, cancel, files, session."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from atelier.core.color.spaces import delta_e_2000, hex_to_rgb, rgb_to_cielab
from atelier.core.documents.palette import PaletteSource
from atelier.core.jobs import Job, JobQueue, JobState
from atelier.core.project import Project
from atelier.core.requests.palette import (
    HarmonyRequest,
    PaletteFromImageRequest,
    PaletteFromTextRequest,
    PaletteInfillRequest,
    PaletteResult,
)
from atelier.core.settings import Settings
from atelier.ui.context import AppContext
from atelier.ui.panels.palette import BUSY_TEXT, PICTURE_FILE, PalettePanel
from atelier.ui.worker import JobRunner
from tests.ui.conftest import LightProbeRequest


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


def error_boxes() -> list[QMessageBox]:
    return [
        w
        for w in QApplication.topLevelWidgets()
        if isinstance(w, QMessageBox) and w.objectName() == "atelier-error" and w.isVisible()
    ]


def close_error_boxes() -> None:
    for box in error_boxes():
        box.close()


def wait_for_change(qtbot, panel: PalettePanel, action) -> None:
    with qtbot.waitSignal(panel.doc.changed, timeout=20000):
        action()
    qtbot.waitUntil(lambda: not panel.progress.isVisible(), timeout=5000)


def bands() -> np.ndarray:
    picture = np.zeros((40, 120, 3), np.uint8)
    picture[:, :40] = (250, 250, 245)
    picture[:, 40:80] = (20, 20, 30)
    picture[:, 80:] = (210, 40, 50)
    return picture


BAND_COLORS = {"#fafaf5", "#14141e", "#d22832"}  # what bands() is made of


def block_light_lane(panel: PalettePanel) -> Job:
    """A slow job on the palette's lane, so the palette jobs sent next wait in the queue."""
    blocker = panel.context.runner.submit(LightProbeRequest(steps=500, step_seconds=0.02, origin="test"))
    return blocker


def is_idle(panel: PalettePanel) -> bool:
    return not panel.progress.isVisible() and not panel.status.text().startswith("Making") and not panel.jobs.pending()


def test_harmony_then_lock_and_regenerate_with_space(qtbot, panel: PalettePanel) -> None:
    panel.action_bar.count.setValue(6)
    panel.doc.set_base("#336699")
    panel.action_bar.mode.setCurrentIndex(panel.action_bar.mode.findData("triad"))
    assert panel.doc.count == 6 and panel.doc.mode == "triad" and panel.action_bar.base_button.text() == "#336699"
    wait_for_change(qtbot, panel, panel.action_bar.harmony_button.click)
    first = panel.doc.colors
    assert len(first) == 6 and first[0] == "#336699"
    assert len(panel.strip.swatches) == 6
    assert all(s.name.text() for s in panel.strip.swatches)
    panel.strip.swatches[2].lock.click()
    assert panel.doc.locks[2]
    panel.strip.swatches[0].chip.setFocus()
    wait_for_change(qtbot, panel, lambda: qtbot.keyClick(panel.strip, Qt.Key.Key_Space))
    assert panel.doc.colors[2] == first[2] and panel.doc.colors != first
    assert panel.doc.source.kind == "harmony" and panel.doc.seed == 1
    assert panel.undo_redo.undo_button.isEnabled()
    panel.undo_redo.undo_button.click()
    assert panel.doc.colors == first and panel.doc.locks[2]
    panel.undo_redo.redo_button.click()
    assert panel.doc.colors[2] == first[2] and panel.doc.colors != first


def min_de(a: list[str], b: list[str]) -> float:
    return float(delta_e_2000(rgb_to_cielab(hex_to_rgb(a))[:, None], rgb_to_cielab(hex_to_rgb(b))[None, :]).min())


def test_regenerate_uses_the_palette_model_keeps_locks_and_changes_every_press(qtbot, panel: PalettePanel) -> None:
    assert panel.doc.regenerate_mode == "model" and panel.action_bar.temperature.isEnabled()
    panel.doc.set_colors(["#1b2a41", "#8899aa", "#c9a227", "#445566", "#ddeeff"], source=PaletteSource())
    panel.strip.swatches[0].lock.click()
    panel.strip.swatches[2].lock.click()
    shown = panel.doc.colors
    panel.strip.swatches[1].chip.setFocus()
    for press in range(4):
        with qtbot.waitSignal(panel.context.queue.job_added) as added:
            wait_for_change(qtbot, panel, lambda: qtbot.keyClick(panel.strip, Qt.Key.Key_Space))
        assert isinstance(added.args[0].request, PaletteInfillRequest)
        colors = panel.doc.colors
        assert (
            colors[0] == "#1b2a41" and colors[2] == "#c9a227" and panel.doc.locks == [True, False, True, False, False]
        )
        unlocked, before = [colors[i] for i in (1, 3, 4)], [shown[i] for i in (1, 3, 4)]
        assert min_de(unlocked, before) >= 5.0, (press, unlocked, before)  # a visibly different set each press
        assert all(s.name.text() for s in panel.strip.swatches)
        shown = colors
    assert "palette model" in panel.status.text() and "Space regenerates" in panel.status.text()
    panel.undo_redo.undo_button.click()
    assert panel.doc.colors != shown and panel.doc.colors[0] == "#1b2a41"


def test_harmony_ignores_the_locks_unless_built_around_them_and_says_which(qtbot, panel: PalettePanel) -> None:
    panel.doc.set_colors(["#777777", "#888888", "#999999", "#aaaaaa", "#bbbbbb"])
    panel.doc.set_base("#336699")
    panel.action_bar.mode.setCurrentIndex(panel.action_bar.mode.findData("triad"))
    panel.strip.swatches[1].lock.click()
    wait_for_change(qtbot, panel, panel.action_bar.harmony_button.click)
    assert panel.doc.colors[0] == "#336699" and "#888888" not in panel.doc.colors  # a real triad, no kept grey
    assert not any(panel.doc.locks) and "Locks ignored" in panel.status.text()
    panel.undo_redo.undo_button.click()
    assert panel.doc.locks[1] and panel.doc.colors[1] == "#888888"  # nothing the user locked is lost
    panel.action_bar.around_locks.click()
    assert panel.doc.around_locks
    wait_for_change(qtbot, panel, panel.action_bar.harmony_button.click)
    assert panel.doc.colors[1] == "#888888" and panel.doc.locks[1]
    assert "Built around #888888" in panel.status.text()


def test_failing_contrast_cells_stay_readable(qtbot, panel: PalettePanel) -> None:
    from atelier.ui.widgets.swatch_strip import ink_for

    panel.doc.set_colors(["#101820", "#121a22", "#f4f1de"])
    matrix = panel.contrast
    failing, passing = matrix.item(0, 1), matrix.item(0, 2)
    assert failing is not None and passing is not None
    assert "Fail" in failing.text() and failing.font().italic()
    assert failing.foreground().color().name() == ink_for("#121a22")  # not #101820 on #121a22 (1.0:1)
    assert passing.foreground().color().name() == "#101820" and not passing.font().italic()


def test_undo_and_redo_are_disabled_when_there_is_nothing_to_undo(qtbot, panel: PalettePanel) -> None:
    assert not panel.undo_redo.undo_button.isEnabled() and not panel.undo_redo.redo_button.isEnabled()
    assert panel.undo_redo.undo_button.toolTip() == "Nothing to undo"
    panel.strip.swatches[0].lock.click()
    assert panel.undo_redo.undo_button.isEnabled() and not panel.undo_redo.redo_button.isEnabled()
    assert "Lock swatch 1" in panel.undo_redo.undo_button.toolTip()
    panel.undo_redo.undo_button.click()
    assert not panel.doc.locks[0]
    assert not panel.undo_redo.undo_button.isEnabled() and panel.undo_redo.redo_button.isEnabled()
    panel.undo_redo.redo_button.click()
    assert (
        panel.doc.locks[0] and panel.undo_redo.undo_button.isEnabled() and not panel.undo_redo.redo_button.isEnabled()
    )


def test_a_palette_job_cancelled_from_the_queue_returns_the_panel_to_idle(qtbot, panel: PalettePanel) -> None:
    blocker = block_light_lane(panel)
    before = panel.doc.colors
    first = panel.from_harmony()
    second = panel.regenerate()
    assert first is not None and second is not None
    assert isinstance(first.request, HarmonyRequest) and isinstance(second.request, PaletteInfillRequest)
    assert first.request.seed != second.request.seed  # a second regenerate is not the same question
    assert panel.progress.isVisible() and panel.status.text() == "Making 2 palettes…"
    panel.context.queue.cancel(second.id)  # as the Jobs dock does
    qtbot.waitUntil(lambda: second.state is JobState.CANCELLED, timeout=5000)
    assert panel.status.text() == BUSY_TEXT and panel.progress.isVisible()
    panel.context.queue.cancel(first.id)
    qtbot.waitUntil(lambda: is_idle(panel), timeout=5000)
    assert first.state is JobState.CANCELLED and panel.doc.colors == before
    assert all(
        b.isEnabled()
        for b in (panel.action_bar.harmony_button, panel.action_bar.regenerate_button, panel.source_bar.text_button)
    )
    assert not error_boxes()  # a cancel is not an error
    panel.context.queue.cancel(blocker.id)


def test_queued_palette_jobs_all_finish(qtbot, panel: PalettePanel) -> None:
    blocker = block_light_lane(panel)
    jobs = [panel.from_harmony(), panel.regenerate(), panel.regenerate()]
    assert all(job is not None and job.state is JobState.QUEUED for job in jobs)
    panel.context.queue.cancel(blocker.id)
    qtbot.waitUntil(lambda: is_idle(panel), timeout=20000)
    assert [job.state for job in jobs if job is not None] == [JobState.FINISHED] * 3
    assert len(panel.doc.undo_stack) == 3  # each result is its own step


def test_a_failed_palette_job_is_shown_and_the_panel_is_idle(qtbot, panel: PalettePanel) -> None:
    before = panel.doc.colors
    job = panel.from_image(np.zeros((8, 8, 4), np.uint8), "clear.png")  # fully transparent: no colours
    assert job is not None
    qtbot.waitUntil(lambda: bool(error_boxes()), timeout=10000)
    assert "transparent" in error_boxes()[0].text()
    close_error_boxes()
    assert job.state is JobState.FAILED and is_idle(panel) and panel.doc.colors == before


def use_the_source(panel: PalettePanel) -> None:
    """Regenerate asks the palette's own source again (the palette model is the default)."""
    combo = panel.action_bar.regenerate_mode
    combo.setCurrentIndex(combo.findData("source"))
    assert panel.doc.regenerate_mode == "source" and not panel.action_bar.temperature.isEnabled()


def test_recall_of_an_image_request_then_regenerate_uses_the_same_picture(qtbot, panel: PalettePanel) -> None:
    use_the_source(panel)
    panel.doc.undo_stack.clear()  # the choice is the starting point here: undo goes back to it
    picture = bands()
    before = panel.doc.to_dict()
    request = PaletteFromImageRequest(
        image=picture, count=4, seed=7, locked=((1, "#123456"),), label="bands.png", origin="palette"
    )
    assert panel.recall(request)
    assert panel.action_bar.count.value() == 4 and panel.doc.seed == 7
    assert panel.doc.locks == [False, True, False, False, False] and panel.doc.colors[1] == "#123456"
    assert panel.doc.source.kind == "image" and panel.doc.source.image is picture
    assert "bands.png" in panel.status.text() and panel.strip.swatches[1].lock.isChecked()
    assert panel.undo_redo.undo_button.isEnabled()
    with qtbot.waitSignal(panel.context.queue.job_added) as added:
        wait_for_change(qtbot, panel, panel.action_bar.regenerate_button.click)
    job = added.args[0]
    assert isinstance(job.request, PaletteFromImageRequest) and job.request.image is picture
    assert (job.request.count, job.request.seed, job.request.locked) == (4, 8, ((1, "#123456"),))
    colors = panel.doc.colors
    assert len(colors) == 4 and colors[1] == "#123456" and panel.doc.locks == [False, True, False, False]
    assert set(colors) == {"#123456", *BAND_COLORS}  # the locked swatch and the picture's three bands
    panel.undo_redo.undo_button.click()  # the regenerated palette
    panel.undo_redo.undo_button.click()  # the recall
    after = panel.doc.to_dict()
    assert after.pop("recent")[0]["colors"] == colors  # what was made stays in the recent palettes
    assert (
        after == {k: v for k, v in before.items() if k != "recent"}
        and panel.action_bar.count.value() == before["count"]
    )
    assert not panel.undo_redo.undo_button.isEnabled()


def test_recall_of_text_and_harmony_requests_and_undo(qtbot, panel: PalettePanel) -> None:
    use_the_source(panel)
    panel.source_bar.text.setText("typed first")
    assert panel.recall(PaletteFromTextRequest(text="autumn forest", count=6, seed=2, origin="palette"))
    assert (
        panel.source_bar.text.text() == "autumn forest" and panel.action_bar.count.value() == 6 and panel.doc.seed == 2
    )
    assert panel.doc.source == PaletteSource("text", text="autumn forest")
    assert panel.recall(HarmonyRequest(base="#aa3300", mode="triad", count=5, seed=4, origin="palette"))
    assert panel.action_bar.base_button.text() == "#aa3300" and panel.action_bar.mode.currentData() == "triad"
    assert panel.action_bar.count.value() == 5 and panel.source_bar.text.text() == "autumn forest"
    with qtbot.waitSignal(panel.context.queue.job_added) as added:
        wait_for_change(qtbot, panel, panel.regenerate)
    request = added.args[0].request
    assert isinstance(request, HarmonyRequest) and (request.base, request.mode, request.seed) == ("#aa3300", "triad", 5)
    assert panel.doc.colors[0] == "#aa3300" and len(panel.doc.colors) == 5
    panel.doc.undo()
    panel.doc.undo()
    assert panel.action_bar.base_button.text() != "#aa3300" and panel.action_bar.count.value() == 6
    panel.undo_redo.undo_button.click()
    assert panel.source_bar.text.text() == "typed first" and panel.doc.seed == 0
    assert not panel.recall(LightProbeRequest())  # not a palette request


def test_a_palette_from_the_history_is_put_back_as_one_step(qtbot, panel: PalettePanel) -> None:
    before = panel.doc.colors
    request = HarmonyRequest(base="#102030", mode="shades", count=3, seed=1, origin="palette")
    result = PaletteResult(colors=("#102030", "#405060", "#708090"), names=("a", "b", "c"), source="harmony")
    assert panel.show_result(request, result)
    assert panel.doc.colors == ["#102030", "#405060", "#708090"] and panel.doc.source.kind == "harmony"
    assert panel.doc.undo_stack.undo_text == "Put back palette"
    assert not panel.show_result(LightProbeRequest(), result)
    panel.undo_redo.undo_button.click()
    assert panel.doc.colors == before


def test_image_palette_and_checks(qtbot, panel: PalettePanel) -> None:
    panel.action_bar.count.setValue(3)
    wait_for_change(qtbot, panel, lambda: panel.from_image(bands(), "test.png"))
    assert panel.doc.source.kind == "image" and panel.doc.source.label == "test.png"
    assert panel.contrast.rowCount() == 3
    cells = [str(panel.contrast.model().index(r, c).data()) for r in range(3) for c in range(3) if r != c]
    assert any("AAA" in t for t in cells)
    assert not panel.roles.warnings  # near-white and near-black: text passes
    assert panel.colour_blind.rows.count() == 4


def test_edit_hex_reorder_and_favourite(qtbot, panel: PalettePanel) -> None:
    swatch = panel.strip.swatches[1]
    swatch.hex.setText("#ABCDEF")
    swatch.hex.editingFinished.emit()
    assert panel.doc.colors[1] == "#abcdef" and panel.doc.names[1]
    panel.strip.moved.emit(1, 0)
    assert panel.doc.colors[0] == "#abcdef"
    panel.action_bar.favourite_button.click()
    assert panel.doc.is_favourite() and panel.history.favourites.count() == 1
    assert panel.action_bar.favourite_button.isChecked() and panel.action_bar.favourite_button.text() == "★ Favourite"
    panel.strip.swatches[0].hex.setText("nonsense")
    panel.strip.swatches[0].hex.editingFinished.emit()
    qtbot.waitUntil(lambda: bool(error_boxes()))
    assert panel.doc.colors[0] == "#abcdef" and panel.strip.swatches[0].hex.text() == "#abcdef"
    close_error_boxes()
    panel.undo_redo.undo_button.click()
    assert not panel.doc.is_favourite() and panel.history.favourites.count() == 0


def test_import_export_and_malformed_import(qtbot, panel: PalettePanel, tmp_path: Path) -> None:
    before = panel.doc.colors
    for fmt in ("gpl", "ase", "aco", "css", "json", "png"):
        assert panel.export_path(str(tmp_path / f"out.{fmt}"))
    assert panel.export_path(str(tmp_path / "bare.gpl"), metadata=False)
    assert b"atelier" not in (tmp_path / "bare.gpl").read_bytes()
    bad = tmp_path / "bad.ase"
    bad.write_bytes(b"ASEF\x00\x01\x00\x00\x00\x00\x00\x05truncated")
    assert not panel.import_path(str(bad))
    qtbot.waitUntil(lambda: bool(error_boxes()))
    assert panel.doc.colors == before
    close_error_boxes()
    (tmp_path / "p.gpl").write_text("GIMP Palette\n255 0 0 Red\n0 0 255\n")
    assert panel.import_path(str(tmp_path / "p.gpl"))
    assert panel.doc.colors == ["#ff0000", "#0000ff"] and panel.doc.names == ["Red", "blue"]
    assert panel.doc.recent[0].colors == ("#ff0000", "#0000ff")
    assert panel.doc.source == PaletteSource("import", label="p.gpl")
    panel.undo_redo.undo_button.click()
    assert panel.doc.colors == before


def test_from_lyric_needs_words_and_session_round_trip(qtbot, panel: PalettePanel) -> None:
    panel.context.lyric.set_text("")
    assert panel.from_lyric() is None
    qtbot.waitUntil(lambda: bool(error_boxes()))
    close_error_boxes()
    assert panel.from_sketch() is None  # no Sketch panel beside it in this test
    close_error_boxes()
    panel.source_bar.text.setText("sea")
    panel.action_bar.count.setValue(7)
    panel.checks.setCurrentIndex(2)
    panel.doc.toggle_favourite()
    state = panel.save_state()
    assert state["schema"] == 2 and state["text"] == "sea" and state["view"] == {"tab": 2}
    panel.doc.set_colors(["#000000", "#111111", "#222222"])
    panel.source_bar.text.setText("")
    panel.checks.setCurrentIndex(0)
    panel.restore_state(state)
    assert (
        panel.source_bar.text.text() == "sea"
        and panel.action_bar.count.value() == 7
        and panel.checks.currentIndex() == 2
    )
    assert panel.doc.is_favourite() and not panel.undo_redo.undo_button.isEnabled()


def test_restore_keeps_the_picture_and_replaces_the_document_each_time(qtbot, panel: PalettePanel) -> None:
    panel.action_bar.count.setValue(3)
    wait_for_change(qtbot, panel, lambda: panel.from_image(bands(), "bands.png"))
    image_palette = panel.doc.colors
    state = panel.save_state()
    assert state["picture"] == PICTURE_FILE and panel.context.session.side_file(PICTURE_FILE).is_file()
    # Another project is opened: its document replaces this one, and there is nothing to undo.
    other = {"schema": 2, "colors": ["#aa0000", "#00aa00", "#0000aa"], "count": 5, "text": "other"}
    panel.restore_state(other)
    assert panel.doc.colors == ["#aa0000", "#00aa00", "#0000aa"] and panel.source_bar.text.text() == "other"
    assert panel.doc.source.kind == "" and not panel.undo_redo.undo_button.isEnabled() and not panel.doc.recent
    # Back to the first: the picture comes back from its file and Regenerate works on it.
    panel.restore_state(state)
    assert panel.doc.colors == image_palette and panel.doc.source.label == "bands.png"
    assert panel.doc.source.image is not None and np.array_equal(panel.doc.source.image, bands())
    assert not panel.undo_redo.undo_button.isEnabled()
    use_the_source(panel)
    panel.strip.swatches[0].lock.click()
    job = panel.regenerate()
    assert job is not None
    qtbot.waitUntil(lambda: job.state is JobState.FINISHED and is_idle(panel), timeout=20000)
    assert isinstance(job.request, PaletteFromImageRequest) and np.array_equal(job.request.image, bands())
    assert job.request.locked == ((0, image_palette[0]),) and job.request.label == "bands.png"
    assert sorted(panel.doc.colors) == sorted(image_palette)  # three bands, three colours, whatever the seed


def test_opening_another_project_cancels_palettes_still_being_made(qtbot, panel: PalettePanel) -> None:
    blocker = block_light_lane(panel)
    started, queued = panel.from_harmony(), panel.regenerate()
    assert started is not None and queued is not None
    qtbot.waitUntil(lambda: blocker.state is JobState.RUNNING, timeout=5000)
    # As the worker reports a job it had started (the lane's thread is busy with the blocker here):
    panel.context.queue.notify_started(started.id)
    other = {"schema": 2, "colors": ["#aa0000", "#00aa00", "#0000aa"], "count": 3}
    panel.restore_state(other)
    assert queued.state is JobState.CANCELLED and started.cancel_token.cancelled
    # The started job ends before it sees the cancel: its palette belongs to the closed project.
    result = PaletteResult(colors=("#010101", "#020202", "#030303"), names=("a", "b", "c"), source="harmony")
    panel.context.queue.notify_finished(started.id, result)
    assert panel.doc.colors == other["colors"] and not panel.undo_redo.undo_button.isEnabled() and is_idle(panel)
    panel.context.queue.cancel(blocker.id)
    qtbot.waitUntil(lambda: blocker.state.done, timeout=5000)


def select_in_jobs_dock(window, job: Job) -> None:
    tree = window.jobs.tree
    rows = [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]
    row = next(r for r in rows if r is not None and r.data(0, Qt.ItemDataRole.UserRole) == job.id)
    tree.setCurrentItem(row)


def test_cancel_and_recall_from_the_jobs_dock(qtbot, window) -> None:
    panel = window.panels["palette"]
    assert isinstance(panel, PalettePanel)
    blocker = window.runner.submit(LightProbeRequest(steps=500, step_seconds=0.02, origin="test"))
    queued = panel.from_harmony()
    assert queued is not None and panel.status.text() == BUSY_TEXT
    select_in_jobs_dock(window, queued)
    window.jobs.cancel_button.click()
    qtbot.waitUntil(lambda: is_idle(panel), timeout=5000)
    assert queued.state is JobState.CANCELLED
    select_in_jobs_dock(window, blocker)
    window.jobs.cancel_button.click()
    qtbot.waitUntil(lambda: blocker.state.done, timeout=5000)

    panel.doc.set_count(4)
    job = panel.from_image(bands(), "bands.png")
    assert job is not None
    qtbot.waitUntil(lambda: job.state is JobState.FINISHED and is_idle(panel), timeout=20000)
    assert set(panel.doc.colors) >= BAND_COLORS
    panel.doc.set_count(8)
    panel.doc.set_text("something else")
    wait_for_change(qtbot, panel, panel.from_harmony)
    select_in_jobs_dock(window, job)
    window.jobs.recall_button.click()
    assert panel.doc.count == 4 and panel.action_bar.count.value() == 4 and panel.doc.source.label == "bands.png"
    assert isinstance(job.request, PaletteFromImageRequest) and panel.doc.source.image is job.request.image
    assert panel.doc.undo_stack.undo_text == "Recall settings"
    use_the_source(panel)
    again = panel.regenerate()
    assert again is not None
    qtbot.waitUntil(lambda: again.state is JobState.FINISHED and is_idle(panel), timeout=20000)
    # The same picture, asked again: its three bands (four were asked; a picture gives only what it has).
    assert len(panel.doc.colors) == 3 and set(panel.doc.colors) == BAND_COLORS


def test_the_swatch_strip_is_one_row_tall_when_the_palette_tab_is_first_shown(qtbot, window) -> None:
    panel = window.panels["palette"]
    assert window.tabs.currentWidget() is not panel  # laid out while hidden, behind the Sketch tab
    window.tabs.setCurrentWidget(panel)
    row = panel.strip.swatches[0].sizeHint().height()
    assert len(panel.doc.colors) * panel.strip.swatches[0].width() < panel.strip_scroll.width()  # one row
    qtbot.waitUntil(lambda: panel.strip_scroll.height() < 1.5 * row, timeout=2000)  # was two rows tall


@pytest.mark.slow
def test_text_and_lyric_palettes_with_the_real_model(qtbot, panel: PalettePanel) -> None:
    from atelier.engine.text_embedding import built_pack

    if built_pack() is None:
        pytest.importorskip("torch")
    panel.action_bar.count.setValue(5)
    panel.source_bar.text.setText("autumn forest")
    with qtbot.waitSignal(panel.doc.changed, timeout=300000):
        panel.source_bar.text_button.click()
    qtbot.waitUntil(lambda: not panel.progress.isVisible(), timeout=5000)
    assert panel.doc.source == PaletteSource("text", text="autumn forest")
    assert "autumn forest" in panel.status.text()
    panel.context.lyric.set_text("Grey rain on the window\nCold streets and empty rooms")
    with qtbot.waitSignal(panel.doc.changed, timeout=60000):
        panel.source_bar.lyric_button.click()
    assert panel.doc.source.kind == "lyric" and len(panel.doc.colors) == 5
