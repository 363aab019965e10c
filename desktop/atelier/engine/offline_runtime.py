"""onnxruntime, imported with its telemetry off: a plain `import onnxruntime` writes a device id and a
queued telemetry event under ~/.cache/Microsoft/DeveloperTools/.onnxruntime, which an offline app must not.

Every engine module takes `ort` from here, so this runs before the native library first loads.
"""

from __future__ import annotations

import os

# The native telemetry of onnxruntime and onnxruntime-genai reads this when the library loads ("1",
# "true", "yes" or "on" turn it off; "0" or unset leave it on) and then writes nothing under the cache.
# disable_telemetry_events() alone does not help: the files are written during the import itself.
# It is forced, not defaulted, and child processes (the first-use pack builders) inherit it.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"

import onnxruntime as ort  # after the line above, never before it

ort.disable_telemetry_events()  # and no events from this process either

__all__ = ["ort"]
