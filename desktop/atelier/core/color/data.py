"""The colour tables shipped in `resources/colors/`: named colours (XKCD + CSS) and the mood anchors."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from atelier.core.color.spaces import hex_to_rgb, rgb_to_cielab, rgb_to_oklab


def resources_dir() -> Path:
    """`resources/` beside the package in a checkout, or inside a PyInstaller bundle."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root) / "resources"
    return Path(__file__).resolve().parents[4] / "resources"


@dataclass(frozen=True)
class ColorTable:
    """Named colours with their coordinates, ready for vectorised search."""

    names: tuple[str, ...]
    hexes: tuple[str, ...]
    oklab: np.ndarray  # Nx3
    cielab: np.ndarray  # Nx3 (D65), for CIEDE2000


@dataclass(frozen=True)
class Mood:
    mood: str
    also: tuple[str, ...]
    colors: tuple[str, ...]

    @property
    def phrases(self) -> tuple[str, ...]:
        return (self.mood, *self.also)


def table_from_hex(names: list[str] | tuple[str, ...], hexes: list[str] | tuple[str, ...]) -> ColorTable:
    rgb = hex_to_rgb(list(hexes))
    return ColorTable(tuple(names), tuple(hexes), rgb_to_oklab(rgb), rgb_to_cielab(rgb))


@cache
def named_colors() -> ColorTable:
    raw = json.loads((resources_dir() / "colors" / "names.json").read_text(encoding="utf-8"))
    entries = raw["colors"]
    return table_from_hex([e["name"] for e in entries], [e["hex"].lower() for e in entries])


@cache
def moods() -> tuple[Mood, ...]:
    raw = json.loads((resources_dir() / "colors" / "moods.json").read_text(encoding="utf-8"))
    return tuple(Mood(m["mood"], tuple(m.get("also", ())), tuple(c.lower() for c in m["colors"])) for m in raw["moods"])


def data_files() -> list[Path]:
    """The files whose content the cached name embeddings depend on."""
    folder = resources_dir() / "colors"
    return [folder / "names.json", folder / "moods.json"]
