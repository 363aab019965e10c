"""Shared output for subcommands: JSON to stdout, or short human-readable lines."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from atelier.core.errors import InputFileError
from atelier.core.picture_io import MAX_DECODE_PIXELS, read_picture

if TYPE_CHECKING:
    from atelier.core.project import Project
    from atelier.core.requests import Request, Result


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def read_image(
    path: str, max_pixels: int = MAX_DECODE_PIXELS, what: str = "Atelier", max_side: int | None = None
) -> np.ndarray:
    """An image file as RGBA uint8 (full size, or reduced to `max_side`), refused before decoding when it
    has more than `max_pixels` pixels, or a clear error naming the file."""
    return read_picture(path, max_side, max_pixels=max_pixels, rgba=True, what=what)


PNG = (".png",)


def check_output(path: str, suffixes: tuple[str, ...], what: str = "the output") -> Path:
    """Refuse an output path that cannot be written, before any model runs: an extension not in `suffixes`,
    a folder, a missing or read-only folder. A file that exists is replaced (as before)."""
    target = Path(path).expanduser()
    if target.is_dir():
        raise InputFileError(f"Cannot write {what} to {path}: it is a folder.", "Give a file name inside it.")
    if target.suffix.lower() not in suffixes:
        kinds = " or ".join(suffixes)
        raise InputFileError(
            f"Cannot write {what} to {path}: the name must end in {kinds}.", "Give a file name with that extension."
        )
    folder = target.parent
    if not folder.is_dir():
        raise InputFileError(
            f"Cannot write {what} to {path}: the folder {folder} does not exist.", "Create the folder first."
        )
    # Really create a file: permission bits say nothing on a read-only mount, and nothing at all to root.
    try:
        handle, probe = tempfile.mkstemp(prefix=".atelier-", suffix=".probe", dir=folder)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise InputFileError(
            f"Cannot write {what} to {path}: the folder {folder} is not writable ({exc.strerror or exc}).",
            "Choose a folder you can write to.",
        ) from exc
    if target.exists() and not os.access(target, os.W_OK):
        raise InputFileError(f"Cannot write {what} to {path}: the file is read-only.", "Choose another name.")
    return target


def engine_settings() -> Any:
    from atelier.core.settings import load_settings

    settings, problems = load_settings()
    for problem in problems:
        print(f"atelier: warning: {problem}", file=sys.stderr)
    return settings


def emit_result(
    result: Any, fields: dict[str, Any], as_json: bool, target: str, kept: dict[str, str] | None = None
) -> None:
    """Print a task's outcome: JSON with the device, fallbacks and timing every command reports,
    or one line naming what was written and where it ran (`kept`: where --project kept it)."""
    if as_json:
        print_json(
            {
                **fields,
                "device": result.device.provider,
                "fallbacks": list(result.device.fallbacks),
                "seconds": round(result.seconds, 4),
                "summary": result.summary(),
                **({"history": kept} if kept else {}),
            }
        )
    else:
        print(f"{result.summary()} -> {target} ({result.device.describe()}, {result.seconds:.2f}s)")
        note_recorded(kept)


def add_project_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--project",
        metavar="DIR",
        help="also keep the result in this project's history (a new project if DIR is absent or empty)",
    )


def open_project(folder: str | None) -> Project | None:
    """The project named by --project, opened or made before the engine runs, so a wrong folder
    fails at once rather than after the work."""
    if not folder:
        return None
    from atelier.audio.midi import write_midi
    from atelier.core.project import Project, is_project

    path = Path(folder).expanduser()
    if path.is_dir() and is_project(path):
        project = Project.open(path, midi_writer=write_midi)
    else:
        project = Project.create(path, midi_writer=write_midi)  # refuses a folder holding other files
    if project.problem:
        print(f"atelier: warning: {project.problem}", file=sys.stderr)
    return project


def record(project: Project | None, request: Request, result: Result, created: float) -> dict[str, str] | None:
    """Keep the result in the project's history; what JSON output reports as "history"."""
    if project is None:
        return None
    entry = project.history.add(request, result, created=created, seconds=time.time() - created)
    project.history.prune()
    return {"project": str(project.folder.resolve()), "id": entry.id}


def note_recorded(kept: dict[str, str] | None) -> None:
    """For plain output: one line on stderr, so stdout stays what scripts already parse."""
    if kept is not None:
        print(f"Kept in {kept['project']} history as {kept['id']}", file=sys.stderr)


def pack_info(engine: Any, kind: str, pack_id: str = "") -> dict[str, Any] | None:
    """The provenance record of the pack a task used (id, name, version, licence, main file's sha256),
    from the local engine's catalog; None on a render server (its catalog is not here) or when absent."""
    from atelier.core.provenance import pack_record

    catalog = getattr(engine, "catalog", None)
    if catalog is None:
        return None
    try:
        pack = catalog.get(pack_id) if pack_id else next(iter(catalog.of_kind(kind)), None)
    except Exception:  # an unknown id already failed the task; the record is just left without it
        return None
    return pack_record(pack) if pack is not None else None


def records_wanted(args: argparse.Namespace) -> bool:
    """False with --no-metadata: files are written without Atelier's records."""
    return not getattr(args, "no_metadata", False)


def write_png(
    args: argparse.Namespace,
    path: str | Path,
    image: np.ndarray,
    params: dict[str, Any] | None,
    ingredients: Sequence[Path] = (),
) -> None:
    """A generated picture as the window exports it: with its records unless --no-metadata, plus the
    watermark and content credentials the user's Settings ask for (`ingredients`: the input files)."""
    from atelier.core.content_credentials import export_hooks
    from atelier.core.provenance import save_png
    from atelier.core.settings import load_settings

    # Read again without re-printing the warnings engine_settings() already gave for this command.
    hooks = export_hooks(load_settings()[0], ingredients)
    save_png(
        path,
        image,
        hooks.params(params, image.shape),
        metadata=records_wanted(args),
        watermark=hooks.watermark,
        sign=hooks.sign,
    )
