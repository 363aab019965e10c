"""Upscale a picture 2x (or more): Lanczos, then a tiled img2img detail pass with the user's diffusion pack."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from atelier.core.errors import InvalidRequestError
from atelier.core.requests import Lane, Request, Result, check_seed, check_text

SCALES = (1.5, 2.0, 3.0, 4.0)
MAX_OUT_SIDE = 8192  # the output is held whole (3 bytes a pixel plus a float32 blend, about 1 GB here)
MAX_OUT_PIXELS = 8192 * 8192
MAX_PROMPT_CHARS = 2000
MIN_TILE, MAX_TILE = 256, 2048


@dataclass(frozen=True)
class UpscaleRequest(Request):
    kind = "upscale"
    lane = Lane.HEAVY
    image: np.ndarray = field(compare=False, repr=False)  # HxWx3 or HxWx4 uint8
    scale: float = 2.0
    # The detail pass: each tile redrawn at low strength by a diffusion pack (an id or ONNX folder; "" = the
    # first installed). Without it, or without any pack, the picture is only resized (Lanczos), and the
    # result says so.
    detail: bool = True
    pack_id: str = ""
    prompt: str = ""  # what the picture shows: guides the detail pass
    negative: str = ""
    strength: float = 0.3  # how much each tile is redrawn: low keeps the picture, high invents detail
    steps: int = 20
    guidance: float = 5.0
    seed: int = 0
    # The side of each tile the pack redraws (0 = the pack's native size): memory is bounded by it,
    # whatever the picture's size.
    tile: int = 0
    overlap: int = 64  # pixels shared by neighbouring tiles, cross-faded so no seam shows
    scheduler: str = ""
    # The picture's own provenance when it was generated (prompt, seed, pack...): kept in the result's.
    source_parameters: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        image = self.image
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
            raise InvalidRequestError("The picture to upscale must be an 8-bit image.")
        if image.ndim != 3 or image.shape[2] not in (3, 4) or min(image.shape[:2]) < 8:
            raise InvalidRequestError(f"The picture must be RGB or RGBA and at least 8x8 (got shape {image.shape}).")
        if not isinstance(self.scale, (int, float)) or not 1.0 < self.scale <= 4.0:
            raise InvalidRequestError(f"Scale must be above 1 and at most 4 (got {self.scale}).")
        width, height = self.output_size()
        if max(width, height) > MAX_OUT_SIDE or width * height > MAX_OUT_PIXELS:
            raise InvalidRequestError(
                f"Upscaling {image.shape[1]}x{image.shape[0]} by {self.scale:g} gives {width}x{height}, more than "
                f"the {MAX_OUT_SIDE}x{MAX_OUT_SIDE} Atelier writes.",
                "Choose a smaller scale, or crop the picture first.",
            )
        check_text(self.prompt, "prompt", MAX_PROMPT_CHARS)
        check_text(self.negative, "negative prompt", MAX_PROMPT_CHARS)
        if not 0.0 < self.strength <= 1.0:
            raise InvalidRequestError(f"Strength must be above 0 and at most 1 (got {self.strength}).")
        if not 1 <= self.steps <= 150:
            raise InvalidRequestError(f"Steps must be between 1 and 150 (got {self.steps}).")
        if not 0.0 <= self.guidance <= 30.0:
            raise InvalidRequestError(f"Guidance must be between 0 and 30 (got {self.guidance}).")
        if self.tile and (self.tile % 64 or not MIN_TILE <= self.tile <= MAX_TILE):
            raise InvalidRequestError(
                f"The tile must be a multiple of 64 from {MIN_TILE} to {MAX_TILE}, or 0 for the pack's size "
                f"(got {self.tile})."
            )
        if not 0 <= self.overlap <= 256:
            raise InvalidRequestError(f"The overlap must be 0 to 256 pixels (got {self.overlap}).")
        check_seed(self.seed)

    def output_size(self) -> tuple[int, int]:
        height, width = self.image.shape[:2]
        return round(width * self.scale), round(height * self.scale)

    def summary(self) -> str:
        width, height = self.output_size()
        how = "Lanczos + detail" if self.detail else "Lanczos"
        return f"Upscale {self.image.shape[1]}x{self.image.shape[0]} -> {width}x{height} ({how})"


@dataclass(frozen=True)
class UpscaleResult(Result):
    kind = "upscale"
    image: np.ndarray = field(compare=False, repr=False)  # HxWx3 uint8
    # Provenance: the source picture's own parameters (when the caller had them) plus "upscale": {...}.
    parameters: dict[str, Any] = field(default_factory=dict, compare=False)
    note: str = ""  # said to the user, e.g. that no pack was given so only Lanczos ran

    def preview_image(self) -> np.ndarray:
        return self.image

    def summary(self) -> str:
        text = f"Upscaled to {self.image.shape[1]}x{self.image.shape[0]}"
        return f"{text} ({self.note})" if self.note else text
