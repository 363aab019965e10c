"""A project: a folder readable without Atelier (project.json, layers/*.png, history/<id>/, autosave/<n>/).

Every save writes atomically and keeps the last autosaves; a lock file notices a run that crashed.
The autosaved session is the untitled project; today's session folder is migrated into one on first use.
"""

from __future__ import annotations

import contextlib
import copy
import filecmp
import json
import os
import shutil
import socket
import sys
import tempfile
import time
import uuid
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, overload

from atelier import __version__
from atelier.core.atomic_files import fsync_folder, is_temp, remove_stale_temps, write_atomic
from atelier.core.errors import InputFileError
from atelier.core.history import MidiWriter, ProjectHistory
from atelier.core.settings import config_dir, data_dir

SCHEMA = 1
PROJECT_FILE = "project.json"
LAYERS = "layers"
HISTORY = "history"
AUTOSAVE = "autosave"
KEEP_AUTOSAVES = 3
LOCK_FILE = ".atelier-lock"
# A folder in autosave/ being written or deleted; a snapshot appears only when renamed to its number.
_AUTOSAVE_TMP = ".tmp-"
# A layer file's inode, size, mtime and ctime (ns): writing it again, atomically or in place, changes one.
_Stamp = tuple[int, int, int, int]
# The files a project set aside (never deleted): what was open before an autosave was restored.
SET_ASIDE = "set-aside"
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


@dataclass(frozen=True)
class Autosave:
    """One kept copy of a project as it was saved: project.json and the layers beside it."""

    folder: Path
    number: int  # higher is newer
    saved: float  # when it was saved (seconds since the epoch)
    data: dict[str, Any]  # its project.json

    @property
    def sections(self) -> dict[str, Any]:
        sections = self.data.get("sections", {})
        return sections if isinstance(sections, dict) else {}

    def describe(self) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.saved))


@dataclass(frozen=True)
class LockOwner:
    """Who holds (or held) a project's lock."""

    pid: int
    host: str
    started: float

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.started)) if self.started else "an unknown time"
        where = f" on {self.host}" if self.host and self.host != socket.gethostname() else ""
        return f"process {self.pid}{where}, started {when}"


@dataclass(frozen=True)
class LockOutcome:
    """What taking a project's lock found: a run that ended without closing it, or one that still has it."""

    crashed: LockOwner | None = None
    in_use_by: LockOwner | None = None


def _read_project_data(path: Path) -> dict[str, Any]:
    """project.json's contents; ValueError (or OSError) with the reason when it is not a project file."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"it holds {type(data).__name__}, not a project")
    if not isinstance(data.get("sections", {}), dict):
        raise ValueError(f"its sections are {type(data['sections']).__name__}, not panel sections")
    return data


class Project:
    """Panel sections, side files and a lasting history in one folder. Prefer open/create/untitled."""

    untitled = _Untitled()

    def __init__(self, folder: Path, *, untitled: bool = False, midi_writer: MidiWriter | None = None) -> None:
        """Loads what is at `folder` (nothing yet: an empty project); a damaged project.json is set aside
        and the newest good autosave is opened instead."""
        self.folder = Path(folder)
        self.path = self.folder / PROJECT_FILE
        self._is_untitled = untitled
        self.name = UNTITLED_NAME if untitled else (self.folder.resolve().name or str(self.folder))
        self.problem = ""  # a non-fatal problem found on open, for the status bar
        # Set when saving here could destroy something (a damaged file that could not be set aside, or
        # another Atelier has the project open): save() refuses and says why.
        self.read_only_reason = ""
        self.created = time.time()
        self.modified = self.created
        self._sections: dict[str, Any] = {}
        self._extra: dict[str, Any] = {}
        self._lock_descriptor: int | None = None
        self._scratch: Path | None = None  # side files of a project open read-only
        # What the last save wrote (project.json without its time, and each layer's size and mtime with
        # its copy in the autosave): an autosave of nothing new is skipped, an unchanged layer is linked.
        self._last_saved: tuple[bytes, dict[str, _Stamp]] | None = None
        self._layer_copies: dict[str, tuple[int, int, int, int, Path]] = {}
        self.history = ProjectHistory(self.folder / HISTORY, midi_writer=midi_writer)
        if self.path.exists():
            self._load()
        elif self.newest_good_autosave() is not None:
            self._open_autosave(f"The project file {self.path} is missing")

    @property
    def read_only(self) -> bool:
        return bool(self.read_only_reason)

    def _load(self) -> None:
        try:
            data = _read_project_data(self.path)
        except (OSError, ValueError) as exc:
            self._set_aside_damaged(exc)
            return
        self._take(data)
        schema = data.get("schema", SCHEMA)
        if isinstance(schema, int) and schema > SCHEMA:
            self.problem = (
                f"{self.folder} was saved by a newer Atelier ({data.get('app_version', '?')}); "
                "what this version does not know may be lost if you save here. Save As to keep the original."
            )

    def _take(self, data: dict[str, Any]) -> None:
        self._sections = data.get("sections", {})
        self._extra = {key: value for key, value in data.items() if key not in _KNOWN_KEYS}
        for key in ("created", "modified"):
            if isinstance(data.get(key), (int, float)) and not isinstance(data.get(key), bool):
                setattr(self, key, float(data[key]))

    def _set_aside_damaged(self, exc: Exception) -> None:
        """Keep the damaged file for the user (never over an older one) and open the newest good autosave."""
        bad = _free_path(self.path.with_name(PROJECT_FILE + ".bad"))
        try:
            self.path.replace(bad)
        except OSError as move_error:
            # Saving would overwrite the only copy of what the damaged file held: this run does not save here.
            self.read_only_reason = (
                f"its damaged project file could not be set aside ({move_error.strerror or move_error})"
            )
            what = f"The project file {self.path} could not be read ({exc}) nor set aside ({move_error})"
            kept = "it was left as it is and the project is open read-only: use Save Project As to keep your work"
        else:
            what = f"The project file {self.path} could not be read ({exc})"
            kept = f"it was kept as {bad.name}"
            autosave = self.newest_good_autosave()
            if autosave is not None:  # the project is whole again: the next open needs no fallback
                with contextlib.suppress(OSError):
                    write_atomic(self.path, (autosave.folder / PROJECT_FILE).read_bytes(), private=True)
        self._open_autosave(what, kept)

    def _open_autosave(self, what: str, kept: str = "") -> None:
        autosave = self.newest_good_autosave()
        if autosave is not None:
            self._take(autosave.data)
            opened = f"the project opened from its autosave of {autosave.describe()}"
        else:
            opened = "the project opened empty (its layers and history are untouched)"
        self.problem = f"{what}; {kept + ' and ' if kept else ''}{opened}."

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
        old = folder / "session.json"
        if problem and old.is_file() and not project.path.exists():
            # The old session could not be moved (a read-only folder): show it, and write nothing over it.
            with contextlib.suppress(OSError, ValueError):
                project._sections = _read_old_session(old)
            project.read_only_reason = "its saved session could not be turned into a project"
            project.problem += " It is open read-only: use Save Project As to keep your work."
        return project

    # -- contents ------------------------------------------------------------------------------
    def section(self, name: str) -> dict[str, Any]:
        value = self._sections.get(name, {})
        return value if isinstance(value, dict) else {}

    def set_section(self, name: str, data: dict[str, Any]) -> None:
        self._sections[name] = data

    def side_file(self, name: str) -> Path:
        """Where a panel keeps a file beside its section, e.g. "sketch.png" -> layers/sketch.png.

        In a project open read-only it is a copy in a scratch folder: panels read what the project holds
        and write where nothing of the project is overwritten (Save As takes those copies along)."""
        if not name or Path(name).name != name or is_temp(Path(name)):
            raise ValueError(f"A side file is a plain file name, not '{name}'.")
        layers = self.folder / LAYERS
        if self.read_only:
            copy_path = self._scratch_folder() / name
            if not copy_path.exists() and (layers / name).is_file():
                with contextlib.suppress(OSError):
                    shutil.copyfile(layers / name, copy_path)
            return copy_path
        # A read-only folder still opens; writing there fails later, where the failure is reported.
        with contextlib.suppress(OSError):
            layers.mkdir(parents=True, exist_ok=True)
        return layers / name

    def write_side_file(self, name: str, data: bytes) -> Path:
        """Write a panel's side file atomically and user-only (a crash keeps the previous one whole)."""
        return write_atomic(self.side_file(name), data, private=True)

    def _scratch_folder(self) -> Path:
        if self._scratch is None:
            self._scratch = Path(tempfile.mkdtemp(prefix="atelier-read-only-"))
            weakref.finalize(self, shutil.rmtree, self._scratch, True)
        return self._scratch

    def _read_only_error(self) -> InputFileError:
        return InputFileError(
            f"{self.folder} is open read-only: {self.read_only_reason}.",
            "Use File → Save Project As to keep your work in another folder.",
        )

    def save(self) -> Path:
        """Write project.json atomically and keep it, with the layers, as the newest autosave (the last
        KEEP_AUTOSAVES are kept). When nothing changed since the last save nothing is written.

        Raises OSError when the disk refuses (the previous files stay whole) and InputFileError when the
        project is open read-only."""
        if self.read_only:
            raise self._read_only_error()
        self.folder.mkdir(parents=True, exist_ok=True)
        body = {"created": self.created, **self._extra, "sections": self._sections}
        content = json.dumps(body, sort_keys=True, ensure_ascii=False).encode("utf-8")
        layers = self._layer_stamps()
        if self._last_saved == (content, layers) and self.path.is_file():
            return self.path
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
        payload = json.dumps(data, indent=1, ensure_ascii=False).encode("utf-8")
        write_atomic(self.path, payload, private=True)
        self._keep_autosave(payload, layers)
        self._last_saved = (content, layers)
        return self.path

    # -- autosaves -----------------------------------------------------------------------------
    def _layer_stamps(self) -> dict[str, _Stamp]:
        """Each layer file's inode, size and times: a file written again (atomically or not) changes them."""
        stamps: dict[str, _Stamp] = {}
        with contextlib.suppress(OSError):
            for path in sorted((self.folder / LAYERS).iterdir()):
                with contextlib.suppress(OSError):
                    if path.is_file() and not is_temp(path):
                        info = path.stat()
                        stamps[path.name] = (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
        return stamps

    def _keep_autosave(self, payload: bytes, layers: dict[str, _Stamp]) -> None:
        """Copy project.json and the layers into autosave/<n>, built in a hidden folder and renamed into
        place, so an autosave is always whole; then only the newest KEEP_AUTOSAVES stay."""
        root = self.folder / AUTOSAVE
        root.mkdir(mode=0o700, exist_ok=True)
        tmp = root / f"{_AUTOSAVE_TMP}{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir(mode=0o700)
        try:
            _write_synced(tmp / PROJECT_FILE, payload)
            copied: dict[str, _Stamp] = {}
            if layers:
                (tmp / LAYERS).mkdir(mode=0o700)
            for name, stamp in layers.items():
                target = tmp / LAYERS / name
                earlier = self._layer_copies.get(name)
                # Autosave files are never written in place, so an unchanged layer can share the last copy.
                if earlier is not None and earlier[:4] == stamp and _link(earlier[4], target):
                    copied[name] = stamp
                    continue
                with contextlib.suppress(FileNotFoundError):  # removed since it was listed: not in this save
                    _copy_synced(self.folder / LAYERS / name, target)
                    copied[name] = stamp
            if layers:
                fsync_folder(tmp / LAYERS)
            fsync_folder(tmp)
            number = max((autosave_number(path) for path in root.iterdir()), default=0) + 1
            while True:
                final = root / str(number)
                try:
                    os.rename(tmp, final)
                    break
                except OSError:
                    if not final.exists():
                        raise
                    number += 1  # another writer took this number: take the next one
            fsync_folder(root)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self._layer_copies = {name: (*stamp, final / LAYERS / name) for name, stamp in copied.items()}
        self._prune_autosaves(root)

    def _prune_autosaves(self, root: Path) -> None:
        numbered = sorted((p for p in root.iterdir() if autosave_number(p) > 0), key=autosave_number)
        for old in numbered[:-KEEP_AUTOSAVES]:
            # Renamed out of the listing first, so a deletion cut short never leaves half an autosave.
            doomed = root / f"{_AUTOSAVE_TMP}deleted-{old.name}-{uuid.uuid4().hex[:8]}"
            with contextlib.suppress(OSError):
                os.rename(old, doomed)
                shutil.rmtree(doomed, ignore_errors=True)

    def autosaves(self) -> list[Autosave]:
        """The kept autosaves whose project.json reads, newest first."""
        root = self.folder / AUTOSAVE
        found: list[Autosave] = []
        with contextlib.suppress(OSError):
            for folder in root.iterdir():
                number = autosave_number(folder)
                if number <= 0:
                    continue
                try:
                    data = _read_project_data(folder / PROJECT_FILE)
                except (OSError, ValueError):
                    continue  # a damaged copy is skipped: the next older one is used
                saved = data.get("modified")
                if not isinstance(saved, (int, float)) or isinstance(saved, bool):
                    saved = (folder / PROJECT_FILE).stat().st_mtime
                found.append(Autosave(folder, number, float(saved), data))
        return sorted(found, key=lambda autosave: autosave.number, reverse=True)

    def newest_good_autosave(self) -> Autosave | None:
        autosaves = self.autosaves()
        return autosaves[0] if autosaves else None

    def matches(self, autosave: Autosave) -> bool:
        """Whether what is open (sections and layer files) is exactly what `autosave` holds."""
        if self._sections != autosave.sections:
            return False
        here, there = self.folder / LAYERS, autosave.folder / LAYERS
        names = set(self._layer_stamps())
        theirs = {p.name for p in there.iterdir() if p.is_file()} if there.is_dir() else set()
        if names != theirs:
            return False
        try:
            return all(filecmp.cmp(here / name, there / name, shallow=False) for name in names)
        except OSError:
            return False

    def restore_autosave(self, autosave: Autosave) -> Path:
        """Put `autosave` back as the project's state; what was there (project.json and layers) is copied
        to autosave/set-aside-<time>/ first and that folder returned: nothing is lost.

        Each file is replaced atomically; a restore cut short leaves the lock behind, and is offered again."""
        if self.read_only:
            raise self._read_only_error()
        aside = self._set_aside_current()
        layers = self.folder / LAYERS
        source = autosave.folder / LAYERS
        wanted = sorted(p.name for p in source.iterdir() if p.is_file()) if source.is_dir() else []
        if wanted:
            layers.mkdir(parents=True, exist_ok=True)
        for name in wanted:
            write_atomic(layers / name, (source / name).read_bytes(), private=True)
        if layers.is_dir():
            for path in layers.iterdir():
                if path.is_file() and path.name not in wanted:
                    path.unlink()  # not part of that state; its copy is in the set-aside folder
        write_atomic(self.path, (autosave.folder / PROJECT_FILE).read_bytes(), private=True)
        self._take(autosave.data)
        self._last_saved = None
        return aside

    def _set_aside_current(self) -> Path:
        root = self.folder / AUTOSAVE
        root.mkdir(mode=0o700, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        tmp = root / f"{_AUTOSAVE_TMP}{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir(mode=0o700)
        try:
            if self.path.is_file():
                _copy_synced(self.path, tmp / PROJECT_FILE)
            layers = self.folder / LAYERS
            if layers.is_dir():
                (tmp / LAYERS).mkdir(mode=0o700)
                for path in layers.iterdir():
                    if path.is_file() and not is_temp(path):
                        _copy_synced(path, tmp / LAYERS / path.name)
            target = _free_path(root / f"{SET_ASIDE}-{stamp}")
            os.rename(tmp, target)
            fsync_folder(root)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return target

    # -- the lock: one Atelier at a time, and a crash noticed -------------------------------------
    def lock(self) -> LockOutcome:
        """Take the project's lock file (its content: this process id, host and start time).

        Another running Atelier holding it makes this project read-only here (`in_use_by`); a lock left
        by a run that ended without closing the project is reported as `crashed`, and the temporary files
        that run left are removed. A folder that cannot hold a lock (read-only) is opened unlocked."""
        if self._lock_descriptor is not None:
            return LockOutcome()
        path = self.folder / LOCK_FILE
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            descriptor, earlier, other = _take_lock(path)
        except OSError:
            return LockOutcome()
        if other is not None:
            self.read_only_reason = f"another Atelier ({other.describe()}) has it open"
            return LockOutcome(in_use_by=other)
        assert descriptor is not None
        self._lock_descriptor = descriptor
        if earlier is None:
            return LockOutcome()
        for folder in (self.folder, self.folder / LAYERS):
            remove_stale_temps(folder)
        with contextlib.suppress(OSError):
            for path in (self.folder / AUTOSAVE).iterdir():
                if path.name.startswith(_AUTOSAVE_TMP):
                    shutil.rmtree(path, ignore_errors=True)
        return LockOutcome(crashed=earlier)

    def unlock(self) -> None:
        """Give the lock back (the project was closed properly: the next start finds no crash)."""
        descriptor, self._lock_descriptor = self._lock_descriptor, None
        if descriptor is None:
            return
        # Emptied first: where an open file cannot be removed (Windows) an empty lock still means "closed".
        with contextlib.suppress(OSError):
            os.ftruncate(descriptor, 0)
        with contextlib.suppress(OSError):
            (self.folder / LOCK_FILE).unlink()
        os.close(descriptor)

    @property
    def locked(self) -> bool:
        return self._lock_descriptor is not None

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
            if self._scratch is not None:  # open read-only: the panels' side files are in the scratch folder
                (staging / LAYERS).mkdir(exist_ok=True)
                for path in self._scratch.iterdir():
                    if path.is_file() and not is_temp(path):
                        shutil.copyfile(path, staging / LAYERS / path.name)
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


def autosave_number(path: Path) -> int:
    """The number of an autosave folder (autosave/<n>), or 0 for anything else found there."""
    name = path.name
    return int(name) if name.isascii() and name.isdigit() and path.is_dir() else 0


def _write_synced(path: Path, data: bytes) -> None:
    """A new user-only file, on disk before this returns (a file inside a folder renamed into place later)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
    with open(descriptor, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _copy_synced(source: Path, target: Path) -> None:
    shutil.copyfile(source, target)
    os.chmod(target, 0o600)
    with open(target, "rb+") as handle:
        os.fsync(handle.fileno())


def _link(source: Path, target: Path) -> bool:
    try:
        os.link(source, target)
    except OSError:
        return False  # no hard links here (or the copy is gone): the caller copies
    return True


# On Windows a byte range is locked, far past the lock file's text so that others can still read who holds it.
_WINDOWS_LOCK_OFFSET = 1 << 20


def _try_lock(descriptor: int) -> bool:
    """An exclusive lock the operating system drops when the process dies, however it dies."""
    if sys.platform == "win32":
        import msvcrt

        os.lseek(descriptor, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(descriptor, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        finally:
            os.lseek(descriptor, 0, os.SEEK_SET)
        return True
    import fcntl

    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _read_owner(descriptor: int) -> LockOwner | None:
    """Who the lock file names; None when it is empty (made, or closed properly, by its last owner)."""
    os.lseek(descriptor, 0, os.SEEK_SET)
    raw = os.read(descriptor, 4096)
    if not raw.strip():
        return None
    try:
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("not an object")
        pid, host, started = data.get("pid"), data.get("host"), data.get("started")
        return LockOwner(
            pid if isinstance(pid, int) else 0,
            host if isinstance(host, str) else "",
            float(started) if isinstance(started, (int, float)) else 0.0,
        )
    except (ValueError, OverflowError):
        return LockOwner(0, "", 0.0)  # a damaged lock file still says a run did not close the project


def _take_lock(path: Path) -> tuple[int | None, LockOwner | None, LockOwner | None]:
    """(descriptor, the owner a crashed run left, None) when taken; (None, None, owner) when held."""
    for _attempt in range(10):
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o600)
        try:
            if not _try_lock(descriptor):
                other = _read_owner(descriptor) or LockOwner(0, "", 0.0)
                os.close(descriptor)
                return None, None, other
            # Its owner may have closed (and removed) the file between our open and our lock: take a new one.
            try:
                same = os.fstat(descriptor).st_ino == path.stat().st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(descriptor)
                continue
            earlier = _read_owner(descriptor)
            own = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}
            os.ftruncate(descriptor, 0)
            os.lseek(descriptor, 0, os.SEEK_SET)
            os.write(descriptor, json.dumps(own).encode("utf-8"))
            os.fsync(descriptor)
            return descriptor, earlier, None
        except BaseException:
            with contextlib.suppress(OSError):
                os.close(descriptor)
            raise
    raise OSError(f"The lock file {path} keeps being replaced.")


def _skip_unfinished(folder: str, names: list[str]) -> list[str]:
    """History entries and files still being written (or deleted) are not part of the copy."""
    return [name for name in names if name.startswith((".tmp-", ".deleted-")) or is_temp(Path(name))]


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
        sections = _read_old_session(old)
    except (OSError, ValueError) as exc:
        bad = _free_path(folder / "session.json.bad")
        try:
            old.replace(bad)
        except OSError as move_error:
            what = f"The saved session {old} could not be read ({exc}) nor set aside ({move_error})"
            return f"{what}; it was left as it is."
        return f"The saved session {old} could not be read ({exc}); it was kept as {bad.name}."
    try:
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
    except OSError as exc:
        return f"The saved session in {folder} could not be turned into a project ({exc.strerror or exc})."
    return ""


def _read_old_session(path: Path) -> dict[str, Any]:
    sections = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(sections, dict):
        raise ValueError(f"it holds {type(sections).__name__}, not panel sections")
    return sections


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
    write_atomic(path, json.dumps([str(p) for p in kept[:MAX_RECENT]], indent=1).encode("utf-8"), private=True)
