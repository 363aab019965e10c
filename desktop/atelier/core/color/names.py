"""Nearest colour name for a swatch (CIEDE2000 over the XKCD + CSS names)."""

from __future__ import annotations

import numpy as np

from atelier.core.color.data import named_colors
from atelier.core.color.spaces import delta_e_2000, hex_to_rgb, rgb_to_cielab


def nearest_names(colors: list[str] | tuple[str, ...]) -> list[str]:
    if not colors:
        return []
    table = named_colors()
    lab = rgb_to_cielab(hex_to_rgb(list(colors)))
    distances = delta_e_2000(lab[:, None, :], table.cielab[None, :, :])
    return [table.names[i] for i in np.argmin(distances, axis=1)]


def nearest_name(color: str) -> str:
    return nearest_names([color])[0]
