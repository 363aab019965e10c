"""Test-wide set-up: offscreen Qt, private config/data/cache folders, and no network (pytest-socket)."""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

import pytest

# Set before anything imports Qt or reads settings: tests never touch the user's real folders.
_ROOT = Path(tempfile.mkdtemp(prefix="atelier-tests-"))
os.environ["QT_QPA_PLATFORM"] = "offscreen"
# Tests and builders import onnxruntime directly too; it must write no telemetry files there either.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"
os.environ.setdefault("ATELIER_CONFIG_DIR", str(_ROOT / "config"))
os.environ.setdefault("ATELIER_DATA_DIR", str(_ROOT / "data"))
# The cache (converted model packs) is shared between runs on purpose: conversions are expensive.
os.environ.setdefault("ATELIER_CACHE_DIR", str(Path.home() / ".cache" / "atelier-tests"))
os.environ.pop("ATELIER_MODELS", None)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Fresh config and data folders for one test."""
    monkeypatch.setenv("ATELIER_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("ATELIER_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


@pytest.fixture
def no_leaked_threads():
    """Fail a test that leaves Python threads running after it ends."""
    before = set(threading.enumerate())
    yield
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    for thread in leaked:
        thread.join(timeout=5)
    leaked = [t for t in leaked if t.is_alive()]
    assert not leaked, f"threads leaked: {[t.name for t in leaked]}"
