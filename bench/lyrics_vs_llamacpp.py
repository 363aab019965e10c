"""Atelier's SmolLM2 pack (onnxruntime-genai, the GGUF's own Q4_1 blocks) against llama.cpp
(llama-cpp-python) on the same GGUF the pack is built from: same prompt, same thread count, 128 new
tokens, runs interleaved; and, in the same run, both runtimes' perplexity on the same text, so the
speed ratio is read at a known quality (issue 14: quality first, speed at equal or better quality).

    python bench/lyrics_vs_llamacpp.py [--threads 2] [--runs 5] [--pack DIR]

Prints decode tokens/s and time to first token for both, the ratios, and the perplexities
(models/smollm2/perplexity.py's text). llama-cpp-python is in the `bench` extra; on
machines whose CPUs trap AMX instructions build it with (see MACHINE-NOTES):
    CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
      -DGGML_AVX512=ON -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF" \
      pip install llama-cpp-python
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "desktop"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "models" / "smollm2"))

from atelier.core.cancel import CancelToken
from atelier.engine import smollm2
from atelier.engine.genai import LANGUAGE_MODELS
from atelier.engine.providers import DegradedProviders

NEW_TOKENS = 128
INSTALL_HINT = (
    'CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON '
    '-DGGML_AVX512=ON -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF" '
    ".venv/bin/pip install llama-cpp-python   (compiles for 8-15 minutes)"
)
MESSAGES = [
    {"role": "system", "content": "You are a songwriter. Reply with the lyric only."},
    {"role": "user", "content": "Write a song about rain on a city window, with a verse and a chorus."},
]


def atelier_run(loaded, prompt_ids: list[int], min_max_length: int = 0) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(first token s, decode tokens/s). `min_max_length`: a floor for max_length (Gemma's windowed KV
    cache refuses one under its 512-token window; models/gemma3 passes 513)."""
    import onnxruntime_genai as og

    started = time.perf_counter()
    params = og.GeneratorParams(loaded.model)
    # Greedy with end-of-sequence held off, so both runtimes decode exactly NEW_TOKENS tokens.
    length = len(prompt_ids) + NEW_TOKENS
    params.set_search_options(do_sample=False, max_length=max(length, min_max_length), min_length=length)
    generator = og.Generator(loaded.model, params)
    generator.append_tokens(prompt_ids)
    generator.generate_next_token()
    first = time.perf_counter()
    count = 1
    while not generator.is_done() and count < NEW_TOKENS:
        generator.generate_next_token()
        count += 1
    end = time.perf_counter()
    return first - started, (count - 1) / (end - first)


def llama_run(llm, prompt_ids: list[int], eos: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    llm.reset()
    started = time.perf_counter()
    first = None
    count = 0
    for _token in llm.generate(prompt_ids, top_k=1, temp=0.0, reset=True, logits_processor=None):
        count += 1
        if first is None:
            first = time.perf_counter()
        if count >= NEW_TOKENS:
            break
    end = time.perf_counter()
    assert first is not None
    return first - started, (count - 1) / (end - first)


def bundled_pack():  # type: ignore[no-untyped-def]
    """Atelier's SmolLM2 pack, built first if needed (about 2 minutes, once)."""
    generator = smollm2.ensure_pack(CancelToken())
    while True:
        try:
            print(next(generator).message, file=sys.stderr)
        except StopIteration as stop:
            return stop.value


def perplexities(folder: Path, gguf: Path, threads: int) -> tuple[float, float]:
    """(pack, llama.cpp) perplexity of perplexity.py's held-out text, on the same token ids."""
    from perplexity import token_ids
    from side_by_side import GenaiStepModel, LlamaCppStepModel, perplexity_of

    ids = token_ids(folder)
    ours = perplexity_of(GenaiStepModel.all_logits_of(folder, ids, threads), ids)
    theirs = perplexity_of(LlamaCppStepModel(gguf, threads, n_ctx=1024, logits_all=True).all_logits(ids), ids)
    return ours, theirs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pack", type=Path, help="a genai pack folder instead of the bundled pack")
    args = parser.parse_args()

    if args.pack:
        from atelier.engine.packs import read_manifest

        pack = read_manifest(args.pack)
    else:
        pack = bundled_pack()
    loaded = LANGUAGE_MODELS.load(pack, "cpu", args.threads, DegradedProviders())
    prompt = loaded.tokenizer.apply_chat_template(json.dumps(MESSAGES), add_generation_prompt=True)
    prompt_ids = [int(t) for t in loaded.tokenizer.encode(prompt)]

    try:
        from llama_cpp import Llama
    except ImportError:
        ttft, tps = atelier_run(loaded, prompt_ids)
        print(
            f"Atelier ({pack.name}, {args.threads} threads): {tps:.1f} tokens/s decode, "
            f"first token {ttft * 1000:.0f} ms"
        )
        print("llama-cpp-python is not installed, so there is no ratio. Install it with the `bench` extra;")
        print(INSTALL_HINT)
        return 1

    gguf = smollm2.source_gguf_path()
    llm = Llama(model_path=str(gguf), n_threads=args.threads, n_threads_batch=args.threads, n_ctx=1024, verbose=False)
    eos = llm.token_eos()
    # Same tokens for both: the pack's tokenizer.json was built from this GGUF's vocabulary.
    atelier_runs, llama_runs = [], []
    atelier_run(loaded, prompt_ids)  # warm-up both
    llama_run(llm, prompt_ids, eos)
    for index in range(args.runs):
        order = (0, 1) if index % 2 == 0 else (1, 0)
        for which in order:
            if which == 0:
                atelier_runs.append(atelier_run(loaded, prompt_ids))
            else:
                llama_runs.append(llama_run(llm, prompt_ids, eos))
    a_ttft = statistics.median(r[0] for r in atelier_runs)
    a_tps = statistics.median(r[1] for r in atelier_runs)
    l_ttft = statistics.median(r[0] for r in llama_runs)
    l_tps = statistics.median(r[1] for r in llama_runs)
    print(
        f"prompt {len(prompt_ids)} tokens, {NEW_TOKENS} new tokens, {args.threads} threads, "
        f"median of {args.runs} interleaved runs"
    )
    del llm
    ours, theirs = perplexities(pack.folder, gguf, args.threads)
    rows = (("Atelier (genai)", a_tps, a_ttft, ours), ("llama.cpp (Q4_1 GGUF)", l_tps, l_ttft, theirs))
    print(f"pack: {pack.name}")
    for name, tps, ttft, ppl in rows:
        print(f"{name:<22} {tps:7.1f} tokens/s decode, first token {ttft * 1000:6.0f} ms, perplexity {ppl:.2f}")
    print(f"decode speed ratio (Atelier / llama.cpp): {a_tps / l_tps:.2f}x")
    print(f"time-to-first-token ratio (Atelier / llama.cpp): {a_ttft / l_ttft:.2f}x")
    print(f"perplexity ratio (Atelier / llama.cpp, lower is better): {ours / theirs:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
