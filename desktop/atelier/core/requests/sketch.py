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
# The largest canvas a result is mapped back to (a generation of at most MAX_SIDE, then upscaled).
MAX_OUT_SIDE = 4096
CONTROL_SCALE_RANGE = (0.0, 2.0)
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
    # The generation size; 0 x 0 = auto: the pack's native area (512² for SD 1.x, 1024² for SDXL) at the
    # output's shape, sides in multiples of 64.
    width: int = 512
    height: int = 512
    # The size results come back at (the canvas), aspect kept: the generation is fitted inside it, never
    # stretched. 0 x 0 = the picture's size, or the generation size when there is no picture.
    out_width: int = 0
    out_height: int = 0
    # A result much larger than the generation gets a tiled img2img detail pass (see UpscaleRequest)
    # instead of only a resize; live images never do (a stroke must not wait for it).
    detail_upscale: bool = True
    steps: int = 20
    guidance: float = 7.5
    seed: int = 0
    count: int = 1
    strength: float = 0.6  # img2img / inpaint: how much of the picture is re-drawn (1 = all)
    image: np.ndarray | None = field(default=None, compare=False, repr=False)  # img2img source, RGB(A)
    control: np.ndarray | None = field(default=None, compare=False, repr=False)  # ControlNet input, RGB(A)
    mask: np.ndarray | None = field(default=None, compare=False, repr=False)  # HxW uint8, 255 = regenerate
    control_scale: float = 1.0
    # A second ControlNet input (a depth or pose map) for the pack's controlnet_<name>/ folder.
    second_control: np.ndarray | None = field(default=None, compare=False, repr=False)
    second_control_name: str = ""  # "depth", "pose", ...: which controlnet_<name>/; "" = the pack's only one
    second_control_scale: float = 1.0
    scheduler: str = ""

    def __post_init__(self) -> None:
        check_text(self.prompt, "prompt", MAX_PROMPT_CHARS)
        check_text(self.negative, "negative prompt", MAX_PROMPT_CHARS)
        auto = self.width == 0 and self.height == 0
        if not auto and (
            self.width % 64 or self.height % 64 or not (64 <= self.width <= MAX_SIDE and 64 <= self.height <= MAX_SIDE)
        ):
            raise InvalidRequestError(
                f"Width and height must be multiples of 64 between 64 and 2048, or both 0 for the pack's own "
                f"size (got {self.width}x{self.height})."
            )
        out_auto = self.out_width == 0 and self.out_height == 0
        if not out_auto and not (8 <= self.out_width <= MAX_OUT_SIDE and 8 <= self.out_height <= MAX_OUT_SIDE):
            raise InvalidRequestError(
                f"The output size must be between 8 and {MAX_OUT_SIDE} a side (got {self.out_width}x{self.out_height})."
            )
        low, high = CONTROL_SCALE_RANGE
        for what, scale in (("Control strength", self.control_scale), ("Second control strength",
                                                                         self.second_control_scale)):  # fmt: skip
            if not (isinstance(scale, (int, float)) and low <= scale <= high):
                raise InvalidRequestError(f"{what} must be between {low:g} and {high:g} (got {scale}).")
        if self.second_control is not None and self.control is None:
            raise InvalidRequestError("A second control input needs the first one (the line art) as well.")
        if not (self.second_control_name == "" or self.second_control_name.replace("_", "").isalnum()):
            raise InvalidRequestError(
                f"Unknown second ControlNet '{self.second_control_name}'; use e.g. depth or pose."
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
        _check_image("second control image", self.second_control, (1, 3, 4))
        if self.mask is not None and self.image is None:
            raise InvalidRequestError("Inpainting needs the picture as well as the mask.")
        if self.mask is not None and self.image is not None and self.mask.shape[:2] != self.image.shape[:2]:
            raise InvalidRequestError(
                f"The mask is {self.mask.shape[1]}x{self.mask.shape[0]} but the picture is "
                f"{self.image.shape[1]}x{self.image.shape[0]}; paint the mask on the picture itself."
            )

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
        extra += f" + {self.second_control_name or 'second control'}" if self.second_control is not None else ""
        size = f"{self.width}x{self.height}" if self.width else "auto size"
        return f"{self.mode}{extra} {size} x{self.count}: {prompt}"

    def output_size(self) -> tuple[int, int] | None:
        """The size results come back at, or None for the generation size (text to image, nothing given)."""
        if self.out_width:
            return self.out_width, self.out_height
        for picture in (self.image, self.control, self.mask):
            if picture is not None:
                return picture.shape[1], picture.shape[0]
        return None


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
