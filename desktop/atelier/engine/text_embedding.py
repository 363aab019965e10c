"""Sentence embeddings with the MiniLM pack: find it (or build it once from the installed package).

The pack is built by models/minilm/build_minilm.py into `<cache>/packs/minilm-<input hash>/`; a pack
of kind 'text-embedding' installed in a models folder wins over the built one. At run time only
onnxruntime and tokenizers are used.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from types import ModuleType

import numpy as np
from tokenizers import Tokenizer

from atelier.core.cancel import CancelToken
from atelier.core.errors import PackError, PackNotFoundError
from atelier.core.requests import DeviceInfo
from atelier.core.settings import cache_dir
from atelier.engine.packs import Pack, PackCatalog, bundled_models_dir, read_manifest
from atelier.engine.sessions import SessionPool

PACK_KIND = "text-embedding"
MAX_TOKENS = 128
_build_lock = threading.Lock()


def _build_module() -> ModuleType:
    path = bundled_models_dir() / "minilm" / "build_minilm.py"
    spec = importlib.util.spec_from_file_location("atelier_build_minilm", path)
    if spec is None or spec.loader is None or not path.is_file():
        raise PackNotFoundError(f"The text-model recipe {path} is missing.")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def packs_root() -> Path:
    return cache_dir() / "packs"


@cache
def _expected_folder(root: Path) -> Path | None:
    """The pack folder for the installed package's files (hashing them once per process); None when
    the recipe or the package is not here (an installed bundle): any built pack is used then."""
    try:
        module = _build_module()
    except PackNotFoundError:
        return None
    try:
        return root / str(module.pack_folder_name(module.package_model_dir()))
    except FileNotFoundError:
        return None


def built_pack() -> Pack | None:
    """The already-built pack for the installed package, or any built one when it is not installed."""
    root = packs_root()
    expected = _expected_folder(root)
    if expected is not None:
        return read_manifest(expected) if (expected / "pack.json").is_file() else None
    candidates = sorted(root.glob("minilm-*/pack.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    return read_manifest(candidates[0].parent) if candidates else None


def find_text_pack(catalog: PackCatalog) -> Pack | None:
    installed = catalog.of_kind(PACK_KIND)
    return installed[0] if installed else built_pack()


def build_text_pack(report: Callable[[str], None]) -> Pack:
    """Convert the package's MiniLM to ONNX (about a minute, once per machine); needs torch."""
    if importlib.util.find_spec("torch") is None or importlib.util.find_spec("transformers") is None:
        raise PackNotFoundError(
            "The text model has not been built yet and building it needs torch and transformers.",
            "Install the build extra (pip install -e '.[build]'), or put a 'text-embedding' pack in a models folder.",
        )
    module = _build_module()
    with _build_lock:
        try:
            folder = module.build(packs_root(), report=report)
        except FileNotFoundError as exc:
            raise PackNotFoundError(str(exc)) from exc
        except Exception as exc:  # a failed conversion must say so, not crash the lane
            raise PackError(f"Building the text model failed: {exc}.") from exc
    _expected_folder.cache_clear()
    return read_manifest(Path(folder))


@cache
def _tokenizer(path: str) -> Tokenizer:
    tokenizer = Tokenizer.from_file(path)
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    return tokenizer


def embed(
    pool: SessionPool, pack: Pack, texts: list[str], cancel: CancelToken, batch: int = 1
) -> tuple[np.ndarray, DeviceInfo]:
    """L2-normalised embeddings (N x 384) of `texts`.

    One text per run by default: with the dynamically quantized pack, padding rows in a batch change
    the activation ranges and so every row's embedding; alone, each text matches the fp32 model.
    """
    tokenizer = _tokenizer(str(pack.component_path("tokenizer")))
    outputs: list[np.ndarray] = []
    device = DeviceInfo(provider="none")
    for chunk in _chunks(texts, batch):
        encodings = tokenizer.encode_batch(chunk)
        ids = np.array([e.ids for e in encodings], np.int64)
        mask = np.array([e.attention_mask for e in encodings], np.int64)
        (vectors,), device = pool.run(pack, "model", {"input_ids": ids, "attention_mask": mask}, cancel)
        outputs.append(np.asarray(vectors, np.float32))
    return np.concatenate(outputs), device


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def smoke(pool: SessionPool, pack: Pack) -> str:
    """Doctor's check for a text-embedding pack: two real sentences give unit vectors that differ."""
    vectors, device = embed(pool, pack, ["a calm blue sea", "a burning red fire"], CancelToken())
    norms = np.linalg.norm(vectors, axis=1)
    if vectors.shape[0] != 2 or not np.allclose(norms, 1.0, atol=1e-3) or float(vectors[0] @ vectors[1]) > 0.95:
        raise PackError(f"Pack '{pack.id}' gives wrong embeddings (norms {norms.round(3).tolist()}).")
    return device.provider
