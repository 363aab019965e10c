"""Pack manifests, discovery order, sha256 verification and path containment, on real files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from atelier.core.errors import PackVerificationError
from atelier.engine.packs import HashCache, discover, read_manifest, verify
from tests.onnx_builders import scale_model, write_pack


def test_discovery_order_and_shadowing(tmp_path: Path) -> None:
    first = write_pack(tmp_path / "a" / "tiny", scale_model(2.0))
    second = write_pack(tmp_path / "b" / "group" / "tiny", scale_model(3.0))
    write_pack(tmp_path / "b" / "other", scale_model(1.0), pack_id="other")
    catalog = discover([tmp_path / "a", tmp_path / "b"])
    assert catalog.get("tiny").folder == first
    assert "other" in catalog.packs
    assert any(str(second) in problem for problem in catalog.problems)


def test_verify_accepts_good_and_names_the_damaged_file(tmp_path: Path) -> None:
    folder = write_pack(tmp_path / "tiny", scale_model())
    pack = read_manifest(folder)
    cache = HashCache(tmp_path / "hashes.json")
    verify(pack, cache)
    data = bytearray((folder / "model.onnx").read_bytes())
    data[-1] ^= 0xFF
    (folder / "model.onnx").write_bytes(bytes(data))
    with pytest.raises(PackVerificationError, match=r"model\.onnx does not match its sha256"):
        verify(pack, cache)  # the cache is keyed by mtime, so the change is seen


def test_manifest_paths_may_not_leave_the_pack(tmp_path: Path) -> None:
    folder = write_pack(tmp_path / "tiny", scale_model())
    (tmp_path / "secret.onnx").write_bytes(b"x")
    manifest = json.loads((folder / "pack.json").read_text())
    manifest["files"].append({"path": "../secret.onnx", "sha256": "0" * 64, "size": 1})
    (folder / "pack.json").write_text(json.dumps(manifest))
    with pytest.raises(PackVerificationError, match="leaves the pack folder"):
        verify(read_manifest(folder), HashCache(tmp_path / "h.json"))


def test_external_data_must_be_listed_and_inside(tmp_path: Path) -> None:
    folder = write_pack(tmp_path / "ext", scale_model(), external=True)
    verify(read_manifest(folder), HashCache(tmp_path / "h.json"))
    manifest = json.loads((folder / "pack.json").read_text())
    manifest["files"] = [f for f in manifest["files"] if f["path"] != "model.data"]
    (folder / "pack.json").write_text(json.dumps(manifest))
    with pytest.raises(PackVerificationError, match=r"external data model\.data"):
        verify(read_manifest(folder), HashCache(tmp_path / "h.json"))


def test_external_data_pointing_outside_is_refused(tmp_path: Path) -> None:
    import onnx

    folder = write_pack(tmp_path / "ext", scale_model(), external=True)
    model = onnx.load(str(folder / "model.onnx"), load_external_data=False)
    for tensor in model.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = "../../etc/passwd"
    onnx.save(model, str(folder / "model.onnx"))
    from atelier.engine.packs import write_manifest

    manifest = json.loads((folder / "pack.json").read_text())
    write_manifest(folder, {k: v for k, v in manifest.items() if k != "files"}, ["model.onnx", "model.data"])
    with pytest.raises(PackVerificationError, match="leaves the pack folder"):
        verify(read_manifest(folder), HashCache(tmp_path / "h.json"))


def test_bundled_lineart_pack_verifies() -> None:
    from atelier.engine.packs import bundled_models_dir

    catalog = discover([bundled_models_dir()])
    verify(catalog.get("atelier-lineart"), HashCache(Path("/nonexistent/cache.json")))
