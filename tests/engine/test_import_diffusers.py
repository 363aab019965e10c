"""`atelier models import-diffusers`: a local diffusers folder becomes a verified pack that runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_import_diffusers_folder_makes_a_working_pack(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("diffusers")
    from tests.diffusion_builders import tiny_pipeline

    pipe, _ = tiny_pipeline()
    source = tmp_path / "my-diffusers-model"
    pipe.save_pretrained(str(source), safe_serialization=True)
    assert not list(source.rglob("*.bin"))  # safetensors only: no pickles are ever loaded
    env = cli_env(tmp_path)
    done = _import(source, env, "--id", "tiny-sd", "--licence", "MIT", "--json")
    assert done.returncode == 0, done.stderr
    folder = Path(json.loads(done.stdout)["folder"])
    manifest = json.loads((folder / "pack.json").read_text())
    assert manifest["kind"] == "diffusion" and manifest["licence"] == "MIT"
    assert "my-diffusers-model" in manifest["source"] and str(tmp_path) not in json.dumps(manifest)  # no user path
    assert {"text_encoder", "unet", "vae_encoder", "vae_decoder"} <= set(manifest["components"])
    # What each component takes once loaded, for the Sketch task's memory check: at least its files.
    assert set(manifest["memory_bytes"]) == set(manifest["components"])
    for role, size in manifest["memory_bytes"].items():
        assert size >= sum(f["size"] for f in manifest["files"] if f["path"].startswith(f"{role}/model.onnx")), role
    verify = atelier(env, "models", "verify", "--json", timeout=120)
    rows = {row["id"]: row for row in json.loads(verify.stdout)["packs"]}
    assert rows["tiny-sd"]["verified"], verify.stdout
    out = tmp_path / "out.png"
    run = atelier(
        env,
        *("sketch", "--pack", "tiny-sd", "--prompt", "a cat", "--width", "64", "--height", "64"),
        *("--steps", "2", "--out", str(out)),
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert out.is_file()
    again = _import(source, env, "--id", "tiny-sd", "--licence", "MIT")
    assert again.returncode == 1 and "not empty" in again.stderr


def cli_env(tmp_path: Path) -> dict[str, str]:
    """The atelier CLI run from this checkout with its own data folder."""
    return {**os.environ, "PYTHONPATH": str(REPO / "desktop"), "ATELIER_DATA_DIR": str(tmp_path / "data")}


def atelier(env: dict[str, str], *args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "atelier", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)


def _import(source: Path, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    return atelier(env, "models", "import-diffusers", str(source), *extra)


@pytest.mark.slow
def test_import_single_safetensors_checkpoint_with_a_local_config(tmp_path: Path) -> None:
    """An original-layout SD 1.x .safetensors (what artists download) plus a weightless config folder
    becomes a pack whose UNet computes what the source model computes."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("diffusers")
    import numpy as np
    import onnxruntime as ort
    from safetensors.torch import save_file

    from tests.diffusion_builders import original_sd_checkpoint, tiny_pipeline

    pipe, _ = tiny_pipeline(seed=3)
    config = tmp_path / "config"
    pipe.save_pretrained(str(config), safe_serialization=True)
    for weights in config.rglob("*.safetensors"):
        weights.unlink()  # configs and tokenizer only: every weight must come from the single file
    checkpoint = tmp_path / "my-model.safetensors"
    save_file(original_sd_checkpoint(pipe), str(checkpoint))
    env = cli_env(tmp_path)

    without_config = _import(checkpoint, env, "--id", "single-file-sd", "--licence", "MIT")
    assert without_config.returncode != 0 and "--config FOLDER" in without_config.stderr
    assert "download" not in without_config.stderr.lower()

    done = _import(checkpoint, env, "--config", str(config), "--id", "single-file-sd", "--licence", "MIT", "--json")
    assert done.returncode == 0, done.stderr
    folder = Path(json.loads(done.stdout)["folder"])
    manifest = json.loads((folder / "pack.json").read_text())
    assert manifest["id"] == "single-file-sd" and manifest["kind"] == "diffusion"

    session = ort.InferenceSession(str(folder / manifest["components"]["unet"]), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    sample = rng.standard_normal((1, 4, 8, 8)).astype(np.float32)
    context = rng.standard_normal((1, 77, 16)).astype(np.float32)
    feeds: dict[str, np.ndarray] = {}
    for spec in session.get_inputs():
        if spec.name == "sample":
            feeds[spec.name] = sample
        elif spec.name == "encoder_hidden_states":
            feeds[spec.name] = context
        else:  # the timestep, as this export declares it
            dtype = np.int64 if "int64" in spec.type else np.float32
            feeds[spec.name] = np.full([1] if spec.shape else [], 500, dtype)
    (ours,) = session.run(["out_sample"], feeds)
    with torch.no_grad():
        theirs = pipe.unet(torch.from_numpy(sample), 500, torch.from_numpy(context)).sample.numpy()
    assert np.abs(ours - theirs).max() < 1e-4


def test_import_refuses_a_pickled_checkpoint(tmp_path: Path) -> None:
    checkpoint = tmp_path / "model.ckpt"
    checkpoint.write_bytes(b"not opened")
    env = cli_env(tmp_path)
    done = _import(checkpoint, env, "--id", "pickled", "--licence", "MIT")
    assert done.returncode != 0
    assert "safetensors" in done.stderr and "Traceback" not in done.stderr


def test_fp16_export_loads_in_onnxruntime_and_matches_fp32(tmp_path: Path) -> None:
    """GPU packs are float16. The converter once left Resize's scales in float16, and onnxruntime
    refused the UNet ("Type 'tensor(float16)' ... of operator (Resize) is invalid")."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("diffusers")
    import numpy as np
    import onnx
    import onnxruntime as ort

    from atelier_build.diffusion.export import export_pipeline
    from tests.diffusion_builders import tiny_pipeline

    pipe, _ = tiny_pipeline(seed=5, wide=True)
    export_pipeline(pipe, tmp_path, "optimum", fp16=True)
    # Winograd's transforms need float32: fp16 packs keep their convolutions.
    for role in ("unet", "vae_decoder"):
        assert not any("/winograd/" in n.name for n in onnx.load(str(tmp_path / role / "model.onnx")).graph.node)
    sessions = {
        role: ort.InferenceSession(str(tmp_path / role / "model.onnx"), providers=["CPUExecutionProvider"])
        for role in ("text_encoder", "unet", "vae_encoder", "vae_decoder")
    }
    unet = sessions["unet"]
    assert unet.get_inputs()[0].type == "tensor(float)"  # float32 in and out, fp16 inside
    rng = np.random.default_rng(1)
    sample = rng.standard_normal((1, 4, 8, 8)).astype(np.float32)
    context = rng.standard_normal((1, 77, 16)).astype(np.float32)
    (ours,) = unet.run(
        ["out_sample"], {"sample": sample, "timestep": np.array([500], np.int64), "encoder_hidden_states": context}
    )
    with torch.no_grad():
        theirs = pipe.unet(torch.from_numpy(sample), 500, torch.from_numpy(context)).sample.numpy()
    assert np.abs(ours - theirs).max() < 1e-2 * max(1.0, float(np.abs(theirs).max()))


@pytest.mark.slow
@pytest.mark.parametrize("form", ["folder", "single-file"])
def test_import_sdxl_makes_a_pack_that_matches_diffusers(tmp_path: Path, form: str) -> None:
    """An SDXL diffusers folder, or an original-layout SDXL .safetensors with --config, becomes a pack with
    both text encoders whose pictures match diffusers' StableDiffusionXLPipeline on the source weights."""
    pytest.importorskip("torch")
    pytest.importorskip("diffusers")
    from safetensors.torch import save_file

    from atelier.engine.diffusion.factory import pipeline_for
    from atelier.engine.diffusion.sdxl import StableDiffusionXLPipeline
    from tests.engine.test_sdxl_pipeline import OrtModels, assert_close, run_theirs, torch_noise
    from tests.sdxl_builders import original_sdxl_checkpoint, tiny_sdxl_pipeline

    pipe, _ = tiny_sdxl_pipeline(seed=3)
    source = tmp_path / "my-sdxl"
    pipe.save_pretrained(str(source), safe_serialization=True)
    extra: tuple[str, ...] = ()
    if form == "single-file":
        for weights in source.rglob("*.safetensors"):
            weights.unlink()  # the folder is the config only
        checkpoint = tmp_path / "my-sdxl.safetensors"
        save_file(original_sdxl_checkpoint(pipe), str(checkpoint))
        extra, source = ("--config", str(source)), checkpoint
    env = cli_env(tmp_path)
    done = _import(source, env, *extra, "--id", "tiny-sdxl", "--licence", "openrail++", "--json")
    assert done.returncode == 0, done.stderr
    folder = Path(json.loads(done.stdout)["folder"])
    manifest = json.loads((folder / "pack.json").read_text())
    assert manifest["kind"] == "diffusion"
    assert {"text_encoder", "text_encoder_2", "unet", "vae_encoder", "vae_decoder"} <= set(manifest["components"])
    paths = {f["path"] for f in manifest["files"]}
    assert {"tokenizer_2/tokenizer.json", "model_index.json"} <= paths
    pipeline = pipeline_for(folder, OrtModels(folder))
    assert isinstance(pipeline, StableDiffusionXLPipeline)
    steps = pipeline.generate("a cat sketch", "", 64, 64, 3, 5.0, torch_noise(5))
    while True:
        try:
            next(steps)
        except StopIteration as stop:
            ours = stop.value
            break
    assert_close(ours, run_theirs(pipe, num_inference_steps=3))
