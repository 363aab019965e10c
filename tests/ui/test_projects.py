"""Projects and the lasting history, driven through the real window: results survive a restart and go
back into their panels; projects keep their own songs and sketches apart."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from atelier.core.jobs import JobState
from atelier.core.project import Project, recent_projects
from atelier.core.requests.lineart import LineArtRequest
from atelier.core.requests.palette import HarmonyRequest
from atelier.core.settings import Settings


def _open_window(qtbot, project: Project | None = None):
    from atelier.ui.main_window import MainWindow

    window = MainWindow(Settings(threads=1), project)
    qtbot.addWidget(window)
    window.show()
    return window


def _square() -> np.ndarray:
    picture = np.full((48, 48, 4), 255, np.uint8)
    picture[10:38, 10:38, :3] = 0
    return picture


def test_results_outlive_a_restart_and_an_old_image_goes_back_on_the_canvas(qtbot, isolated_dirs) -> None:
    first = _open_window(qtbot)
    job = first.runner.submit(LineArtRequest(image=_square(), origin="sketch"))
    qtbot.waitUntil(lambda: job.state is JobState.FINISHED, timeout=15000)
    traced = job.result.lines.copy()
    entries = first.context.session.history.entries()
    assert [e.kind for e in entries] == ["lineart"]
    assert first.history.list.count() == 1
    first.close()

    second = _open_window(qtbot)
    assert second.history.list.count() == 1  # the History tab shows it after the restart
    again = second.runner.submit(LineArtRequest(image=_square(), origin="sketch"))
    assert again.number == job.number + 1  # numbers go on from the project's history, no second "#1"
    qtbot.waitUntil(lambda: again.state is JobState.FINISHED, timeout=15000)
    qtbot.waitUntil(lambda: second.history.list.count() == 2, timeout=3000)
    second.history.list.setCurrentRow(1)  # the older one
    assert second.history.selected_entry().number == job.number
    entry = second.context.session.history.entries()[1]
    assert entry.thumbnail is not None and entry.thumbnail.is_file()
    assert second.history.put_back_button.isEnabled()
    second.history.put_back_button.click()
    sketch = second.panels["sketch"]
    assert sketch.variations, "the old result is back in the variations grid"
    shown, _params = sketch.variations[0]
    assert np.array_equal(shown, traced)
    assert second.tabs.currentWidget() is sketch
    second.close()


def test_star_keeps_a_result_and_delete_removes_it(qtbot, isolated_dirs) -> None:
    window = _open_window(qtbot)
    jobs = [
        window.runner.submit(HarmonyRequest(base="#336699", mode=mode, count=5, origin="palette"))
        for mode in ("triad", "analogous")
    ]
    qtbot.waitUntil(lambda: all(j.state is JobState.FINISHED for j in jobs), timeout=10000)
    qtbot.waitUntil(lambda: window.history.list.count() == 2, timeout=3000)
    window.history.list.setCurrentRow(0)
    window.history.star_button.click()
    starred = [e for e in window.context.session.history.entries() if e.starred]
    assert len(starred) == 1
    window.history.starred_only.setChecked(True)
    assert window.history.list.count() == 1
    window.history.starred_only.setChecked(False)
    window.history.list.setCurrentRow(1)
    window.history.delete_button.click()
    remaining = window.context.session.history.entries()
    assert [e.id for e in remaining] == [starred[0].id]
    # Recall from the history puts the harmony settings back into the Palette panel.
    window.history.list.setCurrentRow(0)
    window.history.recall_button.click()
    assert window.tabs.currentWidget() is window.panels["palette"]
    window.close()


def test_projects_keep_their_own_work_and_reopen(qtbot, isolated_dirs: Path) -> None:
    window = _open_window(qtbot)
    lyric = window.panels["lyric"]
    lyric.editor.setPlainText("untitled words")
    song_a = isolated_dirs / "song-a"
    assert window.new_project(song_a)
    assert (song_a / "project.json").is_file()
    assert "song-a" in window.windowTitle()
    assert lyric.editor.toPlainText() == ""  # a new project starts empty
    lyric.editor.setPlainText("words of song A")
    window.save_project()
    song_b = isolated_dirs / "song-b"
    assert window.save_project_as(song_b)  # a copy: the window now works on B
    lyric.editor.setPlainText("words of song B")
    window.save_project()
    assert window.open_project(song_a)
    assert lyric.editor.toPlainText() == "words of song A"
    assert window.open_project(song_b)
    assert lyric.editor.toPlainText() == "words of song B"
    assert recent_projects()[:2] == [song_b, song_a]
    window.close()

    # The untitled project (the autosave) kept its own text all along.
    assert "untitled words" in (Project.untitled().section("lyric").get("text") or "")


def test_opening_a_folder_that_is_not_a_project_says_so_and_changes_nothing(qtbot, isolated_dirs: Path) -> None:
    window = _open_window(qtbot)
    window.panels["lyric"].editor.setPlainText("keep me")
    stray = isolated_dirs / "photos"
    stray.mkdir()
    (stray / "cat.jpg").write_bytes(b"not really")
    assert not window.open_project(stray)
    assert window.panels["lyric"].editor.toPlainText() == "keep me"
    assert window.context.session.untitled
    assert not window.new_project(stray)  # not empty, not a project: refused
    window.close()


def test_a_result_that_ends_after_a_project_switch_is_kept_in_the_project_that_sent_it(
    qtbot, isolated_dirs: Path
) -> None:
    from tests.ui.conftest import ProbeRequest

    window = _open_window(qtbot)
    song_a, song_b = isolated_dirs / "song-a", isolated_dirs / "song-b"
    assert window.new_project(song_a)
    slow = window.runner.submit(ProbeRequest(steps=20, step_seconds=0.02, origin="test"))
    assert window.new_project(song_b)  # switched while the job still runs
    qtbot.waitUntil(lambda: slow.state is JobState.FINISHED, timeout=10000)
    assert [e.kind for e in Project.open(song_a).history.entries()] == ["probe"]
    assert window.context.session.history.entries() == []
    window.close()
