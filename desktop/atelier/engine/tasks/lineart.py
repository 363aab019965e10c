"""Line art from a picture with the atelier-lineart pack (an ONNX edge tracer)."""

from __future__ import annotations

import numpy as np

from atelier.core.progress import Progress
from atelier.core.requests.lineart import LineArtRequest, LineArtResult
from atelier.engine.imaging import rgb_on_white
from atelier.engine.runner import TaskContext, TaskGenerator, task


@task(LineArtRequest)
def run_lineart(request: LineArtRequest, context: TaskContext) -> TaskGenerator:
    pack = context.pack_of_kind("lineart")
    yield Progress(0, 2, "Preparing the picture")
    rgb = rgb_on_white(request.image).astype(np.float32) / 255.0
    image = np.ascontiguousarray(rgb.transpose(2, 0, 1)[None])
    sensitivity = np.array([request.sensitivity], np.float32)
    yield Progress(1, 2, "Tracing lines")
    (lines,), device = context.pool.run(pack, "model", {"image": image, "sensitivity": sensitivity}, context.cancel)
    out = np.clip(lines[0, 0] * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return LineArtResult(lines=out, device=device)
