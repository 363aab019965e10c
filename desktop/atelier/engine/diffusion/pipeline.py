"""A Stable Diffusion pipeline over ONNX components in numpy: txt2img, img2img, ControlNet, inpaint.

It follows diffusers' StableDiffusion(Img2Img|ControlNet|Inpaint)Pipeline step for step (the tests
check parity), but reads every input's name, dtype and rank from the sessions, because exports
differ: int32 or int64 token ids, a scalar or [1] or [batch] timestep, a 4- or 8-channel VAE encoder.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from PIL import Image, ImageFilter

from atelier.core.errors import PackError
from atelier.engine.diffusion.schedulers import NoiseSource, Scheduler, make_scheduler
from atelier.engine.diffusion.tokenizer import ClipTokenizer
from atelier.engine.imaging import require_finite
from atelier.engine.manifest_schema import MAX_MANIFEST_BYTES
from atelier.engine.onnx_types import NUMPY_TYPES
from atelier.engine.packs import read_bounded

ROLES = ("text_encoder", "unet", "vae_encoder", "vae_decoder", "controlnet")
REQUIRED = ("text_encoder", "unet", "vae_decoder")
# A linear latent -> RGB map for SD 1.x/2.x latents: a preview that costs nothing per step.
LATENT_RGB = np.array(
    [
        [0.3512, 0.2297, 0.3227],
        [0.3250, 0.4974, 0.2350],
        [-0.2829, 0.1762, 0.2721],
        [-0.2120, -0.2616, -0.7177],
    ],
    np.float32,
)


@dataclass(frozen=True)
class TensorSpec:
    name: str
    type: str
    shape: tuple[Any, ...]

    @property
    def dtype(self) -> Any:
        return NUMPY_TYPES.get(self.type, np.float32)


class ModelRunner(Protocol):
    """Runs a pipeline component by role (the task adapts the SessionPool to this)."""

    def has(self, role: str) -> bool: ...

    def inputs(self, role: str) -> list[TensorSpec]: ...

    def outputs(self, role: str) -> list[TensorSpec]: ...

    def run(self, role: str, feeds: Mapping[str, np.ndarray]) -> list[np.ndarray]: ...


@dataclass
class Step:
    """One denoising step done: where we are and the latents so far (for previews)."""

    index: int
    total: int
    latents: np.ndarray


def read_json(path: Path) -> dict[str, Any]:
    """A pack folder's JSON config; {} when absent or not a JSON object. Read bounded: a named pipe or a
    link to /dev/zero in the folder is a PackError naming it, not a hang or a read without end."""
    if not os.path.lexists(path):
        return {}
    try:
        value = json.loads(read_bounded(path, MAX_MANIFEST_BYTES))
    except (ValueError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}


def latent_preview(latents: np.ndarray, factors: np.ndarray = LATENT_RGB) -> np.ndarray:
    rgb = np.einsum("chw,cr->hwr", latents[0, :4].astype(np.float32), factors)
    return np.clip((rgb + 1.0) * 127.5, 0, 255).astype(np.uint8)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Decoder output [-1, 1] NCHW -> HxWx3 uint8, rounded as diffusers does."""
    require_finite(image, "The decoded picture")
    pixels = np.clip(image[0].transpose(1, 2, 0).astype(np.float32) / 2 + 0.5, 0, 1)
    return (pixels * 255).round().astype(np.uint8)


def _rgb(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """RGB(A)/grey uint8 -> HxWx3 float32 in [0, 1] at the generation size (transparency on white)."""
    picture = Image.fromarray(image)
    if picture.mode in ("RGBA", "LA"):
        paper = Image.new("RGBA", picture.size, (255, 255, 255, 255))
        picture = Image.alpha_composite(paper, picture.convert("RGBA"))
    picture = picture.convert("RGB")
    if picture.size != (width, height):
        picture = picture.resize((width, height), Image.Resampling.LANCZOS)
    return np.asarray(picture, np.float32) / 255.0


class StableDiffusionPipeline:
    def __init__(self, folder: Path, models: ModelRunner) -> None:
        self.folder = folder
        self.models = models
        self.tokenizer = ClipTokenizer(folder / "tokenizer")
        self.scheduler_config = read_json(folder / "scheduler" / "scheduler_config.json")
        vae = read_json(folder / "vae_decoder" / "config.json") or read_json(folder / "vae" / "config.json")
        self.scaling_factor = float(vae.get("scaling_factor", 0.18215))
        self.vae_scale = 2 ** (len(vae.get("block_out_channels", [0, 0, 0, 0])) - 1)
        unet = {spec.name: spec for spec in models.inputs("unet")}
        self.unet_inputs = list(unet)
        sample = unet.get("sample") or next(iter(unet.values()))
        channels = sample.shape[1] if len(sample.shape) > 1 else 4
        self.inpaint_unet = channels == 9
        self.latent_channels = 4
        self._zero_residuals: dict[tuple[int, ...], list[np.ndarray]] = {}
        self.guidance_embedding: np.ndarray | None = None
        self.native_size = native_size(folder, self.vae_scale, self.scheduler_config)
        self.attention_scale = attention_scale(folder, self.vae_scale, self.vae_scale)

    def preview(self, latents: np.ndarray) -> np.ndarray:
        """A picture of the latents at no cost (the linear map for this family's latent space)."""
        return latent_preview(latents)

    # -- the building blocks -------------------------------------------------------------------
    def encode_prompt(self, text: str) -> np.ndarray:
        spec = self.models.inputs("text_encoder")[0]
        ids = self.tokenizer(text).astype(spec.dtype)
        return self.models.run("text_encoder", {spec.name: ids})[0].astype(np.float32)

    def _timestep(self, spec: TensorSpec, value: float, batch: int) -> np.ndarray:
        # Integer exports truncate like diffusers' ONNX pipelines do.
        dtype = spec.dtype
        if len(spec.shape) == 0:
            return np.array(value, dtype)
        size = spec.shape[0] if isinstance(spec.shape[0], int) else batch
        return np.full((size,), value, dtype)

    def _unet_feeds(
        self, role: str, sample: np.ndarray, timestep: float, embeddings: np.ndarray
    ) -> dict[str, np.ndarray]:
        """Feeds for the inputs every UNet-like model has; the rest are returned by `_extra_inputs`."""
        feeds: dict[str, np.ndarray] = {}
        specs = self.models.inputs(role)
        for spec in specs[:3]:
            if "time" in spec.name:
                feeds[spec.name] = self._timestep(spec, timestep, sample.shape[0])
            elif "hidden" in spec.name or "encoder" in spec.name:
                feeds[spec.name] = embeddings.astype(spec.dtype)
            else:
                feeds[spec.name] = sample.astype(spec.dtype)
        for spec in specs[3:]:
            if spec.name == "timestep_cond" and self.guidance_embedding is not None:
                feeds[spec.name] = np.repeat(self.guidance_embedding, sample.shape[0], 0).astype(spec.dtype)
        return feeds

    def _extra_inputs(self, role: str) -> list[TensorSpec]:
        return [spec for spec in self.models.inputs(role)[3:] if spec.name != "timestep_cond"]

    def predict_noise(
        self,
        sample: np.ndarray,
        timestep: float,
        embeddings: np.ndarray,
        control: np.ndarray | None,
        control_scale: float,
    ) -> np.ndarray:
        feeds = self._unet_feeds("unet", sample, timestep, embeddings)
        extra = self._extra_inputs("unet")
        if extra and control is None:
            # A ControlNet-ready UNet still needs its residual inputs: zeros are "no control".
            key = sample.shape
            if key not in self._zero_residuals:
                height, width = sample.shape[2] * self.vae_scale, sample.shape[3] * self.vae_scale
                blank = np.zeros((sample.shape[0], 3, height, width), np.float32)
                residuals = self._control_residuals(sample, timestep, embeddings, blank, 0.0)
                self._zero_residuals[key] = [np.zeros_like(r) for r in residuals]
            for spec, residual in zip(extra, self._zero_residuals[key], strict=True):
                feeds[spec.name] = residual.astype(spec.dtype)
        elif extra:
            assert control is not None
            residuals = self._control_residuals(sample, timestep, embeddings, control, control_scale)
            if len(residuals) != len(extra):
                raise PackError(f"The ControlNet gives {len(residuals)} residuals but the UNet takes {len(extra)}.")
            for spec, residual in zip(extra, residuals, strict=True):
                feeds[spec.name] = residual.astype(spec.dtype)
        return self.models.run("unet", feeds)[0].astype(np.float32)

    def _control_residuals(
        self, sample: np.ndarray, timestep: float, embeddings: np.ndarray, control: np.ndarray, scale: float
    ) -> list[np.ndarray]:
        if not self.models.has("controlnet"):
            raise PackError("This pack's UNet takes ControlNet residuals but the pack has no controlnet/.")
        feeds = self._unet_feeds("controlnet", sample, timestep, embeddings)
        for spec in self._extra_inputs("controlnet"):
            if "scale" in spec.name:
                feeds[spec.name] = np.array(scale, spec.dtype).reshape([1] * len(spec.shape))
            else:
                feeds[spec.name] = control.astype(spec.dtype)
        return self.models.run("controlnet", feeds)

    def encode_image(self, pixels: np.ndarray, noise: NoiseSource) -> np.ndarray:
        """[0, 1] HxWx3 -> scaled latents, sampling the VAE's distribution like diffusers does."""
        if not self.models.has("vae_encoder"):
            raise PackError("This pack has no vae_encoder, so it can only generate from text.")
        spec = self.models.inputs("vae_encoder")[0]
        batch = (pixels.transpose(2, 0, 1)[None] * 2.0 - 1.0).astype(spec.dtype)
        encoded = self.models.run("vae_encoder", {spec.name: batch})[0].astype(np.float32)
        if encoded.shape[1] == 2 * self.latent_channels:  # mean and log-variance (optimum's layout)
            mean, logvar = np.split(encoded, 2, axis=1)
            std = np.exp(0.5 * np.clip(logvar, -30.0, 20.0))
            encoded = mean + std * noise(mean.shape)
        return (encoded * self.scaling_factor).astype(np.float32)

    def decode(self, latents: np.ndarray) -> np.ndarray:
        spec = self.models.inputs("vae_decoder")[0]
        image = self.models.run("vae_decoder", {spec.name: (latents / self.scaling_factor).astype(spec.dtype)})
        return to_uint8(image[0])

    # -- generation ------------------------------------------------------------------------------
    def generate(
        self,
        prompt: str,
        negative: str,
        width: int,
        height: int,
        steps: int,
        guidance: float,
        noise: NoiseSource,
        scheduler_name: str = "",
        image: np.ndarray | None = None,
        strength: float = 1.0,
        control: np.ndarray | None = None,
        control_scale: float = 1.0,
        mask: np.ndarray | None = None,
        paste_back: bool = True,
    ) -> Generator[Step, None, np.ndarray]:
        """Yields after each step; returns the HxWx3 uint8 image. `noise(shape)` is the only RNG.

        With a mask the result is feathered into `image`, unless `paste_back` is False (a caller that
        pastes a crop back itself).
        """
        if width % self.vae_scale or height % self.vae_scale:
            raise PackError(f"Width and height must be multiples of {self.vae_scale} for this pack.")
        scheduler = make_scheduler(self.scheduler_config, scheduler_name)
        scheduler.set_timesteps(steps)
        # An LCM-distilled UNet takes the guidance scale as an embedding instead of a second batch row.
        self.guidance_embedding = None
        spec = next((s for s in self.models.inputs("unet") if s.name == "timestep_cond"), None)
        if spec is not None:
            dim = spec.shape[1] if len(spec.shape) > 1 and isinstance(spec.shape[1], int) else 256
            self.guidance_embedding = guidance_scale_embedding(guidance - 1.0, dim)
        guided = guidance > 1.0 and self.guidance_embedding is None
        embeddings = self.encode_prompt(prompt)
        if guided:
            embeddings = np.concatenate([self.encode_prompt(negative), embeddings])
        shape = (1, self.latent_channels, height // self.vae_scale, width // self.vae_scale)
        control_input = None
        if control is not None:
            control_pixels = _rgb(control, width, height).transpose(2, 0, 1)[None]
            control_input = np.concatenate([control_pixels] * 2) if guided else control_pixels

        start = 0
        source_latents: np.ndarray | None = None
        pixels: np.ndarray | None = None
        if image is not None:
            pixels = _rgb(image, width, height)
            source_latents = self.encode_image(pixels, noise)
            start = steps - min(int(steps * strength), steps)
            if start >= steps:
                raise PackError("Strength is too low for this many steps: nothing would change. Raise it.")
        initial = noise(shape).astype(np.float32)
        if source_latents is None:
            latents = initial * np.float32(scheduler.init_noise_sigma)
        else:
            latents = scheduler.add_noise(source_latents, initial, start)

        latent_mask = masked_latents = None
        if mask is not None:
            assert source_latents is not None and pixels is not None
            small = Image.fromarray(mask).resize((shape[3], shape[2]), Image.Resampling.NEAREST)
            latent_mask = (np.asarray(small, np.float32) / 255.0 >= 0.5).astype(np.float32)[None, None]
            if self.inpaint_unet:
                full = np.asarray(Image.fromarray(mask).resize((width, height)), np.float32)[..., None] / 255.0
                keep = (full < 0.5).astype(np.float32)
                # Masked pixels become 0 in [-1, 1] (mid grey), as diffusers' inpaint pipeline does.
                masked_latents = self.encode_image(pixels * keep + 0.5 * (1 - keep), noise)
        elif self.inpaint_unet:  # an inpainting UNet asked for a whole picture: everything is "masked"
            latent_mask = np.ones((1, 1, shape[2], shape[3]), np.float32)
            masked_latents = self.encode_image(np.full((height, width, 3), 0.5, np.float32), noise)

        timesteps = scheduler.timesteps
        for index in range(start, len(timesteps)):
            latents = self._denoise(
                scheduler, index, latents, embeddings, guidance, control_input, control_scale,
                latent_mask, masked_latents, noise,
            )  # fmt: skip
            if latent_mask is not None and not self.inpaint_unet and source_latents is not None:
                # Outside the mask, put back the source noised to the next level, as diffusers does.
                if index + 1 < len(timesteps):
                    kept = scheduler.add_noise(source_latents, initial, index + 1)
                else:
                    kept = source_latents
                latents = (1 - latent_mask) * kept + latent_mask * latents
            # Finite model outputs can still overflow in the scheduler's arithmetic; stop at that step.
            require_finite(latents, f"The picture at step {index - start + 1} of {len(timesteps) - start}")
            yield Step(index - start + 1, len(timesteps) - start, latents)
        result = self.decode(latents)
        if mask is not None and image is not None and paste_back:
            result = feather_into(image, result, mask)
        return result

    def _denoise(
        self,
        scheduler: Scheduler,
        index: int,
        latents: np.ndarray,
        embeddings: np.ndarray,
        guidance: float,
        control: np.ndarray | None,
        control_scale: float,
        latent_mask: np.ndarray | None,
        masked_latents: np.ndarray | None,
        noise: NoiseSource,
    ) -> np.ndarray:
        guided = embeddings.shape[0] == 2
        model_input = np.concatenate([latents] * 2) if guided else latents
        model_input = scheduler.scale_model_input(model_input, index)
        if self.inpaint_unet and latent_mask is not None and masked_latents is not None:
            batch = model_input.shape[0]
            model_input = np.concatenate(
                [model_input, np.repeat(latent_mask, batch, 0), np.repeat(masked_latents, batch, 0)], axis=1
            )
        timestep = float(scheduler.timesteps[index])
        prediction = self.predict_noise(model_input, timestep, embeddings, control, control_scale)
        if guided:
            uncond, text = np.split(prediction, 2)
            prediction = uncond + guidance * (text - uncond)
        return scheduler.step(prediction, index, latents, noise)


def native_size(folder: Path, vae_scale: int, scheduler_config: Mapping[str, Any]) -> tuple[int, int]:
    """The size an SD 1.x/2.x UNet was trained at: its config's sample_size in pixels where the folder
    has unet/config.json, else 768 for a v-prediction SD 2.x text encoder width (1024), else 512."""
    size = read_json(folder / "unet" / "config.json").get("sample_size")
    if isinstance(size, int) and size > 0:
        return (size * vae_scale, size * vae_scale)
    if scheduler_config.get("prediction_type") == "v_prediction":
        return (768, 768)
    return (512, 512)


def attention_scale(folder: Path, vae_scale: int, default: int) -> int:
    """Pixels per token of the UNet's largest self-attention (the memory peak at large sizes): SD 1.x
    attends at the latent resolution (8), SDXL only from its second block down (16)."""
    blocks = read_json(folder / "unet" / "config.json").get("down_block_types")
    if isinstance(blocks, list):
        for index, kind in enumerate(blocks):
            if "CrossAttn" in str(kind):
                return int(vae_scale * 2**index)
    return default


def guidance_scale_embedding(w: float, dim: int) -> np.ndarray:
    """diffusers' `get_guidance_scale_embedding` for one image: sinusoids of w * 1000, shape [1, dim]."""
    half = dim // 2
    frequencies = np.exp(np.arange(half, dtype=np.float32) * -(np.log(10000.0) / (half - 1)))
    angles = np.float32(w * 1000.0) * frequencies[None, :]
    embedding = np.concatenate([np.sin(angles), np.cos(angles)], axis=1)
    if dim % 2:
        embedding = np.pad(embedding, ((0, 0), (0, 1)))
    return embedding.astype(np.float32)


def feather_into(original: np.ndarray, generated: np.ndarray, mask: np.ndarray, radius: float = 4.0) -> np.ndarray:
    """Blend the generated region into the original with a softened mask edge."""
    height, width = generated.shape[:2]
    base = _rgb(original, width, height)
    soft = Image.fromarray(mask).resize((width, height)).filter(ImageFilter.GaussianBlur(radius))
    weight = (np.asarray(soft, np.float32) / 255.0)[..., None]
    blended = base * (1 - weight) + generated.astype(np.float32) / 255.0 * weight
    return np.clip(blended * 255 + 0.5, 0, 255).astype(np.uint8)


def numpy_noise(seed: int) -> NoiseSource:
    generator = np.random.default_rng(seed)

    def noise(shape: tuple[int, ...]) -> np.ndarray:
        return generator.standard_normal(shape, dtype=np.float32)

    return noise


NoiseFactory = Callable[[int], NoiseSource]
