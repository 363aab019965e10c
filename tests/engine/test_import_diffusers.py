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
    env = {**os.environ, "PYTHONPATH": str(REPO / "desktop"), "ATELIER_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "atelier",
            "models",
            "import-diffusers",
            str(source),
            "--id",
            "tiny-sd",
            "--licence",
            "MIT",
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    folder = Path(json.loads(done.stdout)["folder"])
    manifest = json.loads((folder / "pack.json").read_text())
    assert manifest["kind"] == "diffusion" and manifest["licence"] == "MIT"
    assert {"text_encoder", "unet", "vae_encoder", "vae_decoder"} <= set(manifest["components"])
    verify = subprocess.run(
        [sys.executable, "-m", "atelier", "models", "verify", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    rows = {row["id"]: row for row in json.loads(verify.stdout)["packs"]}
    assert rows["tiny-sd"]["verified"], verify.stdout
    out = tmp_path / "out.png"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "atelier",
            "sketch",
            "--pack",
            "tiny-sd",
            "--prompt",
            "a cat",
            "--width",
            "64",
            "--height",
            "64",
            "--steps",
            "2",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert out.is_file()
    again = subprocess.run(
        [sys.executable, "-m", "atelier", "models", "import-diffusers", str(source), "--id", "tiny-sd"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert again.returncode == 1 and "not empty" in again.stderr
