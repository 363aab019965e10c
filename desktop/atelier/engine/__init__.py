"""The engine: model packs, execution-provider choice with fallback, sessions, and one module per task.

Imports core, onnxruntime and numpy; never Qt. `atelier.engine.runner.Engine.run` is the single
entry point the worker calls.
"""

# Before anything in the engine imports onnxruntime: its telemetry files must never be written.
from atelier.engine import offline_runtime  # noqa: F401
