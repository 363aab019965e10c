"""`atelier --self-test`: the real window offscreen runs a job in each panel on the test packs, reports each
check, and exits 1 when a check fails (here: a bundle whose models folder lacks the colorizer)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from atelier.core.cancel import CancelToken
from atelier.engine import smollm2, text_embedding
from atelier.ui.self_test import CHECKS, PALETTE_COUNT, run_self_test

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def first_use_packs() -> None:
    """The MiniLM and SmolLM2 packs in the test cache (built once, like the other tests that use them)."""
    if text_embedding.built_pack() is None:
        pytest.importorskip("torch")
        text_embedding.build_text_pack(report=lambda message: None)
    if smollm2.built_pack() is None:
        pytest.importorskip("torch")
        for _ in smollm2.ensure_pack(CancelToken()):
            pass


@pytest.mark.slow
def test_self_test_command_runs_every_panel_and_writes_its_report(first_use_packs, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    user_config = tmp_path / "user-config"
    env = {**os.environ, "ATELIER_CONFIG_DIR": str(user_config)}
    env.pop("QT_QPA_PLATFORM", None)  # the self-test must go offscreen by itself, with no display
    env.pop("DISPLAY", None)
    done = subprocess.run(
        [sys.executable, "-m", "atelier", "--self-test", "--report", str(report)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().splitlines()[-1] == f"{len(CHECKS)} passed, 0 failed"
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["ok"] is True and data["qt_platform"] == "offscreen"
    assert [check["name"] for check in data["checks"]] == list(CHECKS)
    for check in data["checks"]:
        assert check["ok"] and check["seconds"] > 0 and check["device"] == "CPUExecutionProvider", check
    messages = {check["name"]: check["message"] for check in data["checks"]}
    assert len(re.findall(r"#[0-9a-f]{6}", messages["palette"])) == PALETTE_COUNT
    assert "smollm2-135m-instruct" in messages["lyric"]
    assert "MIDI export read back" in messages["melody"]
    # The scratch project and config were used: nothing was written into the user's config folder.
    assert not user_config.exists() or not any(user_config.iterdir())


def test_a_missing_pack_fails_the_check_and_the_exit_code(
    qapp, isolated_dirs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A bundle (sys._MEIPASS is how PyInstaller tells the app where its data is) whose models/ has the
    # line-art pack but lost the colorizer: tracing works, colorizing must fail and say so.
    bundle = tmp_path / "bundle"
    shutil.copytree(REPO / "models" / "lineart", bundle / "models" / "lineart")
    (bundle / "resources").symlink_to(REPO / "resources")
    monkeypatch.setattr(sys, "_MEIPASS", str(bundle), raising=False)
    report = tmp_path / "report.txt"
    assert run_self_test(report, only=("sketch",)) == 1
    lines = report.read_text(encoding="utf-8").splitlines()
    sketch = next(line for line in lines if line.strip().startswith("sketch"))
    assert "FAILED" in sketch and "colorize job failed" in sketch, sketch
    assert lines[-1] == "0 passed, 1 failed"


def test_an_unknown_check_is_refused() -> None:
    assert run_self_test(None, only=("paint",)) == 2
