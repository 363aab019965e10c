"""Model packs: a folder with a manifest (pack.json or pack.toml) naming files, hashes and licence.

Discovery order: the bundled `models/` folder, the per-user data folder, the Settings' models
folder, then every folder in ATELIER_MODELS (os.pathsep-separated). Everything read here comes from
outside, so every read is bounded (bytes, nesting, file and folder counts) and one bad pack is set
aside with a message instead of failing discovery as a whole.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
import threading
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from atelier.core.atomic_files import write_atomic
from atelier.core.errors import AtelierError, PackError, PackNotFoundError, PackVerificationError
from atelier.core.settings import cache_dir, data_dir
from atelier.engine.manifest_schema import MAX_DEPTH, MAX_FILES, MAX_MANIFEST_BYTES, too_deep, validate_manifest

MANIFEST_NAMES = ("pack.json", "pack.toml")
GENAI_CONFIG = "genai_config.json"
MAX_FOLDERS_PER_ROOT = 4096  # packs sit at most two levels down; a root holding more is not a models folder
MAX_GENAI_DEPTH = 6
MAX_PROTOBUF_BYTES = 2 << 30  # protobuf's own limit: a larger file cannot be an ONNX model without external data


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


def safe_join(folder: Path, relative: str, base: Path | None = None) -> Path:
    """Join and refuse anything that leaves `folder` (absolute paths, '..', links pointing out).
    `base` is `folder.resolve()` when the caller already has it (a 10,000-file pack resolves it once)."""
    if not relative or Path(relative).is_absolute() or "\\" in relative or "\x00" in relative:
        raise PackVerificationError(f"Pack file path '{relative}' must be relative, with forward slashes.")
    base = base or folder.resolve()
    target = (base / relative).resolve()
    if not target.is_relative_to(base):
        raise PackVerificationError(f"Pack file path '{relative}' leaves the pack folder {folder}.")
    return target


def _file_kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "folder"), (stat.S_ISFIFO, "named pipe"), (stat.S_ISCHR, "device"),
                       (stat.S_ISBLK, "device"), (stat.S_ISSOCK, "socket")):  # fmt: skip
        if test(mode):
            return name
    return "special file"


def read_bounded(path: Path, limit: int) -> bytes:
    """A regular file's bytes, at most `limit` of them. The type is checked before opening, because
    opening a named pipe blocks until someone writes and a link to /dev/zero never ends."""
    try:
        info = path.stat()
    except OSError as exc:
        raise PackError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
    if not stat.S_ISREG(info.st_mode):
        raise PackError(f"{path} is a {_file_kind(info.st_mode)}, not a file; replace it with the real file.")
    if info.st_size > limit:
        raise PackError(f"{path} is {info.st_size:,} bytes; at most {limit:,} are read.")
    try:
        # O_NONBLOCK: should the file be swapped for a pipe after the check, opening still returns.
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise PackError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise PackError(f"{path} changed into something that is not a file while being read.")
        chunks, total = [], 0
        while total <= limit and (chunk := os.read(descriptor, min(1 << 20, limit + 1 - total))):
            chunks.append(chunk)
            total += len(chunk)
    finally:
        os.close(descriptor)
    if total > limit:
        raise PackError(f"{path} grew past {limit:,} bytes while being read.")
    return b"".join(chunks)


def parse_manifest(path: Path) -> dict[str, Any]:
    """The manifest's keys, checked against the schema; PackError names every problem found."""
    data = read_bounded(path, MAX_MANIFEST_BYTES)
    try:
        text = data.decode("utf-8")
        raw = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except RecursionError:
        raise PackError(
            f"The manifest {path} nests lists or objects more than {MAX_DEPTH} levels deep; fix or remove it."
        ) from None
    except ValueError as exc:  # UnicodeDecodeError, JSONDecodeError and TOMLDecodeError are all ValueErrors
        raise PackError(f"The manifest {path} is not valid {path.suffix[1:].upper()}: {exc}.") from exc
    problems = validate_manifest(raw)
    if problems:
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise PackError(f"The manifest {path} is not valid: {'; '.join(problems[:5])}{more}.")
    return raw


def read_manifest(folder: Path) -> Pack:
    for name in MANIFEST_NAMES:
        path = folder / name
        if os.path.lexists(path):  # a dangling link is reported, not taken for "no manifest"
            break
    else:
        raise PackNotFoundError(f"No pack.json or pack.toml in {folder}.")
    raw = parse_manifest(path)
    known = {"id", "name", "kind", "version", "licence", "source", "files", "providers", "components"}
    return Pack(
        id=raw["id"],
        name=raw.get("name", raw["id"]),
        kind=raw["kind"],
        version=str(raw.get("version", "0")),
        licence=raw.get("licence", "unknown"),
        source=raw.get("source", ""),
        folder=folder,
        files=tuple(PackFile(f["path"], f["sha256"].lower(), f["size"]) for f in raw["files"]),
        providers=tuple(raw.get("providers", ())),
        components=dict(raw.get("components", {})),
        extra={k: v for k, v in raw.items() if k not in known},
    )


def write_manifest(folder: Path, meta: dict[str, Any], file_paths: Iterable[str]) -> Path:
    """Write pack.json for files already in `folder`, computing sizes and sha256s; refuse what
    discovery would refuse, so a build never ships a pack that cannot load."""
    files = []
    base = folder.resolve()
    for relative in sorted(file_paths):
        target = safe_join(folder, relative, base)
        files.append({"path": relative, "sha256": sha256_of(target), "size": target.stat().st_size})
    manifest = {**meta, "files": files}
    problems = validate_manifest(manifest)
    if problems:
        raise PackError(f"The manifest for {folder} would not be valid: {'; '.join(problems[:5])}.")
    path = folder / "pack.json"
    write_file_atomic(path, (json.dumps(manifest, indent=2) + "\n").encode("utf-8"))
    return path


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise PackVerificationError(f"{path} is not a regular file.")
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


class HashCache:
    """sha256 per file keyed by (path, size, mtime), so verifying a 4 GB pack is instant the second time.

    Entries are kept in memory and written by `flush()`, once per verify pass: writing the whole
    cache after every file made a 10,000-file pack take minutes (each write grows with the cache).
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or cache_dir() / "sha256-cache.json"
        self._lock = threading.Lock()
        self._dirty = False
        self.writes = 0  # times the cache file was written (for tests and diagnostics)
        try:
            loaded = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            loaded = {}
        self._entries: dict[str, Any] = loaded if isinstance(loaded, dict) else {}

    def sha256(self, target: Path) -> str:
        info = target.stat()
        key = str(target)
        with self._lock:
            cached = self._entries.get(key)
        if (
            isinstance(cached, list)
            and len(cached) == 3
            and cached[:2] == [info.st_size, info.st_mtime_ns]
            and isinstance(cached[2], str)
        ):
            return cached[2]
        digest = sha256_of(target)
        with self._lock:
            self._entries[key] = [info.st_size, info.st_mtime_ns, digest]
            self._dirty = True
        return digest

    def flush(self) -> None:
        """Write the cache if anything changed; a read-only cache only costs time, never correctness."""
        with self._lock:
            if not self._dirty:
                return
            data = json.dumps(self._entries).encode("utf-8")
            self._dirty = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_file_atomic(self.path, data)
            self.writes += 1
        except OSError:
            pass


def _model_tensors(model: Any) -> Iterator[Any]:
    """Every tensor a model stores: initializers, sparse ones and node attributes, in the main graph,
    its subgraphs (If, Loop, Scan) and its local functions."""
    nodes: list[Any] = [node for function in model.functions for node in function.node]
    graphs = [model.graph]
    while graphs or nodes:
        if graphs:
            graph = graphs.pop()
            yield from graph.initializer
            for sparse in graph.sparse_initializer:
                yield from (sparse.values, sparse.indices)
            nodes.extend(graph.node)
            continue
        for attribute in nodes.pop().attribute:
            if attribute.HasField("t"):
                yield attribute.t
            yield from attribute.tensors
            sparse_tensors = [*attribute.sparse_tensors]
            if attribute.HasField("sparse_tensor"):
                sparse_tensors.append(attribute.sparse_tensor)
            for sparse in sparse_tensors:
                yield from (sparse.values, sparse.indices)
            if attribute.HasField("g"):
                graphs.append(attribute.g)
            graphs.extend(attribute.graphs)


def onnx_external_locations(path: Path) -> list[str]:
    """External-data file names an ONNX model refers to, read without loading any weights."""
    import onnx  # local: only needed when verifying ONNX files

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # onnx raises DecodeError and others for a damaged file
        raise PackVerificationError(f"{path.name} is not a readable ONNX model: {exc}.") from exc
    locations = []
    for tensor in _model_tensors(model):
        if tensor.data_location == onnx.TensorProto.EXTERNAL:
            locations += [entry.value for entry in tensor.external_data if entry.key == "location"]
    return locations


def write_file_atomic(path: Path, data: bytes) -> None:
    """Crash-safe: a temporary file beside `path`, fsynced, then renamed over it."""
    write_atomic(path, data)


def _is_onnx_model(path: Path) -> bool:
    """Whether a component without the .onnx suffix (model.bin, ...) is an ONNX model onnxruntime would load."""
    import onnx

    if path.stat().st_size > MAX_PROTOBUF_BYTES:
        return False
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception:  # not a protobuf: a tokenizer, a config, weights for another runtime
        return False
    return len(model.graph.node) > 0 or len(model.graph.initializer) > 0


def genai_referenced_files(config: Path) -> list[str]:
    """Files an onnxruntime-genai config makes the runtime open (relative to its folder). A native
    custom-op library is refused outright: a pack never brings code."""
    try:
        raw = json.loads(read_bounded(config, MAX_MANIFEST_BYTES).decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise PackVerificationError(f"{config.name} is not readable JSON ({type(exc).__name__}).") from exc
    if too_deep(raw, 32):
        raise PackVerificationError(f"{config.name} nests more than 32 levels deep.")
    found: list[str] = []
    stack: list[Any] = [raw]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            for key, entry in value.items():
                if key == "custom_ops_library":
                    raise PackVerificationError(
                        f"{config.name} asks to load a native library ({str(entry)[:80]}); packs may not bring code."
                    )
                if key == "filename" and isinstance(entry, str):
                    found.append(entry)
                else:
                    stack.append(entry)
        elif isinstance(value, list):
            stack.extend(value)
    return found


def verify(pack: Pack, cache: HashCache | None = None) -> None:
    """Check every file's size and sha256 and that nothing (ONNX external data, files a genai config
    names, models under another suffix) leaves the pack or escapes the manifest."""
    cache = cache or HashCache()
    try:
        _verify(pack, cache)
    finally:
        cache.flush()


def _verify(pack: Pack, cache: HashCache) -> None:
    listed: set[Path] = set()
    base = pack.folder.resolve()
    for item in pack.files:
        target = safe_join(pack.folder, item.path, base)
        listed.add(target)
        if not target.is_file():
            raise PackVerificationError(f"Pack '{pack.id}' is missing {item.path}.")
        if target.stat().st_size != item.size:
            raise PackVerificationError(
                f"Pack '{pack.id}': {item.path} is {target.stat().st_size} bytes, the manifest says {item.size}."
            )
        if cache.sha256(target) != item.sha256:
            raise PackVerificationError(f"Pack '{pack.id}': {item.path} does not match its sha256 (damaged?).")
    components = {relative: safe_join(pack.folder, relative) for relative in pack.components.values()}
    for role, relative in pack.components.items():
        if components[relative] not in listed and not components[relative].is_dir():
            raise PackVerificationError(f"Pack '{pack.id}': component '{role}' ({relative}) is not listed.")
    models = [item.path for item in pack.files if item.path.endswith(".onnx")]
    models += [
        relative
        for relative, target in components.items()
        if not relative.endswith(".onnx") and target.is_file() and _is_onnx_model(target)
    ]
    for relative in models:
        for location in onnx_external_locations(safe_join(pack.folder, relative)):
            _check_listed(pack, listed, relative, location, "uses external data")
    for relative, target in components.items():
        if Path(relative).name == GENAI_CONFIG and target.is_file():
            for name in genai_referenced_files(target):
                _check_listed(pack, listed, relative, name, "names the file")


def _check_listed(pack: Pack, listed: set[Path], referrer: str, reference: str, verb: str) -> None:
    """A file another pack file refers to, relative to the referrer's folder, must be inside and listed."""
    if not reference or "\\" in reference or Path(reference).is_absolute():
        raise PackVerificationError(f"Pack '{pack.id}': {referrer} {verb} '{reference}', which leaves the pack.")
    try:
        target = safe_join(pack.folder, (Path(referrer).parent / reference).as_posix())
    except PackVerificationError:
        raise PackVerificationError(
            f"Pack '{pack.id}': {referrer} {verb} '{reference}', which leaves the pack folder."
        ) from None
    if target not in listed:
        raise PackVerificationError(
            f"Pack '{pack.id}': {referrer} {verb} {reference} that the manifest does not list with a sha256."
        )


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


def _regular_file(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except OSError:  # permission denied, a loop of links, a name too long: not a file we can use
        return False


def _folder_files(folder: Path) -> list[str]:
    """Regular files under a genai folder (relative, sorted): hidden entries and linked folders are
    skipped, and depth and count are bounded, so a hostile tree cannot run discovery forever."""
    files: list[str] = []
    stack: list[tuple[Path, int]] = [(folder, 0)]
    while stack:
        current, depth = stack.pop()
        with os.scandir(current) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                path = Path(entry.path)
                if entry.is_dir(follow_symlinks=False):
                    if depth + 1 < MAX_GENAI_DEPTH:
                        stack.append((path, depth + 1))
                elif _regular_file(path):
                    files.append(path.relative_to(folder).as_posix())
                    if len(files) > MAX_FILES:
                        raise PackError(f"{folder} holds more than {MAX_FILES:,} files; it is not a model folder.")
    return sorted(files)


def genai_folder_pack(folder: Path, cache: HashCache | None = None) -> Pack:
    """An onnxruntime-genai model folder (genai_config.json + ONNX, as Microsoft and others publish
    Phi, Qwen and Llama exports) without a manifest, as a pack of kind `llm`.

    Its manifest is generated into the cache the first time the folder is seen (trust on first
    use): later, a file whose bytes changed fails verification like in any other pack; a folder
    whose file list changed (another model put there) gets a new manifest.
    """
    files = _folder_files(folder)
    key = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:16]
    generated = cache_dir() / "genai-manifests" / f"{key}.json"
    listed: list[dict[str, Any]] | None
    try:
        raw = json.loads(read_bounded(generated, MAX_MANIFEST_BYTES))
        listed = raw["files"] if [f["path"] for f in raw["files"]] == files else None
    except (PackError, ValueError, KeyError, TypeError, RecursionError):
        listed = None
    if listed is None:
        cache = cache or HashCache()
        try:
            listed = [
                {"path": f, "sha256": cache.sha256(folder / f), "size": (folder / f).stat().st_size} for f in files
            ]
        finally:
            cache.flush()
        generated.parent.mkdir(parents=True, exist_ok=True)
        write_file_atomic(generated, json.dumps({"folder": str(folder), "files": listed}, indent=1).encode("utf-8"))
    slug = "".join(c if c.isalnum() or c in "-_." else "-" for c in folder.name.lower())[:48]
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


@dataclass(frozen=True)
class BrokenPack:
    """A folder that looks like a pack but could not be read; `models verify` and `doctor` fail on it."""

    folder: Path
    message: str


@dataclass
class PackCatalog:
    """Every pack found, in discovery order; the first pack with an id wins, later ones are noted."""

    packs: dict[str, Pack] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # every note: broken packs, shadowed ids, odd roots
    broken: list[BrokenPack] = field(default_factory=list)

    def get(self, pack_id: str) -> Pack:
        try:
            return self.packs[pack_id]
        except KeyError:
            raise PackNotFoundError(f"No model pack with id '{pack_id}'.") from None

    def of_kind(self, kind: str) -> list[Pack]:
        return [pack for pack in self.packs.values() if pack.kind == kind]

    def set_aside(self, folder: Path, message: str) -> None:
        self.broken.append(BrokenPack(folder, message))
        self.problems.append(message)


def _subfolders(folder: Path, unreadable: list[str]) -> list[Path]:
    found: list[Path] = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                try:
                    if entry.is_dir():
                        found.append(Path(entry.path))
                except OSError:
                    continue
                if len(found) > MAX_FOLDERS_PER_ROOT:
                    break
    except OSError as exc:
        unreadable.append(f"{folder} ({exc.strerror or exc})")
    return sorted(found)


def candidate_folders(root: Path, catalog: PackCatalog) -> list[Path]:
    """The root and the folders one and two levels below it (models/<group>/<pack>), bounded in number."""
    unreadable: list[str] = []
    children = _subfolders(root, unreadable)
    candidates = [root, *children]
    for child in children:
        if len(candidates) > MAX_FOLDERS_PER_ROOT:
            break
        candidates += _subfolders(child, unreadable)
    if len(candidates) > MAX_FOLDERS_PER_ROOT:
        catalog.problems.append(
            f"{root} holds more than {MAX_FOLDERS_PER_ROOT:,} folders; only the first were searched for packs "
            "(point the models folder at the folder that holds your packs)."
        )
        candidates = candidates[: MAX_FOLDERS_PER_ROOT + 1]
    if unreadable:
        more = f" and {len(unreadable) - 1} more" if len(unreadable) > 1 else ""
        catalog.problems.append(f"Could not look inside {unreadable[0]}{more}.")
    return candidates


def _is_root_folder(root: Path) -> bool:
    try:
        return root.is_dir()
    except OSError:
        return False


def discover(roots: Iterable[Path]) -> PackCatalog:
    catalog = PackCatalog()
    for root in roots:
        if not _is_root_folder(root):
            continue
        for folder in candidate_folders(root, catalog):
            has_manifest = any(os.path.lexists(folder / name) for name in MANIFEST_NAMES)
            if not has_manifest and not _regular_file(folder / GENAI_CONFIG):
                continue
            try:
                pack = read_manifest(folder) if has_manifest else genai_folder_pack(folder)
            except AtelierError as exc:
                catalog.set_aside(folder, str(exc))
                continue
            except Exception as exc:  # one unreadable pack must never hide the others, nor stop the app
                catalog.set_aside(folder, f"The pack in {folder} could not be read ({type(exc).__name__}: {exc}).")
                continue
            if pack.id in catalog.packs:
                catalog.problems.append(
                    f"Pack '{pack.id}' in {folder} is shadowed by the one in {catalog.packs[pack.id].folder}."
                )
                continue
            catalog.packs[pack.id] = pack
    return catalog
