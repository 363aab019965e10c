"""Small image conversions shared by image tasks (numpy only), and the check that no NaN becomes a pixel."""

from __future__ import annotations

import numpy as np

from atelier.core.errors import PackError

NON_FINITE_HINT = (
    "The pack's weights may be damaged or too low in precision for this device: run `atelier models verify`, "
    "set Device to 'cpu' in Settings, or try another pack, scheduler or step count."
)


def rgb_on_white(image: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 from RGB or RGBA, with transparency flattened onto white paper."""
    if image.shape[2] == 3:
        return image
    alpha = image[:, :, 3:4].astype(np.float32) / 255.0
    rgb = image[:, :, :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
    return np.clip(rgb + 0.5, 0, 255).astype(np.uint8)


def require_finite(values: np.ndarray, what: str) -> None:
    """Refuse NaN or infinity before it becomes pixels: cast to 8 bits it reads as black (or white), which
    would be shown as a finished picture. `what` names the values for the message ("The picture ...")."""
    if np.isfinite(values).all():
        return
    bad = "NaN (not a number)" if np.isnan(values).any() else "infinite values"
    raise PackError(f"{what} came out as {bad}, so there is no picture to show.", NON_FINITE_HINT)
