"""Nearest colour name for a swatch (CIEDE2000 over the XKCD + CSS names)."""

from __future__ import annotations

import numpy as np

from atelier.core.color.data import named_colors
from atelier.core.color.spaces import delta_e_2000, hex_to_rgb, rgb_to_cielab, rgb_to_oklab

SHORTLIST = 24


def nearest_names(colors: list[str] | tuple[str, ...]) -> list[str]:
    if not colors:
        return []
    table = named_colors()
    rgb = hex_to_rgb(list(colors))
    lab = rgb_to_cielab(rgb)
    # OKLab distance finds a shortlist cheaply; CIEDE2000 decides among it.
    oklab = rgb_to_oklab(rgb)
    near = np.argsort(((oklab[:, None, :] - table.oklab[None]) ** 2).sum(-1), axis=1)[:, :SHORTLIST]
    distances = delta_e_2000(lab[:, None, :], table.cielab[near])
    return [table.names[near[row, column]] for row, column in enumerate(np.argmin(distances, axis=1))]


def nearest_name(color: str) -> str:
    return nearest_names([color])[0]
