"""Shared output for subcommands: JSON to stdout, or short human-readable lines."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from atelier.core.errors import InputFileError

if TYPE_CHECKING:
    from atelier.core.project import Project
    from atelier.core.requests import Request, Result


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def read_image(path: str) -> np.ndarray:
    """An image file as RGBA uint8, or a clear error naming the file."""
    if not Path(path).is_file():
        raise InputFileError(f"No image at {path}.")
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGBA"))
    except (OSError, ValueError) as exc:
        raise InputFileError(f"Cannot read {path} as an image ({exc}).") from exc


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
