"""Engine.run on the bundled line-art pack: progress, result, cancel, and doctor's report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from atelier.core.cancel import CancelToken
from atelier.core.errors import CancelledError, InvalidRequestError
from atelier.core.progress import Progress
from atelier.core.requests.lineart import LineArtRequest, LineArtResult
from atelier.core.settings import Settings
from atelier.engine.doctor import doctor_report
from atelier.engine.runner import Engine
from tests.engine.generators import drain


def square_picture() -> np.ndarray:
    image = np.full((64, 80, 4), 255, np.uint8)
    image[16:48, 20:60, :3] = 30
    image[:4, :, 3] = 0  # a transparent strip must read as white paper, not a line
    return image


def test_lineart_traces_the_square_edges() -> None:
    engine = Engine(Settings(threads=1))
    progress, result = drain(engine.run(LineArtRequest(image=square_picture()), CancelToken()))
    assert all(isinstance(p, Progress) for p in progress) and len(progress) == 2
    assert isinstance(result, LineArtResult)
    lines = result.lines
    assert lines.shape == (64, 80)
    assert lines[16, 40] < 128 and lines[32, 20] < 128  # ink on the edges
    assert lines[32, 40] > 250 and lines[2, 40] > 250 and lines[60, 5] > 250  # paper inside and out
    assert result.device.provider == "CPUExecutionProvider" and result.seconds > 0


def test_sensitivity_changes_the_amount_of_ink() -> None:
    engine = Engine(Settings(threads=1))
    rng = np.random.default_rng(0)
    picture = (rng.random((64, 64, 3)) * 40 + 100).astype(np.uint8)
    faint = engine.run_to_end(LineArtRequest(image=picture, sensitivity=0.0))
    strong = engine.run_to_end(LineArtRequest(image=picture, sensitivity=1.0))
    assert isinstance(faint, LineArtResult) and isinstance(strong, LineArtResult)
    assert strong.lines.mean() < faint.lines.mean() - 5


def test_cancelled_before_start_raises() -> None:
    token = CancelToken()
    token.cancel()
    with pytest.raises(CancelledError):
        Engine(Settings(threads=1)).run_to_end(LineArtRequest(image=square_picture()), token)


def test_unknown_request_type_is_a_clear_error() -> None:
    from atelier.core.requests import Request

    with pytest.raises(InvalidRequestError, match="No engine task"):
        Engine().run_to_end(Request())


def test_doctor_reports_every_pack_with_device() -> None:
    report = doctor_report(Engine(Settings(threads=1)))
    assert report["onnxruntime"] and "CPUExecutionProvider" in report["providers"]
    lineart = next(p for p in report["packs"] if p["id"] == "atelier-lineart")
    assert lineart["verified"] is True and lineart["error"] is None
    assert lineart["device"] == "CPUExecutionProvider"


def test_doctor_fails_on_a_pack_it_cannot_read_and_checks_the_rest(tmp_path: Path) -> None:
    import json
    import os
    import subprocess
    import sys

    from tests.conftest import REPO
    from tests.onnx_builders import scale_model, write_pack

    bad = write_pack(tmp_path / "models" / "bad", scale_model(), pack_id="bad")
    manifest = json.loads((bad / "pack.json").read_text())
    (bad / "pack.json").write_text(json.dumps({**manifest, "providers": "CUDAExecutionProvider"}))
    report = doctor_report(Engine(Settings(threads=1, models_folder=str(tmp_path / "models"))), smoke=False)
    assert [b["folder"] for b in report["broken"]] == [str(bad)]
    assert "providers must be a list" in report["broken"][0]["error"]
    assert next(p for p in report["packs"] if p["id"] == "atelier-lineart")["verified"] is True
    env = {**os.environ, "ATELIER_MODELS": str(tmp_path / "models"), "ATELIER_CACHE_DIR": str(tmp_path / "cache")}
    run = subprocess.run(
        [sys.executable, "-m", "atelier", "doctor", "--no-smoke"], env=env, capture_output=True, text=True,
        timeout=120, cwd=REPO,
    )  # fmt: skip
    assert run.returncode == 1
    assert "(unreadable pack)" in run.stdout and "providers must be a list" in run.stdout
    assert "atelier-lineart" in run.stdout
