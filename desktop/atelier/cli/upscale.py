"""`atelier upscale --image IN --pack P --scale 2 --out OUT`: a larger picture, with detail redrawn tile by tile."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from atelier.cli._output import (
    PNG,
    add_project_option,
    check_output,
    emit_result,
    open_project,
    read_image,
    record,
    write_png,
)
from atelier.cli._task import add_task_options, server_fields, task_engine


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "upscale", help="enlarge a picture (Lanczos, then a tiled detail pass with a Stable Diffusion pack)"
    )
    parser.add_argument("--image", required=True, help="the picture (PNG, JPEG, ...)")
    parser.add_argument("--scale", type=float, default=2.0, help="how much larger, above 1 and at most 4")
    parser.add_argument(
        "--pack",
        default="",
        help="a diffusion pack id or ONNX folder for the detail pass; without it the picture is only resized",
    )
    parser.add_argument("--prompt", help="what the picture shows (default: the prompt recorded in the PNG, if any)")
    parser.add_argument("--negative", default="", help="what to avoid")
    parser.add_argument("--strength", type=float, default=0.3, help="0..1: how much each tile is redrawn")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--guidance", type=float, default=5.0)
    parser.add_argument("--tile", type=int, default=0, help="tile side in pixels (0 = the pack's native size)")
    parser.add_argument("--overlap", type=int, default=64, help="pixels neighbouring tiles share and cross-fade")
    parser.add_argument("--scheduler", default="", choices=["", "euler", "euler_a", "ddim", "lcm"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="where to write the PNG")
    parser.add_argument("--json", action="store_true", help="print JSON")
    add_project_option(parser)
    add_task_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from atelier.core.provenance import read_parameters
    from atelier.core.requests.upscale import UpscaleRequest, UpscaleResult

    check_output(args.out, PNG, "the upscaled picture")
    image = read_image(args.image, what="upscale")
    source = read_parameters(args.image) or {}
    prompt = args.prompt if args.prompt is not None else str(source.get("prompt", ""))
    pack = args.pack
    if pack and Path(pack).expanduser().is_dir():
        pack = str(Path(pack).expanduser().resolve())
    request = UpscaleRequest(
        image=image,
        scale=args.scale,
        detail=bool(pack),
        pack_id=pack,
        prompt=prompt,
        negative=args.negative,
        strength=args.strength,
        steps=args.steps,
        guidance=args.guidance,
        seed=args.seed,
        tile=args.tile,
        overlap=args.overlap,
        scheduler=args.scheduler,
        source_parameters=source,
        origin="cli",
    )
    project = open_project(args.project)
    started = time.time()
    result = task_engine(args).run_to_end(request)
    assert isinstance(result, UpscaleResult)
    write_png(args, args.out, result.image, result.parameters, [Path(args.image)])
    fields = {
        "out": args.out,
        "size": [int(result.image.shape[1]), int(result.image.shape[0])],
        "upscale": result.parameters.get("upscale", {}),
        **({"note": result.note} if result.note else {}),
    }
    kept = record(project, request, result, started)
    emit_result(result, {**fields, **server_fields(args)}, args.json, args.out, kept)
    return 0
