"""The `atelier` command as a user runs it: a real subprocess, real files, JSON and error lines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]


def atelier(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PYTHONPATH": str(REPO / "desktop"), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "atelier", *args], capture_output=True, text=True, env=full_env, timeout=120
    )


def test_doctor_json_reports_providers_and_packs() -> None:
    result = atelier("doctor", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert isinstance(report["onnxruntime"], str)
    assert "CPUExecutionProvider" in report["providers"]
    lineart = next(p for p in report["packs"] if p["id"] == "atelier-lineart")
    assert {"id", "kind", "verified", "device", "error"} <= set(lineart)
    assert lineart["verified"] is True and lineart["device"] == "CPUExecutionProvider"


def test_models_list_and_verify(tmp_path: Path) -> None:
    listed = json.loads(atelier("models", "list", "--json").stdout)
    assert "atelier-lineart" in [p["id"] for p in listed["packs"]]
    verified = atelier("models", "verify", "--json")
    assert verified.returncode == 0
    assert all(p["verified"] for p in json.loads(verified.stdout)["packs"])


def test_damaged_pack_in_atelier_models_fails_verify(tmp_path: Path) -> None:
    from tests.onnx_builders import scale_model, write_pack

    folder = write_pack(tmp_path / "broken", scale_model(), pack_id="broken")
    (folder / "model.onnx").write_bytes(b"not a model")
    result = atelier("models", "verify", "--json", env={"ATELIER_MODELS": str(tmp_path)})
    assert result.returncode == 1
    broken = next(p for p in json.loads(result.stdout)["packs"] if p["id"] == "broken")
    assert broken["verified"] is False and "model.onnx" in broken["error"]


def test_lineart_writes_a_png(tmp_path: Path) -> None:
    picture = np.full((40, 40, 3), 255, np.uint8)
    picture[10:30, 10:30] = 0
    Image.fromarray(picture).save(tmp_path / "in.png")
    result = atelier("lineart", "--image", str(tmp_path / "in.png"), "--out", str(tmp_path / "out.png"), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["device"] == "CPUExecutionProvider"
    lines = np.asarray(Image.open(tmp_path / "out.png"))
    assert lines.shape == (40, 40) and lines[10, 20] < 128 and lines[20, 20] > 250


def test_errors_are_one_clear_line_without_traceback(tmp_path: Path) -> None:
    result = atelier("lineart", "--image", str(tmp_path / "missing.png"), "--out", str(tmp_path / "o.png"))
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "No image at" in result.stderr and "Traceback" not in result.stderr
    (tmp_path / "bad.png").write_text("not an image")
    result = atelier("lineart", "--image", str(tmp_path / "bad.png"), "--out", str(tmp_path / "o.png"))
    assert result.returncode == 1 and "Cannot read" in result.stderr
    debug = atelier("--debug", "lineart", "--image", str(tmp_path / "bad.png"), "--out", str(tmp_path / "o.png"))
    assert "Traceback" in debug.stderr


def test_gui_without_display_explains_what_to_do() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["PYTHONPATH"] = str(REPO / "desktop")
    result = subprocess.run([sys.executable, "-m", "atelier"], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 2
    assert "No display found" in result.stderr and "xvfb-run" in result.stderr
    assert "qt.qpa" not in result.stderr and "Traceback" not in result.stderr


def test_lyrics_json_reports_speed_and_rejected_lines() -> None:
    """`atelier lyrics --json` on the tiny random model (its lines are non-words, so the writer's
    checks reject some): the speed figures and, beside them, how many lines were resampled and why."""
    pytest.importorskip("torch")
    from atelier.core.settings import cache_dir
    from tests.llm_builders import TINY_PACK_ID, build_tiny_llama

    models = str(build_tiny_llama(cache_dir()))
    args = ("lyrics", "--prompt", "rain", "--mode", "poem", "--lines", "2", "--pack", TINY_PACK_ID, "--seed", "4")
    result = atelier(*args, "--max-tokens", "300", "--json", env={"ATELIER_MODELS": models})
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["pack"] == TINY_PACK_ID and data["decode_tokens_per_s"] > 0
    assert isinstance(data["rejected_lines"], int) and data["rejected_lines"] > 0
    assert sum(data["rejections"].values()) == data["rejected_lines"]
    assert "gibberish" in data["rejections"] or "mixed script" in data["rejections"]
    assert len(data["text"].split("\n")) == 2  # the lines asked for, the least bad try of each kept
    plain = atelier(*args, "--max-tokens", "300", env={"ATELIER_MODELS": models})
    assert plain.returncode == 0 and f"{data['rejected_lines']} lines resampled" in plain.stderr
