"""Colour line art with a palette (and optional colour hints) using the bundled colorizer pack."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from atelier.core.color.hex import normalise_hex
from atelier.core.errors import InvalidRequestError
from atelier.core.picture_io import too_large_message
from atelier.core.requests import Lane, Request, Result, check_seed

PALETTE_SIZES = (3, 8)  # the colorizer reads 3 to 8 colours
# Regions, ink and scores are kept at the output size, about 80 bytes a pixel (1.3 GB at this limit,
# measured with `atelier colorize`; a 13000x13000 picture took 12 GB): the largest canvas, 4096x4096.
MAX_PIXELS = 4096 * 4096


@dataclass(frozen=True)
class ColorizeRequest(Request):
    kind = "colorize"
    lane = Lane.HEAVY
    lines: np.ndarray = field(compare=False, repr=False)  # HxW or HxWx{3,4} uint8; dark = ink
    palette: tuple[str, ...] = ()  # '#rrggbb', 3..8 colours, most used first (the colorizer reads order as a cue)
    hints: np.ndarray | None = field(default=None, compare=False, repr=False)  # HxWx4 RGBA, alpha>0 = hint
    count: int = 1  # variations
    seed: int = 0
    preview: bool = False  # live mode: a fast low-resolution pass
    pack_id: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.lines, np.ndarray) or self.lines.dtype != np.uint8 or self.lines.ndim not in (2, 3):
            raise InvalidRequestError("The line art must be an 8-bit greyscale or colour image.")
        if self.lines.ndim == 3 and self.lines.shape[2] not in (1, 2, 3, 4):
            raise InvalidRequestError(
                f"The line art must be grey, grey and alpha, RGB or RGBA (got shape {self.lines.shape})."
            )
        if min(self.lines.shape[:2]) < 1:
            raise InvalidRequestError("The line art is empty.")
        if self.lines.shape[0] * self.lines.shape[1] > MAX_PIXELS:
            height, width = self.lines.shape[:2]
            raise InvalidRequestError(too_large_message(width, height, MAX_PIXELS, "colorize"), hint="")
        low, high = PALETTE_SIZES
        if not low <= len(self.palette) <= high:
            raise InvalidRequestError(f"Colorize needs a palette of {low} to {high} colours (got {len(self.palette)}).")
        object.__setattr__(self, "palette", tuple(normalise_hex(c) for c in self.palette))
        if self.hints is not None and self.hints.shape[:2] != self.lines.shape[:2]:
            raise InvalidRequestError("The hints layer must be the same size as the line art.")
        if self.hints is not None and (
            not isinstance(self.hints, np.ndarray) or self.hints.dtype != np.uint8 or self.hints.ndim != 3
        ):
            raise InvalidRequestError("The hints layer must be an 8-bit RGBA image.")
        if not 1 <= self.count <= 16:
            raise InvalidRequestError(f"Count must be between 1 and 16 (got {self.count}).")
        check_seed(self.seed)

    def summary(self) -> str:
        return f"Colorize {self.lines.shape[1]}x{self.lines.shape[0]} with {len(self.palette)} colours"


@dataclass(frozen=True)
class ColorizeResult(Result):
    kind = "colorize"
    images: tuple[np.ndarray, ...] = field(compare=False, repr=False)  # each HxWx3 uint8
    palettes: tuple[tuple[str, ...], ...] = ()  # the palette (order) used for each image
    pack_id: str = ""
    # Provenance of each image (JSON-able), written into its PNG like any generated image's.
    parameters: tuple[dict[str, Any], ...] = field(default=(), compare=False)

    def preview_image(self) -> np.ndarray:
        return self.images[0]

    def summary(self) -> str:
        return f"{len(self.images)} colorized image(s)"
