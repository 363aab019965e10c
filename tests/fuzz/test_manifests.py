"""Pack manifests from anywhere: any pack.json or pack.toml gives a Pack whose fields have their types, or a
PackError naming the problem; discovery sets the folder aside and never fails."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atelier.core.errors import PackError
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
