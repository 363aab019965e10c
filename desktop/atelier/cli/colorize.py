"""`atelier colorize --image lines.png --palette "#1b2a41,#c9a227,..." --out out.png`: colour line art."""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

from atelier.cli._output import (
    PNG,
    add_project_option,
    check_output,
    emit_result,
    open_project,
    pack_info,
    read_image,
    record,
    write_png,
)
from atelier.cli._task import add_task_options, server_fields, task_engine


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("colorize", help="colour line art with a palette (and optional hints)")
    parser.add_argument("--image", required=True, help="the line art (dark lines on white or transparent)")
    parser.add_argument("--palette", required=True, help='3 to 8 colours, e.g. "#1b2a41,#c9a227,#e4572e"')
    parser.add_argument("--hints", help="a PNG the size of the line art; opaque pixels are colour hints")
    parser.add_argument("--count", type=int, default=1, help="variations (1-16); extra ones get -2, -3, ...")
    parser.add_argument("--seed", type=int, default=0, help="seed for the variations")
    parser.add_argument("--preview", action="store_true", help="the fast live pass (at most 256 px)")
    parser.add_argument("--pack", default="", help="a colorize pack id (default: the first installed)")
    parser.add_argument("--out", required=True, help="where to write the PNG")
    parser.add_argument("--json", action="store_true", help="print JSON")
    add_project_option(parser)
    add_task_options(parser)
    parser.set_defaults(handler=run)


def output_paths(out: str, count: int) -> list[Path]:
    first = Path(out)
    return [first] + [first.with_name(f"{first.stem}-{i}{first.suffix or '.png'}") for i in range(2, count + 1)]


def run(args: argparse.Namespace) -> int:
    from atelier.core.provenance import build_record, now_iso, source_record
    from atelier.core.requests.colorize import MAX_PIXELS, ColorizeRequest, ColorizeResult

    check_output(args.out, PNG, "the colorized picture")
    palette = tuple(c.strip() for c in args.palette.split(",") if c.strip())
    lines = read_image(args.image, MAX_PIXELS, "colorize")
    hints = read_image(args.hints, MAX_PIXELS, "colorize") if args.hints else None
    request = ColorizeRequest(
        lines=lines,
        palette=palette,
        hints=hints,
        count=args.count,
        seed=args.seed,
        preview=args.preview,
        pack_id=args.pack,
        origin="cli",
    )
    project = open_project(args.project)
    started = time.time()
    engine = task_engine(args)
    result = engine.run_to_end(request)
    assert isinstance(result, ColorizeResult)
    # The full record (date, the inputs' hashes, the pack's hash) goes into the result itself, so the
    # project's history keeps the same record as the files written here.
    sources = [source_record("lines", path=args.image)]
    if args.hints:
        sources.append(source_record("hints", path=args.hints))
    pack = pack_info(engine, "colorize", result.pack_id)
    stamp = {"date": now_iso(), "sources": sources, **({"pack": pack} if pack else {})}
    result = dataclasses.replace(result, parameters=tuple(build_record({**p, **stamp}) for p in result.parameters))
    paths = output_paths(args.out, len(result.images))
    for path, image, params in zip(paths, result.images, result.parameters, strict=True):
        write_png(args, path, image, params, [Path(args.image)])  # provenance, as for every generated image
    fields = {
        "out": [str(p) for p in paths],
        "size": [int(result.images[0].shape[1]), int(result.images[0].shape[0])],
        "pack": result.pack_id,
    }
    kept = record(project, request, result, started)
    emit_result(result, {**fields, **server_fields(args)}, args.json, ", ".join(map(str, paths)), kept)
    return 0
