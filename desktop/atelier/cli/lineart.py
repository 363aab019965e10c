"""`atelier lineart --image photo.jpg --out lines.png`: trace line art from a picture."""

from __future__ import annotations

import argparse

from atelier.cli._output import emit_result, engine_settings, read_image


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("lineart", help="trace line art from a picture")
    parser.add_argument("--image", required=True, help="the picture (PNG, JPEG, ...)")
    parser.add_argument("--sensitivity", type=float, default=0.5, help="0..1, higher keeps fainter edges")
    parser.add_argument("--out", required=True, help="where to write the line art PNG")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from PIL import Image

    from atelier.core.requests.lineart import LineArtRequest, LineArtResult
    from atelier.engine.runner import Engine

    request = LineArtRequest(image=read_image(args.image), sensitivity=args.sensitivity, origin="cli")
    result = Engine(engine_settings()).run_to_end(request)
    assert isinstance(result, LineArtResult)
    Image.fromarray(result.lines).save(args.out)
    emit_result(result, {"out": args.out}, args.json, args.out)
    return 0
