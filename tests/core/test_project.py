"""Projects: folders readable without Atelier, the untitled project migrated from today's session,
damaged project files set aside, Save As copying everything, and the recent-projects list."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from atelier.core.errors import InputFileError
from atelier.core.project import MAX_RECENT, LockOutcome, Project, recent_projects, remember_project
from atelier.core.requests.lineart import LineArtRequest, LineArtResult
from atelier.core.session_store import SessionStore
from atelier.core.settings import data_dir


def add_result(project: Project) -> str:
    picture = np.full((16, 16, 3), 200, np.uint8)
    result = LineArtResult(lines=np.full((16, 16), 255, np.uint8))
    return project.history.add(LineArtRequest(image=picture), result, created=time.time()).id


def test_create_save_and_open_again(tmp_path: Path) -> None:
    folder = tmp_path / "songs" / "river"
    project = Project.create(folder)
    assert project.name == "river" and not project.untitled and project.problem == ""
    project.set_section("lyric", {"schema": 2, "text": "I walked along the river"})
    Image.fromarray(np.zeros((4, 4, 4), np.uint8)).save(project.side_file("sketch.png"))
    entry_id = add_result(project)
    project.save()

    data = json.loads((folder / "project.json").read_text(encoding="utf-8"))
    assert data["schema"] == 1 and data["app"] == "atelier" and data["app_version"]
    assert data["created"] <= data["modified"] and data["sections"]["lyric"]["text"] == "I walked along the river"
    assert (folder / "layers" / "sketch.png").is_file() and (folder / "history" / entry_id / "entry.json").is_file()

    again = Project.open(folder)
    assert again.section("lyric") == {"schema": 2, "text": "I walked along the river"}
    assert again.section("missing") == {} and again.created == data["created"]
    assert [e.id for e in again.history.entries()] == [entry_id]
    with pytest.raises(ValueError, match="plain file name"):
        again.side_file("../escape.png")


def test_open_refuses_what_is_not_a_project(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="There is no folder") as missing:
        Project.open(tmp_path / "nowhere")
    assert "File → New Project" in missing.value.user_message()
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.jpg").write_bytes(b"jpeg")
    with pytest.raises(InputFileError, match="is not an Atelier project"):
        Project.open(tmp_path / "photos")


def test_create_refuses_a_non_empty_folder_and_an_existing_project(tmp_path: Path) -> None:
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.jpg").write_bytes(b"jpeg")
    with pytest.raises(InputFileError, match="not empty") as refused:
        Project.create(tmp_path / "photos")
    assert "empty folder" in refused.value.user_message()
    assert [p.name for p in (tmp_path / "photos").iterdir()] == ["cat.jpg"]  # nothing mixed in
    Project.create(tmp_path / "song")
    with pytest.raises(InputFileError, match="already holds an Atelier project"):
        Project.create(tmp_path / "song")
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(InputFileError, match="is a file"):
        Project.create(tmp_path / "a-file")
    (tmp_path / "mac").mkdir()
    (tmp_path / "mac" / ".DS_Store").write_bytes(b"\0")
    assert Project.create(tmp_path / "mac").path.is_file()  # only the system's own files: empty


@pytest.mark.parametrize("content", ["{broken", "[1, 2]", '"text"', "null", '{"sections": [1]}', "\xff\xfe"])
def test_damaged_project_file_is_kept_aside_and_the_newest_autosave_opens(tmp_path: Path, content: str) -> None:
    project = Project.create(tmp_path / "p")
    project.set_section("lyric", {"text": "kept"})
    project.save()
    saved_at = project.modified
    entry_id = add_result(project)
    (tmp_path / "p" / "project.json").write_bytes(content.encode("latin-1"))

    opened = Project.open(tmp_path / "p")
    assert opened.section("lyric") == {"text": "kept"} and "project.json.bad" in opened.problem
    assert time.strftime("%H:%M:%S", time.localtime(saved_at)) in opened.problem  # says from when
    assert (tmp_path / "p" / "project.json.bad").read_bytes() == content.encode("latin-1")
    assert [e.id for e in opened.history.entries()] == [entry_id]  # the history is untouched
    # The good copy was put back as project.json: the next open needs no fallback.
    assert Project.open(tmp_path / "p").problem == ""
    (tmp_path / "p" / "project.json").write_text("{again")
    second = Project.open(tmp_path / "p")
    assert "project.json.bad.2" in second.problem and second.section("lyric") == {"text": "kept"}
    assert (tmp_path / "p" / "project.json.bad").read_bytes() == content.encode("latin-1")  # never overwritten
    assert (tmp_path / "p" / "project.json.bad.2").read_text() == "{again"


def test_damaged_project_file_without_autosaves_opens_empty(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "project.json").write_text("{broken")
    opened = Project.open(folder)
    assert opened.section("lyric") == {} and "opened empty" in opened.problem
    assert (folder / "project.json.bad").read_text() == "{broken" and not (folder / "project.json").exists()


def test_newer_schema_opens_with_a_warning_and_keeps_unknown_keys(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    data = {"schema": 9, "app_version": "9.0", "sections": {"lyric": {"text": "x"}}, "future": [1, 2]}
    (folder / "project.json").write_text(json.dumps(data))
    project = Project.open(folder)
    assert "newer Atelier" in project.problem and project.section("lyric") == {"text": "x"}
    project.save()
    assert json.loads((folder / "project.json").read_text())["future"] == [1, 2]


def today_session(folder: Path) -> dict:
    """A session folder exactly as today's SessionStore left it."""
    folder.mkdir(parents=True)
    sections = {
        "sketch": {"prompt": "a lighthouse", "steps": 20, "canvas_size": [512, 512]},
        "lyric": {"text": "I walked along the river", "mode": "song"},
        "palette": {"colors": ["#1b2a41", "#c9a227", "#e4572e"], "locked": [0]},
    }
    (folder / "session.json").write_text(json.dumps(sections, indent=1), encoding="utf-8")
    Image.fromarray(np.full((8, 8, 4), 77, np.uint8)).save(folder / "sketch.png")
    return sections


def test_untitled_migrates_todays_session(isolated_dirs: Path) -> None:
    folder = data_dir() / "session"
    sections = today_session(folder)
    project = Project.untitled()
    assert project.untitled and project.name == "Untitled" and project.folder == folder and project.problem == ""
    for name, section in sections.items():
        assert project.section(name) == section  # copied as they are; documents migrate their own formats
    assert not (folder / "sketch.png").exists()
    assert np.array_equal(np.asarray(Image.open(project.side_file("sketch.png"))), np.full((8, 8, 4), 77, np.uint8))
    assert not (folder / "session.json").exists()
    assert json.loads((folder / "session.json.migrated").read_text()) == sections
    assert json.loads((folder / "project.json").read_text())["sections"] == sections
    # Opening again reads the project; the migration does not run twice.
    again = Project.untitled()
    assert again.section("lyric") == sections["lyric"] and sorted(p.name for p in folder.iterdir()) == [
        "autosave",
        "layers",
        "project.json",
        "session.json.migrated",
    ]


def test_migration_cut_short_runs_again(tmp_path: Path) -> None:
    sections = today_session(tmp_path / "s")
    # As if the last run moved the sketch, then stopped before writing project.json.
    (tmp_path / "s" / "layers").mkdir()
    (tmp_path / "s" / "sketch.png").replace(tmp_path / "s" / "layers" / "sketch.png")
    project = Project.untitled(tmp_path / "s")
    assert project.section("palette") == sections["palette"] and project.side_file("sketch.png").is_file()


def test_damaged_session_is_kept_aside_on_migration(tmp_path: Path) -> None:
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "session.json").write_text("{broken")
    project = Project.untitled(tmp_path / "s")
    assert project.section("lyric") == {} and "session.json.bad" in project.problem
    assert (tmp_path / "s" / "session.json.bad").read_text() == "{broken"


def test_session_store_is_the_untitled_project(tmp_path: Path) -> None:
    sections = today_session(tmp_path / "s")
    store = SessionStore(tmp_path / "s")
    assert isinstance(store, Project) and store.untitled and store.section("lyric") == sections["lyric"]
    assert store.side_file("sketch.png") == tmp_path / "s" / "layers" / "sketch.png"
    store.set_section("lyric", {"text": "new"})
    store.save()
    assert Project.untitled(tmp_path / "s").section("lyric") == {"text": "new"}
    (tmp_path / "s" / "project.json").write_text("{broken")
    damaged = SessionStore(tmp_path / "s")
    assert damaged.section("lyric") == {"text": "new"} and "kept as project.json.bad" in damaged.problem


def test_untitled_folder_is_made_only_when_saved(isolated_dirs: Path) -> None:
    project = Project.untitled()
    assert project.section("sketch") == {} and not project.folder.exists()
    project.save()
    assert (data_dir() / "session" / "project.json").is_file()


def test_save_as_copies_sections_side_files_and_history(tmp_path: Path) -> None:
    source = Project.untitled(tmp_path / "session")
    source.set_section("palette", {"colors": ["#101010", "#202020", "#303030"]})
    Image.fromarray(np.full((8, 8, 4), 9, np.uint8)).save(source.side_file("sketch.png"))
    first = add_result(source)
    source.history.star(first)
    second = add_result(source)
    source.save()
    (source.history.folder / ".tmp-999-unfinished").mkdir()  # a write in progress is not copied
    source.set_section("lyric", {"text": "not saved yet, still copied"})

    copy = source.save_as(tmp_path / "projects" / "harbour")
    assert copy.name == "harbour" and not copy.untitled and copy.folder == (tmp_path / "projects" / "harbour")
    assert copy.section("lyric") == {"text": "not saved yet, still copied"}
    assert copy.section("palette") == {"colors": ["#101010", "#202020", "#303030"]}
    assert np.array_equal(np.asarray(Image.open(copy.side_file("sketch.png"))), np.full((8, 8, 4), 9, np.uint8))
    entries = {e.id: e for e in copy.history.entries()}
    assert set(entries) == {first, second} and entries[first].starred and not entries[second].starred
    assert copy.history.load_result(entries[second]).lines.shape == (16, 16)  # type: ignore[attr-defined]
    assert not (copy.history.folder / ".tmp-999-unfinished").exists()
    assert Project.open(copy.folder).section("lyric") == {"text": "not saved yet, still copied"}
    # The original is untouched and the staging folder is gone.
    assert source.folder.is_dir() and sorted(p.name for p in (tmp_path / "projects").iterdir()) == ["harbour"]


def test_save_as_refuses_a_busy_folder_or_one_inside_itself(tmp_path: Path) -> None:
    project = Project.create(tmp_path / "p")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(InputFileError, match="not empty"):
        project.save_as(tmp_path / "busy")
    with pytest.raises(InputFileError, match="inside the project"):
        project.save_as(tmp_path / "p" / "copy")
    (tmp_path / "empty").mkdir()
    assert project.save_as(tmp_path / "empty").path.is_file()
    assert project.save_as(tmp_path / "p") is project


def test_recent_projects_newest_first_at_most_ten_missing_dropped(isolated_dirs: Path) -> None:
    assert recent_projects() == []
    folders = [Project.create(isolated_dirs / f"p{i}").folder.resolve() for i in range(MAX_RECENT + 2)]
    for folder in folders:
        remember_project(folder)
    remember_project(folders[3])  # opened again: moves to the top, not listed twice
    recent = recent_projects()
    assert recent[0] == folders[3] and len(recent) == MAX_RECENT and len(set(recent)) == MAX_RECENT
    assert recent[1:4] == folders[-1:-4:-1]
    (folders[-1] / "project.json").unlink()
    assert folders[-1] not in recent_projects()
    (isolated_dirs / "config" / "recent.json").write_text("{damaged")
    assert recent_projects() == []
    remember_project(folders[0])
    assert recent_projects() == [folders[0]]


# -- autosaves, restore and the lock --------------------------------------------------------------
def _save_state(project: Project, number: int) -> None:
    project.set_section("lyric", {"text": f"state {number}"})
    project.write_side_file("sketch.png", _png(number))
    project.save()


def _png(value: int) -> bytes:
    import io

    buffer = io.BytesIO()
    Image.fromarray(np.full((8, 8, 4), value, np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_the_last_three_autosaves_are_kept_with_their_layers(tmp_path: Path) -> None:
    project = Project.create(tmp_path / "p")
    for number in range(1, 6):
        _save_state(project, number)
    autosaves = project.autosaves()
    assert [a.sections["lyric"]["text"] for a in autosaves] == ["state 5", "state 4", "state 3"]
    for autosave, number in zip(autosaves, (5, 4, 3), strict=True):
        assert (autosave.folder / "layers" / "sketch.png").read_bytes() == _png(number)
    assert sorted(p.name for p in (tmp_path / "p" / "autosave").iterdir()) == ["4", "5", "6"]  # 1 is create's
    # Project files and autosaves are the user's only.
    written = (tmp_path / "p" / "project.json", autosaves[0].folder / "project.json", project.side_file("sketch.png"))
    for path in written:
        assert path.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "p" / "autosave").stat().st_mode & 0o777 == 0o700


def test_an_unchanged_project_is_not_saved_again_and_an_unchanged_layer_is_shared(tmp_path: Path) -> None:
    project = Project.create(tmp_path / "p")
    _save_state(project, 1)
    before = project.autosaves()
    project.save()
    assert [a.number for a in project.autosaves()] == [a.number for a in before]
    project.set_section("lyric", {"text": "only the words changed"})
    project.save()
    newest, previous = project.autosaves()[:2]
    layer = newest.folder / "layers" / "sketch.png"
    assert layer.stat().st_ino == (previous.folder / "layers" / "sketch.png").stat().st_ino  # a hard link
    assert layer.read_bytes() == _png(1)


def test_a_damaged_newest_autosave_falls_back_to_the_next(tmp_path: Path) -> None:
    project = Project.create(tmp_path / "p")
    _save_state(project, 1)
    _save_state(project, 2)
    newest = project.autosaves()[0]
    (newest.folder / "project.json").write_text("{half")
    (tmp_path / "p" / "project.json").write_text("")
    opened = Project.open(tmp_path / "p")
    assert opened.section("lyric") == {"text": "state 1"} and "project.json.bad" in opened.problem


def test_restore_puts_an_autosave_back_and_sets_the_current_files_aside(tmp_path: Path) -> None:
    project = Project.create(tmp_path / "p")
    _save_state(project, 1)
    _save_state(project, 2)
    project.write_side_file("picture.png", _png(9))  # came after the last save
    project.set_section("lyric", {"text": "unsaved"})
    older = project.autosaves()[1]
    assert not project.matches(older) and not project.matches(project.autosaves()[0])
    aside = project.restore_autosave(older)
    assert project.section("lyric") == {"text": "state 1"} and project.matches(older)
    assert project.side_file("sketch.png").read_bytes() == _png(1)
    assert not project.side_file("picture.png").exists()
    assert Project.open(tmp_path / "p").section("lyric") == {"text": "state 1"}
    # Nothing is lost: what was there before is in the set-aside folder.
    assert json.loads((aside / "project.json").read_text())["sections"]["lyric"] == {"text": "state 2"}
    assert (aside / "layers" / "picture.png").read_bytes() == _png(9)
    assert (aside / "layers" / "sketch.png").read_bytes() == _png(2)
    assert aside.parent.name == "autosave" and aside.name.startswith("set-aside-")
    assert [a.number for a in Project.open(tmp_path / "p").autosaves()] == [a.number for a in project.autosaves()]


def test_a_second_lock_on_the_same_project_is_refused_and_saves_nothing(tmp_path: Path) -> None:
    first = Project.create(tmp_path / "p")
    assert first.lock().in_use_by is None and first.locked
    second = Project.open(tmp_path / "p")
    outcome = second.lock()
    assert outcome.in_use_by is not None and outcome.in_use_by.pid == os.getpid()
    assert second.read_only and "another Atelier" in second.read_only_reason
    second.set_section("lyric", {"text": "would overwrite"})
    with pytest.raises(InputFileError, match="read-only") as refused:
        second.save()
    assert "Save Project As" in refused.value.user_message()
    first.unlock()
    third = Project.open(tmp_path / "p")
    assert third.lock() == LockOutcome() and not third.read_only  # closed properly: no crash to report
    third.unlock()


def test_a_run_killed_with_the_project_open_is_noticed_and_its_temporaries_removed(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    Project.create(folder)
    script = (
        "import os, sys\n"
        "from atelier.core.project import Project\n"
        f"project = Project.open({str(folder)!r})\n"
        "project.lock()\n"
        "open(project.folder / 'layers' / '.sketch.png.1-x.atelier-tmp', 'wb').write(b'half')\n"
        "(project.folder / 'autosave' / '.tmp-1-x').mkdir()\n"
        "print('locked', flush=True)\n"
        "sys.stdin.read()\n"
    )
    (folder / "layers").mkdir()
    holder = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
    while_running = Project.open(folder).lock()
    assert while_running.in_use_by is not None and while_running.in_use_by.pid == holder.pid
    holder.kill()
    holder.wait(timeout=10)
    holder.stdin.close()  # type: ignore[union-attr]
    holder.stdout.close()
    after = Project.open(folder)
    outcome = after.lock()
    assert outcome.crashed is not None and outcome.crashed.pid == holder.pid and outcome.in_use_by is None
    assert f"process {holder.pid}" in outcome.crashed.describe()
    assert list((folder / "layers").iterdir()) == [] and [p.name for p in (folder / "autosave").iterdir()] == ["1"]
    after.unlock()
