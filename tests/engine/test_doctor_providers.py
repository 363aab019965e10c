"""Doctor says which execution provider really loads (a probe session, not the build's list) and, for
CUDA, why not: the wrong package, no driver, a driver too old for the CUDA build, missing libraries."""

from __future__ import annotations

import sys

import pytest

from atelier.core.settings import Settings
from atelier.engine.doctor import cuda_reason, doctor_report, loaded_libraries, provider_checks
from atelier.engine.offline_runtime import ort
from atelier.engine.runner import Engine

NO_DRIVER = {"driver": None, "cuda": None, "error": "no NVIDIA driver found (libcuda is not installed)"}
DRIVER_570 = {"driver": "570.86.15", "cuda": "12.8", "error": None}
DRIVER_580 = {"driver": "580.65.06", "cuda": "13.0", "error": None}


def test_the_cpu_really_loads_and_cuda_says_why_not_here() -> None:
    checks = {check["provider"]: check for check in provider_checks()}
    assert checks["CPUExecutionProvider"]["loads"] is True and checks["CPUExecutionProvider"]["reason"] == ""
    if sys.platform == "darwin":
        return
    cuda = checks["CUDAExecutionProvider"]  # asked about even when this build lacks it
    if cuda["loads"]:
        pytest.skip("CUDA loads on this machine; the reasons are covered below")
    assert cuda["in_build"] == ("CUDAExecutionProvider" in ort.get_available_providers())
    assert cuda["reason"]
    if not cuda["in_build"]:
        assert "installer/gpu/setup_gpu.sh" in cuda["reason"] and "onnxruntime-genai-cuda" in cuda["reason"]
        assert cuda["cuda"]["packages"].get("onnxruntime") == ort.__version__
    assert cuda["cuda"]["libraries_loaded"] == loaded_libraries()


def test_doctor_report_carries_the_provider_checks() -> None:
    report = doctor_report(Engine(Settings(threads=1)), smoke=False)
    assert [c["provider"] for c in report["provider_checks"]][-1] == "CPUExecutionProvider"
    assert report["packages"]["onnxruntime"] == ort.__version__ and report["frozen"] is False


def test_loaded_libraries_reads_this_process() -> None:
    found = loaded_libraries(("onnxruntime_pybind11_state",))
    assert len(found) == 1 and found[0].endswith(".so") and "onnxruntime" in found[0]
    assert loaded_libraries(("libno-such-library",)) == []


def test_cuda_reasons_name_the_cause_and_the_fix() -> None:
    cpu_only = {"onnxruntime": "1.31.1", "onnxruntime-genai": "0.18.0"}
    text = cuda_reason(False, cpu_only, NO_DRIVER, "")
    assert "CPU-only" in text and "onnxruntime 1.31.1" in text and "setup_gpu.sh" in text
    both = {"onnxruntime": "1.31.1", "onnxruntime-gpu": "1.31.1", "onnxruntime-genai": "0.18.0"}
    assert "both installed" in cuda_reason(False, both, DRIVER_580, "")
    assert "CPU build of Atelier" in cuda_reason(False, {}, DRIVER_580, "", frozen=True)
    gpu = {"onnxruntime-gpu": "1.31.1", "onnxruntime-genai-cuda": "0.18.0"}
    assert "install the NVIDIA driver" in cuda_reason(True, gpu, NO_DRIVER, "13.0")
    old = cuda_reason(True, gpu, DRIVER_570, "13.0")
    assert "570.86.15 supports CUDA up to 12.8" in old and "580 or newer" in old
    missing = "Failed to load library libcudnn_graph.so.9: cannot open shared object file"
    assert "nvidia wheels" in cuda_reason(True, gpu, DRIVER_580, "13.0", missing)
    assert cuda_reason(True, gpu, DRIVER_580, "13.0", "CUDA failure 100: no CUDA-capable device") == (
        "CUDA failure 100: no CUDA-capable device"
    )
