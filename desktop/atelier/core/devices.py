"""Execution providers by name: the order Atelier tries them in and how the UI names them.

Kept in core so settings (the Device choices) and the engine share one list.
"""

from __future__ import annotations

CPU = "CPUExecutionProvider"
# Fastest first. Azure is compiled into the stock onnxruntime wheel but is a remote endpoint, never a device.
PROVIDER_ORDER: tuple[str, ...] = (
    "TensorrtExecutionProvider",
    "CUDAExecutionProvider",
    "MIGraphXExecutionProvider",
    "ROCMExecutionProvider",
    "DmlExecutionProvider",
    "CoreMLExecutionProvider",
    "OpenVINOExecutionProvider",
    CPU,
)
GPU_PROVIDERS: tuple[str, ...] = tuple(p for p in PROVIDER_ORDER if p != CPU)

_PROVIDER_LABELS = {
    "TensorrtExecutionProvider": "GPU (TensorRT)",
    "CUDAExecutionProvider": "GPU (CUDA)",
    "MIGraphXExecutionProvider": "GPU (MIGraphX)",
    "ROCMExecutionProvider": "GPU (ROCm)",
    "DmlExecutionProvider": "GPU (DirectML)",
    "CoreMLExecutionProvider": "Apple (CoreML)",
    "OpenVINOExecutionProvider": "OpenVINO",
    CPU: "CPU",
    "none": "no model",
}


def provider_label(provider: str) -> str:
    return _PROVIDER_LABELS.get(provider, provider)
