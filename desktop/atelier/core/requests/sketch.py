"""Images from a sketch with a Stable-Diffusion-family ONNX pack: txt2img, img2img, ControlNet, inpaint."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from atelier.core.errors import InvalidRequestError
from atelier.core.picture_io import too_large_message
from atelier.core.requests import Lane, Request, Result, check_seed, check_text

SCHEDULERS = ("", "euler", "euler_a", "ddim", "lcm")  # "" = the pack's own scheduler_config.json
MAX_SIDE = 2048  # the largest width or height generated
# The text encoder reads 77 tokens; a prompt is refused well past that, before the tokenizer sees it.
MAX_PROMPT_CHARS = 2000
# Input pictures are resized to the output size (at most 2048); the largest canvas is 4096x4096.
MAX_INPUT_PIXELS = 4096 * 4096


def _check_image(name: str, image: np.ndarray | None, channels: tuple[int, ...]) -> None:
    if image is None:
        return
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise InvalidRequestError(f"The {name} must be an 8-bit image.")
    shape_ok = (image.ndim == 2 and 1 in channels) or (image.ndim == 3 and image.shape[2] in channels)
    if not shape_ok or min(image.shape[:2]) < 8:
        raise InvalidRequestError(f"The {name} has an unsupported shape {image.shape}.")
    if image.shape[0] * image.shape[1] > MAX_INPUT_PIXELS:
        height, width = image.shape[:2]
        raise InvalidRequestError(too_large_message(width, height, MAX_INPUT_PIXELS, f"the {name}"), hint="")


@dataclass(frozen=True)
class SketchRequest(Request):
    kind = "sketch"
    lane = Lane.HEAVY
    prompt: str = ""
    negative: str = ""
    pack_id: str = ""  # a pack id, or the path of a diffusers/optimum ONNX folder; "" = first diffusion pack
    width: int = 512
    height: int = 512
    steps: int = 20
    guidance: float = 7.5
    seed: int = 0
    count: int = 1
    strength: float = 0.6  # img2img / inpaint: how much of the picture is re-drawn (1 = all)
    image: np.ndarray | None = field(default=None, compare=False, repr=False)  # img2img source, RGB(A)
    control: np.ndarray | None = field(default=None, compare=False, repr=False)  # ControlNet input, RGB(A)
    mask: np.ndarray | None = field(default=None, compare=False, repr=False)  # HxW uint8, 255 = regenerate
    control_scale: float = 1.0
    scheduler: str = ""

    def __post_init__(self) -> None:
        check_text(self.prompt, "prompt", MAX_PROMPT_CHARS)
        check_text(self.negative, "negative prompt", MAX_PROMPT_CHARS)
        if self.width % 64 or self.height % 64 or not (64 <= self.width <= MAX_SIDE and 64 <= self.height <= MAX_SIDE):
            raise InvalidRequestError(
                f"Width and height must be multiples of 64 between 64 and 2048 (got {self.width}x{self.height})."
            )
        if not 1 <= self.steps <= 150:
            raise InvalidRequestError(f"Steps must be between 1 and 150 (got {self.steps}).")
        if not 1 <= self.count <= 16:
            raise InvalidRequestError(f"Count must be between 1 and 16 (got {self.count}).")
        if not 0.0 < self.strength <= 1.0:
            raise InvalidRequestError(f"Strength must be above 0 and at most 1 (got {self.strength}).")
        if not 0.0 <= self.guidance <= 30.0:
            raise InvalidRequestError(f"Guidance must be between 0 and 30 (got {self.guidance}).")
        if self.scheduler not in SCHEDULERS:
            raise InvalidRequestError(f"Unknown scheduler '{self.scheduler}'; use one of {', '.join(SCHEDULERS[1:])}.")
        check_seed(self.seed)
        _check_image("picture", self.image, (3, 4))
        _check_image("control image", self.control, (1, 3, 4))
        _check_image("mask", self.mask, (1,))
        if self.mask is not None and self.image is None:
            raise InvalidRequestError("Inpainting needs the picture as well as the mask.")

    @property
    def mode(self) -> str:
        if self.mask is not None:
            return "inpaint"
        if self.image is not None:
            return "img2img"
        return "txt2img"

    def summary(self) -> str:
        prompt = self.prompt if len(self.prompt) <= 40 else self.prompt[:39] + "…"
        extra = " + control" if self.control is not None else ""
        return f"{self.mode}{extra} {self.width}x{self.height} x{self.count}: {prompt}"


@dataclass(frozen=True)
class SketchResult(Result):
    kind = "sketch"
    images: tuple[np.ndarray, ...] = field(compare=False, repr=False)  # each HxWx3 uint8
    seeds: tuple[int, ...] = ()
    parameters: dict[str, Any] = field(default_factory=dict, compare=False)  # provenance (JSON-able)

    def preview_image(self) -> np.ndarray:
        return self.images[0]

    def summary(self) -> str:
        return f"{len(self.images)} image(s), seed {self.seeds[0] if self.seeds else '?'}"
