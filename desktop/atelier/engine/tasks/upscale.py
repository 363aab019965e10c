"""Upscale a picture: Lanczos to the new size, then (with a diffusion pack) a tiled img2img detail pass whose
overlapping tiles are cross-faded; the model only ever sees one tile, so memory does not grow with the picture."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np

import atelier
from atelier.core.progress import Progress
from atelier.core.requests import DeviceInfo
from atelier.core.requests.upscale import UpscaleRequest, UpscaleResult
from atelier.engine.imaging import blend_tiles, resize, rgb_on_white, tile_starts
from atelier.engine.runner import TaskContext, TaskGenerator, task
from atelier.engine.tasks.sketch import KIND, detail_steps, open_pipeline, redraw_tile

RESIZE_ONLY = DeviceInfo(provider="CPU (Lanczos resize, no model)")
NO_PACK_NOTE = "Lanczos only: no Stable Diffusion pack was given, so no detail was added"


@task(UpscaleRequest)
def run_upscale(request: UpscaleRequest, context: TaskContext) -> TaskGenerator:
    width, height = request.output_size()
    yield Progress(0, 1, f"Resizing to {width}x{height}")
    enlarged = resize(rgb_on_white(request.image), (width, height))
    record: dict[str, Any] = {
        "scale": request.scale,
        "from": [int(request.image.shape[1]), int(request.image.shape[0])],
        "to": [width, height],
        "method": "lanczos",
    }
    note = ""
    device = None
    has_pack = bool(request.pack_id) or bool(context.catalog.of_kind(KIND))
    if not request.detail or not has_pack:
        note = NO_PACK_NOTE if request.detail else "Lanczos only (no detail pass asked for)"
        image = enlarged
    else:
        opened = yield from open_pipeline(context, request.pack_id)
        tile = request.tile or max(opened.native)
        tiles = len(tile_starts(width, tile, request.overlap)) * len(tile_starts(height, tile, request.overlap))
        per_tile = detail_steps(request.steps, request.strength)
        total = tiles * per_tile

        def report(index: int, step: int) -> Progress:
            return Progress(index * per_tile + step, total, f"Detail: tile {index + 1}/{tiles}, step {step}")

        def redraw(pixels: np.ndarray, index: int) -> Generator[Progress, None, np.ndarray]:
            return redraw_tile(
                opened.pipeline, pixels, index, request.prompt, request.negative, request.steps, request.guidance,
                request.strength, request.seed, request.scheduler, tile, report,
            )  # fmt: skip

        image = yield from blend_tiles(enlarged, tile, request.overlap, redraw)
        device = opened.models.device or opened.device
        record.update({
            "method": "lanczos+tiled img2img",
            "tile": tile,
            "overlap": request.overlap,
            "tiles": tiles,
            "strength": request.strength,
            "steps": request.steps,
            "guidance": request.guidance,
            "seed": request.seed,
            "upscale_pack_id": opened.pack.id,
            "upscale_pack_name": opened.pack.name,
            "upscale_licence": opened.pack.licence,
        })  # fmt: skip
    if note:
        record["note"] = note
    parameters: dict[str, Any] = {**request.source_parameters}
    parameters.setdefault("prompt", request.prompt)
    parameters.setdefault("app_version", atelier.__version__)
    parameters["width"], parameters["height"] = width, height
    parameters["upscale"] = record
    return UpscaleResult(image=image, parameters=parameters, note=note, device=device or RESIZE_ONLY)
