"""The numpy ONNX pipeline matches diffusers' PyTorch pipelines on tiny random-weight models (same noise)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest

from atelier.engine.diffusion.pipeline import StableDiffusionPipeline, TensorSpec

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")

from tests.diffusion_builders import tiny_onnx_folder  # noqa: E402

SIZE = 64


class OrtModels:
    """Plain onnxruntime sessions for a folder (the task uses the SessionPool; this isolates the pipeline)."""

    def __init__(self, folder: Path) -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        self.sessions = {
            role: ort.InferenceSession(str(folder / role / "model.onnx"), options, providers=["CPUExecutionProvider"])
            for role in ("text_encoder", "unet", "vae_encoder", "vae_decoder", "controlnet")
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


def run_ours(folder: Path, **kwargs) -> np.ndarray:
    pipeline = StableDiffusionPipeline(folder, OrtModels(folder))
    generator = pipeline.generate(
        kwargs.pop("prompt", "a cat sketch"),
        "",
        SIZE,
        SIZE,
        kwargs.pop("steps", 4),
        kwargs.pop("guidance", 7.5),
        torch_noise(kwargs.pop("seed", 5)),
        **kwargs,
    )
    while True:
        try:
            next(generator)
        except StopIteration as stop:
            return stop.value


def run_theirs(pipe: Any, **kwargs: Any) -> np.ndarray:
    """A diffusers pipeline with run_ours' defaults (prompt, size, 4 steps, guidance 7.5, seed 5)."""
    settings = {"height": SIZE, "width": SIZE, "num_inference_steps": 4, "guidance_scale": 7.5, **kwargs}
    with torch.no_grad():
        return pipe("a cat sketch", generator=torch.Generator().manual_seed(5), output_type="np", **settings).images


def run_theirs_img2img(pipe: Any, image: np.ndarray, steps: int, guidance: float) -> np.ndarray:
    """diffusers' image to image on the same components: prompt "a dog", strength 0.6, seed 7."""
    from diffusers import StableDiffusionImg2ImgPipeline
    from PIL import Image

    img2img = StableDiffusionImg2ImgPipeline(**pipe.components)
    img2img.set_progress_bar_config(disable=True)
    with torch.no_grad():
        return img2img(
            "a dog",
            image=Image.fromarray(image),
            strength=0.6,
            num_inference_steps=steps,
            guidance_scale=guidance,
            generator=torch.Generator().manual_seed(7),
            output_type="np",
        ).images


def as_uint8(image: np.ndarray) -> np.ndarray:
    return (image[0] * 255).round().astype(np.uint8)


def assert_close(ours: np.ndarray, theirs: np.ndarray) -> None:
    difference = np.abs(ours.astype(int) - theirs.astype(int)).max()
    assert difference <= 1, f"max pixel difference {difference}/255"
    assert ours.std() > 1  # not a flat image that would match anything


def sketch_image() -> np.ndarray:
    rng = np.random.default_rng(0)
    image = np.full((SIZE, SIZE, 3), 255, np.uint8)
    image[20:44, 10:54] = rng.integers(0, 255, (24, 44, 3))
    return image


@pytest.mark.slow
@pytest.mark.parametrize("scheduler", ["euler", "euler_a", "ddim", "lcm"])
@pytest.mark.parametrize("convention", ["optimum", "legacy"])
def test_txt2img_matches_diffusers(scheduler: str, convention: str) -> None:
    folder, pipe, _ = tiny_onnx_folder(convention, scheduler=scheduler)
    assert_close(run_ours(folder), as_uint8(run_theirs(pipe)))


@pytest.mark.slow
@pytest.mark.parametrize("scheduler", ["euler", "ddim"])
def test_img2img_matches_diffusers(scheduler: str) -> None:
    folder, pipe, _ = tiny_onnx_folder("optimum", scheduler=scheduler)
    image = sketch_image()
    theirs = run_theirs_img2img(pipe, image, steps=5, guidance=5.0)
    ours = run_ours(folder, prompt="a dog", steps=5, guidance=5.0, seed=7, scheduler_name="", image=image, strength=0.6)
    assert_close(ours, as_uint8(theirs))


@pytest.mark.slow
def test_winograd_convolutions_match_diffusers_in_txt2img_and_img2img() -> None:
    """The wide tiny pack's UNet, VAE encoder and decoder convolutions go through the export's Winograd
    rewrite; the images still match diffusers to 1/255."""
    import onnx

    folder, pipe, _ = tiny_onnx_folder("optimum", wide=True)
    for role in ("unet", "vae_encoder", "vae_decoder"):
        names = [node.name for node in onnx.load(str(folder / role / "model.onnx")).graph.node]
        assert any("/winograd/" in name for name in names), role
    assert_close(run_ours(folder), as_uint8(run_theirs(pipe)))
    image = sketch_image()
    theirs = run_theirs_img2img(pipe, image, steps=4, guidance=7.5)
    ours = run_ours(folder, prompt="a dog", seed=7, scheduler_name="", image=image, strength=0.6)
    assert_close(ours, as_uint8(theirs))


@pytest.mark.slow
@pytest.mark.parametrize("convention", ["optimum", "legacy"])
def test_controlnet_matches_diffusers(convention: str) -> None:
    from diffusers import StableDiffusionControlNetPipeline
    from PIL import Image

    folder, pipe, net = tiny_onnx_folder(convention, controlnet=True)
    control = sketch_image()
    controlled = StableDiffusionControlNetPipeline(**pipe.components, controlnet=net)
    controlled.set_progress_bar_config(disable=True)
    theirs = run_theirs(controlled, image=Image.fromarray(control))
    plain = run_theirs(pipe)
    ours = run_ours(folder, control=control)
    assert_close(ours, as_uint8(theirs))
    assert np.abs(as_uint8(theirs).astype(int) - as_uint8(plain).astype(int)).max() > 2  # the control mattered


@pytest.mark.slow
def test_lcm_distilled_unet_with_guidance_embedding_matches_diffusers() -> None:
    folder, pipe, _ = tiny_onnx_folder("optimum", scheduler="lcm", lcm_distilled=True)
    assert_close(run_ours(folder, guidance=3.0), as_uint8(run_theirs(pipe, guidance_scale=3.0)))
