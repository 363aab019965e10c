"""Decode speed of several genai packs against each other, runs interleaved across packs in one process:
greedy, 128 new tokens, one plain prompt, the median of 3 runs each (EVALUATION.md's interleaved table).

    python models/gemma3/speed_packs.py PACK [PACK ...] [--threads 2] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from lyrics_vs_llamacpp import atelier_run

PROMPT = "Write a song about rain on a city window, with a verse and a chorus.\n\nLyrics:\n\n"
GEMMA_BOS = 2


def run(model: Any, ids: list[int]) -> tuple[float, float]:
    """(first token s, decode tokens/s): the bench's run, with room for Gemma's 512-token sliding window."""
    return atelier_run(SimpleNamespace(model=model), ids, min_max_length=513)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("packs", nargs="+", type=Path)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    import onnxruntime_genai as og

    models: dict[Path, tuple[Any, list[int]]] = {}
    session = {"intra_op_num_threads": args.threads, "inter_op_num_threads": 1}
    for folder in args.packs:
        config = og.Config(str(folder))
        config.overlay(json.dumps({"model": {"decoder": {"session_options": session}}}))
        model = og.Model(config)
        ids = [int(t) for t in og.Tokenizer(model).encode(PROMPT)]
        if json.loads((folder / "genai_config.json").read_text())["model"]["type"].startswith("gemma"):
            ids = [GEMMA_BOS, *ids]  # Gemma needs <bos>; genai's encode does not add it
        models[folder] = (model, ids)
        run(model, ids)  # warm-up
    results: dict[Path, list[tuple[float, float]]] = {folder: [] for folder in models}
    for index in range(args.runs):
        order = list(models) if index % 2 == 0 else list(reversed(models))
        for folder in order:
            results[folder].append(run(*models[folder]))
    for folder, runs in results.items():
        tps = statistics.median(r[1] for r in runs)
        ttft = statistics.median(r[0] for r in runs) * 1000
        print(f"{folder}: decode {tps:.1f} tok/s, first token {ttft:.0f} ms ({args.threads} threads, {args.runs} runs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
