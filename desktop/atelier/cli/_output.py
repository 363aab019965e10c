"""Shared output for subcommands: JSON to stdout, or short human-readable lines."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from atelier.core.errors import InputFileError


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


def emit_result(result: Any, fields: dict[str, Any], as_json: bool, target: str) -> None:
    """Print a task's outcome: JSON with the device, fallbacks and timing every command reports,
    or one line naming what was written and where it ran."""
    if as_json:
        print_json(
            {
                **fields,
                "device": result.device.provider,
                "fallbacks": list(result.device.fallbacks),
                "seconds": round(result.seconds, 4),
                "summary": result.summary(),
            }
        )
    else:
        print(f"{result.summary()} -> {target} ({result.device.describe()}, {result.seconds:.2f}s)")
