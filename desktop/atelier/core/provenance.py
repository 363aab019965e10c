"""Generation parameters carried inside PNGs: an A1111-style `parameters` text chunk and a JSON chunk."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, PngImagePlugin

from atelier.core.atomic_files import atomic_output

JSON_KEY = "atelier"


def a1111_parameters(params: dict[str, Any]) -> str:
    """The text A1111-style readers parse: prompt, negative, then 'Key: value' pairs."""
    lines = [str(params.get("prompt", ""))]
    if params.get("negative"):
        lines.append(f"Negative prompt: {params['negative']}")
    pairs = [
        ("Steps", params.get("steps")),
        ("Sampler", params.get("scheduler")),
        ("CFG scale", params.get("guidance")),
        ("Seed", params.get("seed")),
        ("Size", f"{params.get('width')}x{params.get('height')}"),
        ("Denoising strength", params.get("strength") if params.get("mode") != "txt2img" else None),
        ("Palette", " ".join(params["palette"]) if params.get("palette") else None),
        ("Model", params.get("pack_id")),
        ("Version", f"Atelier {params.get('app_version', '')}".strip()),
    ]
    lines.append(", ".join(f"{key}: {value}" for key, value in pairs if value not in (None, "")))
    return "\n".join(lines)


def png_info(params: dict[str, Any]) -> PngImagePlugin.PngInfo:
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", a1111_parameters(params))
    info.add_text(JSON_KEY, json.dumps(params, sort_keys=True, default=str))
    return info


def save_png(path: str | Path, image: np.ndarray, params: dict[str, Any] | None = None) -> None:
    """Write `image` (a PNG unless the name says otherwise) atomically: a full disk or a kill leaves any
    earlier file whole."""
    kind = Image.registered_extensions().get(Path(path).suffix.lower(), "PNG")  # the temporary name has no suffix
    with atomic_output(path) as tmp:
        Image.fromarray(image).save(tmp, format=kind, pnginfo=png_info(params) if params else None)


def read_parameters(path: str | Path) -> dict[str, Any] | None:
    """The JSON parameters Atelier wrote into a PNG, or None (also for a file that is no readable image:
    the text chunks are read without decoding pixels, and a decompression bomb is just not ours)."""
    try:
        with Image.open(path) as image:
            text = image.info.get(JSON_KEY) if hasattr(image, "info") else None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
