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
    parser.add_argument("--mask", help="inpaint: white = regenerate (needs --image)")
    parser.add_argument("--width", type=int, default=512)
    parser.add_argument("--height", type=int, default=512)
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

    from atelier.core.provenance import save_png
    from atelier.core.requests.sketch import MAX_SIDE, SketchRequest, SketchResult

    check_output(args.out, PNG, "the images")
    # Every input picture is resized to the output size (at most 2048 px), so it is decoded reduced.
    side = MAX_SIDE

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
        steps=args.steps,
        guidance=args.guidance,
        seed=args.seed,
        count=args.count,
        strength=args.strength,
        image=picture(args.image) if args.image else None,
        control=picture(args.control) if args.control else None,
        mask=mask,
        scheduler=args.scheduler,
        origin="cli",
    )
    project = open_project(args.project)
    started = time.time()
    result = task_engine(args).run_to_end(request)
    assert isinstance(result, SketchResult)
    paths = out_paths(args.out, len(result.images))
    for path, image, seed in zip(paths, result.images, result.seeds, strict=True):
        save_png(path, image, {**result.parameters, "seed": seed})
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
