"""SessionPool: lazy onnxruntime sessions per pack component, LRU-unloaded beyond a memory budget.

`run()` is where device fallback happens at run time: a run that fails on a GPU provider is
retried once on the CPU, the provider is marked degraded for this process, and the result says so.
It is also where outputs are checked: NaN or infinity from a model fails the job with a message,
because every task would otherwise turn it into a plausible-looking wrong answer (a black image).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from atelier.core.cancel import CancelToken
from atelier.core.errors import CancelledError, OutOfMemoryError, PackError
from atelier.core.requests import DeviceInfo, provider_label
from atelier.engine.offline_runtime import ort
from atelier.engine.packs import HashCache, Pack, verify
from atelier.engine.providers import (
    CPU,
    PROVIDER_FAILURES,
    DegradedProviders,
    SessionFactory,
    choose_providers,
    default_threads,
    first_line,
    open_session,
    ort_session,
)


@dataclass
class LoadedSession:
    key: tuple[str, str]
    session: Any
    device: DeviceInfo
    nbytes: int

    def input_types(self) -> dict[str, str]:
        """Input name -> ONNX type string ('tensor(int64)', ...): exports differ, so ask the session."""
        return {i.name: i.type for i in self.session.get_inputs()}


@dataclass
class PoolConfig:
    device: str = "auto"
    threads: int = 0
    memory_budget_bytes: int = 4096 * 1024 * 1024


class SessionPool:
    def __init__(
        self,
        config: Callable[[], PoolConfig] = PoolConfig,
        available: Callable[[], Sequence[str]] = ort.get_available_providers,
        factory: SessionFactory = ort_session,
        degraded: DegradedProviders | None = None,
    ) -> None:
        self._config = config
        self._available = available
        self._factory = factory
        self.degraded = degraded or DegradedProviders()
        self._sessions: OrderedDict[tuple[str, str], LoadedSession] = OrderedDict()
        self._lock = threading.RLock()
        self._verified: set[tuple[str, str]] = set()
        self._hashes = HashCache()
        self.last_device: DeviceInfo | None = None

    def available(self) -> list[str]:
        return list(self._available())

    # -- loading -----------------------------------------------------------------------------
    def session(self, pack: Pack, role: str) -> LoadedSession:
        key = (pack.id, role)
        with self._lock:
            loaded = self._sessions.get(key)
            if loaded is not None:
                self._sessions.move_to_end(key)
                return loaded
        if (pack.id, str(pack.folder)) not in self._verified:
            verify(pack, self._hashes)  # never load a file whose sha256 does not match its manifest
            self._verified.add((pack.id, str(pack.folder)))
        config = self._config()
        candidates, skipped = choose_providers(config.device, self._available(), self.degraded, pack.providers)
        path = pack.component_path(role)
        threads = config.threads
        # A pack may cap its CPU threads: a model this small (one GRU step per note) loses more
        # to waking a thread pool than it gains, and much more on a busy machine.
        # The manifest schema bounds it (1..64); the machine's own count bounds it again.
        cap = pack.extra.get("max_threads")
        if isinstance(cap, int) and cap > 0:
            threads = min(cap, default_threads(threads))
        opened = open_session(str(path), candidates, threads, skipped, self._factory)
        size = sum(p.stat().st_size for p in path.parent.iterdir() if p.is_file()) if path.is_file() else 0
        loaded = LoadedSession(key, opened.session, opened.device, size)
        with self._lock:
            self._sessions[key] = loaded
            self._evict(config.memory_budget_bytes, keep=key)
        return loaded

    def _evict(self, budget: int, keep: tuple[str, str]) -> None:
        while sum(s.nbytes for s in self._sessions.values()) > budget:
            oldest = next((k for k in self._sessions if k != keep), None)
            if oldest is None:
                return
            del self._sessions[oldest]

    def unload_pack(self, pack_id: str) -> None:
        with self._lock:
            for key in [k for k in self._sessions if k[0] == pack_id]:
                del self._sessions[key]

    def unload_all(self) -> None:
        with self._lock:
            self._sessions.clear()

    def loaded(self) -> list[LoadedSession]:
        with self._lock:
            return list(self._sessions.values())

    # -- running -----------------------------------------------------------------------------
    def run(
        self,
        pack: Pack,
        role: str,
        feeds: Mapping[str, np.ndarray],
        cancel: CancelToken,
        outputs: list[str] | None = None,
    ) -> tuple[list[np.ndarray], DeviceInfo]:
        """Run one component; cancel stops a run in flight through RunOptions.terminate."""
        cancel.raise_if_cancelled()
        loaded = self.session(pack, role)
        try:
            result = self._run_once(loaded, feeds, cancel, outputs)
            device = loaded.device
        except PROVIDER_FAILURES as exc:
            cancel.raise_if_cancelled()  # terminate raises Fail too; that is a cancel, not a fault
            reason = first_line(exc)
            if loaded.device.provider == CPU:
                raise self._cpu_failure(pack, role, reason) from exc
            provider = loaded.device.provider
            self.degraded.mark(provider, reason)
            self.unload_pack(pack.id)
            retry = self.session(pack, role)
            note = f"{provider_label(provider)}: failed during the run ({reason}); retried on {retry.device.label}"
            device = replace(retry.device, fallbacks=(*retry.device.fallbacks, note))
            try:
                result = self._run_once(retry, feeds, cancel, outputs)
            except PROVIDER_FAILURES as again:
                cancel.raise_if_cancelled()
                raise self._cpu_failure(pack, role, f"{first_line(again)}; before that, {note}") from again
        check_finite(pack, role, loaded.session, outputs, result, device)
        self.last_device = device
        return result, device

    @staticmethod
    def _cpu_failure(pack: Pack, role: str, reason: str) -> Exception:
        lowered = reason.lower()
        if "out of memory" in lowered or "bad_alloc" in lowered or "failed to allocate" in lowered:
            return OutOfMemoryError(f"The model ran out of memory: {reason}.")
        return PackError(
            f"The '{role}' model of pack '{pack.name}' failed on the CPU: {reason}.",
            "The pack may not match this version of Atelier; run `atelier doctor`, or try another pack.",
        )

    @staticmethod
    def _run_once(
        loaded: LoadedSession, feeds: Mapping[str, np.ndarray], cancel: CancelToken, outputs: list[str] | None
    ) -> list[np.ndarray]:
        run_options = ort.RunOptions()

        def terminate() -> None:
            run_options.terminate = True

        unsubscribe = cancel.on_cancel(terminate)
        try:
            return list(loaded.session.run(outputs, dict(feeds), run_options))
        except PROVIDER_FAILURES:
            if cancel.cancelled:
                raise CancelledError(f"Job {cancel.reason}.") from None
            raise
        finally:
            unsubscribe()


def check_finite(
    pack: Pack, role: str, session: Any, names: list[str] | None, outputs: list[np.ndarray], device: DeviceInfo
) -> None:
    """Refuse NaN or infinity in any floating-point output: every task would turn them into a wrong
    answer that looks right (clipped to 8 bits, NaN and -inf become black pixels)."""
    for index, value in enumerate(outputs):
        if not isinstance(value, np.ndarray) or value.dtype.kind not in "fc" or np.isfinite(value).all():
            continue
        name = names[index] if names else session.get_outputs()[index].name
        bad = "NaN" if np.isnan(value).any() else "infinite values"
        raise PackError(
            f"The '{role}' model of pack '{pack.name}' returned {bad} (output '{name}', on {device.label}), "
            "so there is no result to show.",
            "Its weights may be damaged or too low in precision for this device: run `atelier models verify`, "
            "set Device to 'cpu' in Settings, or try another pack.",
        )
