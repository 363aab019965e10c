"""The window opens with every panel, jobs run through the real worker off the GUI thread, cancel works."""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QDockWidget

from atelier.core.jobs import JobState
from atelier.core.requests.lineart import LineArtRequest
from tests.ui.conftest import LightProbeRequest, ProbeRequest, ProbeResult


def test_window_has_every_panel_jobs_dock_and_device_label(window) -> None:
    titles = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    assert titles == ["Sketch", "Lyric", "Palette"]
    assert isinstance(window.jobs_dock, QDockWidget) and window.jobs_dock.isVisible()
    assert "CPU" in window.device_label.text()


def test_job_runs_on_a_worker_thread_and_shows_in_history(window, qtbot) -> None:
    job = window.runner.submit(ProbeRequest(steps=3, step_seconds=0.01, origin="test"))
    qtbot.waitUntil(lambda: job.state is JobState.FINISHED, timeout=5000)
    assert isinstance(job.result, ProbeResult)
    assert job.result.is_main_thread is False and job.result.thread_name == "atelier-heavy-lane"
    item = window.jobs._items[job.id]
    assert "done" in item.text(1) and item.text(2).endswith("s")


def test_light_jobs_do_not_wait_behind_heavy_ones(window, qtbot) -> None:
    heavy = window.runner.submit(ProbeRequest(steps=100, step_seconds=0.05))
    qtbot.waitUntil(lambda: heavy.state is JobState.RUNNING, timeout=5000)
    light = window.runner.submit(LightProbeRequest())
    qtbot.waitUntil(lambda: light.state is JobState.FINISHED, timeout=3000)
    assert heavy.state is JobState.RUNNING
    assert light.result.thread_name == "atelier-light-lane"
    window.runner.cancel(heavy.id)
    qtbot.waitUntil(lambda: heavy.state is JobState.CANCELLED, timeout=3000)


def test_cancel_running_and_queued_jobs(window, qtbot) -> None:
    running = window.runner.submit(ProbeRequest(steps=200, step_seconds=0.02))
    queued = window.runner.submit(ProbeRequest(steps=1))
    qtbot.waitUntil(lambda: running.state is JobState.RUNNING, timeout=5000)
    window.jobs.tree.setCurrentItem(window.jobs._items[running.id])
    assert window.jobs.cancel_button.isEnabled()
    window.jobs.cancel_button.click()
    window.runner.cancel(queued.id)
    qtbot.waitUntil(lambda: running.state is JobState.CANCELLED, timeout=3000)
    assert queued.state is JobState.CANCELLED
    assert "cancelled" in window.jobs._items[running.id].text(1)


def test_supersede_keeps_only_the_newest_live_request(window, qtbot) -> None:
    first = window.runner.submit(ProbeRequest(steps=100, step_seconds=0.02, origin="sketch-live", supersedes=True))
    qtbot.waitUntil(lambda: first.state is JobState.RUNNING, timeout=5000)
    plain = window.runner.submit(ProbeRequest(steps=1, origin="sketch"))
    second = window.runner.submit(ProbeRequest(steps=2, origin="sketch-live", supersedes=True))
    qtbot.waitUntil(lambda: second.state is JobState.FINISHED, timeout=5000)
    assert first.state is JobState.CANCELLED
    assert plain.state is JobState.FINISHED  # a request that does not supersede queues and runs


def test_a_second_request_queues_behind_the_first_instead_of_cancelling_it(window, qtbot) -> None:
    first = window.runner.submit(ProbeRequest(steps=5, step_seconds=0.02, origin="sketch"))
    second = window.runner.submit(ProbeRequest(steps=1, origin="sketch"))
    qtbot.waitUntil(lambda: second.state.done, timeout=5000)
    assert first.state is JobState.FINISHED and second.state is JobState.FINISHED
    assert first.ended is not None and second.started is not None and second.started >= first.ended


def test_sketch_panel_traces_line_art_through_the_worker(window, qtbot) -> None:
    panel = window.panels["sketch"]
    picture = np.full((48, 48, 4), 255, np.uint8)
    picture[10:38, 10:38, :3] = 0
    panel.set_picture(picture)
    job = panel.trace()
    assert job is not None
    qtbot.waitUntil(lambda: bool(panel.variations), timeout=10000)
    lines, params = panel.variations[0]
    assert params["kind"] == "lineart"
    assert lines.ndim == 2 and lines.min() < 128 and lines.max() > 250
    assert "CPU" in window.device_label.text() and "not used yet" not in window.device_label.text()
    assert isinstance(job.request, LineArtRequest) and job.request.origin == "sketch"


def test_failed_job_is_shown_with_its_message(window, qtbot) -> None:
    from atelier.core.requests import Request

    job = window.runner.submit(Request())  # no task handles it: fails with a clear message
    qtbot.waitUntil(lambda: job.state is JobState.FAILED, timeout=3000)
    assert "No engine task handles" in job.error
    assert "failed" in window.jobs._items[job.id].text(1)


def test_session_text_survives_a_restart(qtbot, isolated_dirs) -> None:
    from atelier.core.settings import Settings
    from atelier.ui.main_window import MainWindow

    first = MainWindow(Settings(threads=1))
    qtbot.addWidget(first)
    first.panels["lyric"].editor.setPlainText("Rain on the window\nlight in the hall")
    first.close()
    second = MainWindow(Settings(threads=1))
    qtbot.addWidget(second)
    assert second.panels["lyric"].editor.toPlainText().startswith("Rain on the window")
    assert second.context.lyric.text.startswith("Rain on the window")
    second.close()


def test_settings_dialog_is_built_from_metadata(window, qtbot) -> None:
    from atelier.core.settings import Settings
    from atelier.ui.dialogs.settings_dialog import SettingsDialog

    dialog = SettingsDialog(Settings())
    qtbot.addWidget(dialog)
    assert set(dialog.values()) == {f.name for f in Settings.field_info()}
    dialog._editors["device"].setCurrentText("cpu")
    dialog._accept()
    assert dialog.result_settings is not None and dialog.result_settings.device == "cpu"
    window.apply_settings(dialog.result_settings)
    assert window.runner.engine.settings.device == "cpu"


def test_lyric_panel_hosts_the_melody_widget(window) -> None:
    from atelier.ui.widgets.melody import MelodyWidget

    lyric = window.panels["lyric"]
    tabs = [lyric.bottom_tabs.tabText(i) for i in range(lyric.bottom_tabs.count())]
    assert tabs == ["Suggestions", "Melody"]
    assert isinstance(lyric.melody, MelodyWidget)
    assert "melody" in lyric.save_state()


def test_palette_from_the_sketch_uses_what_the_canvas_shows(window, qtbot) -> None:
    sketch, palette = window.panels["sketch"], window.panels["palette"]
    width, height = sketch.canvas.canvas_size
    picture = np.full((height, width, 4), 255, np.uint8)
    picture[: height // 2, :, :3] = (200, 30, 40)  # red top half
    picture[height // 2 :, :, :3] = (20, 60, 200)  # blue bottom half
    sketch.set_picture(picture)
    assert window.context.sketch_picture() is not None
    job = palette.from_sketch()
    assert job is not None
    qtbot.waitUntil(lambda: job.state.done, timeout=20000)
    colors = window.context.palette.colors
    rgb = [tuple(int(c[i : i + 2], 16) for i in (1, 3, 5)) for c in colors]
    assert any(r > 150 and g < 90 and b < 90 for r, g, b in rgb), colors
    assert any(b > 150 and r < 90 for r, g, b in rgb), colors


def test_dock_numbers_history_jobs_without_gaps_and_shows_their_place_in_line(window, qtbot) -> None:
    from atelier.core.requests.lyrics import RhymeRequest

    running = window.runner.submit(ProbeRequest(steps=200, step_seconds=0.02))
    helper = window.runner.submit(RhymeRequest(word="rain"))  # helper work: not in the dock, no number
    first = window.runner.submit(ProbeRequest(steps=1))
    second = window.runner.submit(ProbeRequest(steps=1))
    qtbot.waitUntil(lambda: running.state is JobState.RUNNING, timeout=5000)
    numbers = [window.jobs._items[j.id].text(0).split()[0] for j in (running, first, second)]
    assert numbers == ["#1", "#2", "#3"] and helper.id not in window.jobs._items
    assert window.jobs._items[first.id].text(1) == "◷ 1st"
    assert window.jobs._items[second.id].text(1) == "◷ 2nd"
    window.jobs.tree.setCurrentItem(window.jobs._items[first.id])
    assert window.jobs.cancel_button.isEnabled()
    window.jobs.cancel_button.click()
    assert first.state is JobState.CANCELLED
    assert window.jobs._items[second.id].text(1) == "◷ 1st"  # moved up
    window.runner.cancel(running.id)
    qtbot.waitUntil(lambda: second.state is JobState.FINISHED, timeout=5000)


def test_job_column_keeps_its_width_after_a_cancel(window, qtbot) -> None:
    window.resize(1000, 700)
    job = window.runner.submit(ProbeRequest(steps=200, step_seconds=0.02))
    qtbot.waitUntil(lambda: job.state is JobState.RUNNING, timeout=5000)
    width_before = window.jobs.tree.columnWidth(0)
    window.runner.cancel(job.id)
    qtbot.waitUntil(lambda: job.state is JobState.CANCELLED, timeout=3000)
    qtbot.wait(50)
    assert window.jobs.tree.columnWidth(0) >= min(width_before, 120)
    text_width = window.jobs.tree.fontMetrics().horizontalAdvance("#1 probe")
    assert window.jobs.tree.columnWidth(0) > text_width
    # The job's name gets at least as much room as the three other columns together.
    others = sum(window.jobs.tree.columnWidth(c) for c in (1, 2, 3))
    assert window.jobs.tree.columnWidth(0) >= min(others, window.jobs.tree.viewport().width() // 3)


def test_selecting_a_palette_job_does_not_widen_the_window(window, qtbot) -> None:
    from atelier.core.requests.palette import HarmonyRequest

    window.resize(1100, 700)
    qtbot.wait(50)
    width = window.width()
    job = window.runner.submit(HarmonyRequest(mode="triad", base="#336699", count=12, origin="palette"))
    qtbot.waitUntil(lambda: job.state is JobState.FINISHED, timeout=5000)
    window.jobs.tree.setCurrentItem(window.jobs._items[job.id])
    qtbot.wait(50)
    assert not window.jobs.detail.pixmap().isNull()
    assert window.width() == width


def test_settings_marks_providers_this_machine_cannot_load(window) -> None:
    from atelier.core.settings import Settings
    from atelier.ui.dialogs.settings_dialog import NOT_HERE, SettingsDialog

    available = window.runner.available_providers()
    dialog = SettingsDialog(Settings(), None, available)
    combo = dialog._editors["device"]
    items = {combo.itemData(i): combo.itemText(i) for i in range(combo.count())}
    assert items["cpu"] == "cpu" and items["auto"] == "auto"
    assert "CUDAExecutionProvider" not in available  # this test machine has no GPU build of onnxruntime
    assert items["CUDAExecutionProvider"].endswith(NOT_HERE)
    combo.setCurrentIndex(combo.findData("CUDAExecutionProvider"))
    assert dialog.values()["device"] == "CUDAExecutionProvider"  # still choosable; the label is not the value
    dialog.close()


def test_about_lists_the_first_use_text_and_language_models(window) -> None:
    from atelier.ui.dialogs.about_dialog import AboutDialog

    summaries = window.runner.pack_summaries()
    ids = {s["id"] for s in summaries}
    assert {"minilm-text", "smollm2-135m-instruct"} <= ids
    dialog = AboutDialog(summaries, window)
    text = dialog.packs.toPlainText()
    assert "all-MiniLM-L6-v2" in text and "SmolLM2" in text and "Apache-2.0" in text
    dialog.close()


def test_about_lists_a_pack_that_was_set_aside_and_why(qtbot, isolated_dirs, monkeypatch) -> None:
    from atelier.core.settings import Settings
    from atelier.ui.dialogs.about_dialog import AboutDialog
    from atelier.ui.main_window import MainWindow

    bad = isolated_dirs / "models" / "broken-pack"
    bad.mkdir(parents=True)
    (bad / "pack.json").write_text('{"id": "broken", "components": ["not", "a", "mapping"]}')
    monkeypatch.setenv("ATELIER_MODELS", str(isolated_dirs / "models"))
    window = MainWindow(Settings(threads=1))
    qtbot.addWidget(window)
    broken = window.runner.broken_packs()
    assert [folder for folder, _why in broken] == [str(bad)]
    dialog = AboutDialog(window.runner.pack_summaries(), window, broken)
    text = dialog.packs.toPlainText()
    assert "Packs set aside" in text and "broken-pack" in text
    dialog.close()
    window.close()


def test_the_open_project_is_locked_with_this_process_id_until_it_is_closed(qtbot, isolated_dirs) -> None:
    import json
    import os

    from atelier.core.project import LOCK_FILE, Project
    from atelier.core.settings import Settings
    from atelier.ui.main_window import MainWindow

    window = MainWindow(Settings(threads=1))
    qtbot.addWidget(window)
    untitled_lock = window.context.session.folder / LOCK_FILE
    assert json.loads(untitled_lock.read_text())["pid"] == os.getpid()
    Project.create(isolated_dirs / "song")
    assert window.open_project(isolated_dirs / "song")
    assert not untitled_lock.exists()  # handed over: the untitled project was closed properly
    song_lock = isolated_dirs / "song" / LOCK_FILE
    assert json.loads(song_lock.read_text())["pid"] == os.getpid()
    assert window.open_project(isolated_dirs / "song")  # the same folder again: still writable, not "in use"
    assert not window.context.session.read_only and window.save_session()
    window.close()
    assert not song_lock.exists()
