"""onnxruntime, imported with its telemetry off: a plain `import onnxruntime` writes a device id and a
queued telemetry event under ~/.cache/Microsoft/DeveloperTools/.onnxruntime, which an offline app must not.

Every engine module takes `ort` from here, so this runs before the native library first loads.
"""

from __future__ import annotations

import contextlib
import os
import sys

# The native telemetry of onnxruntime and onnxruntime-genai reads this when the library loads ("1",
# "true", "yes" or "on" turn it off; "0" or unset leave it on) and then writes nothing under the cache.
# disable_telemetry_events() alone does not help: the files are written during the import itself.
# It is forced, not defaulted, and child processes (the first-use pack builders) inherit it.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"

import onnxruntime as ort  # after the line above, never before it

ort.disable_telemetry_events()  # and no events from this process either

# onnxruntime-gpu takes CUDA and cuDNN from the nvidia-* wheels (its [cuda,cudnn] extras) only when asked
# to load them first; without this the CUDA provider fails to load and every job falls back to the CPU.
# Its report goes to stderr, so `--json` output on stdout stays clean; a failure is the doctor's to explain.
if "CUDAExecutionProvider" in ort.get_available_providers() and hasattr(ort, "preload_dlls"):
    with contextlib.suppress(Exception), contextlib.redirect_stdout(sys.stderr):
        ort.preload_dlls()

__all__ = ["ort"]
