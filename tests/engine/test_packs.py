"""Pack manifests, discovery order, the manifest schema, sha256 verification and path containment, on real files."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from atelier.core.errors import PackError, PackVerificationError
from atelier.engine.manifest_schema import validate_manifest
from atelier.engine.packs import HashCache, bundled_models_dir, discover, read_manifest, verify, write_manifest
from tests.onnx_builders import scale_model, write_pack


def edit_manifest(folder: Path, **changes: Any) -> None:
    manifest = json.loads((folder / "pack.json").read_text())
    manifest.update(changes)
    (folder / "pack.json").write_text(json.dumps(manifest))


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
    files = manifest["files"]
    edit_manifest(folder, files=[*files, {"path": "../secret.onnx", "sha256": "0" * 64, "size": 1}])
    with pytest.raises(PackError, match=r"files\[1\]\.path '\.\./secret\.onnx' may not hold"):
        read_manifest(folder)
    # A link inside the pack that points out of it passes the schema and is caught when resolved.
    (folder / "inside.onnx").symlink_to(tmp_path / "secret.onnx")
    edit_manifest(folder, files=[*files, {"path": "inside.onnx", "sha256": "0" * 64, "size": 1}])
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


GOOD = {"id": "tiny", "kind": "tiny", "files": [{"path": "model.onnx", "sha256": "a" * 64, "size": 10}]}


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"files": [{"path": "model.onnx", "sha256": "a" * 64, "size": 571.5}]}, "size must be a whole number"),
        ({"files": [{"path": "model.onnx", "sha256": "a" * 64, "size": "571"}]}, "size must be a whole number"),
        ({"files": [{"path": "model.onnx", "sha256": "a" * 64, "size": True}]}, "size must be a whole number"),
        ({"files": [{"path": "model.onnx", "sha256": "a" * 64, "size": -1}]}, "size is -1, outside"),
        ({"files": [{"path": "m", "sha256": "xyz", "size": 1}]}, "64 hexadecimal digits"),
        ({"files": [{"path": "C:/m.onnx", "sha256": "a" * 64, "size": 1}]}, "relative path"),
        ({"files": [{"path": "/etc/passwd", "sha256": "a" * 64, "size": 1}]}, "relative path"),
        ({"files": [{"path": "m", "sha256": "a" * 64, "size": 1, "exec": "rm"}]}, "unknown key 'exec'"),
        ({"files": [GOOD["files"][0], GOOD["files"][0]]}, "twice"),
        ({"files": []}, "has 0 entries"),
        ({"files": "model.onnx"}, "files must be a list"),
        ({"id": ""}, "id is empty"),
        ({"id": "../../x"}, "'../../x' is not allowed"),
        ({"id": "a/b"}, "is not allowed"),
        ({"id": 7}, "id must be text"),
        ({"kind": "Diffusion Pack"}, "is not allowed"),
        ({"providers": "CUDAExecutionProvider"}, "providers must be a list"),
        ({"providers": ["rm -rf"]}, "onnxruntime provider name"),
        ({"components": ["model.onnx"]}, "components must be an object"),
        ({"components": "model.onnx"}, "components must be an object"),
        ({"components": {"model": "../model.onnx"}}, "components.model"),
        ({"max_threads": 2000}, "max_threads is 2000, outside 1..64"),
        ({"max_threads": 0}, "max_threads is 0"),
        ({"min_cosine_to_fp32": math.nan}, "min_cosine_to_fp32 is nan"),
        ({"name": "bad\x00name"}, "control characters"),
        ({"licence": "x" * 501}, "at most 500"),
        ({"runtme": "onnxruntime-genai"}, "unknown key 'runtme'"),
    ],
)
def test_schema_refuses_bad_manifests_naming_the_key(tmp_path: Path, change: dict[str, Any], complaint: str) -> None:
    folder = write_pack(tmp_path / "tiny", scale_model())
    edit_manifest(folder, **change)
    with pytest.raises(PackError, match="is not valid") as error:
        read_manifest(folder)
    assert complaint in str(error.value)


def test_schema_requires_id_kind_and_files() -> None:
    problems = validate_manifest({"name": "x"})
    assert [p for p in problems if "required key" in p] == [
        "the required key 'id' is missing",
        "the required key 'kind' is missing",
        "the required key 'files' is missing",
    ]
    assert validate_manifest([1, 2]) == ["the manifest must be an object of keys, not a list"]


def test_schema_accepts_every_shipped_manifest_and_free_notes(tmp_path: Path) -> None:
    manifests = sorted(bundled_models_dir().glob("*/pack.json"))
    assert len(manifests) >= 3
    for path in manifests:
        assert validate_manifest(json.loads(path.read_text())) == [], path
    folder = write_pack(tmp_path / "tiny", scale_model())
    edit_manifest(folder, **{"x-notes": {"trained": "by hand"}, "version": 3, "max_threads": 2})
    pack = read_manifest(folder)
    assert pack.version == "3" and pack.extra["x-notes"] == {"trained": "by hand"}


def test_toml_manifests_are_checked_the_same_way(tmp_path: Path) -> None:
    folder = tmp_path / "toml"
    folder.mkdir()
    (folder / "pack.toml").write_text(
        'id = "toml-pack"\nkind = "tiny"\nproviders = "CUDAExecutionProvider"\n'
        '[[files]]\npath = "m.onnx"\nsha256 = "' + "a" * 64 + '"\nsize = 1\n'
    )
    with pytest.raises(PackError, match="providers must be a list"):
        read_manifest(folder)


def test_write_manifest_refuses_what_discovery_would_refuse(tmp_path: Path) -> None:
    folder = write_pack(tmp_path / "tiny", scale_model())
    with pytest.raises(PackError, match="max_threads is 500"):
        write_manifest(folder, {"id": "tiny", "kind": "tiny", "max_threads": 500}, ["model.onnx"])
    assert read_manifest(folder).id == "tiny"  # the pack.json already there is left as it was


def test_discovery_sets_a_bad_pack_aside_and_keeps_the_others(tmp_path: Path) -> None:
    write_pack(tmp_path / "root" / "good", scale_model(), pack_id="good")
    bad = write_pack(tmp_path / "root" / "bad", scale_model(), pack_id="bad")
    edit_manifest(bad, components=["model.onnx"])
    catalog = discover([tmp_path / "root"])
    assert list(catalog.packs) == ["good"]
    assert [b.folder for b in catalog.broken] == [bad]
    assert "components must be an object" in catalog.broken[0].message
    assert catalog.broken[0].message in catalog.problems


def test_verify_writes_the_hash_cache_once_per_pass(tmp_path: Path) -> None:
    """Rewriting the whole cache after every file made a 10,000-file pack quadratic (120 s)."""
    folder = tmp_path / "many"
    folder.mkdir()
    names = [f"part-{i:05d}.bin" for i in range(2000)]
    for index, name in enumerate(names):
        (folder / name).write_bytes(index.to_bytes(4, "little"))
    write_manifest(folder, {"id": "many", "kind": "tiny"}, names)
    cache = HashCache(tmp_path / "hashes.json")
    verify(read_manifest(folder), cache)
    assert cache.writes == 1
    assert len(json.loads((tmp_path / "hashes.json").read_text())) == 2000
    verify(read_manifest(folder), cache)
    assert cache.writes == 1  # nothing changed: nothing written
    reopened = HashCache(tmp_path / "hashes.json")
    verify(read_manifest(folder), reopened)
    assert reopened.writes == 0  # every hash came from the file written once


def test_hash_cache_that_cannot_be_written_costs_only_time(tmp_path: Path) -> None:
    folder = write_pack(tmp_path / "tiny", scale_model())
    (tmp_path / "not-a-folder").write_text("a file where the cache folder should be")
    cache = HashCache(tmp_path / "not-a-folder" / "hashes.json")
    verify(read_manifest(folder), cache)
    assert cache.writes == 0
    folder.chmod(0o555)  # a read-only pack verifies too: verifying writes nothing inside it
    try:
        verify(read_manifest(folder), HashCache(tmp_path / "h.json"))
    finally:
        folder.chmod(0o755)


def model_with_external_data(folder: Path, name: str, location: str) -> None:
    """An ONNX model saved under `name` whose weights say they live in `location` (relative to it)."""
    onnx.save(
        scale_model(),
        str(folder / name),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location="weights.data",
        size_threshold=0,
    )
    model = onnx.load(str(folder / name), load_external_data=False)
    for tensor in model.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = location
    onnx.save(model, str(folder / name))


def test_a_model_under_another_suffix_is_checked_for_external_data_too(tmp_path: Path) -> None:
    """onnxruntime loads a component whatever its suffix: model.bin's weights may not lie outside."""
    folder = tmp_path / "bin"
    folder.mkdir()
    (tmp_path / "outside.data").write_bytes(b"\0" * 64)
    model_with_external_data(folder, "model.bin", "../outside.data")
    write_manifest(folder, {"id": "bin", "kind": "tiny", "components": {"model": "model.bin"}}, ["model.bin"])
    with pytest.raises(PackVerificationError, match=r"model\.bin uses external data '\.\./outside\.data'"):
        verify(read_manifest(folder), HashCache(tmp_path / "h.json"))
    # Inside the pack but not listed (so never hashed): refused as well.
    model_with_external_data(folder, "model.bin", "weights.data")
    (folder / "weights.data").write_bytes(b"\0" * 64)
    write_manifest(folder, {"id": "bin", "kind": "tiny", "components": {"model": "model.bin"}}, ["model.bin"])
    with pytest.raises(PackVerificationError, match="does not list with a sha256"):
        verify(read_manifest(folder), HashCache(tmp_path / "h.json"))
    write_manifest(
        folder, {"id": "bin", "kind": "tiny", "components": {"model": "model.bin"}}, ["model.bin", "weights.data"]
    )
    verify(read_manifest(folder), HashCache(tmp_path / "h.json"))


def test_external_data_inside_a_subgraph_is_checked(tmp_path: Path) -> None:
    """Weights can hide in an If branch's Constant node; they are tensors onnxruntime reads all the same."""
    weight = numpy_helper.from_array(np.ones(4, np.float32), "w")
    weight.ClearField("raw_data")
    weight.data_location = TensorProto.EXTERNAL
    for key, value in (("location", "../../etc/passwd"), ("offset", "0"), ("length", "16")):
        weight.external_data.add(key=key, value=value)
    branch = helper.make_graph(
        [helper.make_node("Constant", [], ["c"], value=weight)],
        "branch",
        [],
        [helper.make_tensor_value_info("c", TensorProto.FLOAT, [4])],
    )
    graph = helper.make_graph(
        [helper.make_node("If", ["cond"], ["y"], then_branch=branch, else_branch=branch)],
        "if",
        [helper.make_tensor_value_info("cond", TensorProto.BOOL, [])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])],
    )
    folder = tmp_path / "if"
    folder.mkdir()
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    (folder / "model.onnx").write_bytes(model.SerializeToString())
    write_manifest(folder, {"id": "if", "kind": "tiny", "components": {"model": "model.onnx"}}, ["model.onnx"])
    with pytest.raises(PackVerificationError, match="leaves the pack"):
        verify(read_manifest(folder), HashCache(tmp_path / "h.json"))


def genai_pack(folder: Path, config: dict[str, Any]) -> Path:
    folder.mkdir(parents=True)
    (folder / "genai_config.json").write_text(json.dumps(config))
    onnx.save(scale_model(), str(folder / "model.onnx"))
    meta = {"id": "g", "kind": "llm", "components": {"model": "genai_config.json"}, "runtime": "onnxruntime-genai"}
    write_manifest(folder, meta, ["genai_config.json", "model.onnx"])
    return folder


def test_genai_config_may_only_name_listed_files_and_never_native_code(tmp_path: Path) -> None:
    good = genai_pack(tmp_path / "good", {"model": {"decoder": {"filename": "model.onnx"}}})
    verify(read_manifest(good), HashCache(tmp_path / "h.json"))
    (tmp_path / "other.onnx").write_bytes(b"x")
    outside = genai_pack(tmp_path / "outside", {"model": {"decoder": {"filename": "../other.onnx"}}})
    with pytest.raises(PackVerificationError, match=r"names the file '\.\./other\.onnx', which leaves"):
        verify(read_manifest(outside), HashCache(tmp_path / "h.json"))
    native = {"model": {"decoder": {"filename": "model.onnx", "session_options": {"custom_ops_library": "x.so"}}}}
    code = genai_pack(tmp_path / "code", native)
    with pytest.raises(PackVerificationError, match="packs may not bring code"):
        verify(read_manifest(code), HashCache(tmp_path / "h.json"))


@pytest.mark.parametrize("kind", ["lineart", "llm"])
def test_a_folder_pack_of_another_kind_is_not_run_as_a_diffusion_pack(tmp_path: Path, kind: str) -> None:
    from atelier.core.requests.sketch import SketchRequest
    from atelier.core.settings import Settings
    from atelier.engine.runner import Engine

    folder = write_pack(tmp_path / "other", scale_model(), pack_id="other", kind=kind)
    engine = Engine(Settings(threads=1))
    with pytest.raises(PackError, match=f"holds a {kind} pack \\('other'\\), not a Stable Diffusion pack"):
        engine.run_to_end(SketchRequest(prompt="x", pack_id=str(folder), width=64, height=64, steps=1))
    assert not engine.pool.loaded()  # refused before any model was loaded


def test_a_folder_pack_id_does_not_carry_the_absolute_path(tmp_path: Path) -> None:
    from atelier.engine.tasks.sketch import folder_pack

    folder = tmp_path / "private-place" / "my-model"
    for role in ("text_encoder", "unet", "vae_decoder"):
        (folder / role).mkdir(parents=True)
        (folder / role / "model.onnx").write_bytes(b"x")
    (folder / "tokenizer").mkdir()
    pack = folder_pack(folder)
    assert pack.id.startswith("folder:my-model-") and "private-place" not in pack.id
    assert folder_pack(tmp_path / "private-place" / "my-model").id == pack.id
    os.rename(tmp_path / "private-place", tmp_path / "elsewhere")
    assert folder_pack(tmp_path / "elsewhere" / "my-model").id != pack.id
