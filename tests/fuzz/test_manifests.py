"""Pack manifests from anywhere: any pack.json or pack.toml gives a Pack whose fields have their types, or a
PackError naming the problem; discovery sets the folder aside and never fails. And the scheduler config of
a diffusers/SDXL ONNX folder: the check that names its problems lets through only configs that work."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atelier.core.errors import PackError
from atelier.engine.diffusion.schedulers import _DEFAULTS, CLASS_NAMES, make_scheduler
from atelier.engine.manifest_schema import scheduler_config_problems
from atelier.engine.packs import discover, read_manifest
from tests.fuzz import inputs


@settings(max_examples=400, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_fuzz_any_manifest_reads_or_is_set_aside(seed: int, tmp_path_factory: pytest.TempPathFactory) -> None:
    name, data = inputs.hostile_manifest(random.Random(seed))
    folder = tmp_path_factory.mktemp("pack")
    (folder / name).write_bytes(data)
    catalog = discover([folder])
    assert len(catalog.packs) + len(catalog.broken) == 1
    try:
        pack = read_manifest(folder)
    except PackError as exc:
        assert catalog.broken and str(exc) in catalog.broken[0].message
        return
    assert isinstance(pack.id, str) and isinstance(pack.kind, str) and pack.files
    assert all(isinstance(f.path, str) and isinstance(f.size, int) and len(f.sha256) == 64 for f in pack.files)
    assert all(isinstance(p, str) for p in pack.providers)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in pack.components.items())


@pytest.mark.parametrize("shape", [[2], [1, 2, 3], [65536, 65536], [2, 0]])
def test_a_melody_state_shape_the_task_cannot_use_is_refused(shape: list[int], tmp_path: Path) -> None:
    manifest = json.loads((Path(__file__).resolve().parents[2] / "models" / "melody" / "pack.json").read_text())
    (tmp_path / "pack.json").write_text(json.dumps({**manifest, "hidden_shape": shape}))
    with pytest.raises(PackError, match="hidden_shape"):
        read_manifest(tmp_path)


@settings(max_examples=600, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), steps=st.sampled_from([1, 2, 4, 20, 50]))
def test_fuzz_a_scheduler_config_the_check_passes_makes_a_working_scheduler(seed: int, steps: int) -> None:
    """scheduler_config_problems is what engine/diffusion/schedulers.py needs to refuse a folder's config with
    a PackError: every config it passes builds a scheduler whose steps and noise levels are finite numbers."""
    rng = random.Random(seed)
    class_name = rng.choice(list(CLASS_NAMES))
    name = CLASS_NAMES[class_name]
    try:
        config = json.loads(inputs.json_document(rng, {"_class_name": class_name, **_DEFAULTS[name]}))
    except ValueError:
        return
    if not isinstance(config, dict):
        assert scheduler_config_problems(config)
        return
    merged = {**_DEFAULTS[name], **{k: v for k, v in config.items() if not k.startswith("_")}}
    if scheduler_config_problems(merged):
        return
    try:
        scheduler = make_scheduler(config)
        scheduler.set_timesteps(steps)
    except PackError:
        return  # the scheduler's own refusals (more LCM steps than the config allows, Karras sigmas)
    assert len(scheduler.timesteps) >= 1 and np.isfinite(scheduler.timesteps).all()
    assert np.isfinite(scheduler.alphas_cumprod).all()


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"num_train_timesteps": 99999999999}, "num_train_timesteps is 99999999999"),
        ({"beta_start": [0.1]}, "beta_start must be a number"),
        ({"beta_end": "0.02"}, "beta_end must be a number"),
        ({"beta_end": float("nan")}, "beta_end is nan"),
        ({"steps_offset": {"a": 1}}, "steps_offset must be a whole number"),
        ({"original_inference_steps": 5000}, "original_inference_steps (5000) is more than"),
        ({"clip_sample": "yes"}, "clip_sample must be true or false"),
    ],
)
def test_scheduler_configs_found_by_the_fuzzer_are_named(change: dict[str, object], named: str) -> None:
    merged = {**_DEFAULTS["lcm"], **change}
    assert any(named in problem for problem in scheduler_config_problems(merged)), scheduler_config_problems(merged)
    assert scheduler_config_problems(_DEFAULTS["lcm"]) == []


def test_a_manifest_number_beyond_float_range_is_named_not_an_overflow(tmp_path: Path) -> None:
    good = {"id": "p", "kind": "lineart", "files": [{"path": "m.onnx", "sha256": "a" * 64, "size": 1}]}
    (tmp_path / "pack.json").write_text(json.dumps({**good, "min_cosine_to_fp32": 10**400}))
    with pytest.raises(PackError, match="min_cosine_to_fp32 is a 401-digit number, outside"):
        read_manifest(tmp_path)
