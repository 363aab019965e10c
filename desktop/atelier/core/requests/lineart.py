"""Line art from a picture: the first real ONNX task, used to trace photos and feed the colorizer."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from atelier.core.errors import InvalidRequestError
from atelier.core.picture_io import too_large_message
from atelier.core.requests import Lane, Request, Result

# The tracer runs on the whole picture at once and needs about 240 bytes a pixel (4 GB at this limit,
# measured with `atelier lineart`); the largest canvas, 4096x4096, is the largest picture it takes.
MAX_PIXELS = 4096 * 4096


@dataclass(frozen=True)
class LineArtRequest(Request):
    kind = "lineart"
    lane = Lane.HEAVY
    image: np.ndarray = field(compare=False, repr=False)  # HxWx3 or HxWx4 uint8
    sensitivity: float = 0.5  # 0 keeps only strong edges, 1 keeps faint ones too

    def __post_init__(self) -> None:
        image = self.image
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
            raise InvalidRequestError("The picture must be an 8-bit image.")
        if image.ndim != 3 or image.shape[2] not in (3, 4) or min(image.shape[:2]) < 8:
            raise InvalidRequestError(
                f"The picture must be RGB or RGBA and at least 8x8 pixels (got shape {image.shape})."
            )
        height, width = image.shape[:2]
        if height * width > MAX_PIXELS:
            raise InvalidRequestError(too_large_message(width, height, MAX_PIXELS, "line art"), hint="")
        if not 0.0 <= self.sensitivity <= 1.0:
            raise InvalidRequestError(f"Sensitivity must be between 0 and 1 (got {self.sensitivity}).")

    def summary(self) -> str:
        height, width = self.image.shape[:2]
        return f"Line art from {width}x{height} picture"


@dataclass(frozen=True)
class LineArtResult(Result):
    kind = "lineart"
    lines: np.ndarray = field(compare=False, repr=False)  # HxW uint8, 255 = paper, 0 = ink

    def preview_image(self) -> np.ndarray:
        return self.lines

    def summary(self) -> str:
        ink = float((self.lines < 128).mean()) * 100
        return f"Line art {self.lines.shape[1]}x{self.lines.shape[0]}, {ink:.1f}% ink"
