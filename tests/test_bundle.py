"""installer/check_bundle.py: a bundle folder with torch (as files or as modules in its archive), an unused
Qt module, a recipe, or a missing or damaged default pack fails; a clean one passes.

The folders are real: packs copied from models/, an executable holding a real PyInstaller archive written
with PyInstaller's own writers. The built bundle itself (dist/atelier) is checked only when it was built
from the current inputs (its inputs' hash matches) or when ATELIER_TEST_BUNDLE=1 asks for a build (minutes).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from atelier.engine.first_use_packs import FIRST_USE_PACKS
from atelier.engine.packs import write_manifest

REPO = Path(__file__).resolve().parents[1]
BUILD_ENV = "ATELIER_TEST_BUNDLE"


def _load_checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_bundle", REPO / "installer" / "check_bundle.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["check_bundle"] = module
    spec.loader.exec_module(module)
    return module


check = _load_checker()


def write_executable(path: Path, modules: list[str]) -> None:
    """An executable with a PyInstaller archive (PKG) holding a PYZ of `modules`, as the bootloader reads it."""
    from PyInstaller.archive.writers import CArchiveWriter, ZlibArchiveWriter

    sources = path.parent / "sources"
    entries, code = [], {}
    for name in modules:
        source = sources / (name.replace(".", "/") + "/__init__.py")
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_text(f"NAME = {name!r}\n")
        entries.append((name, str(source), "PYMODULE"))
        code[name] = compile(source.read_text(), str(source), "exec")
    pyz = path.parent / "PYZ-00.pyz"
    ZlibArchiveWriter(str(pyz), entries, code_dict=code)
    CArchiveWriter(str(path), [("PYZ-00.pyz", str(pyz), False, "z")], "libpython3.11.so.1.0")
    pyz.unlink()
    shutil.rmtree(sources)
    path.chmod(0o755)


def make_bundle(root: Path, modules: tuple[str, ...] = ("atelier", "atelier.cli", "numpy", "PySide6")) -> Path:
    """A one-folder bundle as PyInstaller 6 lays it out: the executable, data under _internal/."""
    bundle = root / "atelier"
    internal = bundle / "_internal"
    internal.mkdir(parents=True)
    write_executable(bundle / "atelier", list(modules))
    for manifest in (REPO / "models").glob("*/pack.json"):
        target = internal / "models" / manifest.parent.name
        target.mkdir(parents=True)
        listed = json.loads(manifest.read_text())["files"]
        for name in ["pack.json", *(item["path"] for item in listed)]:
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(manifest.parent / name, target / name)
    for first_use in FIRST_USE_PACKS:  # small stand-ins with the real ids, where the bundle keeps them
        folder = internal / "models" / first_use.bundle_folder
        folder.mkdir(parents=True)
        (folder / "tokenizer.json").write_text('{"model": "small stand-in"}')
        meta = {"id": first_use.id, "name": first_use.name, "kind": first_use.kind, "licence": first_use.licence}
        write_manifest(folder, meta, ["tokenizer.json"])
    (internal / "PySide6" / "Qt" / "lib").mkdir(parents=True)
    (internal / "PySide6" / "QtWidgets.abi3.so").write_bytes(b"\x7fELF widgets")
    (internal / "PySide6" / "Qt" / "lib" / "libQt6Widgets.so.6").write_bytes(b"\x7fELF")
    return bundle


def test_a_clean_bundle_passes(tmp_path: Path) -> None:
    report = check.check_bundle(make_bundle(tmp_path))
    assert report.ok, report.problems
    assert report.modules_in_archive == 4
    assert sorted(p.id for p in report.packs) == check.default_pack_ids()
    assert all(p.verified for p in report.packs)
    assert {"minilm-text", "smollm2-135m-instruct", "atelier-colorizer"} <= {p.id for p in report.packs}


def test_torch_as_files_fails(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path)
    torch = bundle / "_internal" / "torch" / "lib"
    torch.mkdir(parents=True)
    (torch / "libtorch_cpu.so").write_bytes(b"\x7fELF")
    (bundle / "_internal" / "transformers-5.24.0.dist-info").mkdir()
    (bundle / "_internal" / "transformers-5.24.0.dist-info" / "METADATA").write_text("Name: transformers\n")
    report = check.check_bundle(bundle)
    assert not report.ok
    assert report.forbidden == ["torch/lib/libtorch_cpu.so", "transformers-5.24.0.dist-info/METADATA"]
    assert any("build-time packages" in problem for problem in report.problems)


def test_torch_inside_the_archive_fails(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path, ("atelier", "torch", "torch.nn", "diffusers", "ray.serve", "torchmetrics"))
    report = check.check_bundle(bundle)
    assert not report.ok
    assert report.forbidden == ["diffusers", "ray.serve", "torch", "torch.nn"]  # torchmetrics is not torch


def test_unused_qt_modules_and_recipes_fail(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path, ("atelier", "PySide6.QtQml"))
    internal = bundle / "_internal"
    (internal / "PySide6" / "QtWebEngineCore.abi3.so").write_bytes(b"\x7fELF")
    (internal / "PySide6" / "Qt" / "lib" / "libQt6Quick.so.6").write_bytes(b"\x7fELF")
    shutil.copy2(REPO / "models" / "minilm" / "build_minilm.py", internal / "models" / "minilm" / "build_minilm.py")
    (internal / "somepkg" / "tests").mkdir(parents=True)
    (internal / "somepkg" / "tests" / "data.bin").write_bytes(b"x")
    report = check.check_bundle(bundle)
    assert not report.ok
    assert sorted(report.unused_qt) == [
        "PySide6.QtQml",
        "PySide6/Qt/lib/libQt6Quick.so.6",
        "PySide6/QtWebEngineCore.abi3.so",
    ]
    assert report.test_data == ["models/minilm/build_minilm.py", "somepkg/tests/data.bin"]


def test_a_missing_or_damaged_pack_fails(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path)
    models = bundle / "_internal" / "models"
    shutil.rmtree(models / "smollm2")
    colorizer = models / "colorizer" / "colorizer.onnx"
    data = bytearray(colorizer.read_bytes())
    data[-1] ^= 0xFF  # one flipped bit at the end: the size is right, the sha256 is not
    colorizer.write_bytes(bytes(data))
    report = check.check_bundle(bundle)
    assert any("'smollm2-135m-instruct' is missing" in problem for problem in report.problems)
    damaged = next(p for p in report.packs if p.id == "atelier-colorizer")
    assert not damaged.verified and "sha256" in damaged.error


def test_a_folder_without_an_archive_fails(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path)
    (bundle / "atelier").write_bytes(b"#!/bin/sh\necho not a bundle\n")
    report = check.check_bundle(bundle)
    assert report.modules_in_archive == 0
    assert any("No PyInstaller archive" in problem for problem in report.problems)


def test_the_inputs_hash_follows_the_inputs(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    for relative in (*check.INPUT_FOLDERS, "installer"):
        (root / relative).mkdir(parents=True, exist_ok=True)
    (root / "desktop" / "atelier" / "app.py").write_text("print('a')\n")
    first = check.inputs_hash(root)
    assert check.inputs_hash(root) == first and check.inputs_hash(root, "gpu") != first
    (root / "desktop" / "atelier" / "app.py").write_text("print('b')\n")
    assert check.inputs_hash(root) != first
    bundle = make_bundle(tmp_path / "dist")
    check.stamp_path(bundle).write_text(json.dumps({"inputs_hash": check.inputs_hash(root), "flavour": "cpu"}))
    assert check.bundle_is_current(bundle, root)
    (root / "models" / "new.txt").write_text("a new input")
    assert not check.bundle_is_current(bundle, root)


def test_the_built_bundle(tmp_path: Path) -> None:
    """dist/atelier, when it was built from exactly these inputs (or built now, when asked)."""
    bundle = REPO / "dist" / "atelier"
    if not check.bundle_is_current(bundle):
        if os.environ.get(BUILD_ENV) != "1":
            pytest.skip(f"no bundle built from the current inputs; {BUILD_ENV}=1 builds one (several minutes)")
        subprocess.run(["bash", str(REPO / "installer" / "build_bundle.sh")], check=True, timeout=3600)
    report = check.check_bundle(bundle)
    assert report.ok, report.problems
    assert sorted(p.id for p in report.packs) == check.default_pack_ids()
    assert report.modules_in_archive > 500
