"""The numpy schedulers match diffusers' PyTorch schedulers step by step (same model outputs, same noise)."""

from __future__ import annotations

import numpy as np
import pytest

from atelier.engine.diffusion.schedulers import make_scheduler

torch = pytest.importorskip("torch")
diffusers = pytest.importorskip("diffusers")

SD15 = {
    "_class_name": "PNDMScheduler",
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "num_train_timesteps": 1000,
    "set_alpha_to_one": False,
    "skip_prk_steps": True,
    "steps_offset": 1,
    "clip_sample": False,
}
TURBO = {**SD15, "_class_name": "EulerAncestralDiscreteScheduler", "timestep_spacing": "trailing"}
SD21V = {
    **SD15,
    "_class_name": "DDIMScheduler",
    "prediction_type": "v_prediction",
    "timestep_spacing": "leading",
}
LINSPACE = {**SD15, "timestep_spacing": "linspace"}

TORCH_CLASSES = {
    "euler": "EulerDiscreteScheduler",
    "euler_a": "EulerAncestralDiscreteScheduler",
    "ddim": "DDIMScheduler",
    "lcm": "LCMScheduler",
}


def fake_model(sample: np.ndarray, timestep: float) -> np.ndarray:
    """A smooth, deterministic stand-in for the UNet's prediction."""
    return np.sin(sample * 1.3 + timestep / 250.0).astype(np.float32)


@pytest.mark.parametrize("name", ["euler", "euler_a", "ddim", "lcm"])
@pytest.mark.parametrize("config", [SD15, TURBO, SD21V, LINSPACE], ids=["sd15", "turbo", "v-pred", "linspace"])
@pytest.mark.parametrize("start", [0, 2])  # 2 = image-to-image starting part-way
def test_numpy_scheduler_matches_diffusers(name: str, config: dict, start: int) -> None:
    steps = 4
    ours = make_scheduler(config, name)
    ours.set_timesteps(steps)
    theirs = getattr(diffusers, TORCH_CLASSES[name]).from_config(config)
    theirs.set_timesteps(steps)
    np.testing.assert_allclose(ours.timesteps, theirs.timesteps.numpy(), rtol=0, atol=1e-4)
    if hasattr(theirs, "set_begin_index"):  # DDIM finds its step from the timestep
        theirs.set_begin_index(start)

    generator = torch.Generator().manual_seed(3)
    shape = (1, 4, 8, 8)
    initial = torch.randn(shape, generator=generator)
    clean = torch.randn(shape, generator=generator) * 0.5
    if start == 0:
        assert abs(ours.init_noise_sigma - float(theirs.init_noise_sigma)) < 1e-5
        sample_ours = initial.numpy() * np.float32(ours.init_noise_sigma)
        sample_theirs = initial * theirs.init_noise_sigma
    else:
        sample_ours = ours.add_noise(clean.numpy(), initial.numpy(), start)
        sample_theirs = theirs.add_noise(clean, initial, theirs.timesteps[start : start + 1])
        np.testing.assert_allclose(sample_ours, sample_theirs.numpy(), atol=4e-5)

    noise_ours = torch.Generator().manual_seed(11)
    noise_theirs = torch.Generator().manual_seed(11)
    for index in range(start, steps):
        t = float(theirs.timesteps[index])
        scaled_theirs = theirs.scale_model_input(sample_theirs, theirs.timesteps[index])
        scaled_ours = ours.scale_model_input(sample_ours, index)
        np.testing.assert_allclose(scaled_ours, scaled_theirs.numpy(), atol=4e-5)
        output = fake_model(scaled_theirs.numpy(), t)
        sample_theirs = theirs.step(
            torch.from_numpy(output), theirs.timesteps[index], sample_theirs, generator=noise_theirs
        ).prev_sample
        sample_ours = ours.step(output, index, sample_ours, lambda s: torch.randn(s, generator=noise_ours).numpy())
        np.testing.assert_allclose(sample_ours, sample_theirs.numpy(), atol=4e-5, rtol=1e-5)
