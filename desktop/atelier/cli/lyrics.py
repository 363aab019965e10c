"""`atelier lyrics --prompt "..." --mode song`: lyrics, poems and ideas from the local language model."""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter

from atelier.cli._output import add_project_option, note_recorded, open_project, print_json, record
from atelier.cli._task import add_task_options, server_fields, task_engine
from atelier.core.cancel import CancelToken


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg,unused-ignore]
    from atelier.core.requests.lyrics import BRAINSTORM_KINDS, MODES, POEM_FORMS, RHYME_SCHEMES

    parser = subparsers.add_parser("lyrics", help="write lyrics, a poem or ideas with the local language model")
    parser.add_argument("--prompt", default="", help="the theme or idea (for continue: the text to continue)")
    parser.add_argument("--mode", default="song", choices=MODES)
    parser.add_argument("--sections", default="Verse,Chorus,Verse,Chorus", help="song sections, comma-separated")
    parser.add_argument("--lines-per-section", type=int, default=4)
    parser.add_argument("--mood", default="")
    parser.add_argument("--pov", default="", help="point of view, e.g. 'first person'")
    parser.add_argument("--rhyme-scheme", default="AABB", choices=RHYME_SCHEMES)
    parser.add_argument("--form", default="free verse", choices=POEM_FORMS, help="poem form")
    parser.add_argument("--lines", type=int, default=6, help="lines (poem, continue) or items (brainstorm)")
    parser.add_argument("--brainstorm", default="ideas", choices=BRAINSTORM_KINDS, help="what to brainstorm")
    parser.add_argument("--line", default="", help="rewrite: the line to rewrite")
    parser.add_argument("--alternatives", type=int, default=3, help="rewrite: how many versions")
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--top-p", type=float, default=0.92)
    parser.add_argument("--top-k", type=int, default=40)
    parser.add_argument("--repetition-penalty", type=float, default=1.1)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--pack", default="", help="an llm pack id (default: the bundled SmolLM2)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    add_project_option(parser)
    add_task_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from atelier.core.requests.lyrics import LyricRequest, LyricResult

    continuing = args.mode == "continue"
    request = LyricRequest(
        prompt="" if continuing else args.prompt,
        context=args.prompt if continuing else "",
        mode=args.mode,
        sections=tuple(s.strip() for s in args.sections.split(",") if s.strip()),
        lines_per_section=args.lines_per_section,
        mood=args.mood,
        point_of_view=args.pov,
        rhyme_scheme=args.rhyme_scheme,
        form=args.form,
        lines=args.lines,
        brainstorm_kind=args.brainstorm,
        line=args.line,
        alternatives=args.alternatives,
        temperature=args.temperature,
        top_p=args.top_p,
        top_k=args.top_k,
        repetition_penalty=args.repetition_penalty,
        max_tokens=args.max_tokens,
        seed=args.seed,
        pack_id=args.pack,
        origin="cli",
    )
    project = open_project(args.project)
    started = time.time()
    engine = task_engine(args)
    generator = engine.run(request, _cancel_token())
    while True:
        try:
            progress = next(generator)
        except StopIteration as stop:
            result = stop.value
            break
        if not args.json and progress.message and progress.preview is None:
            print(progress.message, file=sys.stderr)  # e.g. the first-use build of the model
    assert isinstance(result, LyricResult)
    kept = record(project, request, result, started)
    if args.json:
        print_json(
            {
                "text": result.text,
                "pack": result.pack,
                "device": result.device.provider,
                "fallbacks": list(result.device.fallbacks),
                "prompt_tokens": result.prompt_tokens,
                "generated_tokens": result.generated_tokens,
                "ttft_s": round(result.ttft_s, 4),
                "decode_tokens_per_s": round(result.decode_tokens_per_s, 2),
                "rejected_lines": result.rejected_lines,
                "rejections": dict(Counter(result.rejections)),
                "alternatives": list(result.alternatives),
                **({"history": kept} if kept else {}),
                **server_fields(args),
            }
        )
    else:
        print(result.text)
        print(
            f"\n({result.pack}, {result.device.describe()}, {result.generated_tokens} tokens, "
            f"first token {result.ttft_s:.2f}s, {result.decode_tokens_per_s:.1f} tokens/s, "
            f"{result.rejected_lines} lines resampled)",
            file=sys.stderr,
        )
        note_recorded(kept)
    return 0


def _cancel_token() -> CancelToken:

    return CancelToken()
