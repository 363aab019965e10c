"""Health checks: which providers exist, which really load and why not, and for each pack whether it
verifies and runs (smoke test)."""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from atelier.core.cancel import CancelToken
from atelier.core.devices import CPU, provider_label
from atelier.core.errors import AtelierError
from atelier.engine.offline_runtime import ort
from atelier.engine.onnx_types import NUMPY_TYPES
from atelier.engine.packs import HashCache, Pack, verify
from atelier.engine.providers import PROVIDER_ORDER, first_line, ort_session, provider_options, session_options
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


# -- which providers really load ------------------------------------------------------------------
RUNTIME_PACKAGES = ("onnxruntime", "onnxruntime-gpu", "onnxruntime-directml", "onnxruntime-genai",
                    "onnxruntime-genai-cuda", "onnxruntime-genai-directml")  # fmt: skip
CUDA_LIBRARIES = ("libcudart", "libcublasLt", "libcublas", "libcudnn", "libcufft", "libcurand", "libnvrtc")
GPU_SETUP = "bash installer/gpu/setup_gpu.sh (onnxruntime-gpu[cuda,cudnn] with onnxruntime-genai-cuda)"
# onnxruntime-gpu 1.31's CUDA 13 build needs a driver that supports CUDA 13.0: NVIDIA 580 or newer.
CUDA_DRIVER_FOR = {13: ("13.0", 580), 12: ("12.0", 525)}


def _probe_model() -> bytes:
    """A one-node model (y = x + x) made here, so the probe needs no pack and no file."""
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    graph = helper.make_graph([helper.make_node("Add", ["x", "x"], ["y"])], "probe", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return bytes(model.SerializeToString())


def installed_runtime_packages() -> dict[str, str]:
    """The onnxruntime packages installed (none in a bundle, which carries no package metadata for them)."""
    found = {}
    for name in RUNTIME_PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def nvidia_driver() -> dict[str, Any]:
    """The NVIDIA driver's version and the newest CUDA it supports, read from its own libraries."""
    facts: dict[str, Any] = {"driver": None, "cuda": None, "error": None}
    names = ("nvcuda.dll",) if sys.platform == "win32" else ("libcuda.so.1", "libcuda.so")
    for name in names:
        try:
            cuda = ctypes.CDLL(name)
        except OSError:
            continue
        version = ctypes.c_int(0)
        if cuda.cuDriverGetVersion(ctypes.byref(version)) == 0 and version.value:
            facts["cuda"] = f"{version.value // 1000}.{version.value % 1000 // 10}"
        break
    else:
        facts["error"] = "no NVIDIA driver found (libcuda is not installed)"
        return facts
    try:
        nvml = ctypes.CDLL("nvml.dll" if sys.platform == "win32" else "libnvidia-ml.so.1")
        if nvml.nvmlInit_v2() == 0:
            text = ctypes.create_string_buffer(96)
            if nvml.nvmlSystemGetDriverVersion(text, 96) == 0:
                facts["driver"] = text.value.decode()
            nvml.nvmlShutdown()
    except (OSError, AttributeError):
        pass  # the CUDA version above is what matters; the driver's own number is a courtesy
    return facts


def loaded_libraries(prefixes: tuple[str, ...] = CUDA_LIBRARIES) -> list[str]:
    """Shared libraries of these names mapped into this process (Linux), with their paths."""
    try:
        lines = Path("/proc/self/maps").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    paths = {line.split()[-1] for line in lines if "/" in line}
    return sorted(path for path in paths if Path(path).name.startswith(prefixes))


def cuda_reason(
    in_build: bool,
    packages: dict[str, str],
    driver: dict[str, Any],
    built_for_cuda: str,
    error: str = "",
    frozen: bool = False,
) -> str:
    """Why the CUDA provider does not load, most basic cause first, with what to do."""
    if not in_build and frozen:
        return "this is the CPU build of Atelier: install its NVIDIA (GPU) build to run models on the GPU"
    if not in_build:
        wrong = [n for n in ("onnxruntime", "onnxruntime-genai") if n in packages]
        both = "onnxruntime-gpu" in packages and "onnxruntime" in packages
        if both:
            return (
                "onnxruntime and onnxruntime-gpu are both installed and the CPU one won (both provide the same "
                f"module; installing onnxruntime-genai brings the CPU package back): run {GPU_SETUP}"
            )
        installed = f" (installed: {', '.join(f'{n} {v}' for n, v in packages.items())})" if wrong else ""
        return f"not in this onnxruntime build, which is CPU-only{installed}: run {GPU_SETUP}"
    if driver.get("error"):
        return f"{driver['error']}; install the NVIDIA driver (580 or newer for CUDA 13)"
    major = int(built_for_cuda.split(".")[0]) if built_for_cuda[:1].isdigit() else 0
    needed = CUDA_DRIVER_FOR.get(major)
    if needed and driver.get("cuda"):
        have = tuple(int(part) for part in str(driver["cuda"]).split("."))
        if have < tuple(int(part) for part in needed[0].split(".")):
            name = f"the NVIDIA driver {driver['driver']}" if driver.get("driver") else "the NVIDIA driver"
            return (
                f"{name} supports CUDA up to {driver['cuda']}, but this onnxruntime was built for CUDA "
                f"{built_for_cuda}: update the driver to {needed[1]} or newer"
            )
    if error and any(name in error for name in ("libcudart", "libcublas", "libcudnn", "cudnn", "libcufft")):
        return (
            f"the CUDA or cuDNN libraries could not be loaded ({error}); install onnxruntime-gpu[cuda,cudnn] "
            "(the nvidia wheels carry them) or use the GPU bundle, which preloads its own"
        )
    return error or "onnxruntime did not enable it (no GPU visible to the driver?)"


def _genai_cuda(session_loads: bool) -> str:
    """Whether the Lyric panel's model (onnxruntime-genai, a separate native build) can use CUDA too."""
    from atelier.engine.genai import genai_available

    try:
        usable = "CUDAExecutionProvider" in genai_available()
    except Exception as exc:  # a genai that cannot even load is exactly what doctor must say
        return f"onnxruntime-genai does not load ({first_line(exc)})"
    if usable:
        return "onnxruntime-genai can use CUDA"
    if session_loads:
        return "onnxruntime-genai is the CPU build: replace onnxruntime-genai with onnxruntime-genai-cuda"
    return "onnxruntime-genai runs on the CPU"


def provider_checks(threads: int = 1) -> list[dict[str, Any]]:
    """For each provider this build offers (and CUDA, the usual question on Linux and Windows): does a
    session really start and run on it, and if not, why. A probe model of one node is enough to tell."""
    available = ort.get_available_providers()
    wanted = [p for p in PROVIDER_ORDER if p in available]
    if sys.platform != "darwin" and "CUDAExecutionProvider" not in wanted:
        wanted.insert(0, "CUDAExecutionProvider")
    model = _probe_model()
    packages = installed_runtime_packages()
    built_for_cuda = str(getattr(ort, "cuda_version", "") or "")
    checks = []
    for provider in wanted:
        entry: dict[str, Any] = {"provider": provider, "label": provider_label(provider), "in_build": False,
                                 "loads": False, "reason": ""}  # fmt: skip
        entry["in_build"] = provider in available
        error = ""
        if entry["in_build"]:
            chosen: list[Any] = [(provider, provider_options(provider))] + ([CPU] if provider != CPU else [])
            try:
                # InferenceSession takes a path or the model's bytes; the probe has no file.
                session = ort_session(model, session_options(provider, threads), chosen)  # type: ignore[arg-type]
                session.run(None, {"x": np.ones((1, 4), np.float32)})
                entry["loads"] = session.get_providers()[0] == provider
            except Exception as exc:  # the failure is the finding
                error = first_line(exc)
        if provider == "CUDAExecutionProvider":
            driver = nvidia_driver()
            entry["cuda"] = {
                "built_for": built_for_cuda,
                "driver": driver,
                "libraries_loaded": loaded_libraries(),
                "packages": packages,
            }
            if not entry["loads"]:
                frozen = bool(getattr(sys, "frozen", False))
                entry["reason"] = cuda_reason(entry["in_build"], packages, driver, built_for_cuda, error, frozen)
            entry["language_model"] = _genai_cuda(entry["loads"])
        elif not entry["loads"]:
            entry["reason"] = error or (
                "onnxruntime did not enable it (missing driver or libraries?)" if entry["in_build"] else "not in build"
            )
        checks.append(entry)
    return checks


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
        # What really loads: `providers` above is what the build lists, which a missing library does not change.
        "provider_checks": provider_checks(engine.settings.threads or 1),
        "packages": installed_runtime_packages(),
        "frozen": bool(getattr(sys, "frozen", False)),
        "device_preference": engine.settings.device,
        "degraded": engine.pool.degraded.all(),
        "packs": packs,
        # Folders that look like packs but could not be read (a bad manifest): doctor fails on them.
        "broken": [{"folder": str(b.folder), "error": b.message} for b in engine.catalog.broken],
        "problems": list(engine.catalog.problems),
    }
