"""Health checks: which providers exist, and for each pack whether it verifies and runs (smoke test)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from atelier.core.cancel import CancelToken
from atelier.core.errors import AtelierError
from atelier.engine.offline_runtime import ort
from atelier.engine.onnx_types import NUMPY_TYPES
from atelier.engine.packs import HashCache, Pack, verify
from atelier.engine.providers import PROVIDER_ORDER, first_line
from atelier.engine.runner import Engine

SmokeTest = Callable[[Engine, Pack], str]  # returns the provider that ran
_SMOKE: dict[str, SmokeTest] = {}


def smoke_test(kind: str) -> Callable[[SmokeTest], SmokeTest]:
    """Register a kind-specific smoke test (for packs whose inputs need real values)."""

    def register(function: SmokeTest) -> SmokeTest:
        _SMOKE[kind] = function
        return function

    return register


def generic_smoke(engine: Engine, pack: Pack) -> str:
    """Run every ONNX component once on small inputs shaped from the session's own input metadata."""
    provider = "none"
    for role in pack.components:
        if not pack.components[role].endswith(".onnx"):
            continue
        loaded = engine.pool.session(pack, role)
        feeds: dict[str, np.ndarray] = {}
        for spec in loaded.session.get_inputs():
            shape = [d if isinstance(d, int) and d > 0 else 16 for d in spec.shape]
            feeds[spec.name] = np.zeros(shape, NUMPY_TYPES.get(spec.type, np.float32))
        _, device = engine.pool.run(pack, role, feeds, CancelToken())
        provider = device.provider
    return provider


def doctor_report(engine: Engine, smoke: bool = True) -> dict[str, Any]:
    available = ort.get_available_providers()
    packs = []
    cache = HashCache()
    for pack in engine.catalog.packs.values():
        entry: dict[str, Any] = {
            "id": pack.id,
            "name": pack.name,
            "kind": pack.kind,
            "version": pack.version,
            "licence": pack.licence,
            "folder": str(pack.folder),
            "verified": False,
            "device": None,
            "fallbacks": [],
            "error": None,
        }
        try:
            verify(pack, cache)
            entry["verified"] = True
            if smoke:
                entry["device"] = _SMOKE.get(pack.kind, generic_smoke)(engine, pack)
                entry["fallbacks"] = list(engine.pool.last_device.fallbacks) if engine.pool.last_device else []
        except AtelierError as exc:
            entry["error"] = exc.user_message()
        except Exception as exc:  # a smoke run that crashes is exactly what doctor must report
            entry["error"] = first_line(exc)
        finally:
            engine.pool.unload_pack(pack.id)
        packs.append(entry)
    return {
        "onnxruntime": ort.__version__,
        "providers": [p for p in available if p in PROVIDER_ORDER],
        "all_providers": list(available),
        "device_preference": engine.settings.device,
        "degraded": engine.pool.degraded.all(),
        "packs": packs,
        # Folders that look like packs but could not be read (a bad manifest): doctor fails on them.
        "broken": [{"folder": str(b.folder), "error": b.message} for b in engine.catalog.broken],
        "problems": list(engine.catalog.problems),
    }
