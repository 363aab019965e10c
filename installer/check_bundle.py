"""Inspect a built bundle folder: no build-time libraries inside, every default pack present and verified.

`python installer/check_bundle.py dist/atelier [--json]` exits 1 with the problems found. The modules
are read from the folder's files and from the PYZ archive inside the executable (PyInstaller's own
reader), the packs are checked with the engine's own `verify` against a fresh hash cache, so every
file's sha256 is really computed. `inputs_hash()` keys a built bundle by what went into it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "desktop") not in sys.path:  # run as a script from a checkout without an installed atelier
    sys.path.insert(0, str(ROOT / "desktop"))

# What a bundle must never carry: the build extra (torch and the converters), the render server, tests.
FORBIDDEN_MODULES = (
    "torch",
    "torchvision",
    "torchaudio",
    "transformers",
    "diffusers",
    "optimum",
    "sentence_transformers",
    "ray",
    "starlette",  # the render server's web stack stays in the `server` extra
    "fastapi",
    "uvicorn",
    "onnxscript",
    "onnx_ir",
    "atelier_build",
    "pytest",
)
# Qt modules Atelier never imports (it uses QtCore, QtGui, QtWidgets, and QtSvg/QtDBus through plugins).
UNUSED_QT_MODULES = tuple(
    f"PySide6.{name}"
    for name in (
        "Qt3DAnimation",
        "Qt3DCore",
        "Qt3DExtras",
        "Qt3DInput",
        "Qt3DLogic",
        "Qt3DRender",
        "QtBluetooth",
        "QtCharts",
        "QtConcurrent",
        "QtDataVisualization",
        "QtDesigner",
        "QtGraphs",
        "QtGraphsWidgets",
        "QtHelp",
        "QtHttpServer",
        "QtLocation",
        "QtMultimedia",
        "QtMultimediaWidgets",
        "QtNetworkAuth",
        "QtNfc",
        "QtPdf",
        "QtPdfWidgets",
        "QtPositioning",
        "QtQml",
        "QtQuick",
        "QtQuick3D",
        "QtQuickControls2",
        "QtQuickTest",
        "QtQuickWidgets",
        "QtRemoteObjects",
        "QtScxml",
        "QtSensors",
        "QtSerialBus",
        "QtSerialPort",
        "QtSpatialAudio",
        "QtSql",
        "QtStateMachine",
        "QtTest",
        "QtTextToSpeech",
        "QtUiTools",
        "QtWebChannel",
        "QtWebEngineCore",
        "QtWebEngineQuick",
        "QtWebEngineWidgets",
        "QtWebSockets",
        "QtWebView",
        "QtCanvasPainter",
    )
)
# Qt shared libraries that only those modules (or Qt Quick/QML tooling) use.
UNUSED_QT_LIBRARY_PREFIXES = (
    "libQt6Qml",
    "libQt6Quick",
    "libQt6WebEngine",
    "libQt63D",
    "libQt6Pdf",
    "libQt6Designer",
    "libQt6Multimedia",
    "libQt6Charts",
    "libQt6Test",
    "libQt6Sql",
    "libQt6Help",
)
# Folders that hold tests or their data, never needed at run time.
TEST_DATA_FOLDERS = ("tests", "test_data", "testdata")
INPUT_FOLDERS = ("desktop/atelier", "models", "resources")
INPUT_FILES = (
    "installer/atelier.spec",
    "installer/launch_atelier.py",
    "installer/bundle_packs.py",
    "installer/check_bundle.py",
    "installer/build_bundle.sh",
)


@dataclass
class PackCheck:
    id: str
    folder: str
    verified: bool
    files: int
    bytes: int
    error: str = ""


@dataclass
class BundleReport:
    folder: str
    problems: list[str] = field(default_factory=list)
    forbidden: list[str] = field(default_factory=list)  # module or file names of forbidden packages found
    unused_qt: list[str] = field(default_factory=list)
    test_data: list[str] = field(default_factory=list)
    packs: list[PackCheck] = field(default_factory=list)
    modules_in_archive: int = 0
    size_bytes: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def default_pack_ids(root: Path = ROOT) -> list[str]:
    """The packs every bundle must carry: the committed ones in models/ and the first-use ones."""
    from atelier.engine.first_use_packs import FIRST_USE_PACKS
    from atelier.engine.packs import discover

    committed = list(discover([root / "models"]).packs)
    return sorted({*committed, *(pack.id for pack in FIRST_USE_PACKS)})


def bundle_data_root(bundle: Path) -> Path:
    """Where PyInstaller put the data (sys._MEIPASS): `_internal/` since PyInstaller 6, else the folder."""
    internal = bundle / "_internal"
    return internal if internal.is_dir() else bundle


def _top_name(path: Path) -> str:
    """The importable name a collected file belongs to: torch/_C.so -> torch, torch-2.13.dist-info -> torch."""
    first = path.parts[0]
    for suffix in (".dist-info", ".egg-info", ".libs"):
        if first.endswith(suffix):
            return first[: -len(suffix)].split("-")[0].lower().replace("-", "_")
    return first.split(".")[0]


def archive_modules(executable: Path) -> list[str]:
    """Module names inside the executable's PYZ archive (empty when the file holds no PyInstaller archive)."""
    from PyInstaller.archive.readers import ArchiveReadError, CArchiveReader

    try:
        package = CArchiveReader(str(executable))
    except (ArchiveReadError, OSError, ValueError):
        return []
    names: list[str] = []
    for name, entry in package.toc.items():
        if entry[-1] == "z":  # the PYZ holding the pure-Python modules
            names += list(package.open_embedded_archive(name).toc)
        elif entry[-1] in ("m", "M", "s"):
            names.append(name)
    return names


def _executables(bundle: Path) -> list[Path]:
    return [p for p in bundle.iterdir() if p.is_file() and (os.access(p, os.X_OK) or p.suffix == ".exe")]


def _is_forbidden(module: str) -> bool:
    return any(module == name or module.startswith(f"{name}.") for name in FORBIDDEN_MODULES)


def _some(items: list[str], shown: int = 8) -> str:
    more = f" and {len(items) - shown} more" if len(items) > shown else ""
    return ", ".join(items[:shown]) + more


def check_bundle(bundle: Path, expected_packs: list[str] | None = None) -> BundleReport:
    """Inspect `bundle` (a PyInstaller one-folder build); the report's problems say what is wrong."""
    from atelier.engine.packs import HashCache, discover, verify

    report = BundleReport(folder=str(bundle))
    if not bundle.is_dir():
        report.problems.append(f"{bundle} is not a folder; build it with installer/build_bundle.sh.")
        return report
    data_root = bundle_data_root(bundle)
    files = [p for p in bundle.rglob("*") if p.is_file() and not p.is_symlink()]
    report.size_bytes = sum(p.stat().st_size for p in files)
    for path in sorted(files):
        relative = path.relative_to(data_root) if path.is_relative_to(data_root) else path.relative_to(bundle)
        top = _top_name(relative)
        if _is_forbidden(top) or path.name.startswith(("libtorch", "libc10")):
            report.forbidden.append(relative.as_posix())
        if relative.parts[0] == "PySide6" and path.name.split(".")[0] in {m.split(".")[1] for m in UNUSED_QT_MODULES}:
            report.unused_qt.append(relative.as_posix())
        if path.name.startswith(UNUSED_QT_LIBRARY_PREFIXES):
            report.unused_qt.append(relative.as_posix())
        folders = {part.lower() for part in relative.parts[:-1]}
        if folders & set(TEST_DATA_FOLDERS) or (relative.parts[0] == "models" and path.suffix == ".py"):
            report.test_data.append(relative.as_posix())
    modules: list[str] = []
    for executable in _executables(bundle):
        modules += archive_modules(executable)
    report.modules_in_archive = len(modules)
    report.forbidden += sorted({m for m in modules if _is_forbidden(m)})
    report.unused_qt += sorted({m for m in modules if m in UNUSED_QT_MODULES})
    if not modules:
        report.problems.append(f"No PyInstaller archive with Python modules found in {bundle}'s executables.")
    if report.forbidden:
        report.problems.append(f"The bundle carries build-time packages it must not: {_some(report.forbidden)}.")
    if report.unused_qt:
        report.problems.append(f"The bundle carries unused Qt modules: {_some(report.unused_qt)}.")
    if report.test_data:
        report.problems.append(f"The bundle carries tests, test data or build recipes: {_some(report.test_data)}.")

    catalog = discover([data_root / "models"])
    for broken in catalog.broken:
        report.problems.append(f"Unreadable pack in the bundle: {broken.message}")
    with tempfile.TemporaryDirectory(prefix="atelier-bundle-check-") as scratch:
        cache = HashCache(Path(scratch) / "sha256.json")  # fresh: every file is hashed, none taken on trust
        for pack_id in expected_packs if expected_packs is not None else default_pack_ids():
            pack = catalog.packs.get(pack_id)
            if pack is None:
                report.problems.append(f"Default pack '{pack_id}' is missing from {data_root / 'models'}.")
                continue
            check = PackCheck(pack.id, str(pack.folder), False, len(pack.files), sum(f.size for f in pack.files))
            try:
                verify(pack, cache)
                check.verified = True
            except Exception as exc:  # the verifier's message is the finding
                check.error = str(exc)
                report.problems.append(f"Pack '{pack.id}' does not verify: {exc}")
            report.packs.append(check)
    return report


def _hash_tree(digest: hashlib._Hash, root: Path, relative: str) -> None:
    base = root / relative
    paths = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file())
    for path in paths:
        if "__pycache__" in path.parts or path.suffix == ".pyc":
            continue
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())


def inputs_hash(root: Path = ROOT, flavour: str = "cpu") -> str:
    """What a bundle is built from: the app's code and data, the committed packs and first-use recipes,
    the build files, and every installed distribution's version (the packs' inputs come from those)."""
    digest = hashlib.sha256(f"atelier-bundle|{flavour}|{sys.version}".encode())
    for relative in (*INPUT_FOLDERS, *INPUT_FILES):
        _hash_tree(digest, root, relative)
    versions = sorted(f"{d.metadata['Name']}=={d.version}".lower() for d in metadata.distributions())
    digest.update("\n".join(versions).encode())
    return digest.hexdigest()[:16]


def stamp_path(bundle: Path) -> Path:
    """The record of what a built bundle was made from, beside it (not inside: it is not shipped)."""
    return bundle.parent / f"{bundle.name}.inputs.json"


def bundle_is_current(bundle: Path, root: Path = ROOT, flavour: str = "cpu") -> bool:
    try:
        stamp = json.loads(stamp_path(bundle).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bundle.is_dir() and stamp.get("inputs_hash") == inputs_hash(root, stamp.get("flavour", flavour))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path, nargs="?", default=ROOT / "dist" / "atelier")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--stamp", metavar="FLAVOUR", help="after a clean check, record the bundle's inputs hash")
    args = parser.parse_args(argv)
    report = check_bundle(args.bundle)
    if args.json:
        print(json.dumps({**asdict(report), "ok": report.ok}, indent=2))
    else:
        for pack in report.packs:
            state = "verified" if pack.verified else f"FAILED ({pack.error})"
            print(f"  {pack.id:<28} {pack.files:>3} files {pack.bytes / 1e6:8.1f} MB  {state}")
        print(f"{report.modules_in_archive} modules in the archive; {report.size_bytes / 1e6:.0f} MB unpacked")
        for problem in report.problems:
            print(f"PROBLEM: {problem}", file=sys.stderr)
    if report.ok and args.stamp:
        record = {"inputs_hash": inputs_hash(ROOT, args.stamp), "flavour": args.stamp}
        stamp_path(args.bundle).write_text(json.dumps(record) + "\n", encoding="utf-8")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
