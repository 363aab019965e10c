"""`atelier palette --text "stormy sea at dusk" --count 6`, `--image photo.jpg`, `--harmony triad` or
`--lock "#1b2a41,#c9a227"` (the palette model fills the rest around the locked colours): make a palette.

Prints the colours with their names (or JSON with --json) and can write any export format (--export).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from atelier.cli._output import (
    add_project_option,
    check_output,
    note_recorded,
    open_project,
    print_json,
    record,
)
from atelier.cli._task import add_task_options, server_fields, task_engine
from atelier.core.errors import InvalidRequestError
from atelier.core.picture_io import read_picture


def parse_locks(text: str) -> tuple[tuple[int, str], ...]:
    """'#1b2a41,,#c9a227' -> ((0, '#1b2a41'), (2, '#c9a227')): each entry is a slot, an empty one is free."""
    from atelier.core.color.hex import normalise_hex

    entries = [entry.strip() for entry in text.split(",")]
    locked = tuple((slot, normalise_hex(entry)) for slot, entry in enumerate(entries) if entry)
    if not locked:
        raise InvalidRequestError(
            "--lock needs at least one colour to keep.", "Give colours like --lock '#1b2a41,#c9a227'."
        )
    return locked


def register(subparsers: argparse._SubParsersAction) -> None:
    from atelier.core.requests.palette import DEFAULT_TEMPERATURE

    parser = subparsers.add_parser("palette", help="make a colour palette from a mood text, an image or a rule")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", help="a mood or scene, e.g. 'stormy sea at dusk'")
    source.add_argument("--image", help="a picture to take the dominant colours from")
    source.add_argument("--harmony", metavar="MODE", help="a harmony rule from --base (analogous, triad, ...)")
    source.add_argument(
        "--lock",
        metavar="COLOURS",
        help="colours to keep, e.g. '#1b2a41,#c9a227' (an empty entry leaves that slot free: '#1b2a41,,#c9a227');"
        " the palette model fills the other slots",
    )
    parser.add_argument("--base", default="#c0392b", help="base colour for --harmony (#rrggbb)")
    parser.add_argument("--count", type=int, default=6, help="number of colours, 3 to 12 (default 6)")
    parser.add_argument("--seed", type=int, default=0, help="another seed gives another palette")
    parser.add_argument(
        "--temperature",
        type=float,
        default=None,
        help=f"with --lock: 0 for the model's safest colours, more for variety (default {DEFAULT_TEMPERATURE:g})",
    )
    parser.add_argument("--export", metavar="FILE", help="also write .gpl, .ase, .aco, .css, .json or .png")
    parser.add_argument("--json", action="store_true", help="print JSON")
    add_project_option(parser)
    add_task_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from atelier.core.color.formats import EXPORT_FORMATS, PaletteFile, export_file, palette_record
    from atelier.core.requests import Request
    from atelier.core.requests.palette import (
        HarmonyRequest,
        PaletteFromImageRequest,
        PaletteFromTextRequest,
        PaletteInfillRequest,
        PaletteResult,
    )

    if args.export:
        check_output(args.export, tuple(f".{fmt}" for fmt in EXPORT_FORMATS), "the palette")
    if args.temperature is not None and args.lock is None:
        raise InvalidRequestError("--temperature is for the palette model: use it with --lock.")
    request: Request
    if args.lock is not None:
        locked = parse_locks(args.lock)
        if len(locked) >= args.count and max(slot for slot, _ in locked) < args.count:
            raise InvalidRequestError(
                f"All {args.count} colours are locked; nothing is left to fill.", "Raise --count or lock fewer."
            )
        from atelier.core.requests.palette import DEFAULT_TEMPERATURE

        temperature = DEFAULT_TEMPERATURE if args.temperature is None else args.temperature
        request = PaletteInfillRequest(
            count=args.count, seed=args.seed, locked=locked, temperature=temperature, origin="cli"
        )
    elif args.text is not None:
        request = PaletteFromTextRequest(text=args.text, count=args.count, seed=args.seed, origin="cli")
    elif args.image is not None:
        picture = read_picture(args.image)
        request = PaletteFromImageRequest(
            image=picture, count=args.count, seed=args.seed, label=Path(args.image).name, origin="cli"
        )
    else:
        request = HarmonyRequest(base=args.base, mode=args.harmony, count=args.count, seed=args.seed, origin="cli")
    from atelier.engine.text_embedding import built_pack

    project = open_project(args.project)
    if args.text is not None and built_pack() is None:
        print(
            "atelier: making the palette (the first time builds the text model, about a minute)…",
            file=sys.stderr,
        )
    started = time.time()
    result = task_engine(args).run_to_end(request)
    assert isinstance(result, PaletteResult)
    data = result.to_json()
    if args.export:
        title = args.text or (Path(args.image).stem if args.image else f"{args.harmony} from {args.base}")
        title = f"Around {', '.join(c for _, c in parse_locks(args.lock))}" if args.lock is not None else title
        title = " ".join(title.split())  # one line: a line break in a .gpl title makes the file unreadable
        made = None if args.no_metadata else palette_record(result.source, args.text or "", args.seed)
        written = export_file(PaletteFile(result.colors, result.names, title), args.export, result.source, made)
        data["export"] = str(written)
    kept = record(project, request, result, started)
    if kept:
        data["history"] = kept
    if args.json:
        print_json({**data, **server_fields(args)})
        return 0
    colour_terminal = sys.stdout.isatty()
    for color, name in zip(result.colors, result.names, strict=True):
        block = ""
        if colour_terminal:
            r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
            block = f"\x1b[48;2;{r};{g};{b}m    \x1b[0m "
        print(f"{block}{color}  {name}")
    if result.detail:
        print(result.detail)
    if args.export:
        print(f"Wrote {data['export']}")
    note_recorded(kept)
    return 0
