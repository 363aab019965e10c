"""Projects: folders readable without Atelier, the untitled project migrated from today's session,
damaged project files set aside, Save As copying everything, and the recent-projects list."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from atelier.core.errors import InputFileError
from atelier.core.project import MAX_RECENT, Project, recent_projects, remember_project
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
def test_damaged_project_file_is_kept_aside(tmp_path: Path, content: str) -> None:
    project = Project.create(tmp_path / "p")
    project.set_section("lyric", {"text": "kept"})
    project.save()
    entry_id = add_result(project)
    (tmp_path / "p" / "project.json").write_bytes(content.encode("latin-1"))

    opened = Project.open(tmp_path / "p")
    assert opened.section("lyric") == {} and "project.json.bad" in opened.problem
    assert (tmp_path / "p" / "project.json.bad").read_bytes() == content.encode("latin-1")
    assert [e.id for e in opened.history.entries()] == [entry_id]  # the history is untouched
    # Still a project (its file was only set aside) until it is saved again.
    assert Project.open(tmp_path / "p").problem == ""
    (tmp_path / "p" / "project.json").write_text("{again")
    second = Project.open(tmp_path / "p")
    assert "project.json.bad.2" in second.problem
    assert (tmp_path / "p" / "project.json.bad").read_bytes() == content.encode("latin-1")  # never overwritten
    assert (tmp_path / "p" / "project.json.bad.2").read_text() == "{again"


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
    assert damaged.section("lyric") == {} and "kept as project.json.bad" in damaged.problem


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
