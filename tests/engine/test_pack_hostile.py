"""Hostile model folders: pipes, links to devices, huge nesting, odd roots. Discovery sets each bad pack
aside with a message and never hangs, runs out of memory or fails as a whole."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from atelier.core.errors import PackError
from atelier.engine.manifest_schema import MAX_MANIFEST_BYTES
from atelier.engine.packs import PackCatalog, bundled_models_dir, discover, read_manifest, search_roots
from tests.conftest import REPO
from tests.onnx_builders import scale_model, write_pack

DEEP = 100_000


def within(seconds: float, work: Callable[[], Any]) -> Any:
    """Run `work` on a daemon thread and fail (instead of hanging the suite) if it takes too long."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:  # handed back to the test
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s (blocked on a pipe or an endless file?)"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def hostile_root(root: Path) -> dict[str, str]:
    """One good pack beside every kind of bad one; returns folder name -> the phrase its message holds."""
    write_pack(root / "good", scale_model(), pack_id="good")
    expected = {}

    (write_pack(root / "fifo", scale_model(), pack_id="fifo") / "pack.json").unlink()
    os.mkfifo(root / "fifo" / "pack.json")  # the pack's files are there; its manifest is a pipe
    expected["fifo"] = "is a named pipe, not a file"

    (root / "zero").mkdir()
    (root / "zero" / "pack.json").symlink_to("/dev/zero")
    expected["zero"] = "is a device, not a file"

    (root / "dangling").mkdir()
    (root / "dangling" / "pack.json").symlink_to(root / "nowhere.json")
    expected["dangling"] = "Cannot read"

    (root / "huge").mkdir()
    with open(root / "huge" / "pack.json", "wb") as handle:
        handle.truncate(MAX_MANIFEST_BYTES + 1)  # sparse: 8 MB of nothing on disk
    expected["huge"] = f"at most {MAX_MANIFEST_BYTES:,} are read"

    (root / "deep-json").mkdir()
    (root / "deep-json" / "pack.json").write_text('{"id": "deep", "components": ' + "[" * DEEP + "]" * DEEP + "}")
    expected["deep-json"] = "levels deep"

    (root / "deep-toml").mkdir()
    (root / "deep-toml" / "pack.toml").write_text("id = 'deep'\ncomponents = " + "[" * DEEP + "]" * DEEP + "\n")
    expected["deep-toml"] = "levels deep"

    moderate = {"id": "moderate", "kind": "tiny", "files": [], "x-n": json.loads("[" * 900 + "]" * 900)}
    (root / "deep-moderate").mkdir()  # parses, but still too deep for a manifest
    (root / "deep-moderate" / "pack.json").write_text(json.dumps(moderate))
    expected["deep-moderate"] = "more than 16 levels deep"

    for name, value in (("list", ["model.onnx"]), ("string", "model.onnx")):
        folder = write_pack(root / f"components-{name}", scale_model(), pack_id=f"c-{name}")
        manifest = json.loads((folder / "pack.json").read_text())
        (folder / "pack.json").write_text(json.dumps({**manifest, "components": value}))
        expected[f"components-{name}"] = "components must be an object"

    (root / "binary").mkdir()
    (root / "binary" / "pack.json").write_bytes(b"\xff\xfe\x00garbage")
    expected["binary"] = "is not valid JSON"

    (root / "array").mkdir()
    (root / "array" / "pack.json").write_text("[1, 2, 3]")
    expected["array"] = "must be an object of keys, not a list"

    (root / "pipe-genai").mkdir()  # a genai folder whose config is a pipe: not a pack, and never opened
    os.mkfifo(root / "pipe-genai" / "genai_config.json")
    return expected


def test_every_bad_pack_is_set_aside_with_its_reason_and_the_good_one_loads(tmp_path: Path) -> None:
    expected = hostile_root(tmp_path / "models")
    catalog: PackCatalog = within(30, lambda: discover([tmp_path / "models"]))
    assert list(catalog.packs) == ["good"]
    messages = {b.folder.name: b.message for b in catalog.broken}
    assert set(messages) == set(expected)
    for name, phrase in expected.items():
        assert phrase in messages[name], (name, messages[name])


def test_a_manifest_that_is_a_pipe_is_never_opened(tmp_path: Path) -> None:
    """Opening a FIFO for reading blocks until a writer comes; nobody ever writes to this one."""
    folder = tmp_path / "fifo"
    folder.mkdir()
    os.mkfifo(folder / "pack.json")
    with pytest.raises(PackError, match="named pipe"):
        within(10, lambda: read_manifest(folder))


@pytest.mark.parametrize("root", ["/proc", "/dev", "/sys"])
def test_system_folders_as_models_folders_do_not_break_discovery(monkeypatch: pytest.MonkeyPatch, root: str) -> None:
    if not Path(root).is_dir():
        pytest.skip(f"{root} does not exist here")
    monkeypatch.setenv("ATELIER_MODELS", root)
    catalog: PackCatalog = within(60, lambda: discover(search_roots()))
    assert {"atelier-lineart", "atelier-colorizer", "atelier-melody"} <= set(catalog.packs)


def test_a_root_with_too_many_folders_is_searched_only_so_far(tmp_path: Path) -> None:
    from atelier.engine.packs import MAX_FOLDERS_PER_ROOT

    for index in range(MAX_FOLDERS_PER_ROOT + 10):
        (tmp_path / "wide" / f"f{index:05d}").mkdir(parents=True)
    catalog = discover([tmp_path / "wide"])
    assert any("only the first were searched" in p for p in catalog.problems)


def test_a_genai_folder_with_endless_nesting_or_links_is_bounded(tmp_path: Path) -> None:
    """Links to folders are not followed (no loops) and depth is bounded, so listing always ends."""
    folder = tmp_path / "models" / "llm"
    folder.mkdir(parents=True)
    (folder / "genai_config.json").write_text(json.dumps({"model": {"decoder": {"filename": "model.onnx"}}}))
    (folder / "loop").symlink_to(folder)
    (folder / "zero.bin").symlink_to("/dev/zero")
    deep = folder
    for _ in range(40):
        deep = deep / "d"
    deep.mkdir(parents=True)
    (deep / "far.txt").write_text("x")
    catalog: PackCatalog = within(30, lambda: discover([tmp_path / "models"]))
    pack = catalog.get("genai-llm")
    assert [f.path for f in pack.files] == ["genai_config.json"]


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "atelier", *args], capture_output=True, text=True, timeout=120, env=env, cwd=REPO
    )


def test_cli_lists_and_verifies_around_bad_packs(tmp_path: Path) -> None:
    """`models list` still lists (and notes each bad pack); `models verify` fails on them; nothing hangs."""
    expected = hostile_root(tmp_path / "models")
    env = {
        **os.environ,
        "ATELIER_MODELS": str(tmp_path / "models"),
        "ATELIER_CONFIG_DIR": str(tmp_path / "config"),
        "ATELIER_DATA_DIR": str(tmp_path / "data"),
        "ATELIER_CACHE_DIR": str(tmp_path / "cache"),
    }
    listed = run_cli("models", "list", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    report = json.loads(listed.stdout)
    assert {"good", "atelier-lineart"} <= {p["id"] for p in report["packs"]}
    for name in expected:
        assert any(f"{tmp_path / 'models' / name}" in p for p in report["problems"]), name
    verified = run_cli("models", "verify", "--json", env=env)
    assert verified.returncode == 1
    rows = json.loads(verified.stdout)["packs"]
    assert {r["id"] for r in rows if r["verified"]} >= {"good", "atelier-lineart"}
    failed = {Path(r["folder"]).name for r in rows if not r["verified"]}
    assert failed == set(expected)
    one_bad = tmp_path / "one-bad"
    write_pack(one_bad / "p", scale_model(), pack_id="p")
    (one_bad / "p" / "pack.json").write_text('{"id": "p", "kind": "tiny", "files": "oops"}')
    only = run_cli("models", "verify", env={**env, "ATELIER_MODELS": str(one_bad)})
    assert only.returncode == 1 and "files must be a list" in only.stdout


def test_bundled_packs_still_verify_from_a_read_only_copy(tmp_path: Path) -> None:
    """A pack on a read-only medium verifies: nothing is written inside a pack."""
    import shutil

    from atelier.engine.packs import HashCache, verify

    copy = tmp_path / "ro" / "lineart"
    shutil.copytree(bundled_models_dir() / "lineart", copy)
    for path in (copy, *copy.iterdir()):
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        verify(read_manifest(copy), HashCache(tmp_path / "h.json"))
        original = bundled_models_dir() / "lineart"
        assert sorted(p.name for p in copy.iterdir()) == sorted(p.name for p in original.iterdir())
    finally:
        copy.chmod(0o755)
