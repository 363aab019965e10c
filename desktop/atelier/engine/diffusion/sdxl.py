"""Stable Diffusion XL over ONNX components in numpy: txt2img, img2img, inpaint, ControlNet, Turbo/Lightning.

It follows diffusers' StableDiffusionXL(Img2Img|Inpaint|ControlNet)Pipeline step for step (the tests check
parity): two CLIP text encoders whose penultimate hidden states are joined, the second's pooled
`text_embeds`, and `time_ids` (original size, crop corner, target size) fed to the UNet beside the
hidden states. Everything else (schedulers, VAE, ControlNet residuals, guidance) is shared with SD 1.x.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from pathlib import Path

import numpy as np
from PIL import Image

from atelier.core.errors import PackError
from atelier.engine.diffusion.pipeline import (
    ModelRunner,
    StableDiffusionPipeline,
    Step,
    TensorSpec,
    _rgb,
    attention_scale,
    feather_into,
    guidance_scale_embedding,
    latent_preview,
    read_json,
)
from atelier.engine.diffusion.schedulers import NoiseSource, make_scheduler
from atelier.engine.diffusion.tokenizer import ClipTokenizer
from atelier.engine.imaging import require_finite

SDXL_ROLES = ("text_encoder", "text_encoder_2", "unet", "vae_encoder", "vae_decoder", "controlnet")
SDXL_REQUIRED = ("text_encoder_2", "unet", "vae_decoder")
SDXL_TOKENIZERS = ("tokenizer", "tokenizer_2")
# Inputs the pipeline fills by name; any other UNet input is a ControlNet residual.
_NAMED = ("sample", "timestep", "encoder_hidden_states", "text_embeds", "time_ids", "timestep_cond")
_HIDDEN = re.compile(r"hidden_states\.(\d+)$")
# SDXL's VAE has its own latent space: a linear latent -> RGB map fitted for it (ComfyUI's published factors).
SDXL_LATENT_RGB = np.array(
    [
        [0.3920, 0.4054, 0.4549],
        [-0.2634, -0.0196, 0.0653],
        [0.0568, 0.1687, -0.0755],
        [-0.3112, -0.2359, -0.2076],
    ],
    np.float32,
)


def torch_nearest(mask: np.ndarray, height: int, width: int) -> np.ndarray:
    """torch's `interpolate(mode="nearest")`, which diffusers uses to bring the mask to latent size:
    source index floor(i * in / out) (PIL's NEAREST samples pixel centres and picks other pixels)."""
    rows = np.floor(np.arange(height) * (mask.shape[0] / height)).astype(np.int64)
    cols = np.floor(np.arange(width) * (mask.shape[1] / width)).astype(np.int64)
    return mask[rows][:, cols]


class StableDiffusionXLPipeline(StableDiffusionPipeline):
    def __init__(self, folder: Path, models: ModelRunner) -> None:
        self.folder = folder
        self.models = models
        for role in SDXL_REQUIRED:
            if not models.has(role):
                raise PackError(f"This SDXL pack has no {role}/model.onnx.")
        self.encoders = [role for role in ("text_encoder", "text_encoder_2") if models.has(role)]
        self.tokenizers = {
            role: ClipTokenizer(folder / ("tokenizer" if role == "text_encoder" else "tokenizer_2"))
            for role in self.encoders
        }
        self.scheduler_config = read_json(folder / "scheduler" / "scheduler_config.json")
        vae = read_json(folder / "vae_decoder" / "config.json") or read_json(folder / "vae" / "config.json")
        self.scaling_factor = float(vae.get("scaling_factor", 0.13025))
        self.vae_scale = 2 ** (len(vae.get("block_out_channels", [0, 0, 0, 0])) - 1)
        index = read_json(folder / "model_index.json")
        # diffusers' SDXL default: an empty negative prompt is zeros, not the encoding of "".
        self.force_zeros_for_empty_prompt = bool(index.get("force_zeros_for_empty_prompt", True))
        unet = {spec.name: spec for spec in models.inputs("unet")}
        for name in ("text_embeds", "time_ids"):
            if name not in unet:
                raise PackError(f"This pack's UNet has no '{name}' input, so it is not an SDXL UNet.")
        self.unet_inputs = list(unet)
        time_ids = unet["time_ids"].shape
        self.aesthetic = len(time_ids) > 1 and time_ids[1] == 5  # a refiner-style UNet: score instead of size
        sample = unet.get("sample") or next(iter(unet.values()))
        self.inpaint_unet = len(sample.shape) > 1 and sample.shape[1] == 9
        self.latent_channels = 4
        self._zero_residuals: dict[tuple[int, ...], list[np.ndarray]] = {}
        self.guidance_embedding: np.ndarray | None = None
        self.added: dict[str, np.ndarray] = {}
        size = read_json(folder / "unet" / "config.json").get("sample_size")
        side = size * self.vae_scale if isinstance(size, int) and size > 0 else 1024  # SDXL's 128 latents
        self.native_size = (side, side)
        self.attention_scale = attention_scale(folder, self.vae_scale, 2 * self.vae_scale)
        self.hidden_outputs = {role: self._penultimate(role) for role in self.encoders}

    def preview(self, latents: np.ndarray) -> np.ndarray:
        return latent_preview(latents, SDXL_LATENT_RGB)

    def _penultimate(self, role: str) -> str:
        """The output holding the penultimate layer's hidden states (what SDXL conditions on)."""
        names = [spec.name for spec in self.models.outputs(role)]
        layers = read_json(self.folder / role / "config.json").get("num_hidden_layers")
        if isinstance(layers, int) and f"hidden_states.{layers - 1}" in names:
            return f"hidden_states.{layers - 1}"
        indices = sorted(int(m[1]) for name in names if (m := _HIDDEN.match(name)))
        if len(indices) >= 2:  # optimum exports hidden_states.0..N: N - 1 is the penultimate
            return f"hidden_states.{indices[-2]}"
        raise PackError(
            f"{role}/model.onnx does not output its hidden states (hidden_states.N), which SDXL needs.",
            "Export the text encoders with output_hidden_states (optimum-cli does), or use import-diffusers.",
        )

    # -- the building blocks -------------------------------------------------------------------
    def encode_prompt_xl(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(penultimate hidden states of both encoders joined on the last axis, pooled text_embeds)."""
        hidden, pooled = [], None
        for role in self.encoders:
            spec = self.models.inputs(role)[0]
            ids = self.tokenizers[role](text).astype(spec.dtype)
            names = [o.name for o in self.models.outputs(role)]
            outputs = dict(zip(names, self.models.run(role, {spec.name: ids}), strict=True))
            hidden.append(outputs[self.hidden_outputs[role]].astype(np.float32))
            # Like diffusers: the pooled embedding of the last encoder that gives a 2-D one.
            two_d = [value for name, value in outputs.items() if value.ndim == 2]
            if "text_embeds" in outputs:
                pooled = outputs["text_embeds"].astype(np.float32)
            elif two_d:
                pooled = two_d[0].astype(np.float32)
        if pooled is None:
            raise PackError("No text encoder of this pack gives a pooled embedding (text_embeds).")
        return np.concatenate(hidden, axis=-1), pooled

    def time_ids(self, width: int, height: int, negative: bool = False) -> np.ndarray:
        if self.aesthetic:
            return np.array([[height, width, 0, 0, 2.5 if negative else 6.0]], np.float32)
        return np.array([[height, width, 0, 0, height, width]], np.float32)

    def _unet_feeds(
        self, role: str, sample: np.ndarray, timestep: float, embeddings: np.ndarray
    ) -> dict[str, np.ndarray]:
        feeds: dict[str, np.ndarray] = {}
        for spec in self.models.inputs(role):
            if spec.name in self.added:
                feeds[spec.name] = self.added[spec.name].astype(spec.dtype)
            elif spec.name == "timestep_cond" and self.guidance_embedding is not None:
                feeds[spec.name] = np.repeat(self.guidance_embedding, sample.shape[0], 0).astype(spec.dtype)
            elif spec.name == "timestep":
                feeds[spec.name] = self._timestep(spec, timestep, sample.shape[0])
            elif spec.name == "encoder_hidden_states":
                feeds[spec.name] = embeddings.astype(spec.dtype)
            elif spec.name == "sample":
                feeds[spec.name] = sample.astype(spec.dtype)
        return feeds

    def _extra_inputs(self, role: str) -> list[TensorSpec]:
        return [spec for spec in self.models.inputs(role) if spec.name not in _NAMED]

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

        An empty `negative` is diffusers' `negative_prompt=None`: zeros where the pack's model_index.json
        says force_zeros_for_empty_prompt (the SDXL default). With a mask, the result is feathered into
        `image` unless `paste_back` is False (then it is the decoded picture, as diffusers returns it).
        """
        if width % self.vae_scale or height % self.vae_scale:
            raise PackError(f"Width and height must be multiples of {self.vae_scale} for this pack.")
        if mask is not None and image is None:
            raise PackError("Inpainting needs the picture as well as the mask.")
        scheduler = make_scheduler(self.scheduler_config, scheduler_name)
        scheduler.set_timesteps(steps)
        self.guidance_embedding = None
        spec = next((s for s in self.models.inputs("unet") if s.name == "timestep_cond"), None)
        if spec is not None:
            dim = spec.shape[1] if len(spec.shape) > 1 and isinstance(spec.shape[1], int) else 256
            self.guidance_embedding = guidance_scale_embedding(guidance - 1.0, dim)
        guided = guidance > 1.0 and self.guidance_embedding is None
        embeddings, pooled = self.encode_prompt_xl(prompt)
        time_ids = self.time_ids(width, height)
        if guided:
            if not negative and self.force_zeros_for_empty_prompt:
                negative_embeddings, negative_pooled = np.zeros_like(embeddings), np.zeros_like(pooled)
            else:
                negative_embeddings, negative_pooled = self.encode_prompt_xl(negative)
            embeddings = np.concatenate([negative_embeddings, embeddings])
            pooled = np.concatenate([negative_pooled, pooled])
            time_ids = np.concatenate([self.time_ids(width, height, negative=True), time_ids])
        self.added = {"text_embeds": pooled, "time_ids": time_ids}
        shape = (1, self.latent_channels, height // self.vae_scale, width // self.vae_scale)
        control_input = None
        if control is not None:
            control_pixels = _rgb(control, width, height).transpose(2, 0, 1)[None]
            control_input = np.concatenate([control_pixels] * 2) if guided else control_pixels

        start = 0
        if image is not None:
            start = steps - min(int(steps * strength), steps)
            if start >= steps:
                raise PackError("Strength is too low for this many steps: nothing would change. Raise it.")
        pixels = _rgb(image, width, height) if image is not None else None
        source_latents: np.ndarray | None = None
        latent_mask = masked_latents = None
        if mask is None:
            if pixels is not None:
                source_latents = self.encode_image(pixels, noise)
            initial = noise(shape).astype(np.float32)
            if source_latents is None:
                latents = initial * np.float32(scheduler.init_noise_sigma)
            else:
                latents = scheduler.add_noise(source_latents, initial, start)
            if self.inpaint_unet:  # an inpainting UNet asked for a whole picture: everything is "masked"
                latent_mask = np.ones((1, 1, shape[2], shape[3]), np.float32)
                masked_latents = self.encode_image(np.full((height, width, 3), 0.5, np.float32), noise)
        else:
            assert pixels is not None
            # diffusers' mask processor: grey, resized like the picture, then 0/1 at one half.
            picture = Image.fromarray(mask).convert("L")
            if picture.size != (width, height):
                picture = picture.resize((width, height), Image.Resampling.LANCZOS)
            binary = (np.asarray(picture, np.float32) / 255.0 >= 0.5).astype(np.float32)
            at_max = strength == 1.0
            if not self.inpaint_unet or not at_max:  # the picture's latents (drawn before the noise)
                source_latents = self.encode_image(pixels, noise)
            initial = noise(shape).astype(np.float32)
            if at_max:
                latents = initial * np.float32(scheduler.init_noise_sigma)
            else:
                assert source_latents is not None
                latents = scheduler.add_noise(source_latents, initial, start)
            # Masked pixels become 0 in [-1, 1] (mid grey); diffusers encodes this for both UNet kinds,
            # which draws from the generator, so it is encoded here too and the noise stays in step.
            keep = (binary < 0.5).astype(np.float32)[..., None]
            masked_latents = self.encode_image(pixels * keep + 0.5 * (1 - keep), noise)
            latent_mask = torch_nearest(binary, shape[2], shape[3])[None, None]

        timesteps = scheduler.timesteps
        for index in range(start, len(timesteps)):
            latents = self._denoise(
                scheduler, index, latents, embeddings, guidance, control_input, control_scale,
                latent_mask if self.inpaint_unet else None, masked_latents, noise,
            )  # fmt: skip
            if mask is not None and not self.inpaint_unet:
                assert latent_mask is not None and source_latents is not None
                # Outside the mask, put back the source noised to the next level, as diffusers does.
                if index + 1 < len(timesteps):
                    kept = scheduler.add_noise(source_latents, initial, index + 1)
                else:
                    kept = source_latents
                latents = (1 - latent_mask) * kept + latent_mask * latents
            require_finite(latents, f"The picture at step {index - start + 1} of {len(timesteps) - start}")
            yield Step(index - start + 1, len(timesteps) - start, latents)
        result = self.decode(latents)
        if mask is not None and image is not None and paste_back:
            result = feather_into(image, result, mask)
        return result
