"""A project's lasting history: each finished job's request and result as plain files in history/<id>/.

An entry is `entry.json` plus files any program can open: PNG for images and for the request's input
pictures, lyric.txt, melody-N.json (+ .mid), palette.json + .gpl. It is written in a hidden folder and
renamed into place, so a crash never leaves half an entry in the listing. One ProjectHistory may be
written from a background thread (the app's history writer) while the GUI thread lists, stars and deletes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import io
import json
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psygnal
from PIL import Image

from atelier import __version__
from atelier.core.atomic_files import PRIVATE_MODE, fsync_folder, write_atomic
from atelier.core.color.formats import PaletteFile, to_gpl
from atelier.core.color.formats import to_json as palette_json
from atelier.core.errors import InputFileError, InvalidRequestError
from atelier.core.midi_file import write_midi
from atelier.core.picture_io import read_stored
from atelier.core.provenance import png_info
from atelier.core.requests import DeviceInfo, Request, Result
from atelier.core.requests.colorize import ColorizeResult
from atelier.core.requests.lineart import LineArtRequest  # noqa: F401  (registers the lineart kinds)
from atelier.core.requests.lyrics import LyricResult
from atelier.core.requests.melody import Melody
from atelier.core.requests.palette import PaletteResult
from atelier.core.requests.sketch import SketchResult

SCHEMA = 1
ENTRY_FILE = "entry.json"
THUMBNAIL_FILE = "thumbnail.png"
THUMBNAIL_SIDE = 128
TMP_PREFIX = ".tmp-"
# A temporary folder this old belongs to a writer that died; younger ones may still be being written.
STALE_TMP_SECONDS = 3600.0
# An entry the artist deleted waits here until the project closes, so Undo delete can bring it back.
DELETED_PREFIX = ".deleted-"
# Result fields whose files get a singular name: images -> image-1.png, variations -> melody-1.json.
_FILE_STEMS = {"images": "image", "variations": "melody"}

# Writes a melody as a Standard MIDI File. core cannot import atelier.audio (audio imports core, and
# core is the bottom layer), so the caller that has audio (the app, the CLI) hands its writer in.
MidiWriter = Callable[[Melody, Path], object]


@dataclass
class HistoryEntry:
    """One stored result, as listed; `load_request`/`load_result` read its files back."""

    id: str
    kind: str  # the request's kind (sketch, colorize, palette-image, ...): which panel it belongs to
    created: float
    starred: bool
    files: list[str]  # relative to `folder`
    request: dict[str, Any]  # the request's fields as JSON; arrays and melodies name their files
    summary: str
    device: str
    seconds: float
    number: int
    folder: Path
    thumbnail: Path | None
    result: dict[str, Any] = field(default_factory=dict, repr=False)  # the result's fields, as for request

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "created": self.created,
            "starred": self.starred,
            "files": list(self.files),
            "request": self.request,
            "summary": self.summary,
            "device": self.device,
            "seconds": self.seconds,
            "number": self.number,
            "result_kind": self.result.get("kind", ""),
        }


def write_file_atomic(path: Path, data: bytes) -> None:
    """Kept for callers of the old name; new code uses atelier.core.atomic_files.write_atomic."""
    write_atomic(path, data)


def _plain_name(name: str) -> str:
    """A file or entry name from disk, refused if it could point outside its folder."""
    if not isinstance(name, str) or not name or Path(name).name != name or name in (".", ".."):
        raise InputFileError(f"The history names a file '{name}' outside its entry.")
    return name


def _entry_bytes(data: dict[str, Any]) -> bytes:
    return json.dumps(data, indent=1, ensure_ascii=False, default=_json_default).encode("utf-8")


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    # Provenance dicts are free-form; one odd value must not cost the user the whole entry.
    return str(value)


def _subclasses(base: type[Any]) -> Iterator[type[Any]]:
    for sub in base.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _types_by_kind(base: type[Any]) -> dict[str, type[Any]]:
    """Every loaded Request (or Result) type by its kind, to rebuild an entry by name. Atelier's own
    types are defined first, so a later subclass reusing a kind (a test's, a plugin's) never hides them."""
    found: dict[str, type[Any]] = {}
    for cls in _subclasses(base):
        found.setdefault(cls.kind, cls)
    return found


class _EntryWriter:
    """Writes one entry's files (each fsynced) and encodes values into entry.json's plain JSON."""

    def __init__(self, folder: Path, midi_writer: MidiWriter | None) -> None:
        self.folder = folder
        self.midi_writer = midi_writer
        self.files: list[str] = []

    def write(self, name: str, data: bytes) -> str:
        # The entry's folder is renamed into place whole, so its files need no rename of their own.
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)
        descriptor = os.open(self.folder / name, flags, PRIVATE_MODE)
        with open(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        self.files.append(name)
        return name

    def png(self, name: str, array: np.ndarray, params: dict[str, Any] | None = None) -> str:
        buffer = io.BytesIO()
        _to_image(array).save(buffer, format="PNG", pnginfo=png_info(params) if params else None)
        return self.write(name, buffer.getvalue())

    def array(self, stem: str, array: np.ndarray, params: dict[str, Any] | None = None) -> dict[str, Any]:
        if _png_mode(array) is not None:
            return {"png": self.png(f"{stem}.png", array, params), "shape": list(array.shape)}
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)  # not an 8-bit picture: kept exactly as numpy's format
        return {"npy": self.write(f"{stem}.npy", buffer.getvalue())}

    def melody(self, stem: str, melody: Melody, with_midi: bool) -> dict[str, Any]:
        encoded: dict[str, Any] = {
            "melody": self.write(f"{stem}.json", json.dumps(melody.to_dict(), indent=1).encode("utf-8"))
        }
        if with_midi and self.midi_writer is not None:
            path = self.folder / f"{stem}.mid"
            try:
                self.midi_writer(melody, path)
                os.chmod(path, PRIVATE_MODE)
                with open(path, "rb+") as handle:
                    os.fsync(handle.fileno())
                self.files.append(path.name)
                encoded["midi"] = path.name
            except (OSError, ValueError, InputFileError):
                # The .mid is an export of the JSON next to it; without it the entry is still whole.
                with contextlib.suppress(OSError):
                    path.unlink()
        return encoded

    def encode(self, value: Any, stem: str, *, inputs: bool, params: Callable[[int], Any] | None = None) -> Any:
        """Plain JSON for one field: arrays and melodies become files, tuples lists, enums values."""
        if isinstance(value, np.ndarray):
            return self.array(stem, value, params(0) if params else None)
        if isinstance(value, Melody):
            return self.melody(stem, value, with_midi=not inputs)
        if isinstance(value, DeviceInfo):
            return {"provider": value.provider, "requested": list(value.requested), "fallbacks": list(value.fallbacks)}
        if isinstance(value, enum.Enum):
            return value.value
        if isinstance(value, (tuple, list)):
            return [
                self.encode(item, f"{stem}-{index + 1}", inputs=inputs, params=_nth(params, index))
                for index, item in enumerate(value)
            ]
        return value


def _nth(params: Callable[[int], Any] | None, index: int) -> Callable[[int], Any] | None:
    """The parameters of item `index` of a tuple, for the encoder that sees that item alone."""
    if params is None:
        return None
    return lambda _index: params(index)


def _png_mode(array: np.ndarray) -> str | None:
    if array.dtype != np.uint8 or array.ndim not in (2, 3) or 0 in array.shape:
        return None
    if array.ndim == 2:
        return "L"
    return {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}.get(array.shape[2])


def _to_image(array: np.ndarray) -> Image.Image:
    mode = _png_mode(array)
    if mode is None:
        raise InvalidRequestError(f"An image of shape {array.shape} ({array.dtype}) cannot be stored as a PNG.")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    return Image.fromarray(np.ascontiguousarray(array))  # the mode follows the shape: L, LA, RGB, RGBA


def _image_params(result: Result, field_name: str) -> Callable[[int], dict[str, Any] | None] | None:
    """Provenance for each generated image, written into its PNG as the CLI and the export panel do."""
    if field_name != "images":
        return None
    if isinstance(result, SketchResult):
        seeds = result.seeds
        return lambda i: {**result.parameters, "seed": seeds[i]} if i < len(seeds) else dict(result.parameters)
    if isinstance(result, ColorizeResult):
        parameters = result.parameters
        return lambda i: dict(parameters[i]) if i < len(parameters) else None
    return None


class _EntryReader:
    """Turns entry.json's plain JSON back into arrays, melodies and tuples, reading the named files."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, name: str) -> Path:
        path = self.folder / _plain_name(name)
        if not path.is_file():
            raise InputFileError(f"The history entry {self.folder.name} is missing its file {name}.")
        return path

    def decode(self, value: Any) -> Any:
        if isinstance(value, list):
            return tuple(self.decode(item) for item in value)
        if not isinstance(value, dict):
            return value
        keys = set(value)
        if keys == {"png", "shape"}:
            return self.png(value["png"], value["shape"])
        if keys == {"npy"}:
            return np.load(self.path(value["npy"]), allow_pickle=False)
        if "melody" in keys and keys <= {"melody", "midi"}:
            data = json.loads(self.path(value["melody"]).read_text(encoding="utf-8"))
            return Melody.from_dict(data)
        return value  # a plain dict (provenance parameters), kept as JSON gave it

    def png(self, name: str, shape: list[int]) -> np.ndarray:
        path = self.path(name)
        try:  # the one guarded reader: a bomb or a broken PNG is an InputFileError like any damage
            array = read_stored(path)
            return array.reshape(tuple(int(n) for n in shape)).copy()
        except (InputFileError, ValueError) as exc:
            raise InputFileError(f"The history image {path} could not be read ({exc}).") from exc


class ProjectHistory:
    """The entries under one project's history/ folder, newest first.

    `changed` is emitted on the thread that made the change (a background writer's, for `add`).
    """

    changed = psygnal.Signal()

    def __init__(self, folder: Path, *, midi_writer: MidiWriter | None = None) -> None:
        self.folder = Path(folder)
        # Melodies get a .mid next to their JSON (core's writer unless another is given).
        self.midi_writer: MidiWriter | None = midi_writer or write_midi
        # Changes to the listing (an entry moved in, a star, a deletion, pruning) take turns: a prune on
        # the writer thread must not delete an entry the GUI thread is starring. Writing an entry's files,
        # the slow part, happens outside it in a folder of its own.
        self._lock = threading.RLock()
        self._deleted: list[tuple[str, Path]] = []  # (entry id, where it waits), the last deleted last

    # -- writing -------------------------------------------------------------------------------
    def add(
        self, request: Request, result: Result, *, created: float, seconds: float = 0.0, number: int = 0
    ) -> HistoryEntry:
        if not request.in_history:
            raise InvalidRequestError(f"'{request.kind}' jobs are helpers and are not kept in the history.")
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f"{TMP_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:12]}"
        tmp.mkdir(mode=0o700)  # the user's work: readable by its owner only
        try:
            data = self._write_files(tmp, request, result, created=created, seconds=seconds, number=number)
            entry_id = self._move_into_place(tmp, data, created)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self.changed.emit()
        entry = self.get(entry_id)
        assert entry is not None, "an entry just written reads back"
        return entry

    def _write_files(
        self, folder: Path, request: Request, result: Result, *, created: float, seconds: float, number: int
    ) -> dict[str, Any]:
        writer = _EntryWriter(folder, self.midi_writer)
        request_json: dict[str, Any] = {"kind": request.kind}
        for f in dataclasses.fields(request):
            request_json[f.name] = writer.encode(getattr(request, f.name), f"input-{f.name}", inputs=True)
        result_json: dict[str, Any] = {"kind": result.kind}
        for f in dataclasses.fields(result):
            stem = _FILE_STEMS.get(f.name, f.name)
            params = _image_params(result, f.name)
            result_json[f.name] = writer.encode(getattr(result, f.name), stem, inputs=False, params=params)
        self._write_exports(writer, request, result)
        preview = getattr(result, "preview_image", None)
        picture = preview() if callable(preview) else None
        if isinstance(picture, np.ndarray) and _png_mode(picture) is not None:  # a thumbnail is a nicety
            image = _to_image(picture)
            image.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.LANCZOS)
            buffer = io.BytesIO()
            image.save(buffer, format="PNG")
            writer.write(THUMBNAIL_FILE, buffer.getvalue())
        return {
            "schema": SCHEMA,
            "app_version": __version__,
            "id": "",
            "kind": request.kind,
            "created": float(created),
            "starred": False,
            "number": int(number),
            "summary": _summary(request, result),
            "device": result.device.provider,
            "seconds": float(seconds or result.seconds),
            "files": writer.files,
            "request": request_json,
            "result": result_json,
        }

    @staticmethod
    def _write_exports(writer: _EntryWriter, request: Request, result: Result) -> None:
        """Copies in the formats other programs read (the entry itself is rebuilt from entry.json)."""
        if isinstance(result, LyricResult):
            writer.write("lyric.txt", (result.text.rstrip("\n") + "\n").encode("utf-8"))
        if isinstance(result, PaletteResult):
            # One line: a .gpl title with a line break (a lyric's text) makes the file unreadable.
            palette = PaletteFile(result.colors, result.names, " ".join(request.summary().split()))
            writer.write("palette.json", palette_json(palette, result.source))
            writer.write("palette.gpl", to_gpl(palette))

    def _move_into_place(self, tmp: Path, data: dict[str, Any], created: float) -> str:
        # Another process (the CLI beside the app) may take the same id at the same moment: the
        # rename fails for one of them, which then takes the next number.
        with self._lock:
            return self._rename_into_place(tmp, data, created)

    def _rename_into_place(self, tmp: Path, data: dict[str, Any], created: float) -> str:
        for _attempt in range(1000):
            entry_id = self._new_id(created)
            data["id"] = entry_id
            write_atomic(tmp / ENTRY_FILE, _entry_bytes(data), private=True)
            target = self.folder / entry_id
            if target.exists():
                continue
            try:
                os.rename(tmp, target)
            except OSError:
                if target.exists():
                    continue
                raise
            fsync_folder(self.folder)
            return entry_id
        raise InputFileError(f"No free history id in {self.folder}.", "Delete some history entries and try again.")

    def _new_id(self, created: float) -> str:
        # UTC so ids sort by time across daylight-saving changes; the counter orders one second's entries.
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(created))
        numbers = [0]
        for path in self.folder.glob(f"{stamp}-*"):
            suffix = path.name[len(stamp) + 1 :]
            if suffix.isdigit():
                numbers.append(int(suffix))
        return f"{stamp}-{max(numbers) + 1:04d}"

    def star(self, entry_id: str, starred: bool = True) -> None:
        path = self._entry_folder(entry_id) / ENTRY_FILE
        with self._lock:
            data = self._read_json(path)
            if data is None:
                raise InputFileError(f"There is no readable history entry {entry_id} in {self.folder}.")
            data["starred"] = bool(starred)
            write_atomic(path, _entry_bytes(data), private=True)
        self.changed.emit()

    def delete(self, entry_id: str) -> None:
        """Take an entry out of the listing. Its folder waits aside until `purge_deleted` (the project's
        close), so `undo_delete` can bring it back whole, star and files included."""
        with self._lock:
            aside = self._take_out(entry_id, DELETED_PREFIX)
            if aside is None:
                return
            self._deleted.append((entry_id, aside))
        self.changed.emit()

    def can_undo_delete(self) -> bool:
        return bool(self._deleted)

    def undo_delete(self) -> str | None:
        """Put the last deleted entry back in the listing; its id, or None when there is none to put back."""
        with self._lock:
            while self._deleted:
                entry_id, aside = self._deleted.pop()
                folder = self._entry_folder(entry_id)
                if aside.is_dir() and not folder.exists():
                    os.rename(aside, folder)
                    break
            else:
                return None
        self.changed.emit()
        return entry_id

    def purge_deleted(self) -> None:
        """Remove for good the entries deleted since the project opened (its close calls this)."""
        with self._lock:
            doomed, self._deleted = [aside for _, aside in self._deleted], []
        for aside in doomed:
            shutil.rmtree(aside, ignore_errors=True)

    def _take_out(self, entry_id: str, prefix: str) -> Path | None:
        """Rename an entry's folder out of the listing, to a hidden name starting with `prefix`; where it
        went, or None when there is no such entry. One rename: the entry is listed or not, never half."""
        folder = self._entry_folder(entry_id)
        aside = self.folder / f"{prefix}{_plain_name(entry_id)}-{uuid.uuid4().hex[:8]}"
        with self._lock:
            if not folder.is_dir():
                return None
            os.rename(folder, aside)
        return aside

    def _remove(self, entry_id: str) -> bool:
        doomed = self._take_out(entry_id, f"{TMP_PREFIX}deleted-")
        if doomed is None:
            return False
        shutil.rmtree(doomed, ignore_errors=True)
        return True

    def prune(self, max_count: int = 500, max_bytes: int = 2 * 1024**3) -> list[str]:
        """Delete the oldest unstarred entries until both limits hold (starred ones always stay)."""
        self._remove_stale_tmp()
        removed: list[str] = []
        with self._lock:  # a star given while the oldest entries are weighed is seen before they go
            entries = self.entries()
            sizes = {entry.id: _folder_bytes(entry.folder) for entry in entries}
            count, total = len(entries), sum(sizes.values())
            for entry in reversed(entries):  # oldest first
                if count <= max_count and total <= max_bytes:
                    break
                if entry.starred:
                    continue
                if self._remove(entry.id):
                    removed.append(entry.id)
                    count -= 1
                    total -= sizes[entry.id]
        if removed:
            self.changed.emit()
        return removed

    def _remove_stale_tmp(self) -> None:
        if not self.folder.is_dir():
            return
        now = time.time()
        with self._lock:  # this session's deletions, which can still come back
            waiting = {aside for _, aside in self._deleted}
        for path in self.folder.iterdir():
            leftover = path.name.startswith(TMP_PREFIX) or path.name.startswith(DELETED_PREFIX)
            if leftover and path.is_dir() and path not in waiting:
                with contextlib.suppress(OSError):
                    info = path.stat()
                    # A deletion's folder keeps its entry's old mtime; its ctime is the rename's, so one left
                    # by a crashed run is kept the full hour too.
                    since = info.st_ctime if path.name.startswith(DELETED_PREFIX) else info.st_mtime
                    if now - since > STALE_TMP_SECONDS:
                        shutil.rmtree(path, ignore_errors=True)

    # -- reading -------------------------------------------------------------------------------
    def entries(self) -> list[HistoryEntry]:
        if not self.folder.is_dir():
            return []
        found = []
        for path in self.folder.iterdir():
            if path.name.startswith(".") or not path.is_dir():
                continue
            entry = self._read_entry(path)
            if entry is not None:
                found.append(entry)
        found.sort(key=lambda e: (e.created, e.id), reverse=True)
        return found

    def get(self, entry_id: str) -> HistoryEntry | None:
        try:
            folder = self._entry_folder(entry_id)
        except InputFileError:
            return None
        return self._read_entry(folder) if folder.is_dir() else None

    def load_request(self, entry: HistoryEntry) -> Request:
        """The request as it was sent, input pictures included (InputFileError if its files are damaged)."""
        request_type = _types_by_kind(Request).get(entry.kind)
        if request_type is None:
            raise InputFileError(f"History entry {entry.id} is a '{entry.kind}' job, which this Atelier cannot read.")
        return self._rebuild(request_type, entry.request, entry)

    def load_result(self, entry: HistoryEntry) -> Result:
        kind = str(entry.result.get("kind", ""))
        result_type = _types_by_kind(Result).get(kind)
        if result_type is None:
            raise InputFileError(f"History entry {entry.id} holds a '{kind}' result, which this Atelier cannot read.")
        values = dict(entry.result)
        device = values.get("device")
        if isinstance(device, dict):
            values["device"] = DeviceInfo(
                provider=str(device.get("provider", "none")),
                requested=tuple(device.get("requested", ())),
                fallbacks=tuple(device.get("fallbacks", ())),
            )
        return self._rebuild(result_type, values, entry)

    @staticmethod
    def _rebuild(cls: type, values: dict[str, Any], entry: HistoryEntry) -> Any:
        reader = _EntryReader(entry.folder)
        kwargs = {}
        try:
            for f in dataclasses.fields(cls):
                if f.name in values:
                    value = values[f.name]
                    kwargs[f.name] = value if isinstance(value, DeviceInfo) else reader.decode(value)
            return cls(**kwargs)
        except (TypeError, KeyError, ValueError, OSError) as exc:
            raise InputFileError(f"History entry {entry.id} could not be read back ({exc}).") from exc

    def _entry_folder(self, entry_id: str) -> Path:
        name = _plain_name(entry_id)
        if name.startswith("."):
            raise InputFileError(f"'{entry_id}' is not a history entry id.")
        return self.folder / name

    @staticmethod
    def _read_json(path: Path) -> dict[str, Any] | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def _read_entry(self, folder: Path) -> HistoryEntry | None:
        """The entry in `folder`, or None when it is damaged (the listing skips it, never fails)."""
        data = self._read_json(folder / ENTRY_FILE)
        if data is None:
            return None
        try:
            request = data["request"]
            result = data.get("result", {})
            files = [str(name) for name in data.get("files", [])]
            if not isinstance(request, dict) or not isinstance(result, dict):
                return None
            thumbnail = folder / THUMBNAIL_FILE
            return HistoryEntry(
                id=folder.name,  # the folder is the truth if entry.json was copied or renamed by hand
                kind=str(data.get("kind") or request.get("kind", "")),
                created=float(data["created"]),
                starred=bool(data.get("starred", False)),
                files=files,
                request=request,
                summary=str(data.get("summary", "")),
                device=str(data.get("device", "")),
                seconds=float(data.get("seconds", 0.0)),
                number=int(data.get("number", 0)),
                folder=folder,
                thumbnail=thumbnail if THUMBNAIL_FILE in files and thumbnail.is_file() else None,
                result=result,
            )
        except (KeyError, TypeError, ValueError):
            return None


def _summary(request: Request, result: Result) -> str:
    """What the request asked and what came back, for one line of the listing."""
    asked, got = request.summary(), result.summary()
    return f"{asked} -> {got}" if got and got != result.kind else asked


def _folder_bytes(folder: Path) -> int:
    total = 0
    for path in folder.rglob("*"):
        with contextlib.suppress(OSError):
            if path.is_file():
                total += path.stat().st_size
    return total
