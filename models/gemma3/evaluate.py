"""Gemma 3 270M on the SmolLM2 pack's bar: perplexity against llama.cpp on the same GGUF, and the lyric
quality bar (models/smollm2/quality.py's prompts, seeds, defaults and checks) through Atelier's engine
and raw, side by side with llama.cpp.

    python models/gemma3/evaluate.py perplexity DIR [DIR ...] [--llama-cpp]
    python models/gemma3/evaluate.py quality --pack DIR [--stride 2] [--raw --llama-cpp] [--json out.json]
    python models/gemma3/evaluate.py speed --pack DIR --gguf FILE [--pack DIR2 --gguf FILE2] [--runs 5]

The two models' tokenizers differ (49152 and 262144 pieces), so perplexity per token does not compare
across them; this also reports perplexity per word of perplexity.py's text (the same 5 paragraphs):
exp(total negative log-likelihood / words), which does.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "desktop"))
sys.path.insert(0, str(HERE.parent / "smollm2"))
sys.path.insert(0, str(HERE))

import quality  # noqa: E402  (models/smollm2/quality.py: the bar itself)
from perplexity import TEXT  # noqa: E402
from side_by_side import GenaiStepModel, LlamaCppStepModel, Sampler, compare_logits, log_softmax, sample  # noqa: E402

WORDS = len(TEXT.split())
BOS = 2
GEMMA_WINDOW = 512  # the sliding window of Gemma 3 270M's local attention layers (its KV cache size)
# Gemma's end of text and end of turn: a base model may still write either.
STOP_PIECES = ("<eos>", "<end_of_turn>")


def gguf_path() -> Path:
    import build_gemma3

    return build_gemma3.source_gguf()


def text_ids(folder: Path) -> list[int]:
    """perplexity.py's text as the pack's tokenizer reads it, after Gemma's <bos> (it needs one)."""
    from tokenizers import Tokenizer

    ids = list(Tokenizer.from_file(str(folder / "tokenizer.json")).encode(TEXT).ids)
    return ids if ids and ids[0] == BOS else [BOS, *ids]


def nll(logits: np.ndarray, ids: list[int]) -> float:
    """Total negative log-likelihood of ids[1:] (nats)."""
    log_probs = log_softmax(logits[: len(ids) - 1])
    return float(-log_probs[np.arange(len(ids) - 1), ids[1:]].sum())


def figures(logits: np.ndarray, ids: list[int]) -> dict[str, float]:
    total = nll(logits, ids)
    return {
        "tokens": len(ids) - 1,
        "perplexity": float(np.exp(total / (len(ids) - 1))),
        "perplexity_per_word": float(np.exp(total / WORDS)),
    }


def genai_all_logits(folder: Path, ids: list[int], threads: int) -> np.ndarray:
    """Every position's logits through onnxruntime-genai, a token at a time (the app's decode path). The
    builder's Gemma 3 graph keeps a windowed KV cache that an empty plain-onnxruntime pass cannot feed."""
    model = GenaiStepModel(folder, threads)
    rows = [model.start(ids[:1], max_length=len(ids) + 1)]
    rows += [model.step(token) for token in ids[1:-1]]
    return np.stack(rows)


def cmd_perplexity(args: argparse.Namespace) -> int:
    ids = text_ids(args.folders[0])
    report: dict[str, Any] = {}
    reference = None
    if args.llama_cpp:
        gguf = gguf_path()
        reference = LlamaCppStepModel(gguf, args.threads, n_ctx=1024, logits_all=True).all_logits(ids)
        report["llama.cpp"] = {**figures(reference, ids), "size_mb": gguf.stat().st_size / 1e6}
        print(f"llama.cpp on {gguf.name}: {report['llama.cpp']}", flush=True)
    for folder in args.folders:
        logits = genai_all_logits(folder, ids, args.threads)
        entry: dict[str, Any] = figures(logits, ids)
        entry["size_mb"] = sum(p.stat().st_size for p in folder.iterdir() if p.is_file()) / 1e6
        if reference is not None:
            entry["vs_llama_cpp"] = compare_logits(logits, reference[: len(logits)])
        report[str(folder)] = entry
        print(f"{folder}: {entry}", flush=True)
        del logits
    if args.json:
        args.json.write_text(json.dumps(report, indent=1), encoding="utf-8")
    return 0


def raw_samples(model: Any, tokenizer: Any, prompts: list[dict[str, Any]], seeds: tuple[int, ...], tokens: int):
    """quality.raw_samples with Gemma's stop tokens (its version stops on SmolLM2's <|im_end|>)."""
    from atelier.engine.lyric_writer import chat_prompt

    checks = quality.line_checks()
    sampler = Sampler()
    stop = {int(tokenizer.encode(piece)[-1]) for piece in STOP_PIECES}
    samples = []
    for fields in prompts:
        for seed in seeds:
            request = quality.make_request(fields, seed)
            prompt_ids = [int(t) for t in tokenizer.encode(chat_prompt(tokenizer, request))]
            started = time.perf_counter()
            ids = sample(model, prompt_ids, sampler, seed, tokens, stop)
            elapsed = time.perf_counter() - started
            lines = quality.split_lines(tokenizer.decode(ids))
            problems = quality.check_lines(lines, fields, checks)
            samples.append(quality.Sample(fields, seed, lines, problems, 0, 0, len(ids), len(ids) / elapsed))
        print(f"  {model.name}: {request.summary()}", file=sys.stderr, flush=True)
    return samples


def cmd_quality(args: argparse.Namespace) -> int:
    prompts = quality.PROMPTS[:: args.stride]
    seeds = tuple(quality.SEEDS[0] + i for i in range(args.seeds))
    print(f"line checks: {quality.line_checks().source}; {len(prompts)} prompts x {len(seeds)} seeds", file=sys.stderr)
    report: dict[str, Any] = {"prompts": len(prompts), "seeds": list(seeds), "engine": {}, "raw": {}}
    rows_engine, rows_raw = [], []
    for folder in args.pack:
        name = quality.open_pack(folder).name if (folder / "pack.json").is_file() else folder.name
        ids = text_ids(folder)
        ppl = figures(genai_all_logits(folder, ids, args.threads), ids)
        if not args.no_engine:
            samples = quality.engine_samples(folder, prompts, seeds, args.threads)
            summary = quality.summarise(name, samples)
            summary.perplexity = ppl["perplexity"]
            rows_engine.append(summary)
            report["engine"][str(folder)] = {
                "summary": asdict(summary),
                "ppl": ppl,
                "samples": [asdict(s) for s in samples],
            }
            quality.write_report(args.json, report)
        if args.raw:
            step_model = GenaiStepModel(folder, args.threads)
            samples = raw_samples(step_model, step_model.tokenizer, prompts, seeds, args.raw_tokens)
            summary = quality.summarise(name, samples)
            summary.perplexity = ppl["perplexity"]
            rows_raw.append(summary)
            report["raw"][str(folder)] = {"summary": asdict(summary), "samples": [asdict(s) for s in samples]}
            if args.llama_cpp:
                llama = LlamaCppStepModel(gguf_path(), args.threads)
                samples = raw_samples(llama, step_model.tokenizer, prompts, seeds, args.raw_tokens)
                summary = quality.summarise(llama.name, samples)
                rows_raw.append(summary)
                report["raw"]["llama.cpp"] = {"summary": asdict(summary), "samples": [asdict(s) for s in samples]}
            quality.write_report(args.json, report)
    if rows_engine:
        quality.print_table(f"Through Atelier's engine ({len(prompts)} prompts x {len(seeds)} seeds)", rows_engine)
    if rows_raw:
        quality.print_table(f"Raw prompts, one sampler for all ({args.raw_tokens} tokens)", rows_raw)
    for summary in rows_engine + rows_raw:
        for line in summary.worst:
            print(f"  {summary.name[:30]}: {line}")
    return 0


def cmd_speed(args: argparse.Namespace) -> int:
    """bench/lyrics_vs_llamacpp.py's greedy runs (128 new tokens, interleaved, medians) for each pack and
    llama.cpp on its GGUF, on one plain-text prompt (the same words for both models)."""
    import statistics
    from types import SimpleNamespace

    import onnxruntime_genai as og
    from llama_cpp import Llama

    sys.path.insert(0, str(HERE.parents[1] / "bench"))
    from lyrics_vs_llamacpp import NEW_TOKENS, llama_run
    from lyrics_vs_llamacpp import atelier_run as bench_run

    def atelier_run(loaded: Any, prompt_ids: list[int]) -> tuple[float, float]:
        # Room for Gemma's 512-token sliding window (SmolLM2 is unaffected).
        return bench_run(loaded, prompt_ids, min_max_length=GEMMA_WINDOW + 1)

    prompt = "Write a song about rain on a city window, with a verse and a chorus.\n\nLyrics:\n\n"
    for folder, gguf in zip(args.pack, args.gguf, strict=True):
        config = og.Config(str(folder))
        session = {"intra_op_num_threads": args.threads, "inter_op_num_threads": 1}
        config.overlay(json.dumps({"model": {"decoder": {"session_options": session}}}))
        loaded = SimpleNamespace(model=og.Model(config))
        ids = [int(t) for t in og.Tokenizer(loaded.model).encode(prompt)]
        llm = Llama(
            model_path=str(gguf), n_threads=args.threads, n_threads_batch=args.threads, n_ctx=1024, verbose=False
        )
        ours, theirs = [atelier_run(loaded, ids)], [llama_run(llm, ids, llm.token_eos())]  # warm-up
        ours, theirs = [], []
        for index in range(args.runs):
            for which in (0, 1) if index % 2 == 0 else (1, 0):
                (ours.append(atelier_run(loaded, ids)) if which == 0 else theirs.append(llama_run(llm, ids, 0)))
        a_tps, l_tps = statistics.median(r[1] for r in ours), statistics.median(r[1] for r in theirs)
        a_ttft, l_ttft = statistics.median(r[0] for r in ours), statistics.median(r[0] for r in theirs)
        print(
            f"{folder.name}: prompt {len(ids)} tokens, {NEW_TOKENS} new, {args.threads} threads, {args.runs} runs: "
            f"Atelier {a_tps:.1f} tok/s (first {a_ttft * 1000:.0f} ms), llama.cpp on {gguf.name} {l_tps:.1f} tok/s "
            f"(first {l_ttft * 1000:.0f} ms), ratio {a_tps / l_tps:.2f}x",
            flush=True,
        )
        del llm, loaded
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ppl = sub.add_parser("perplexity")
    ppl.add_argument("folders", nargs="+", type=Path)
    ppl.add_argument("--llama-cpp", action="store_true")
    ppl.add_argument("--threads", type=int, default=2)
    ppl.add_argument("--json", type=Path)
    bar = sub.add_parser("quality")
    bar.add_argument("--pack", action="append", type=Path, required=True)
    bar.add_argument("--stride", type=int, default=1, help="every Nth prompt (2: the half-size bar)")
    bar.add_argument("--seeds", type=int, default=len(quality.SEEDS))
    bar.add_argument("--raw", action="store_true")
    bar.add_argument("--llama-cpp", action="store_true", help="with --raw: llama.cpp on the GGUF too")
    bar.add_argument("--no-engine", action="store_true")
    bar.add_argument("--raw-tokens", type=int, default=quality.RAW_TOKENS)
    bar.add_argument("--threads", type=int, default=2)
    bar.add_argument("--json", type=Path)
    speed = sub.add_parser("speed")
    speed.add_argument("--pack", action="append", type=Path, required=True)
    speed.add_argument("--gguf", action="append", type=Path, required=True, help="llama.cpp's GGUF, one per pack")
    speed.add_argument("--runs", type=int, default=5)
    speed.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    commands = {"perplexity": cmd_perplexity, "quality": cmd_quality, "speed": cmd_speed}
    return commands[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
