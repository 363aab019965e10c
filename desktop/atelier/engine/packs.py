"""Model packs: a folder with a manifest (pack.json or pack.toml) naming files, hashes and licence.

Discovery order: the bundled `models/` folder, the per-user data folder, the Settings' models
folder, then every folder in ATELIER_MODELS (os.pathsep-separated).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from atelier.core.errors import PackError, PackNotFoundError, PackVerificationError
from atelier.core.settings import cache_dir, data_dir

MANIFEST_NAMES = ("pack.json", "pack.toml")


@dataclass(frozen=True)
class PackFile:
    path: str  # relative to the pack folder, with forward slashes
    sha256: str
    size: int


@dataclass(frozen=True)
class Pack:
    id: str
    name: str
    kind: str
    version: str
    licence: str
    source: str
    folder: Path
    files: tuple[PackFile, ...]
    providers: tuple[str, ...] = ()  # preferred execution providers, best first
    components: dict[str, str] = field(default_factory=dict)  # role -> relative file path
    extra: dict[str, Any] = field(default_factory=dict)

    def component_path(self, role: str) -> Path:
        if role not in self.components:
            raise PackError(f"Pack '{self.id}' has no '{role}' component.")
        return safe_join(self.folder, self.components[role])


def safe_join(folder: Path, relative: str) -> Path:
    """Join and refuse anything that leaves `folder` (absolute paths, '..', links pointing out)."""
    if not relative or Path(relative).is_absolute() or "\\" in relative:
        raise PackVerificationError(f"Pack file path '{relative}' must be relative, with forward slashes.")
    base = folder.resolve()
    target = (base / relative).resolve()
    if not target.is_relative_to(base):
        raise PackVerificationError(f"Pack file path '{relative}' leaves the pack folder {folder}.")
    return target


def read_manifest(folder: Path) -> Pack:
    for name in MANIFEST_NAMES:
        path = folder / name
        if path.exists():
            break
    else:
        raise PackNotFoundError(f"No pack.json or pack.toml in {folder}.")
    try:
        text = path.read_text(encoding="utf-8")
        raw = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (OSError, ValueError) as exc:
        raise PackError(f"Cannot read the manifest {path}: {exc}.") from exc
    try:
        files = tuple(
            PackFile(path=str(item["path"]), sha256=str(item["sha256"]).lower(), size=int(item["size"]))
            for item in raw["files"]
        )
        known = {"id", "name", "kind", "version", "licence", "source", "files", "providers", "components"}
        return Pack(
            id=str(raw["id"]),
            name=str(raw.get("name", raw["id"])),
            kind=str(raw["kind"]),
            version=str(raw.get("version", "0")),
            licence=str(raw.get("licence", "unknown")),
            source=str(raw.get("source", "")),
            folder=folder,
            files=files,
            providers=tuple(raw.get("providers", ())),
            components={str(k): str(v) for k, v in raw.get("components", {}).items()},
            extra={k: v for k, v in raw.items() if k not in known},
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise PackError(f"The manifest {path} is missing or has a bad field: {exc}.") from exc


def write_manifest(folder: Path, meta: dict[str, Any], file_paths: Iterable[str]) -> Path:
    """Write pack.json for files already in `folder`, computing sizes and sha256s."""
    files = []
    for relative in sorted(file_paths):
        target = safe_join(folder, relative)
        files.append({"path": relative, "sha256": sha256_of(target), "size": target.stat().st_size})
    manifest = {**meta, "files": files}
    path = folder / "pack.json"
    path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return path


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


class HashCache:
    """sha256 per file keyed by (path, size, mtime), so verifying a 4 GB pack is instant the second time."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or cache_dir() / "sha256-cache.json"
        self._lock = threading.Lock()
        try:
            self._entries: dict[str, list[Any]] = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self._entries = {}

    def sha256(self, target: Path) -> str:
        stat = target.stat()
        key = str(target)
        with self._lock:
            cached = self._entries.get(key)
        if cached and cached[0] == stat.st_size and cached[1] == stat.st_mtime_ns:
            return str(cached[2])
        digest = sha256_of(target)
        with self._lock:
            self._entries[key] = [stat.st_size, stat.st_mtime_ns, digest]
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.path.write_text(json.dumps(self._entries), encoding="utf-8")
            except OSError:
                pass  # a read-only cache only costs time, never correctness
        return digest


def onnx_external_locations(path: Path) -> list[str]:
    """External-data file names an ONNX model refers to, read without loading any weights."""
    import onnx  # local: only needed when verifying ONNX files

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # onnx raises DecodeError and others for a damaged file
        raise PackVerificationError(f"{path.name} is not a readable ONNX model: {exc}.") from exc
    locations = []
    tensors = list(model.graph.initializer)
    for node in model.graph.node:
        for attribute in node.attribute:
            if attribute.HasField("t"):
                tensors.append(attribute.t)
    for tensor in tensors:
        if tensor.data_location == onnx.TensorProto.EXTERNAL:
            for entry in tensor.external_data:
                if entry.key == "location":
                    locations.append(entry.value)
    return locations


def verify(pack: Pack, cache: HashCache | None = None) -> None:
    """Check every file's size and sha256 and that nothing (ONNX external data included) leaves the pack."""
    cache = cache or HashCache()
    listed = set()
    for item in pack.files:
        target = safe_join(pack.folder, item.path)
        listed.add(target)
        if not target.is_file():
            raise PackVerificationError(f"Pack '{pack.id}' is missing {item.path}.")
        if target.stat().st_size != item.size:
            raise PackVerificationError(
                f"Pack '{pack.id}': {item.path} is {target.stat().st_size} bytes, the manifest says {item.size}."
            )
        if cache.sha256(target) != item.sha256:
            raise PackVerificationError(f"Pack '{pack.id}': {item.path} does not match its sha256 (damaged?).")
    for item in pack.files:
        if item.path.endswith(".onnx"):
            target = safe_join(pack.folder, item.path)
            for location in onnx_external_locations(target):
                relative = (Path(item.path).parent / location).as_posix()
                external = safe_join(pack.folder, relative)
                if external not in listed:
                    raise PackVerificationError(
                        f"Pack '{pack.id}': {item.path} uses external data {location} that the manifest "
                        "does not list with a sha256."
                    )
    for role, relative in pack.components.items():
        if safe_join(pack.folder, relative) not in listed and not safe_join(pack.folder, relative).is_dir():
            raise PackVerificationError(f"Pack '{pack.id}': component '{role}' ({relative}) is not listed.")


def bundled_models_dir() -> Path:
    """`models/` beside the package in a checkout, or inside a PyInstaller bundle."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root) / "models"
    return Path(__file__).resolve().parents[3] / "models"


def search_roots(extra_folder: str = "") -> list[Path]:
    roots = [bundled_models_dir(), data_dir() / "models"]
    if extra_folder:
        roots.append(Path(extra_folder).expanduser())
    for entry in os.environ.get("ATELIER_MODELS", "").split(os.pathsep):
        if entry.strip():
            roots.append(Path(entry.strip()).expanduser())
    roots.append(cache_dir() / "packs")  # packs converted on first use (last: a user's pack wins)
    return roots


GENAI_CONFIG = "genai_config.json"


def genai_folder_pack(folder: Path, cache: HashCache | None = None) -> Pack:
    """An onnxruntime-genai model folder (genai_config.json + ONNX, as Microsoft and others publish
    Phi, Qwen and Llama exports) without a manifest, as a pack of kind `llm`.

    Its manifest is generated into the cache the first time the folder is seen (trust on first
    use): later, a file whose bytes changed fails verification like in any other pack; a folder
    whose file list changed (another model put there) gets a new manifest.
    """
    files = sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )
    key = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:16]
    generated = cache_dir() / "genai-manifests" / f"{key}.json"
    try:
        raw = json.loads(generated.read_text(encoding="utf-8"))
        listed = raw["files"] if [f["path"] for f in raw["files"]] == files else None
    except (OSError, ValueError, KeyError, TypeError):
        listed = None
    if listed is None:
        cache = cache or HashCache()
        listed = [{"path": f, "sha256": cache.sha256(folder / f), "size": (folder / f).stat().st_size} for f in files]
        generated.parent.mkdir(parents=True, exist_ok=True)
        generated.write_text(json.dumps({"folder": str(folder), "files": listed}, indent=1), encoding="utf-8")
    slug = "".join(c if c.isalnum() or c in "-_." else "-" for c in folder.name.lower())
    return Pack(
        id=f"genai-{slug}",
        name=folder.name,
        kind="llm",
        version="0",
        licence="see the model folder",
        source=str(folder),
        folder=folder,
        files=tuple(PackFile(str(f["path"]), str(f["sha256"]), int(f["size"])) for f in listed),
        providers=("CUDAExecutionProvider", "DmlExecutionProvider"),
        components={"model": GENAI_CONFIG},
        extra={"runtime": "onnxruntime-genai", "generated_manifest": str(generated)},
    )


@dataclass
class PackCatalog:
    """Every pack found, in discovery order; the first pack with an id wins, later ones are noted."""

    packs: dict[str, Pack] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def get(self, pack_id: str) -> Pack:
        try:
            return self.packs[pack_id]
        except KeyError:
            raise PackNotFoundError(f"No model pack with id '{pack_id}'.") from None

    def of_kind(self, kind: str) -> list[Pack]:
        return [pack for pack in self.packs.values() if pack.kind == kind]


def discover(roots: Iterable[Path]) -> PackCatalog:
    catalog = PackCatalog()
    for root in roots:
        if not root.is_dir():
            continue
        # A root may itself be a pack, or hold packs up to two levels down (models/<group>/<pack>).
        candidates = [root, *sorted(p for p in root.iterdir() if p.is_dir())]
        candidates += [q for p in candidates[1:] for q in sorted(p.iterdir()) if q.is_dir()]
        for folder in candidates:
            has_manifest = any((folder / name).exists() for name in MANIFEST_NAMES)
            if not has_manifest and not (folder / GENAI_CONFIG).is_file():
                continue
            try:
                pack = read_manifest(folder) if has_manifest else genai_folder_pack(folder)
            except (PackError, OSError) as exc:
                catalog.problems.append(str(exc))
                continue
            if pack.id in catalog.packs:
                catalog.problems.append(
                    f"Pack '{pack.id}' in {folder} is shadowed by the one in {catalog.packs[pack.id].folder}."
                )
                continue
            catalog.packs[pack.id] = pack
    return catalog
