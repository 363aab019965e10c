"""`atelier lineart --image photo.jpg --out lines.png`: trace line art from a picture."""

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
    pack_info,
    read_image,
    record,
    write_png,
)
from atelier.cli._task import add_task_options, server_fields, task_engine


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("lineart", help="trace line art from a picture")
    parser.add_argument("--image", required=True, help="the picture (PNG, JPEG, ...)")
    parser.add_argument("--sensitivity", type=float, default=0.5, help="0..1, higher keeps fainter edges")
    parser.add_argument("--out", required=True, help="where to write the line art PNG")
    parser.add_argument("--json", action="store_true", help="print JSON")
    add_project_option(parser)
    add_task_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import atelier
    from atelier.core.provenance import now_iso, source_record
    from atelier.core.requests.lineart import MAX_PIXELS, LineArtRequest, LineArtResult

    check_output(args.out, PNG, "the line art")
    image = read_image(args.image, MAX_PIXELS, "line art")
    request = LineArtRequest(image=image, sensitivity=args.sensitivity, origin="cli")
    project = open_project(args.project)
    started = time.time()
    engine = task_engine(args)
    result = engine.run_to_end(request)
    assert isinstance(result, LineArtResult)
    params = {
        "app_version": atelier.__version__,
        "task": "lineart",
        "mode": "lineart",
        "sensitivity": args.sensitivity,
        "device": result.device.provider,
        "date": now_iso(),
        "sources": [source_record("image", path=args.image)],
        **({"pack": pack} if (pack := pack_info(engine, "lineart")) else {}),
    }
    # atomic: a kill or Ctrl-C mid-write leaves no half file
    write_png(args, args.out, result.lines, params, [Path(args.image)])
    kept = record(project, request, result, started)
    emit_result(result, {"out": args.out, **server_fields(args)}, args.json, args.out, kept)
    return 0
