"""Line art from a picture: the atelier-lineart pack (an ONNX edge tracer) for photos and paintings, and the
strokes themselves for a line drawing (tracing its edges would give two lines for every stroke)."""

from __future__ import annotations

import numpy as np

from atelier.core.progress import Progress
from atelier.core.requests import DeviceInfo
from atelier.core.requests.lineart import LineArtRequest, LineArtResult
from atelier.engine.imaging import line_drawing_lines, rgb_on_white
from atelier.engine.runner import TaskContext, TaskGenerator, task

CPU = DeviceInfo(provider="CPUExecutionProvider")  # the drawn lines are kept with numpy, on the CPU


@task(LineArtRequest)
def run_lineart(request: LineArtRequest, context: TaskContext) -> TaskGenerator:
    pack = context.pack_of_kind("lineart")
    yield Progress(0, 2, "Preparing the picture")
    paper = rgb_on_white(request.image)
    drawn = line_drawing_lines(paper, request.sensitivity)
    if drawn is not None:
        yield Progress(1, 2, "Keeping the drawn lines")
        return LineArtResult(lines=np.clip(drawn * 255.0 + 0.5, 0, 255).astype(np.uint8), device=CPU)
    rgb = paper.astype(np.float32) / 255.0
    image = np.ascontiguousarray(rgb.transpose(2, 0, 1)[None])
    sensitivity = np.array([request.sensitivity], np.float32)
    yield Progress(1, 2, "Tracing lines")
    (lines,), device = context.pool.run(pack, "model", {"image": image, "sensitivity": sensitivity}, context.cancel)
    out = np.clip(lines[0, 0] * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return LineArtResult(lines=out, device=device)
