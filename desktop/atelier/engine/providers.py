"""Execution-provider choice: ask explicitly, check what the session really got, say why it fell back.

`onnxruntime.get_available_providers()` lists what was compiled in, not what loads (a CUDA build
without the CUDA libraries still lists CUDA), so every choice is confirmed by `session.get_providers()`.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from atelier.core.devices import CPU, PROVIDER_ORDER, provider_label
from atelier.core.errors import DeviceError
from atelier.core.requests import DeviceInfo
from atelier.engine.offline_runtime import ort

# onnxruntime's own exception types (pybind11), so a failing run is recognised as the runtime's.
_ORT_ERROR_NAMES = (
    "Fail",
    "RuntimeException",
    "EPFail",
    "EngineError",
    "InvalidArgument",
    "NotImplemented",
    "DeviceReset",
)
ORT_ERRORS: tuple[type[BaseException], ...] = tuple(
    getattr(ort.capi.onnxruntime_pybind11_state, name)
    for name in _ORT_ERROR_NAMES
    if hasattr(ort.capi.onnxruntime_pybind11_state, name)
)
# What a failing execution provider raises: the types above, and RuntimeError, which pybind11 makes of
# the C++ exceptions a provider throws (e.g. "CUDA_PATH is set but CUDA wasn't able to be loaded").
PROVIDER_FAILURES: tuple[type[BaseException], ...] = (*ORT_ERRORS, RuntimeError)


class DegradedProviders:
    """Providers that failed mid-run in this process: not asked for again until restart."""

    def __init__(self) -> None:
        self._reasons: dict[str, str] = {}
        self._lock = threading.Lock()

    def mark(self, provider: str, reason: str) -> None:
        with self._lock:
            self._reasons.setdefault(provider, reason)

    def reason(self, provider: str) -> str | None:
        with self._lock:
            return self._reasons.get(provider)

    def all(self) -> dict[str, str]:
        with self._lock:
            return dict(self._reasons)


def default_threads(threads: int) -> int:
    return threads if threads > 0 else max(1, os.cpu_count() or 1)


def choose_providers(
    preference: str,
    available: Sequence[str],
    degraded: DegradedProviders | None = None,
    pack_preferred: Sequence[str] = (),
) -> tuple[list[str], list[str]]:
    """Candidates to try in order (CPU always last), and why preferred ones were left out.

    preference: 'auto', 'cpu', or a provider name to try first.
    """
    skipped: list[str] = []
    if preference == "cpu":
        return [CPU], skipped
    order = [p for p in PROVIDER_ORDER if p != CPU]
    if pack_preferred:
        # The pack knows which providers its files were exported for (e.g. fp16 for CUDA only).
        order = [p for p in pack_preferred if p in order] + [p for p in order if p not in pack_preferred]
    if preference not in ("auto", "cpu"):
        if preference not in PROVIDER_ORDER:
            skipped.append(f"{preference}: not a known execution provider")
        elif preference not in available:
            skipped.append(
                f"{provider_label(preference)}: not in this onnxruntime build (installed build offers "
                f"{', '.join(p for p in available if p in PROVIDER_ORDER)})"
            )
        else:
            order = [preference] + [p for p in order if p != preference]
    candidates = []
    for provider in order:
        if provider not in available:
            continue
        reason = degraded.reason(provider) if degraded else None
        if reason:
            skipped.append(f"{provider_label(provider)}: disabled after an earlier failure ({reason})")
            continue
        candidates.append(provider)
    candidates.append(CPU)
    return candidates, skipped


def provider_options(provider: str) -> dict[str, Any]:
    if provider == "CUDAExecutionProvider":
        # Grow the arena only as needed, so switching packs gives memory back to other programs.
        return {"arena_extend_strategy": "kSameAsRequested", "cudnn_conv_algo_search": "HEURISTIC"}
    if provider == "TensorrtExecutionProvider":
        return {"trt_fp16_enable": True}
    return {}


def session_options(provider: str, threads: int) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.intra_op_num_threads = default_threads(threads)
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    if provider == "DmlExecutionProvider":
        # DirectML requires these (onnxruntime's DirectML docs): no memory patterns, sequential runs.
        options.enable_mem_pattern = False
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return options


SessionFactory = Callable[[str, ort.SessionOptions, list[Any]], Any]


def ort_session(
    path: str, options: ort.SessionOptions, providers: list[Any], session_class: type[Any] | None = None
) -> Any:
    """A session with onnxruntime's own fallback off. Left on, a provider that fails while the session
    is created or while it runs (EPFail) is swapped for the CPU with only a print to stdout (which
    also corrupts `--json` output): the device report would still say GPU and the reason is lost.
    Here the failure is raised, so `open_session` and `SessionPool.run` fall back and say why."""
    factory = session_class or ort.InferenceSession
    return factory(path, sess_options=options, providers=providers, enable_fallback=0)


@dataclass
class OpenedSession:
    session: Any
    device: DeviceInfo


def open_session(
    path: str,
    candidates: Sequence[str],
    threads: int,
    skipped: Sequence[str] = (),
    factory: SessionFactory = ort_session,
) -> OpenedSession:
    """Try each candidate provider in turn; record every fallback with its reason."""
    fallbacks = list(skipped)
    for provider in candidates:
        providers: list[Any] = [(provider, provider_options(provider))]
        if provider != CPU:
            providers.append(CPU)
        try:
            session = factory(path, session_options(provider, threads), providers)
        except Exception as exc:  # any failure to create on this EP means: try the next one
            fallbacks.append(f"{provider_label(provider)}: could not start ({first_line(exc)})")
            continue
        actual = session.get_providers()[0] if session.get_providers() else CPU
        if actual != provider:
            fallbacks.append(
                f"{provider_label(provider)}: onnxruntime did not enable it (missing driver or libraries?)"
            )
            later_gpu = [p for p in candidates[candidates.index(provider) + 1 :] if p != CPU]
            if later_gpu:
                continue  # a later GPU provider may still load; never settle silently for the CPU
        device = DeviceInfo(provider=actual, requested=tuple(candidates), fallbacks=tuple(fallbacks))
        return OpenedSession(session, device)
    raise DeviceError("No execution provider could load the model: " + "; ".join(fallbacks))


# onnxruntime's C++ errors open with where they were thrown ("…/file.cc:1083 std::unique_ptr<…> f(args) "),
# which can fill the whole line before the reason; the reason is what the user needs.
_SOURCE_LOCATION = re.compile(r"^\S+\.(?:cc|cpp|cu|h|hpp):\d+\s+(?:[^()]*\([^)]*\)\s+)?")


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = _SOURCE_LOCATION.sub("", text[0]) if text else type(exc).__name__
    return line[:240]
