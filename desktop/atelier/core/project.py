"""A project: a folder readable without Atelier (project.json, layers/*.png, history/<id>/...).

The autosaved session is the untitled project; today's session folder is migrated into one on first use.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any, Protocol, overload

from atelier import __version__
from atelier.core.errors import InputFileError
from atelier.core.history import MidiWriter, ProjectHistory, write_file_atomic
from atelier.core.settings import config_dir, data_dir

SCHEMA = 1
PROJECT_FILE = "project.json"
LAYERS = "layers"
HISTORY = "history"
UNTITLED_NAME = "Untitled"
MAX_RECENT = 10
# Files an operating system drops into any folder it shows; a folder holding only these is empty.
_SYSTEM_FILES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
# The keys project.json has; any others (from a newer Atelier) are kept as they are when saving.
_KNOWN_KEYS = frozenset({"schema", "app", "app_version", "created", "modified", "sections"})
_NOT_A_PROJECT_HINT = "Choose a folder made with File → New Project (it has a project.json), or make a new project."
_EMPTY_FOLDER_HINT = "Choose an empty folder, or type a name for a new one."


class _UntitledFactory(Protocol):
    def __call__(self, folder: Path | None = None, *, midi_writer: MidiWriter | None = None) -> Project: ...


class _Untitled:
    """`Project.untitled()` opens the untitled project; `project.untitled` says whether a project is it.

    One name does both because the window uses both; the descriptor keeps each use typed."""

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> _UntitledFactory: ...
    @overload
    def __get__(self, instance: Project, owner: type[Any]) -> bool: ...
    def __get__(self, instance: Project | None, owner: type[Any]) -> _UntitledFactory | bool:
        if instance is None:
            return Project._open_untitled
        return instance._is_untitled


class Project:
    """Panel sections, side files and a lasting history in one folder. Prefer open/create/untitled."""

    untitled = _Untitled()

    def __init__(self, folder: Path, *, untitled: bool = False, midi_writer: MidiWriter | None = None) -> None:
        """Loads what is at `folder` (nothing yet: an empty project); a damaged project.json is set aside."""
        self.folder = Path(folder)
        self.path = self.folder / PROJECT_FILE
        self._is_untitled = untitled
        self.name = UNTITLED_NAME if untitled else (self.folder.resolve().name or str(self.folder))
        self.problem = ""  # a non-fatal problem found on open, for the status bar
        self.created = time.time()
        self.modified = self.created
        self._sections: dict[str, Any] = {}
        self._extra: dict[str, Any] = {}
        self.history = ProjectHistory(self.folder / HISTORY, midi_writer=midi_writer)
        if self.path.exists():
            self._load()

    def _load(self) -> None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or not isinstance(data.get("sections", {}), dict):
                raise ValueError(f"it holds {type(data.get('sections') if isinstance(data, dict) else data).__name__}")
        except (OSError, ValueError) as exc:
            # Keep the damaged file for the user (never over an older one) and open the project empty.
            bad = _free_path(self.path.with_name(PROJECT_FILE + ".bad"))
            try:
                self.path.replace(bad)
            except OSError as move_error:
                raise InputFileError(
                    f"The project file {self.path} cannot be read ({exc}) or set aside ({move_error}).",
                    "Check the folder's permissions, or copy the project somewhere you can write.",
                ) from exc
            self.problem = (
                f"The project file {self.path} could not be read ({exc}); it was kept as {bad.name} "
                "and the project opened empty (its layers and history are untouched)."
            )
            return
        self._sections = data.get("sections", {})
        self._extra = {key: value for key, value in data.items() if key not in _KNOWN_KEYS}
        for key in ("created", "modified"):
            if isinstance(data.get(key), (int, float)):
                setattr(self, key, float(data[key]))
        schema = data.get("schema", SCHEMA)
        if isinstance(schema, int) and schema > SCHEMA:
            self.problem = (
                f"{self.folder} was saved by a newer Atelier ({data.get('app_version', '?')}); "
                "what this version does not know may be lost if you save here. Save As to keep the original."
            )

    # -- opening -------------------------------------------------------------------------------
    @classmethod
    def open(cls, folder: Path, *, midi_writer: MidiWriter | None = None) -> Project:
        folder = Path(folder).expanduser()
        if not folder.is_dir():
            raise InputFileError(f"There is no folder {folder}.", _NOT_A_PROJECT_HINT)
        if not is_project(folder):
            raise InputFileError(f"{folder} is not an Atelier project (it has no {PROJECT_FILE}).", _NOT_A_PROJECT_HINT)
        return cls(folder, midi_writer=midi_writer)

    @classmethod
    def create(cls, folder: Path, *, midi_writer: MidiWriter | None = None) -> Project:
        """A new empty project in `folder`, which must be absent or empty (nothing else is mixed in)."""
        folder = Path(folder).expanduser()
        _check_free(folder)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputFileError(f"Cannot make the project folder {folder} ({exc}).", _EMPTY_FOLDER_HINT) from exc
        project = cls(folder, midi_writer=midi_writer)
        project.save()
        return project

    @staticmethod
    def _open_untitled(folder: Path | None = None, *, midi_writer: MidiWriter | None = None) -> Project:
        folder = Path(folder) if folder is not None else untitled_folder()
        problem = migrate_session(folder)
        project = Project(folder, untitled=True, midi_writer=midi_writer)
        project.problem = problem or project.problem
        return project

    # -- contents ------------------------------------------------------------------------------
    def section(self, name: str) -> dict[str, Any]:
        value = self._sections.get(name, {})
        return value if isinstance(value, dict) else {}

    def set_section(self, name: str, data: dict[str, Any]) -> None:
        self._sections[name] = data

    def side_file(self, name: str) -> Path:
        """Where a panel keeps a file beside its section, e.g. "sketch.png" -> layers/sketch.png."""
        if not name or Path(name).name != name:
            raise ValueError(f"A side file is a plain file name, not '{name}'.")
        layers = self.folder / LAYERS
        layers.mkdir(parents=True, exist_ok=True)
        return layers / name

    def save(self) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.modified = time.time()
        data = {
            "schema": SCHEMA,
            "app": "atelier",
            "app_version": __version__,
            "created": self.created,
            "modified": self.modified,
            **self._extra,
            "sections": self._sections,
        }
        write_file_atomic(self.path, json.dumps(data, indent=1, ensure_ascii=False).encode("utf-8"))
        return self.path

    def save_as(self, folder: Path) -> Project:
        """A copy of this project (sections as they are now, side files, history) in `folder`, opened."""
        target = Path(folder).expanduser()
        here = self.folder.resolve()
        there = target.resolve()
        if there == here:
            self.save()
            return self
        if there.is_relative_to(here):
            raise InputFileError(f"{target} is inside the project being saved.", "Choose a folder outside it.")
        _check_free(target)
        # Built beside the target and renamed into place, so an interrupted copy is never taken for a project.
        there.parent.mkdir(parents=True, exist_ok=True)
        staging = there.parent / f".{there.name}.atelier-{uuid.uuid4().hex[:8]}"
        try:
            staging.mkdir()
            for part in (LAYERS, HISTORY):
                source = self.folder / part
                if source.is_dir():
                    shutil.copytree(source, staging / part, ignore=_skip_unfinished)
            copy_project = Project(staging, midi_writer=self.history.midi_writer)
            copy_project._sections = copy.deepcopy(self._sections)
            copy_project._extra = copy.deepcopy(self._extra)
            copy_project.created = self.created
            copy_project.save()
            if there.exists():
                for name in _SYSTEM_FILES:
                    (there / name).unlink(missing_ok=True)
                there.rmdir()
            os.rename(staging, there)
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise InputFileError(f"Cannot save the project as {target} ({exc}).", _EMPTY_FOLDER_HINT) from exc
        return Project.open(there, midi_writer=self.history.midi_writer)


def _skip_unfinished(folder: str, names: list[str]) -> list[str]:
    """History entries still being written (or deleted) are not part of the copy."""
    return [name for name in names if name.startswith(".tmp-")]


def is_project(folder: Path) -> bool:
    """A folder with project.json (or one whose damaged project.json was set aside as .bad)."""
    return (folder / PROJECT_FILE).is_file() or any(folder.glob(PROJECT_FILE + ".bad*"))


def _check_free(folder: Path) -> None:
    """Refuse a folder a new project cannot go into: a file, another project, or someone's other files."""
    if not folder.exists():
        return
    if not folder.is_dir():
        raise InputFileError(f"{folder} is a file, not a folder.", _EMPTY_FOLDER_HINT)
    if is_project(folder):
        raise InputFileError(
            f"{folder} already holds an Atelier project.", "Open it instead, or choose an empty folder."
        )
    if any(path.name not in _SYSTEM_FILES for path in folder.iterdir()):
        raise InputFileError(f"{folder} is not empty and is not an Atelier project.", _EMPTY_FOLDER_HINT)


def _free_path(path: Path) -> Path:
    """`path`, or path.2, path.3, ... : the first name not taken, so nothing older is overwritten."""
    if not path.exists():
        return path
    number = 2
    while path.with_name(f"{path.name}.{number}").exists():
        number += 1
    return path.with_name(f"{path.name}.{number}")


# -- the untitled project (the autosaved session) --------------------------------------------------
def untitled_folder() -> Path:
    return data_dir() / "session"


def migrate_session(folder: Path) -> str:
    """Turn today's session folder (session.json + sketch.png) into a project; a problem line or ""."""
    old = folder / "session.json"
    if (folder / PROJECT_FILE).exists() or not old.is_file():
        return ""
    try:
        sections = json.loads(old.read_text(encoding="utf-8"))
        if not isinstance(sections, dict):
            raise ValueError(f"it holds {type(sections).__name__}, not panel sections")
    except (OSError, ValueError) as exc:
        bad = _free_path(folder / "session.json.bad")
        old.replace(bad)
        return f"The saved session {old} could not be read ({exc}); it was kept as {bad.name}."
    # Side files move first and session.json is renamed last: a migration cut short runs again.
    for picture in sorted(folder.glob("*.png")):
        target = folder / LAYERS / picture.name
        if not target.exists():
            target.parent.mkdir(exist_ok=True)
            picture.replace(target)
    project = Project(folder, untitled=True)
    project._sections = sections  # the panels' documents migrate their own section formats
    project.created = old.stat().st_mtime
    project.save()
    old.replace(_free_path(folder / "session.json.migrated"))
    return ""


# -- recent projects --------------------------------------------------------------------------------
def _recent_path() -> Path:
    return config_dir() / "recent.json"


def _read_recent() -> list[Path]:
    try:
        data = json.loads(_recent_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []  # no list yet, or a damaged one: it is only a convenience, start again
    if not isinstance(data, list):
        return []
    return [Path(item) for item in data if isinstance(item, str)]


def recent_projects() -> list[Path]:
    """Projects opened lately, newest first; ones moved or deleted since are left out."""
    return [folder for folder in _read_recent() if (folder / PROJECT_FILE).is_file()][:MAX_RECENT]


def remember_project(folder: Path) -> None:
    folder = Path(folder).expanduser().resolve()
    kept = [folder] + [other for other in recent_projects() if other != folder]
    path = _recent_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_file_atomic(path, json.dumps([str(p) for p in kept[:MAX_RECENT]], indent=1).encode("utf-8"))
