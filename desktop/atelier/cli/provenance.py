"""`atelier provenance FILE [--json]`: what a file Atelier wrote says about what made it."""

from __future__ import annotations

import argparse
from typing import Any

from atelier.cli._output import print_json

AI_WORDS = {
    "trainedAlgorithmicMedia": "made by an AI model (trainedAlgorithmicMedia)",
    "compositeWithTrainedAlgorithmicMedia": (
        "the user's work combined with an AI model's (compositeWithTrainedAlgorithmicMedia)"
    ),
    "algorithmicMedia": "made by an algorithm, no trained model (algorithmicMedia)",
}
JSON_FIELDS = ("file", "kind", "generator", "task", "pack", "prompt", "seed", "source", "ai", "c2pa")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("provenance", help="show what made a file Atelier wrote (image, MIDI, WAV, ...)")
    parser.add_argument("file", help="a PNG, MIDI, WAV, lyric (.txt/.md) or palette file")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=run)


def describe(found: dict[str, Any]) -> list[str]:
    """A few readable lines."""
    if not found.get("record") and not found.get("generator") and not found.get("c2pa"):
        return [f"{found['file']}: no record of what made it (not written by Atelier, or exported without metadata)."]
    lines = [f"{found['file']}: {found['kind']}, made with {found.get('generator') or 'an unknown tool'}"]
    task = found.get("task")
    if task:
        lines[0] += f" ({task})"
    if found.get("date"):
        lines[0] += f" on {found['date']}"
    if found.get("ai"):
        lines.append("AI: " + AI_WORDS.get(str(found["ai"]), str(found["ai"])))
    pack = found.get("pack")
    if pack:
        words = str(pack.get("name") or pack.get("id", "")) + (
            f", version {pack['version']}" if pack.get("version") else ""
        )
        extra = [f"id {pack['id']}"] if pack.get("id") and pack.get("id") != pack.get("name") else []
        extra += [f"sha256 {pack['sha256'][:16]}…"] if pack.get("sha256") else []
        lines.append(f"Model: {words}" + (f" ({', '.join(extra)})" if extra else ""))
        if pack.get("licence"):
            lines.append(f"Licence: {pack['licence']}")
    if found.get("prompt"):
        lines.append(f"Prompt: {found['prompt']}")
    if found.get("seed") is not None:
        lines.append(f"Seed: {found['seed']}")
    for source in found.get("source") or []:
        digest = str(source.get("sha256", ""))[:16]
        lines.append(f"Source {source.get('role', '')}: sha256 {digest}… (of the {source.get('of', 'file')})")
    record = found.get("record") or {}
    if "model_lines" in record:
        # The record is the file's own JSON, of any shape: only whole line numbers are believed.
        raw = record["model_lines"]
        numbers = [n for n in raw if isinstance(n, int) and not isinstance(n, bool)] if isinstance(raw, list) else []
        written = ", ".join(map(str, numbers)) if numbers else "none"
        users = record.get("user_lines", 0)
        users = users if isinstance(users, int) and not isinstance(users, bool) else "unknown"
        lines.append(f"Lines the model wrote: {written}; lines the user wrote or edited: {users}")
    c2pa = found.get("c2pa")
    if c2pa is not None:
        state = str(c2pa.get("state") or c2pa.get("error") or "present")
        signer = f", signed by {c2pa['signer']}" if c2pa.get("signer") else ""
        failures = f" ({', '.join(map(str, c2pa['failures']))})" if c2pa.get("failures") else ""
        lines.append(f"Content credentials (C2PA): {state}{signer}{failures}")
    return lines


def run(args: argparse.Namespace) -> int:
    from atelier.core.provenance_read import read_provenance

    found = read_provenance(args.file)
    if args.json:
        print_json({**{k: found.get(k) for k in JSON_FIELDS}, "date": found.get("date"), "record": found.get("record")})
    else:
        print("\n".join(describe(found)))
    return 0
