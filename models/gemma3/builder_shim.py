"""Runs onnxruntime-genai 0.18's model builder on a Gemma 3 folder written by transformers 5.

transformers 5 nests Gemma 3's rope settings per layer type (rope_parameters = {"full_attention": {...},
"sliding_attention": {...}}) and drops the flat rope_theta / rope_local_base_freq fields; the builder's
Gemma3Model still reads the flat ones (make_rope_init fails with KeyError 'rope_type'). Its __init__ gets
a view of the config with the flat fields (global theta 1e6, local 1e4), nothing else changed. A shim
rather than a fork, so a builder that reads the new layout needs only this file deleted.

    python models/gemma3/builder_shim.py <the builder's arguments>
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path
from typing import Any

import onnxruntime_genai.models

# builder.py imports its siblings as top-level modules (`from builders import ...`), so patch those.
sys.path.insert(0, str(Path(onnxruntime_genai.models.__file__).parent))
from builders import gemma


class FlatRopeView:
    """The config, with the rope fields as the builder expects them; writes go to the config."""

    def __init__(self, config: Any) -> None:
        ropes = config.rope_parameters
        flat = {
            "rope_parameters": dict(ropes["full_attention"]),
            "rope_theta": ropes["full_attention"]["rope_theta"],
            "rope_local_base_freq": ropes["sliding_attention"]["rope_theta"],
        }
        object.__setattr__(self, "_config", config)
        object.__setattr__(self, "_flat", flat)

    def __getattr__(self, name: str) -> Any:
        flat = object.__getattribute__(self, "_flat")
        return flat[name] if name in flat else getattr(object.__getattribute__(self, "_config"), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(object.__getattribute__(self, "_config"), name, value)


_original_init = gemma.Gemma3Model.__init__


def _init(self: Any, config: Any, *args: Any, **kwargs: Any) -> None:
    ropes = getattr(config, "rope_parameters", None)
    if isinstance(ropes, dict) and "full_attention" in ropes and "sliding_attention" in ropes:
        config = FlatRopeView(config)
    _original_init(self, config, *args, **kwargs)


gemma.Gemma3Model.__init__ = _init

if __name__ == "__main__":
    runpy.run_module("onnxruntime_genai.models.builder", run_name="__main__", alter_sys=True)
