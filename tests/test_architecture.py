"""Architecture checks: nothing at run time unpickles or loads torch, and the import contracts catch breaches."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import atelier
import atelier_build

REPO = Path(__file__).resolve().parents[1]
PACKAGES = {"atelier": Path(atelier.__file__).parent, "atelier_build": Path(atelier_build.__file__).parent}

# Modules whose whole job is (un)pickling: importing one at run time is the finding.
UNPICKLING_MODULES = frozenset({"pickle", "_pickle", "cPickle", "shelve", "joblib", "dill", "cloudpickle"})
# Calls that unpickle whatever file they are given (TorchScript archives hold pickles too).
UNPICKLING_CALLS = frozenset({"torch.load", "torch.jit.load", "pandas.read_pickle", "pd.read_pickle"})
NUMPY_LOADS = frozenset({"np.load", "numpy.load"})
DYNAMIC_IMPORTS = frozenset({"importlib.import_module", "import_module", "__import__"})

# Files that may unpickle, with the reason (a build step reading a format that has no safe form).
# Empty: the diffusers exporter in atelier_build loads safetensors only and refuses .ckpt files.
ALLOWED_UNPICKLING: dict[str, str] = {}


def _dotted(node: ast.expr) -> str:
    """`torch.jit.load` for the expression naming a call; "" for anything else (a subscript, a call)."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return ""
    return ".".join([node.id, *reversed(parts)])


def _is_false(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is False


def unpickling_uses(source: str) -> list[tuple[int, str]]:
    """(line, what) for every way `source` could unpickle: imports of the pickle family, torch.load,
    numpy loads that allow pickles, and dynamic imports of those modules by name."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [
                (node.lineno, f"import {a.name}") for a in node.names if a.name.split(".")[0] in UNPICKLING_MODULES
            ]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = {a.name for a in node.names}
            if node.module.split(".")[0] in UNPICKLING_MODULES:
                found.append((node.lineno, f"from {node.module} import"))
            elif loaders := sorted(n for n in names if f"{node.module}.{n}" in UNPICKLING_CALLS):
                found.append((node.lineno, f"from {node.module} import {', '.join(loaders)}"))
        elif isinstance(node, ast.Call):
            name = _dotted(node.func)
            if name in UNPICKLING_CALLS:
                found.append((node.lineno, f"{name}()"))
            pickles = [k for k in node.keywords if k.arg == "allow_pickle" and not _is_false(k.value)]
            if pickles or (name in NUMPY_LOADS and len(node.args) >= 3):  # np.load(file, mmap_mode, allow_pickle)
                found.append((node.lineno, f"{name or 'call'}(allow_pickle=...)"))
            first = node.args[0] if node.args else None
            if (
                name in DYNAMIC_IMPORTS
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
                and first.value.split(".")[0] in UNPICKLING_MODULES | {"torch"}
            ):
                found.append((node.lineno, f"{name}({first.value!r})"))
    return sorted(found)


def scan_package(root: Path, allowed: dict[str, str]) -> dict[str, list[tuple[int, str]]]:
    """Findings per source file under `root` (paths relative to its parent), skipping the `allowed` ones."""
    findings = {}
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root.parent).as_posix()
        if relative not in allowed and (uses := unpickling_uses(path.read_text(encoding="utf-8"))):
            findings[relative] = uses
    return findings


def test_no_package_module_unpickles() -> None:
    for root in PACKAGES.values():
        assert scan_package(root, ALLOWED_UNPICKLING) == {}
    for relative in ALLOWED_UNPICKLING:  # an exemption outlives its reason only as long as its file
        assert (PACKAGES[relative.split("/")[0]].parent / relative).is_file(), f"stale exemption: {relative}"


PLANTED = '''"""A module that unpickles in every way the scan knows, between look-alikes that do not."""
import json, pickle
from numpy import load
import numpy as np
from torch import load as torch_load
import joblib.numpy_pickle
from dill import loads
import importlib

# pickle in a comment, and a name that only looks like it:
pickled = "pickle"


def read(path, picker):
    np.load(path)
    np.load(path, allow_pickle=False)
    np.load(path, allow_pickle=True)
    numpy.load(path, None, True)
    picker.load(path)
    arrays = np.lib.format.read_array(path, allow_pickle=picker)
    model = torch.load(path)
    script = torch.jit.load(path)
    frame = pd.read_pickle(path)
    module = importlib.import_module("cloudpickle")
    other = importlib.import_module("json")
    return __import__("shelve"), __import__(pickled)
'''


def test_scan_finds_each_planted_unpickling_and_nothing_else() -> None:
    assert unpickling_uses(PLANTED) == [
        (2, "import pickle"),
        (5, "from torch import load"),
        (6, "import joblib.numpy_pickle"),
        (7, "from dill import"),
        (17, "np.load(allow_pickle=...)"),
        (18, "numpy.load(allow_pickle=...)"),
        (20, "np.lib.format.read_array(allow_pickle=...)"),
        (21, "torch.load()"),
        (22, "torch.jit.load()"),
        (23, "pd.read_pickle()"),
        (24, "importlib.import_module('cloudpickle')"),
        (26, "__import__('shelve')"),
    ]


def test_scan_walks_subpackages_and_honours_only_listed_exemptions(tmp_path: Path) -> None:
    root = tmp_path / "pkg"
    (root / "deep" / "deeper").mkdir(parents=True)
    (root / "__init__.py").write_text('"""Clean."""\nimport numpy as np\n\nx = np.load("a.npy")\n')
    (root / "deep" / "deeper" / "reader.py").write_text("import os\n\n\ndef f(p):\n    import shelve\n")
    (root / "deep" / "exempt.py").write_text("import pickle\n")

    assert scan_package(root, {"pkg/deep/exempt.py": "a build step"}) == {
        "pkg/deep/deeper/reader.py": [(5, "import shelve")]
    }
    assert set(scan_package(root, {})) == {"pkg/deep/deeper/reader.py", "pkg/deep/exempt.py"}


# Loaded by importing every runtime module: the heavy build-time stack and the pickle libraries
# (plain `pickle` is left out: numpy imports it for its own use).
NEVER_LOADED = ("torch", "transformers", "diffusers", "optimum", "atelier_build", "joblib", "dill", "cloudpickle")

_IMPORT_EVERYTHING = """
import importlib, json, pkgutil, sys
import atelier
names = [m.name for m in pkgutil.walk_packages(atelier.__path__, "atelier.") if m.name != "atelier.__main__"]
for name in names:
    importlib.import_module(name)
print(json.dumps({"modules": names, "loaded": sorted(sys.modules)}))
"""


def test_importing_every_runtime_module_loads_no_build_stack(tmp_path: Path) -> None:
    """The contracts see only this package's own imports; this also catches a dependency that pulls torch in."""
    # A private HOME: onnxruntime writes files under ~/.cache when imported.
    env = {**os.environ, "HOME": str(tmp_path), "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, "-c", _IMPORT_EVERYTHING], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert {"atelier.cli.models", "atelier.ui.main_window", "atelier.engine.runner"} <= set(report["modules"])
    loaded = [name for name in report["loaded"] if name.split(".")[0] in NEVER_LOADED]
    assert loaded == []


# One breach per contract in pyproject.toml: each must be reported broken when planted in a copy of the
# packages (and kept without it), so a contract that is loosened until it no longer bites fails here.
BREACHES = {
    "layers: cli > ui | server > engine | remote > audio > core": {
        "atelier/audio/_planted.py": "from atelier.ui import errors\n"
    },
    "layers: cli > ui | server > engine | remote > audio > core#exhaustive": {
        "atelier/plugins/__init__.py": '"""New."""\n'
    },
    # Siblings in one layer stay independent: the render-server client does not run the engine.
    "layers: cli > ui | server > engine | remote > audio > core#siblings": {
        "atelier/remote/_planted.py": "from atelier.engine import packs\n"
    },
    "the render server and its client import no Qt": {"atelier/server/_planted.py": "from PySide6 import QtCore\n"},
    "the desktop side never imports Ray or a web framework": {
        "atelier/remote/_planted.py": "def f():\n    import ray\n"
    },
    "the desktop side never imports Ray or a web framework#through-server": {
        "atelier/ui/_planted.py": "def f():\n    from atelier.server import app\n"
    },
    "core imports neither Qt nor onnxruntime": {"atelier/core/_planted.py": "def f():\n    import onnxruntime\n"},
    "engine and audio import no Qt": {"atelier/audio/_planted.py": "from PySide6 import QtMultimedia\n"},
    "panels, widgets and dialogs do not import the engine (only ui.worker does)": {
        "atelier/ui/widgets/_planted.py": "from atelier.engine import packs\n"
    },
    # Indirect: a command module reaching Qt through a ui module, which the layers allow.
    "CLI commands run headless: no Qt (only a bare `atelier` opens the window)": {
        "atelier/cli/_planted.py": "from atelier.ui.widgets import images\n"
    },
    # A lazy import of the exporter anywhere but the one listed place (and torch behind it).
    "runtime never imports torch, transformers, diffusers, optimum or the build package": {
        "atelier/engine/_planted.py": "def convert():\n    from atelier_build.diffusion import export\n"
    },
    "runtime never imports torch, transformers, diffusers, optimum or the build package#direct": {
        "atelier/core/_planted.py": "def embed():\n    import transformers\n"
    },
    "runtime never unpickles: no pickle, shelve, joblib, dill or cloudpickle": {
        "atelier/engine/_planted.py": "import shelve\n"
    },
    "build code uses the engine's pack format, never the window or the CLI": {
        "atelier_build/_planted.py": "from atelier.ui import errors\n"
    },
}


def _contract_states(tree: Path) -> dict[str, str]:
    """Run lint-imports on the packages under `tree`/desktop; {contract name: KEPT or BROKEN}."""
    lint_imports = Path(sys.executable).with_name("lint-imports")
    env = {**os.environ, "PYTHONPATH": str(tree / "desktop"), "COLUMNS": "1000", "NO_COLOR": "1"}
    done = subprocess.run(
        [str(lint_imports), "--no-cache", "--no-logo", str(tree / "pyproject.toml")],
        cwd=tree, capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    states = {}
    for line in done.stdout.splitlines():
        for state in ("KEPT", "BROKEN"):
            if f" {state}" in line:
                states[line.split(f" {state}")[0].strip()] = state
    assert states, done.stdout + done.stderr
    return states


@pytest.fixture(scope="module")
def pristine_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree = tmp_path_factory.mktemp("contracts")
    for name, root in PACKAGES.items():
        shutil.copytree(root, tree / "desktop" / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(REPO / "pyproject.toml", tree / "pyproject.toml")
    return tree


def test_every_contract_is_kept_and_has_a_breach_test(pristine_tree: Path) -> None:
    states = _contract_states(pristine_tree)
    assert states == dict.fromkeys(states, "KEPT")
    assert set(states) == {key.split("#")[0] for key in BREACHES}


@pytest.mark.parametrize("key", list(BREACHES))
def test_a_planted_breach_breaks_its_contract(key: str, pristine_tree: Path, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(pristine_tree, tree)
    for relative, source in BREACHES[key].items():
        (tree / "desktop" / relative).parent.mkdir(parents=True, exist_ok=True)
        (tree / "desktop" / relative).write_text(source)
    assert _contract_states(tree)[key.split("#")[0]] == "BROKEN"
