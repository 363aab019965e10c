"""`atelier sketch --pack ID_OR_FOLDER --prompt ... --out out.png`: images from a prompt and a sketch."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from atelier.cli._output import (
    PNG,
    add_project_option,
    check_output,
    note_recorded,
    open_project,
    print_json,
    read_image,
    record,
    write_png,
)
from atelier.cli._task import add_task_options, server_fields, task_engine


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("sketch", help="generate images with a Stable Diffusion ONNX pack")
    parser.add_argument("--pack", default="", help="a diffusion pack id, or an ONNX folder (diffusers/optimum layout)")
    parser.add_argument("--prompt", required=True)
    parser.add_argument("--negative", default="", help="what to avoid")
    parser.add_argument("--image", help="image-to-image from this picture")
    parser.add_argument("--strength", type=float, default=0.6, help="0..1: how much of --image is redrawn")
    parser.add_argument("--control", help="ControlNet input (scribble/line art), when the pack has a controlnet/")
    parser.add_argument(
        "--control-scale", type=float, default=1.0, help="0..2: how closely the ControlNet follows --control"
    )
    parser.add_argument(
        "--second-control", help="a second ControlNet input (a depth or pose map) for the pack's controlnet_<name>/"
    )
    parser.add_argument(
        "--second-control-name",
        default="",
        help="which controlnet_<name>/ reads it (depth, pose...; default: the only one)",
    )
    parser.add_argument("--second-control-scale", type=float, default=1.0, help="0..2, as --control-scale")
    parser.add_argument("--mask", help="inpaint: white = regenerate (needs --image)")
    parser.add_argument(
        "--width", type=int, default=0, help="generation width (multiple of 64); 0 with --height 0: the pack's own area"
    )
    parser.add_argument("--height", type=int, default=0, help="generation height; see --width")
    parser.add_argument(
        "--out-size",
        metavar="WxH",
        help="size of the written images, aspect kept (default: the --image's size, else the generation size)",
    )
    parser.add_argument(
        "--no-detail", action="store_true", help="resize a large --out-size with Lanczos only (no tiled detail pass)"
    )
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--guidance", type=float, default=7.5)
    parser.add_argument("--scheduler", default="", choices=["", "euler", "euler_a", "ddim", "lcm"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--count", type=int, default=1, help="variations (seed, seed+1, ...)")
    parser.add_argument("--out", required=True, help="PNG path; with --count > 1, out-1.png, out-2.png, ...")
    parser.add_argument("--json", action="store_true", help="print JSON")
    add_project_option(parser)
    add_task_options(parser)
    parser.set_defaults(handler=run)


def out_paths(out: str, count: int) -> list[Path]:
    path = Path(out)
    if count == 1:
        return [path]
    return [path.with_name(f"{path.stem}-{i + 1}{path.suffix or '.png'}") for i in range(count)]


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from atelier.core.errors import InvalidRequestError
    from atelier.core.requests.sketch import MAX_OUT_SIDE, SketchRequest, SketchResult

    check_output(args.out, PNG, "the images")
    # Results come back at the picture's size (at most 4096 px a side), so larger ones are decoded reduced.
    side = MAX_OUT_SIDE
    out_width = out_height = 0
    if args.out_size:
        try:
            out_width, out_height = (int(part) for part in args.out_size.lower().split("x"))
        except ValueError as exc:
            raise InvalidRequestError(
                f"--out-size takes WIDTHxHEIGHT, e.g. 1920x1080 (got '{args.out_size}')."
            ) from exc

    def picture(path: str) -> np.ndarray:
        return read_image(path, max_side=side)

    mask = None
    if args.mask:
        rgba = picture(args.mask)
        mask = np.where(rgba[:, :, :3].mean(axis=2) * (rgba[:, :, 3] / 255) > 127, 255, 0).astype(np.uint8)
    request = SketchRequest(
        prompt=args.prompt,
        negative=args.negative,
        pack_id=str(Path(args.pack).resolve()) if args.pack and Path(args.pack).is_dir() else args.pack,
        width=args.width,
        height=args.height,
        out_width=out_width,
        out_height=out_height,
        detail_upscale=not args.no_detail,
        steps=args.steps,
        guidance=args.guidance,
        seed=args.seed,
        count=args.count,
        strength=args.strength,
        image=picture(args.image) if args.image else None,
        control=picture(args.control) if args.control else None,
        mask=mask,
        control_scale=args.control_scale,
        second_control=picture(args.second_control) if args.second_control else None,
        second_control_name=args.second_control_name,
        second_control_scale=args.second_control_scale,
        scheduler=args.scheduler,
        origin="cli",
    )
    project = open_project(args.project)
    started = time.time()
    result = task_engine(args).run_to_end(request)
    assert isinstance(result, SketchResult)
    paths = out_paths(args.out, len(result.images))
    sources = [Path(name) for name in (args.image, args.control) if name]
    for path, image, seed in zip(paths, result.images, result.seeds, strict=True):
        write_png(args, path, image, {**result.parameters, "seed": seed}, sources)
    summary = {
        "out": [str(p) for p in paths],
        "seeds": list(result.seeds),
        "device": result.device.provider,
        "fallbacks": list(result.device.fallbacks),
        "seconds": round(result.seconds, 4),
        "parameters": result.parameters,
    }
    kept = record(project, request, result, started)
    if kept:
        summary["history"] = kept
    if args.json:
        print_json({**summary, **server_fields(args)})
    else:
        where = ", ".join(str(p) for p in paths)
        print(f"{result.summary()} -> {where} ({result.device.describe()}, {result.seconds:.2f}s)")
        note_recorded(kept)
    return 0
