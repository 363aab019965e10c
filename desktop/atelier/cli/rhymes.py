"""`atelier rhymes WORD`: perfect, multi-syllable and near rhymes, most common words first (no model needed)."""

from __future__ import annotations

import argparse

from atelier.cli._output import print_json

KIND_LABELS = {"perfect": "perfect", "multi": "multi-syllable", "near": "near"}


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg,unused-ignore]
    parser = subparsers.add_parser("rhymes", help="perfect, multi-syllable and near rhymes for a word")
    parser.add_argument("word")
    parser.add_argument("--limit", type=int, default=60, help="at most this many rhymes of each kind")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from atelier.core.requests.lyrics import RhymeRequest
    from atelier.core.rhymes import KINDS, find_rhymes, group_by_syllables

    request = RhymeRequest(word=args.word, limit=args.limit, origin="cli")  # validates the word
    rhymes = find_rhymes(request.word, request.limit)
    if args.json:
        print_json(
            {
                "word": request.word.strip().lower(),
                "rhymes": [{"word": r.word, "syllables": r.syllables, "kind": r.kind} for r in rhymes],
            }
        )
        return 0
    if not rhymes:
        print(f"No rhymes found for '{args.word}' (it may not be in the pronouncing dictionary).")
        return 0
    for kind in KINDS:
        groups = group_by_syllables([r for r in rhymes if r.kind == kind])
        for count, group in groups.items():
            label = f"{KIND_LABELS[kind]}, {count} syllable{'s' if count > 1 else ''}"
            print(f"{label:<30} {', '.join(r.word for r in group)}")
    return 0
