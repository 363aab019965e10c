"""Projects and the lasting history, driven through the real window: results survive a restart and go
back into their panels; projects keep their own songs and sketches apart."""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import shutil
import signal
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtWidgets import QMessageBox

from atelier.core.atomic_files import is_temp
from atelier.core.jobs import JobState
from atelier.core.project import Project, recent_projects
from atelier.core.requests.lineart import LineArtRequest
from atelier.core.requests.palette import HarmonyRequest
from atelier.core.settings import Settings, data_dir


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
    qtbot.waitUntil(lambda: first.history.list.count() == 1, timeout=5000)  # written by the history writer
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


def _window_with_two_palettes(qtbot):
    """A window whose History lists two palette results (a triad, then an analogous set)."""
    window = _open_window(qtbot)
    jobs = [
        window.runner.submit(HarmonyRequest(base="#336699", mode=mode, count=5, origin="palette"))
        for mode in ("triad", "analogous")
    ]
    qtbot.waitUntil(lambda: all(j.state is JobState.FINISHED for j in jobs), timeout=10000)
    qtbot.waitUntil(lambda: window.history.list.count() == 2, timeout=3000)
    return window


def test_star_keeps_a_result_and_delete_removes_it(qtbot, isolated_dirs) -> None:
    window = _window_with_two_palettes(qtbot)
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


def test_a_deleted_result_comes_back_with_undo_delete_until_the_project_closes(qtbot, isolated_dirs) -> None:
    # Found in the walkthrough: Delete removed a result at once and for good, starred or not.
    window = _window_with_two_palettes(qtbot)
    view, history = window.history, window.context.session.history
    assert not view.undo_delete_button.isEnabled()
    view.list.setCurrentRow(0)
    view.star_button.click()
    starred = view.selected_entry()
    assert starred is not None and starred.starred
    view.delete_button.click()
    qtbot.waitUntil(lambda: view.list.count() == 1, timeout=3000)
    assert view.undo_delete_button.isEnabled()
    view.undo_delete_button.click()
    assert view.list.count() == 2 and not view.undo_delete_button.isEnabled()
    back = view.selected_entry()  # selected again, star kept
    assert back is not None and back.id == starred.id and back.starred
    view.list.setCurrentRow(1)
    deleted = view.selected_entry()
    assert deleted is not None
    view.delete_button.click()
    qtbot.waitUntil(lambda: view.list.count() == 1, timeout=3000)
    folder = history.folder
    window.close()  # the project closes: that deletion is final, nothing is left aside
    assert [p.name for p in folder.iterdir()] == [starred.id]


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
    assert window.history_writer.wait(timeout=10)  # the write goes on the writer thread, into song A
    assert [e.kind for e in Project.open(song_a).history.entries()] == ["probe"]
    assert window.context.session.history.entries() == []
    window.close()


# -- work is safe: crash restore, a second window, launch crashes, a full disk ----------------------
def _leave_a_crashed_lock(folder: Path, untitled: bool = True) -> int:
    """What a killed Atelier leaves: a real process takes the project's lock and is SIGKILLed."""
    opener = f"Project.untitled(Path({str(folder)!r}))" if untitled else f"Project.open(Path({str(folder)!r}))"
    script = (
        "import sys\nfrom pathlib import Path\nfrom atelier.core.project import Project\n"
        f"project = {opener}\nproject.lock()\nprint('locked', flush=True)\nsys.stdin.read()\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
    holder.kill()
    holder.wait(timeout=10)
    holder.stdout.close()
    assert holder.stdin is not None
    holder.stdin.close()
    return holder.pid


def _png_bytes(picture: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="PNG")
    return buffer.getvalue()


def test_after_a_crash_the_newest_autosave_is_offered_and_restored(qtbot, isolated_dirs) -> None:
    first = _open_window(qtbot)
    first.panels["lyric"].editor.setPlainText("Saved words")
    assert first.save_session()
    saved_sketch = first.panels["sketch"].canvas.sketch_array().copy()
    folder = first.context.session.folder
    first.close()
    # What a crash between writes leaves: project.json and a layer newer than the last autosave.
    data = json.loads((folder / "project.json").read_text())
    data["sections"]["lyric"]["text"] = "Unsaved words"
    (folder / "project.json").write_text(json.dumps(data))
    scribble = np.full(saved_sketch.shape, 255, np.uint8)
    scribble[:40, :40, :3] = 0
    (folder / "layers" / "sketch.png").write_bytes(_png_bytes(scribble))
    pid = _leave_a_crashed_lock(folder)

    second = _open_window(qtbot)
    dialog = second.restore_dialog
    assert dialog is not None and dialog.isVisible()
    autosave = second.context.session.newest_good_autosave()
    assert autosave is not None and autosave.describe() in dialog.message.text()
    assert f"process {pid}" in dialog.message.text()
    assert second.panels["lyric"].editor.toPlainText() == "Unsaved words"  # what is open until answered
    dialog.restore_button.click()
    assert second.panels["lyric"].editor.toPlainText() == "Saved words"
    assert np.array_equal(second.panels["sketch"].canvas.sketch_array(), saved_sketch)
    aside = next((folder / "autosave").glob("set-aside-*"))
    assert json.loads((aside / "project.json").read_text())["sections"]["lyric"]["text"] == "Unsaved words"
    assert (aside / "layers" / "sketch.png").read_bytes() == _png_bytes(scribble)  # nothing is lost
    assert "Restored the autosave" in second.statusBar().currentMessage()
    second.close()
    third = _open_window(qtbot)  # closed properly: nothing to offer
    assert third.restore_dialog is None and third.panels["lyric"].editor.toPlainText() == "Saved words"
    third.close()


def test_after_a_crash_keeping_what_is_open_changes_nothing(qtbot, isolated_dirs) -> None:
    first = _open_window(qtbot)
    first.panels["lyric"].editor.setPlainText("Saved words")
    first.save_session()
    folder = first.context.session.folder
    first.close()
    data = json.loads((folder / "project.json").read_text())
    data["sections"]["lyric"]["text"] = "Newer words"
    (folder / "project.json").write_text(json.dumps(data))
    _leave_a_crashed_lock(folder)
    second = _open_window(qtbot)
    assert second.restore_dialog is not None
    second.restore_dialog.keep_button.click()
    assert second.panels["lyric"].editor.toPlainText() == "Newer words"
    assert not list((folder / "autosave").glob("set-aside-*"))
    second.close()


def test_after_a_crash_with_nothing_lost_nothing_is_asked(qtbot, isolated_dirs) -> None:
    first = _open_window(qtbot)
    first.panels["lyric"].editor.setPlainText("Saved words")
    first.save_session()
    folder = first.context.session.folder
    first.close()
    _leave_a_crashed_lock(folder)
    second = _open_window(qtbot)
    assert second.restore_dialog is None
    assert "nothing was lost" in second.statusBar().currentMessage()
    second.close()


def test_a_second_window_on_the_same_project_is_read_only_and_overwrites_nothing(qtbot, isolated_dirs) -> None:
    first = _open_window(qtbot)
    first.panels["lyric"].editor.setPlainText("First window's words")
    assert first.save_session()
    folder = first.context.session.folder
    before = {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()}

    second = _open_window(qtbot)
    assert second.context.session.read_only and "[read-only]" in second.windowTitle()
    box = second.findChild(QMessageBox, "atelier-error")
    assert box is not None and "open in another Atelier" in box.text() and f"process {os.getpid()}" in box.text()
    assert second.panels["lyric"].editor.toPlainText() == "First window's words"
    second.panels["lyric"].editor.setPlainText("Second window's words")
    width, height = second.panels["sketch"].canvas.canvas_size
    picture = np.full((height, width, 4), 255, np.uint8)
    picture[:20, :20, :3] = (200, 0, 0)
    second.panels["sketch"].set_picture(picture)
    assert second.save_session() is False
    assert {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()} == before

    # Save As keeps the second window's work, in a folder of its own.
    assert second.save_project_as(isolated_dirs / "copy")
    assert not second.context.session.read_only and "[read-only]" not in second.windowTitle()
    copy = Project.open(isolated_dirs / "copy")
    assert copy.section("lyric")["text"] == "Second window's words"
    layer = np.asarray(Image.open(isolated_dirs / "copy" / "layers" / "sketch.png"))
    assert tuple(layer[5, 5, :3]) == (200, 0, 0)
    second.close()
    assert {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()} == before

    first.panels["lyric"].editor.setPlainText("Still saved by the first window")
    assert first.save_session()
    first.close()
    assert Project.untitled(folder).section("lyric")["text"] == "Still saved by the first window"


@contextlib.contextmanager
def _read_only_folder(folder: Path):
    """`folder` made read-only: by its permissions, or (root ignores those) by a read-only mount."""
    if os.geteuid() != 0:
        os.chmod(folder, 0o555)
        try:
            yield
        finally:
            os.chmod(folder, 0o755)
        return
    held = folder.with_name(folder.name + "-contents")
    shutil.copytree(folder, held)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(folder)], capture_output=True).returncode:
        shutil.rmtree(held)
        pytest.skip("running as root without permission to mount a read-only folder")
    try:
        shutil.copytree(held, folder, dirs_exist_ok=True)
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True, capture_output=True)
        yield
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)
        shutil.rmtree(held)


def _write_png_header(path: Path, width: int, height: int) -> None:
    """A PNG that declares width x height pixels and holds none: a decompression bomb's header."""
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    chunk = b"IHDR" + header
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(header))
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
        + struct.pack(">I", 0)
        + b"IEND"
        + struct.pack(">I", zlib.crc32(b"IEND"))
    )


LAUNCH_CASES = {
    "huge sketch seed": {"sections": {"sketch": {"schema": 2, "generation": {"seed": 99999999999}}}},
    "huge lyric seed": {"sections": {"lyric": {"schema": 3, "text": "x", "settings": {"seed": 99999999999}}}},
    "sections of the wrong kind": {"sections": {"sketch": [1], "lyric": "words", "palette": None}},
    "fields of the wrong kind": {
        "sections": {
            "sketch": {"canvas": "big", "generation": [], "tools": 5, "pictures": {"other_size": 3}},
            "lyric": {"text": 5, "settings": "x", "suggestions": {"a": 1}, "melody": [], "cursor": "end"},
            "palette": {"colors": "red", "names": 3, "locks": "x", "view": []},
        }
    },
}


@pytest.mark.parametrize("case", [*LAUNCH_CASES, "broken sketch PNG", "decompression bomb sketch", "layout tab=abc"])
def test_the_window_opens_whatever_the_saved_session_holds(qtbot, isolated_dirs, case: str) -> None:
    """Each of these crashed the window on every launch (issue 15)."""
    folder = data_dir() / "session"
    (folder / "layers").mkdir(parents=True)
    (folder / "project.json").write_text(json.dumps(LAUNCH_CASES.get(case, {"sections": {}})))
    if case == "broken sketch PNG":
        (folder / "layers" / "sketch.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    if case == "decompression bomb sketch":
        _write_png_header(folder / "layers" / "sketch.png", 60000, 60000)
    if case == "layout tab=abc":
        (isolated_dirs / "config").mkdir(exist_ok=True)
        (isolated_dirs / "config" / "layout.ini").write_text("[General]\ntab=abc\n")
    window = _open_window(qtbot)
    assert window.isVisible() and window.tabs.count() == 3
    if case == "huge lyric seed":
        assert window.panels["lyric"].editor.toPlainText() == "x"  # the rest of the section still opens
    assert window.save_session()
    window.close()


@pytest.mark.parametrize("content", ["[1, 2]", '"text"', "null", '{"sections": "x"}', "{half"])
def test_a_project_file_of_the_wrong_shape_is_kept_aside_and_the_autosave_opens(qtbot, isolated_dirs, content) -> None:
    first = _open_window(qtbot)
    first.panels["lyric"].editor.setPlainText("Kept words")
    first.close()
    folder = data_dir() / "session"
    (folder / "project.json").write_text(content)
    second = _open_window(qtbot)
    assert second.panels["lyric"].editor.toPlainText() == "Kept words"
    message = second.statusBar().currentMessage()
    assert "project.json.bad" in message and "autosave of" in message
    assert (folder / "project.json.bad").read_text() == content
    second.close()


def test_a_damaged_project_on_a_read_only_folder_opens_read_only(qtbot, isolated_dirs) -> None:
    folder = isolated_dirs / "song"
    project = Project.create(folder)
    project.set_section("lyric", {"schema": 3, "text": "Words on a read-only disk"})
    project.save()
    (folder / "project.json").write_text("{damaged")
    with _read_only_folder(folder):
        opened = Project.open(folder)
        window = _open_window(qtbot, opened)
        assert window.context.session.read_only and "[read-only]" in window.windowTitle()
        assert window.panels["lyric"].editor.toPlainText() == "Words on a read-only disk"  # from the autosave
        assert "read-only" in window.statusBar().currentMessage()
        assert window.save_session() is False
        window.close()
        assert (folder / "project.json").read_text() == "{damaged"  # never replaced, never deleted


def test_a_full_disk_keeps_the_last_autosave_and_tells_the_user_once(qtbot, isolated_dirs) -> None:
    """RLIMIT_FSIZE fails every write past 200 KB with EFBIG, as a full disk fails with ENOSPC."""
    window = _open_window(qtbot)
    editor = window.panels["lyric"].editor
    editor.setPlainText("la la la\n" * 40_000)  # project.json is about 400 KB
    assert window.save_session()
    path = window.context.session.path
    saved = path.read_bytes()
    editor.setPlainText("lost la\n" * 40_000)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    limits = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, limits[1]))
    try:
        assert window.save_session() is False
        assert window.save_session() is False
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limits)
        signal.signal(signal.SIGXFSZ, old_handler)
    assert path.read_bytes() == saved
    assert not [p for p in path.parent.rglob("*") if is_temp(p) or p.name.startswith(".tmp-")]
    boxes = [box for box in window.findChildren(QMessageBox, "atelier-error") if "could not save" in box.text()]
    assert len(boxes) == 1 and "last good autosave" in boxes[0].text()  # one box, not one per autosave
    assert "could not save" in window.statusBar().currentMessage()
    assert window.save_session()  # space again: saving goes on
    assert path.read_bytes() != saved
    window.close()
