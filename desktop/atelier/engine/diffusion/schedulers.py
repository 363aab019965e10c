"""Diffusion schedulers in numpy (Euler, Euler ancestral, DDIM, LCM), following a `scheduler_config.json`.

They reproduce diffusers' schedulers of the same names (tests check parity) without importing torch.
Steps are addressed by index into `timesteps`, so image-to-image simply starts at a later index.
Noise that a scheduler injects (ancestral, LCM) comes from `noise(shape)`, so callers choose the RNG.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from atelier.core.errors import PackError
from atelier.engine.manifest_schema import scheduler_config_problems

NoiseSource = Callable[[tuple[int, ...]], np.ndarray]

# Class name in scheduler_config.json -> our name. Other classes (PNDM, DPM-Solver, ...) run as Euler,
# which samples the same noise schedule; the pipeline says so in the result's parameters.
CLASS_NAMES = {
    "EulerDiscreteScheduler": "euler",
    "EulerAncestralDiscreteScheduler": "euler_a",
    "DDIMScheduler": "ddim",
    "LCMScheduler": "lcm",
}

# Defaults of the diffusers classes, used for keys a config leaves out (as `from_config` does).
_COMMON = {
    "num_train_timesteps": 1000,
    "beta_start": 0.0001,
    "beta_end": 0.02,
    "beta_schedule": "linear",
    "prediction_type": "epsilon",
    "steps_offset": 0,
}
_DEFAULTS: dict[str, dict[str, Any]] = {
    "euler": {**_COMMON, "timestep_spacing": "linspace", "interpolation_type": "linear",
              "final_sigmas_type": "zero"},
    "euler_a": {**_COMMON, "timestep_spacing": "linspace"},
    "ddim": {**_COMMON, "timestep_spacing": "leading", "clip_sample": True, "clip_sample_range": 1.0,
             "set_alpha_to_one": True},
    "lcm": {**_COMMON, "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear",
            "timestep_spacing": "leading", "original_inference_steps": 50, "clip_sample": False,
            "clip_sample_range": 1.0, "set_alpha_to_one": True, "timestep_scaling": 10.0},
}  # fmt: skip


def alphas_cumprod(config: dict[str, Any]) -> np.ndarray:
    n, start, end = int(config["num_train_timesteps"]), float(config["beta_start"]), float(config["beta_end"])
    schedule = config["beta_schedule"]
    if schedule == "linear":
        betas = np.linspace(start, end, n, dtype=np.float32)
    elif schedule == "scaled_linear":
        betas = np.linspace(start**0.5, end**0.5, n, dtype=np.float32) ** 2
    else:
        raise PackError(f"Beta schedule '{schedule}' is not supported; use linear or scaled_linear.")
    return np.cumprod(1.0 - betas.astype(np.float32), dtype=np.float32)


class Scheduler:
    name = ""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = {**_DEFAULTS[self.name], **{k: v for k, v in config.items() if not k.startswith("_")}}
        problems = scheduler_config_problems(self.config)
        if problems:  # before any array is sized from it (num_train_timesteps 99999999999 asked for 745 GB)
            shown = "; ".join(problems[:5])
            raise PackError(f"scheduler/scheduler_config.json cannot be used: {shown}.", "Fix or replace that file.")
        if self.config.get("prediction_type") not in ("epsilon", "v_prediction"):
            raise PackError(f"Prediction type '{self.config.get('prediction_type')}' is not supported.")
        if self.config.get("use_karras_sigmas") or self.config.get("rescale_betas_zero_snr"):
            raise PackError("Karras sigmas and zero-SNR rescaling are not supported yet; edit scheduler_config.json.")
        self.alphas_cumprod = alphas_cumprod(self.config)
        self.train_steps = int(self.config["num_train_timesteps"])
        self.timesteps = np.zeros(0, np.float32)

    @property
    def epsilon(self) -> bool:
        return bool(self.config["prediction_type"] == "epsilon")

    def set_timesteps(self, steps: int) -> None:
        raise NotImplementedError

    def _spaced(self, steps: int, dtype: type) -> np.ndarray:
        n, spacing = self.train_steps, self.config["timestep_spacing"]
        if spacing == "linspace":
            return np.linspace(0, n - 1, steps, dtype=np.float32)[::-1].copy().astype(dtype)
        if spacing == "leading":
            ratio = n // steps
            return (np.arange(0, steps) * ratio).round()[::-1].copy().astype(dtype) + int(self.config["steps_offset"])
        if spacing == "trailing":
            return np.round(np.arange(n, 0, -n / steps)).astype(dtype) - 1
        raise PackError(f"Timestep spacing '{spacing}' is not supported; use linspace, leading or trailing.")

    @property
    def init_noise_sigma(self) -> float:
        return 1.0

    def scale_model_input(self, sample: np.ndarray, index: int) -> np.ndarray:
        return sample

    def add_noise(self, original: np.ndarray, noise: np.ndarray, index: int) -> np.ndarray:
        alpha = self.alphas_cumprod[int(self.timesteps[index])]
        return (np.sqrt(alpha) * original + np.sqrt(1 - alpha) * noise).astype(np.float32)

    def step(self, output: np.ndarray, index: int, sample: np.ndarray, noise: NoiseSource) -> np.ndarray:
        raise NotImplementedError


class EulerScheduler(Scheduler):
    name = "euler"

    def set_timesteps(self, steps: int) -> None:
        timesteps = self._spaced(steps, np.float32)
        base = ((1 - self.alphas_cumprod) / self.alphas_cumprod) ** 0.5
        sigmas = np.interp(timesteps, np.arange(0, len(base)), base)
        last = 0.0 if self.config.get("final_sigmas_type", "zero") == "zero" else float(base[0])
        self.sigmas = np.concatenate([sigmas, [last]]).astype(np.float32)
        self.timesteps = timesteps.astype(np.float32)

    @property
    def init_noise_sigma(self) -> float:
        top = float(self.sigmas.max())
        return top if self.config["timestep_spacing"] in ("linspace", "trailing") else float((top**2 + 1) ** 0.5)

    def scale_model_input(self, sample: np.ndarray, index: int) -> np.ndarray:
        return (sample / ((self.sigmas[index] ** 2 + 1) ** 0.5)).astype(np.float32)

    def add_noise(self, original: np.ndarray, noise: np.ndarray, index: int) -> np.ndarray:
        return (original + noise * self.sigmas[index]).astype(np.float32)

    def _original(self, output: np.ndarray, sigma: np.float32, sample: np.ndarray) -> np.ndarray:
        if self.epsilon:
            return sample - sigma * output
        return output * (-sigma / (sigma**2 + 1) ** 0.5) + sample / (sigma**2 + 1)

    def step(self, output: np.ndarray, index: int, sample: np.ndarray, noise: NoiseSource) -> np.ndarray:
        sigma = self.sigmas[index]
        derivative = (sample - self._original(output, sigma, sample)) / sigma
        return (sample + derivative * (self.sigmas[index + 1] - sigma)).astype(np.float32)


class EulerAncestralScheduler(EulerScheduler):
    name = "euler_a"

    def step(self, output: np.ndarray, index: int, sample: np.ndarray, noise: NoiseSource) -> np.ndarray:
        sigma_from, sigma_to = self.sigmas[index], self.sigmas[index + 1]
        sigma_up = (sigma_to**2 * (sigma_from**2 - sigma_to**2) / sigma_from**2) ** 0.5
        sigma_down = (sigma_to**2 - sigma_up**2) ** 0.5
        derivative = (sample - self._original(output, sigma_from, sample)) / sigma_from
        previous = sample + derivative * (sigma_down - sigma_from)
        return (previous + noise(sample.shape) * sigma_up).astype(np.float32)


class DDIMScheduler(Scheduler):
    name = "ddim"

    def set_timesteps(self, steps: int) -> None:
        self.steps = steps
        self.timesteps = self._spaced(steps, np.int64)

    def _final_alpha(self) -> np.float32:
        return np.float32(1.0) if self.config["set_alpha_to_one"] else self.alphas_cumprod[0]

    def _original_and_epsilon(
        self, output: np.ndarray, alpha: np.float32, sample: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        beta = 1 - alpha
        if self.epsilon:
            return (sample - beta**0.5 * output) / alpha**0.5, output
        return alpha**0.5 * sample - beta**0.5 * output, alpha**0.5 * output + beta**0.5 * sample

    def step(self, output: np.ndarray, index: int, sample: np.ndarray, noise: NoiseSource) -> np.ndarray:
        timestep = int(self.timesteps[index])
        previous = timestep - self.train_steps // self.steps
        alpha = self.alphas_cumprod[timestep]
        alpha_prev = self.alphas_cumprod[previous] if previous >= 0 else self._final_alpha()
        original, epsilon = self._original_and_epsilon(output, alpha, sample)
        if self.config["clip_sample"]:
            limit = float(self.config["clip_sample_range"])
            original = np.clip(original, -limit, limit)
        return (alpha_prev**0.5 * original + (1 - alpha_prev) ** 0.5 * epsilon).astype(np.float32)


class LCMScheduler(DDIMScheduler):
    name = "lcm"

    def set_timesteps(self, steps: int) -> None:
        original = int(self.config["original_inference_steps"])
        if steps > original:
            raise PackError(f"This LCM pack supports at most {original} steps.")
        k = self.train_steps // original
        origin = (np.arange(1, original + 1) * k - 1)[::-1].copy()
        indices = np.floor(np.linspace(0, len(origin), num=steps, endpoint=False)).astype(np.int64)
        self.steps = steps
        self.timesteps = origin[indices].astype(np.int64)

    def step(self, output: np.ndarray, index: int, sample: np.ndarray, noise: NoiseSource) -> np.ndarray:
        timestep = int(self.timesteps[index])
        previous = int(self.timesteps[index + 1]) if index + 1 < len(self.timesteps) else timestep
        alpha = self.alphas_cumprod[timestep]
        alpha_prev = self.alphas_cumprod[previous] if previous >= 0 else self._final_alpha()
        scaled = timestep * float(self.config["timestep_scaling"])
        c_skip = 0.25 / (scaled**2 + 0.25)  # sigma_data = 0.5
        c_out = scaled / (scaled**2 + 0.25) ** 0.5
        original, _ = self._original_and_epsilon(output, alpha, sample)
        if self.config["clip_sample"]:
            limit = float(self.config["clip_sample_range"])
            original = np.clip(original, -limit, limit)
        denoised = c_out * original + c_skip * sample
        if index == len(self.timesteps) - 1:
            return denoised.astype(np.float32)
        return (alpha_prev**0.5 * denoised + (1 - alpha_prev) ** 0.5 * noise(sample.shape)).astype(np.float32)


SCHEDULERS: dict[str, type[Scheduler]] = {
    cls.name: cls for cls in (EulerScheduler, EulerAncestralScheduler, DDIMScheduler, LCMScheduler)
}


def make_scheduler(config: dict[str, Any], override: str = "") -> Scheduler:
    """The scheduler the config names (or `override`), with its betas, spacing and prediction type."""
    name = override or CLASS_NAMES.get(str(config.get("_class_name", "")), "euler")
    if name not in SCHEDULERS:
        raise PackError(f"Unknown scheduler '{name}'; use one of {', '.join(SCHEDULERS)}.")
    return SCHEDULERS[name](config)
