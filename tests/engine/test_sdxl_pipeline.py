"""The numpy SDXL pipeline matches diffusers' StableDiffusionXL pipelines on tiny random-weight models.

Both export conventions: Atelier's own (import-diffusers) and optimum-cli's layout (emulated, see
atelier_build/diffusion/export_sdxl.py). Same noise on both sides; images must agree to 1/255.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest

from atelier.core.errors import PackError
from atelier.engine.diffusion.factory import is_sdxl_folder, missing_parts, pipeline_for
from atelier.engine.diffusion.pipeline import StableDiffusionPipeline, TensorSpec
from atelier.engine.diffusion.sdxl import SDXL_ROLES, StableDiffusionXLPipeline, torch_nearest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")

from tests.sdxl_builders import tiny_sdxl_folder  # noqa: E402

SIZE = 64
CONVENTIONS = ["atelier", "optimum"]


class OrtModels:
    """Plain onnxruntime sessions for a folder (the task uses the SessionPool; this isolates the pipeline)."""

    def __init__(self, folder: Path) -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        self.sessions = {
            role: ort.InferenceSession(str(folder / role / "model.onnx"), options, providers=["CPUExecutionProvider"])
            for role in SDXL_ROLES
            if (folder / role / "model.onnx").exists()
        }

    def has(self, role: str) -> bool:
        return role in self.sessions

    def inputs(self, role: str) -> list[TensorSpec]:
        return [TensorSpec(i.name, i.type, tuple(i.shape)) for i in self.sessions[role].get_inputs()]

    def outputs(self, role: str) -> list[TensorSpec]:
        return [TensorSpec(o.name, o.type, tuple(o.shape)) for o in self.sessions[role].get_outputs()]

    def run(self, role: str, feeds: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        return list(self.sessions[role].run(None, dict(feeds)))


def torch_noise(seed: int):
    generator = torch.Generator().manual_seed(seed)
    return lambda shape: torch.randn(shape, generator=generator).numpy()


def run_ours(folder: Path, prompt: str = "a cat sketch", negative: str = "", steps: int = 4,
             guidance: float = 5.0, seed: int = 5, **kwargs: Any) -> np.ndarray:  # fmt: skip
    pipeline = pipeline_for(folder, OrtModels(folder))
    assert isinstance(pipeline, StableDiffusionXLPipeline)
    generator = pipeline.generate(prompt, negative, SIZE, SIZE, steps, guidance, torch_noise(seed), **kwargs)
    while True:
        try:
            next(generator)
        except StopIteration as stop:
            return stop.value


def run_theirs(pipe: Any, prompt: str = "a cat sketch", seed: int = 5, **kwargs: Any) -> np.ndarray:
    settings = {"num_inference_steps": 4, "guidance_scale": 5.0, **kwargs}
    if "image" not in kwargs or "mask_image" in kwargs or "controlnet" in type(pipe).__name__.lower():
        settings.update(height=SIZE, width=SIZE)
    with torch.no_grad():
        images = pipe(prompt, generator=torch.Generator().manual_seed(seed), output_type="np", **settings).images
    return (images[0] * 255).round().astype(np.uint8)


def assert_close(ours: np.ndarray, theirs: np.ndarray) -> None:
    difference = np.abs(ours.astype(int) - theirs.astype(int)).max()
    assert difference <= 1, f"max pixel difference {difference}/255"
    assert ours.std() > 1  # not a flat image that would match anything


def sketch_image() -> np.ndarray:
    rng = np.random.default_rng(0)
    image = np.full((SIZE, SIZE, 3), 255, np.uint8)
    image[20:44, 10:54] = rng.integers(0, 255, (24, 44, 3))
    return image


def mask_image() -> np.ndarray:
    mask = np.zeros((SIZE, SIZE), np.uint8)
    mask[12:40, 30:60] = 255
    return mask


def with_scheduler(folder: Path, pipe: Any, cls: Any, **overrides: Any) -> None:
    """The same weights under another scheduler configuration, on both sides."""
    pipe.scheduler = cls.from_config(pipe.scheduler.config, **overrides)
    pipe.scheduler.save_config(str(folder / "scheduler"))


@pytest.mark.slow
@pytest.mark.parametrize("convention", CONVENTIONS)
def test_txt2img_matches_diffusers(convention: str) -> None:
    folder, pipe, _ = tiny_sdxl_folder(convention)
    assert_close(run_ours(folder), run_theirs(pipe))
    # A real negative prompt is encoded by both encoders (not zeros).
    assert_close(run_ours(folder, negative="blurry dog"), run_theirs(pipe, negative_prompt="blurry dog"))


@pytest.mark.slow
def test_ancestral_sampler_and_turbo_style_single_step_without_guidance() -> None:
    """SDXL-Turbo's settings: Euler ancestral, trailing spacing, 1 step, guidance 0 (no negative pass)."""
    from diffusers import EulerAncestralDiscreteScheduler

    folder, pipe, _ = tiny_sdxl_folder("atelier")
    try:
        with_scheduler(folder, pipe, EulerAncestralDiscreteScheduler)
        assert_close(run_ours(folder, seed=3), run_theirs(pipe, seed=3))
        with_scheduler(folder, pipe, EulerAncestralDiscreteScheduler, timestep_spacing="trailing")
        ours = run_ours(folder, steps=1, guidance=0.0)
        assert_close(ours, run_theirs(pipe, num_inference_steps=1, guidance_scale=0.0))
    finally:
        tiny_sdxl_folder("atelier")  # put the default scheduler back for the other tests


@pytest.mark.slow
@pytest.mark.parametrize("convention", CONVENTIONS)
def test_img2img_matches_diffusers(convention: str) -> None:
    from diffusers import StableDiffusionXLImg2ImgPipeline
    from PIL import Image

    folder, pipe, _ = tiny_sdxl_folder(convention)
    img2img = StableDiffusionXLImg2ImgPipeline(**pipe.components)
    img2img.set_progress_bar_config(disable=True)
    image = sketch_image()
    theirs = run_theirs(img2img, "a dog", seed=7, image=Image.fromarray(image), strength=0.6, num_inference_steps=5)
    ours = run_ours(folder, "a dog", steps=5, seed=7, image=image, strength=0.6)
    assert_close(ours, theirs)


@pytest.mark.slow
@pytest.mark.parametrize(("convention", "strength"), [("atelier", 0.75), ("optimum", 0.75), ("atelier", 1.0)])
def test_inpaint_matches_diffusers(convention: str, strength: float) -> None:
    from diffusers import StableDiffusionXLInpaintPipeline
    from PIL import Image

    folder, pipe, _ = tiny_sdxl_folder(convention)
    inpaint = StableDiffusionXLInpaintPipeline(**pipe.components)
    inpaint.set_progress_bar_config(disable=True)
    image, mask = sketch_image(), mask_image()
    theirs = run_theirs(inpaint, image=Image.fromarray(image), mask_image=Image.fromarray(mask), strength=strength)
    ours = run_ours(folder, image=image, mask=mask, strength=strength, paste_back=False)
    assert_close(ours, theirs)
    # Pasted back (the default), pixels far from the mask are the picture's own.
    pasted = run_ours(folder, image=image, mask=mask, strength=strength)
    assert np.array_equal(pasted[:, :16], image[:, :16])
    assert not np.array_equal(pasted[12:40, 30:60], image[12:40, 30:60])


@pytest.mark.slow
def test_nine_channel_inpainting_unet_matches_diffusers() -> None:
    from diffusers import StableDiffusionXLInpaintPipeline
    from PIL import Image

    folder, pipe, _ = tiny_sdxl_folder("atelier", inpaint=True)
    inpaint = StableDiffusionXLInpaintPipeline(**pipe.components)
    inpaint.set_progress_bar_config(disable=True)
    image, mask = sketch_image(), mask_image()
    theirs = run_theirs(inpaint, image=Image.fromarray(image), mask_image=Image.fromarray(mask), strength=0.8)
    assert_close(run_ours(folder, image=image, mask=mask, strength=0.8, paste_back=False), theirs)


@pytest.mark.slow
def test_controlnet_matches_diffusers() -> None:
    from diffusers import StableDiffusionXLControlNetPipeline
    from PIL import Image

    folder, pipe, net = tiny_sdxl_folder("atelier", controlnet=True)
    controlled = StableDiffusionXLControlNetPipeline(**pipe.components, controlnet=net)
    controlled.set_progress_bar_config(disable=True)
    control = sketch_image()
    theirs = run_theirs(controlled, image=Image.fromarray(control), controlnet_conditioning_scale=0.7)
    ours = run_ours(folder, control=control, control_scale=0.7)
    assert_close(ours, theirs)
    plain = run_ours(folder)  # the ControlNet-ready UNet without a control: zero residuals
    assert np.abs(plain.astype(int) - ours.astype(int)).max() > 2  # the control mattered


@pytest.mark.slow
def test_factory_picks_the_family_and_native_size(tmp_path: Path) -> None:
    from tests.diffusion_builders import tiny_onnx_folder

    sdxl, _, _ = tiny_sdxl_folder("optimum")
    sd, _, _ = tiny_onnx_folder("optimum")
    assert is_sdxl_folder(sdxl) and not is_sdxl_folder(sd)
    xl = pipeline_for(sdxl, OrtModels(sdxl))
    plain = pipeline_for(sd, OrtModels(sd))
    assert type(xl) is StableDiffusionXLPipeline and type(plain) is StableDiffusionPipeline
    # The tiny UNets' configs say sample_size 8 (64 px); without a config the family's default.
    assert xl.native_size == (64, 64) and plain.native_size == (64, 64)
    # The largest self-attention: SD 1.x at the latents' resolution, SDXL one block down (memory estimates).
    assert plain.attention_scale == 16 and xl.attention_scale == 16  # both tiny UNets start with a DownBlock2D
    assert missing_parts(sdxl) == [] and missing_parts(sd) == []
    bare = tmp_path / "bare-xl"
    (bare / "text_encoder_2").mkdir(parents=True)
    (bare / "text_encoder_2" / "model.onnx").write_bytes(b"")
    assert missing_parts(bare) == ["unet/model.onnx", "vae_decoder/model.onnx", "tokenizer_2/"]


def test_torch_nearest_picks_the_first_pixel_of_each_block() -> None:
    """diffusers brings the mask to latent size with torch's nearest: pixel 8i, not the centre 8i+4."""
    mask = np.zeros((16, 16), np.float32)
    mask[0, 0] = 1.0
    mask[4, 4] = 2.0
    small = torch_nearest(mask, 2, 2)
    assert small[0, 0] == 1.0 and small.shape == (2, 2)
    expected = torch.nn.functional.interpolate(torch.from_numpy(mask)[None, None], size=(2, 2))[0, 0].numpy()
    assert np.array_equal(small, expected)


@pytest.mark.slow
def test_a_text_encoder_without_hidden_states_is_refused_with_a_reason(tmp_path: Path) -> None:
    import shutil

    import onnx

    folder, _, _ = tiny_sdxl_folder("atelier")
    copy = tmp_path / "xl"
    shutil.copytree(folder, copy)
    model = onnx.load(str(copy / "text_encoder_2" / "model.onnx"))
    del model.graph.output[1]  # keep text_embeds only
    onnx.save(model, str(copy / "text_encoder_2" / "model.onnx"))
    (copy / "text_encoder_2" / "config.json").write_text(json.dumps({}))
    with pytest.raises(PackError, match="hidden states"):
        pipeline_for(copy, OrtModels(copy))


@pytest.mark.slow
def test_fp16_export_runs_with_float32_inputs_and_stays_close() -> None:
    """GPU packs are float16 inside with float32 inputs and outputs, so the same pipeline drives them."""
    import onnx

    folder, pipe, _ = tiny_sdxl_folder("atelier", fp16=True)
    unet = onnx.load(str(folder / "unet" / "model.onnx"))
    assert any(t.data_type == onnx.TensorProto.FLOAT16 for t in unet.graph.initializer)
    ours, theirs = run_ours(folder), run_theirs(pipe)
    difference = np.abs(ours.astype(int) - theirs.astype(int))
    assert difference.mean() < 0.5 and difference.max() <= 4, (difference.mean(), difference.max())
    assert ours.std() > 1


def test_attention_scale_reads_the_first_attention_block(tmp_path: Path) -> None:
    from atelier.engine.diffusion.pipeline import attention_scale

    (tmp_path / "unet").mkdir()
    assert attention_scale(tmp_path, 8, 16) == 16  # no config: the family's default
    sd15 = ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"]
    (tmp_path / "unet" / "config.json").write_text(json.dumps({"down_block_types": sd15}))
    assert attention_scale(tmp_path, 8, 16) == 8
    sdxl = ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"]
    (tmp_path / "unet" / "config.json").write_text(json.dumps({"down_block_types": sdxl}))
    assert attention_scale(tmp_path, 8, 8) == 16
