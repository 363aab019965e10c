"""Small image conversions shared by image tasks (numpy only)."""

from __future__ import annotations

import numpy as np


def rgb_on_white(image: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 from RGB or RGBA, with transparency flattened onto white paper."""
    if image.shape[2] == 3:
        return image
    alpha = image[:, :, 3:4].astype(np.float32) / 255.0
    rgb = image[:, :, :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
    return np.clip(rgb + 0.5, 0, 255).astype(np.uint8)
