"""Colour line art with a palette and optional hints using the atelier-colorizer pack."""

from __future__ import annotations

import numpy as np

import atelier
from atelier.core.progress import Progress
from atelier.core.provenance import now_iso, pack_record, source_record
from atelier.core.requests.colorize import ColorizeRequest, ColorizeResult
from atelier.engine.colorizing import batch_feeds, finish, hex_to_rgb, palette_orders, prepare
from atelier.engine.doctor import smoke_test
from atelier.engine.packs import Pack
from atelier.engine.runner import Engine, TaskContext, TaskGenerator, task

PREVIEW_SIDE = 256  # live preview: the output is at most 256 px on the longer side
# The network was trained on pictures about 100-150 px across. It scores the drawing shrunk to at
# most these sizes (near that scale, and fast), and the scores are voted over the regions found at
# the output resolution, so edges stay crisp.
PREVIEW_WORK_SIDE = 192
WORK_SIDE = 192


@task(ColorizeRequest)
def run_colorize(request: ColorizeRequest, context: TaskContext) -> TaskGenerator:
    pack = context.pack_of_kind("colorize", request.pack_id)
    sizes = pack.extra.get("work_size", {})
    multiple = int(pack.extra.get("size_multiple", 16))
    yield Progress(0, 3, "Finding regions and hints")
    palette = np.array([hex_to_rgb(c) for c in request.palette], np.uint8)
    if request.preview:
        work = int(sizes.get("preview", PREVIEW_WORK_SIDE))
        prepared = prepare(request.lines, palette, request.hints, PREVIEW_SIDE, work, multiple)
    else:
        prepared = prepare(request.lines, palette, request.hints, None, int(sizes.get("full", WORK_SIDE)), multiple)
    # Variations: the same drawing with the palette listed in other orders (seeded shuffles), in one batch.
    orders = palette_orders(len(palette), request.count, request.seed)
    yield Progress(1, 3, "Colouring")
    (logits,), device = context.pool.run(pack, "model", batch_feeds(prepared, orders), context.cancel)
    yield Progress(2, 3, "Filling regions")
    images = finish(prepared, logits, orders)
    palettes = tuple(tuple(request.palette[i] for i in order) for order in orders)
    height, width = images[0].shape[:2]
    hints = request.hints
    common = {
        "kind": "colorize",
        "mode": "colorize",
        "seed": request.seed,
        "hints": bool(hints is not None and hints.ndim == 3 and hints.shape[2] == 4 and (hints[..., 3] > 0).any()),
        "preview": request.preview,
        "width": width,
        "height": height,
        "pack_id": pack.id,
        "pack_name": pack.name,
        "licence": pack.licence,
        "device": device.provider,
        "app_version": atelier.__version__,
        "pack": pack_record(pack),
        "date": now_iso(),
        "sources": [source_record("lines", image=request.lines)]
        + ([source_record("hints", image=hints)] if hints is not None else []),
    }
    parameters = tuple(
        {**common, "variation": number + 1, "palette": list(used), "requested_palette": list(request.palette)}
        for number, used in enumerate(palettes)
    )
    return ColorizeResult(
        images=tuple(images), palettes=palettes, pack_id=pack.id, parameters=parameters, device=device
    )


@smoke_test("colorize")
def smoke_colorize(engine: Engine, pack: Pack) -> str:
    """The whole task (regions, hints, network, vote) on a small box drawing, not just zeros."""
    lines = np.full((48, 64), 255, np.uint8)
    lines[12, 12:52] = lines[36, 12:52] = 0
    lines[12:37, 12] = lines[12:37, 51] = 0
    hints = np.zeros((48, 64, 4), np.uint8)
    hints[24, 30] = (255, 0, 0, 255)
    request = ColorizeRequest(lines=lines, palette=("#ff0000", "#00ff00", "#0000ff"), hints=hints, pack_id=pack.id)
    result = engine.run_to_end(request)
    assert isinstance(result, ColorizeResult)
    if tuple(result.images[0][24, 30]) != (255, 0, 0):
        raise RuntimeError("the colorizer ignored a hint in a closed region")
    return result.device.provider
