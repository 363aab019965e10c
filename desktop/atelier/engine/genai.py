"""onnxruntime-genai language models: load a pack's genai folder on the best provider that works,
with the same preference, fallback and reporting rules as plain onnxruntime sessions.

One model is kept loaded at a time (switching packs frees the previous one, a common complaint
about LLM apps); the cache key includes the device preference and thread count.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

from atelier.core.errors import DeviceError, PackError
from atelier.core.requests import DeviceInfo, provider_label
from atelier.engine.packs import HashCache, Pack, verify
from atelier.engine.providers import CPU, DegradedProviders, choose_providers, default_threads, first_line

# Provider names as onnxruntime-genai's Config.append_provider spells them.
GENAI_PROVIDER_NAMES = {
    "CUDAExecutionProvider": "cuda",
    "DmlExecutionProvider": "dml",
}
# Model.device_type -> onnxruntime provider name, so DeviceInfo reads the same as for sessions.
_DEVICE_TYPES = {
    "CPU": CPU,
    "CUDA": "CUDAExecutionProvider",
    "DML": "DmlExecutionProvider",
    "OPENVINO": "OpenVINOExecutionProvider",
}


def genai_available() -> list[str]:
    """Providers this onnxruntime-genai build can use (checked again by what the model reports)."""
    import onnxruntime_genai as og

    found = []
    for provider, probe in (
        ("CUDAExecutionProvider", "is_cuda_available"),
        ("DmlExecutionProvider", "is_dml_available"),
    ):
        try:
            if getattr(og, probe)():
                found.append(provider)
        except Exception:  # a probe that crashes means the provider is unusable here
            continue
    return [*found, CPU]


@dataclass
class LoadedLanguageModel:
    pack: Pack
    model: Any  # onnxruntime_genai.Model
    tokenizer: Any  # onnxruntime_genai.Tokenizer
    device: DeviceInfo
    context_length: int


def _open_model(pack: Pack, provider: str, threads: int) -> Any:
    import onnxruntime_genai as og

    config = og.Config(str(pack.folder))
    config.clear_providers()
    if provider != CPU:
        config.append_provider(GENAI_PROVIDER_NAMES[provider])
    session = {"intra_op_num_threads": default_threads(threads), "inter_op_num_threads": 1}
    config.overlay(json.dumps({"model": {"decoder": {"session_options": session}}}))
    return og.Model(config)


class LanguageModels:
    """Process-wide holder of the loaded language model (the engine's worker owns the calls)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[str, str, str, int] | None = None
        self._loaded: LoadedLanguageModel | None = None
        self._verified: set[str] = set()

    def load(self, pack: Pack, preference: str, threads: int, degraded: DegradedProviders) -> LoadedLanguageModel:
        import onnxruntime_genai as og

        key = (pack.id, str(pack.folder), preference, threads)
        with self._lock:
            if self._key == key and self._loaded is not None:
                return self._loaded
            self._loaded = None  # free the previous model before loading the next
            self._key = None
            if str(pack.folder) not in self._verified:
                verify(pack, HashCache())  # never load a file whose sha256 does not match
                self._verified.add(str(pack.folder))
            candidates, skipped = choose_providers(preference, genai_available(), degraded, pack.providers)
            candidates = [p for p in candidates if p == CPU or p in GENAI_PROVIDER_NAMES]
            fallbacks = list(skipped)
            for provider in candidates:
                try:
                    model = _open_model(pack, provider, threads)
                except Exception as exc:  # any failure on this provider means: try the next one
                    fallbacks.append(f"{provider_label(provider)}: could not start ({first_line(exc)})")
                    continue
                actual = _DEVICE_TYPES.get(str(model.device_type).upper(), str(model.device_type))
                if actual != provider:
                    fallbacks.append(f"{provider_label(provider)}: onnxruntime-genai ran it on {actual}")
                device = DeviceInfo(provider=actual, requested=tuple(candidates), fallbacks=tuple(fallbacks))
                try:
                    tokenizer = og.Tokenizer(model)
                except Exception as exc:
                    raise PackError(f"Pack '{pack.id}' has no usable tokenizer: {first_line(exc)}.") from exc
                self._loaded = LoadedLanguageModel(pack, model, tokenizer, device, _context_length(pack))
                self._key = key
                return self._loaded
            raise DeviceError("No execution provider could load the language model: " + "; ".join(fallbacks))

    def unload(self) -> None:
        with self._lock:
            self._loaded = None
            self._key = None


def _context_length(pack: Pack) -> int:
    try:
        config = json.loads((pack.folder / "genai_config.json").read_text(encoding="utf-8"))
        return int(config["model"].get("context_length") or config["search"].get("max_length") or 2048)
    except (OSError, ValueError, KeyError, TypeError):
        return 2048


LANGUAGE_MODELS = LanguageModels()
