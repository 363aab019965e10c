"""Read a picture file for analysis (palettes): grey, RGB or RGBA uint8, decoded small when it is huge."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from atelier.core.errors import InputFileError

# Decoding a 100-megapixel photo at full size needs ~400 MB; colour analysis needs far fewer pixels.
MAX_DECODE_SIDE = 2048


def read_picture(path: str | Path, max_side: int = MAX_DECODE_SIDE) -> np.ndarray:
    if not Path(path).is_file():
        raise InputFileError(f"No image at {path}.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                image.draft("RGB", (max_side, max_side))  # JPEG: decode at 1/2..1/8 scale directly
                if max(image.size) > max_side:
                    image.thumbnail((max_side, max_side), Image.Resampling.BOX)
                has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
                mode = "RGBA" if has_alpha else "L" if image.mode in ("L", "I", "I;16", "1") else "RGB"
                return np.asarray(image.convert(mode))
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise InputFileError(f"Cannot read {path} as an image ({exc}).") from exc
