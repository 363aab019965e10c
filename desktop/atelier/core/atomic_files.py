"""Atomic file writes: a temporary file in the same folder, written, fsynced and renamed over the target.

A crash, a kill or a full disk leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

# Temporary files carry this mark so that a later run can tell them from the user's files and remove
# the ones a killed writer left behind (only while it holds the project's lock: no writer is alive).
TEMP_MARK = ".atelier-tmp"
# The canvas writes its layers through "<name>.partial" files; those are left-overs of the same kind.
FOREIGN_TEMP_SUFFIXES = (".partial",)
PRIVATE_MODE = 0o600  # project, autosave and settings files: readable by their owner only


def temp_path(path: Path) -> Path:
    """A fresh hidden name beside `path` (same folder, so the rename never crosses file systems)."""
    return path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}{TEMP_MARK}")


def is_temp(path: Path) -> bool:
    return path.name.endswith(TEMP_MARK) or path.name.endswith(FOREIGN_TEMP_SUFFIXES)


def _create(path: Path, private: bool) -> int:
    # O_EXCL: never write through a file (or a link) someone else put at the temporary name.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    return os.open(path, flags, PRIVATE_MODE if private else 0o666)


def write_atomic(path: str | Path, data: bytes, *, private: bool = False) -> Path:
    """Write `data` to `path` atomically; `private` makes the file user-only (0600).

    Raises OSError (ENOSPC, EACCES, EROFS, EFBIG ...) with the previous file at `path` untouched."""
    target = Path(path)
    with atomic_output(target, private=private) as tmp, open(tmp, "r+b") as handle:
        handle.write(data)
    return target


@contextlib.contextmanager
def atomic_output(path: str | Path, *, private: bool = False) -> Iterator[Path]:
    """A temporary path for writers that want a file name (Pillow, wave, pretty_midi); when the block ends
    without an error the file is fsynced and renamed to `path`, else it is removed. The temporary name has
    no usable extension: tell the writer its format."""
    target = Path(path)
    tmp = temp_path(target)
    os.close(_create(tmp, private))
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        if private:  # a writer may have replaced the file we made instead of writing into it
            os.chmod(tmp, PRIVATE_MODE)
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    fsync_folder(target.parent)


def fsync_folder(folder: str | Path) -> None:
    """Make a rename inside `folder` survive a power cut (POSIX; Windows has no directory handles)."""
    if os.name != "posix":
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def remove_stale_temps(folder: Path) -> list[Path]:
    """Remove the temporary files a killed writer left directly in `folder`; the ones removed."""
    removed: list[Path] = []
    with contextlib.suppress(OSError):
        for path in folder.iterdir():
            if is_temp(path) and path.is_file():
                with contextlib.suppress(OSError):
                    path.unlink()
                    removed.append(path)
    return removed


def set_aside(path: Path) -> Path:
    """Rename a damaged file to `<name>.bad` (then .bad.2, .bad.3, ...), never over an older one, so the
    user keeps it; returns where it went."""
    target = path.with_name(path.name + ".bad")
    number = 2
    while target.exists():
        target = path.with_name(f"{path.name}.bad.{number}")
        number += 1
    path.rename(target)
    return target
