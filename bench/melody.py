"""Benchmark: a melody for 16 bars of lyric (generation) and rendering it to audio, p50/p95.

Run: PYTHONPATH=desktop python bench/melody.py [--runs 30]
Peers timed in the same run, on the same notes:
  - generation: the 3-gram sampler from models/melody/evaluate.py (pure Python/numpy), drawing the
    same number of pitches; Atelier's time includes syllables, rhythm and the GRU on ONNX Runtime;
  - rendering: pretty_midi's own `PrettyMIDI.synthesize` (sine waves) on the same MIDI, against
    Atelier's tinysoundfont render with the TimGM6mb General MIDI soundfont.
Goal from the issue: generation p50 <= 100 ms on the CPU.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "desktop"))
sys.path.insert(0, str(REPO / "models" / "melody"))

# 16 bars in 4/4: eight lines of two bars each.
LYRIC = """[Verse]
I walked along the river in the light
The city humming softly like a song
And every window glowing in the night
Of someone waiting for the dawn

[Chorus]
Sing it to me, sing it slow
Everywhere the river goes
Sing it to me, sing it low
Carry me where the waters flow
"""


def percentiles(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


def timed(function: Callable[[int], object], runs: int) -> list[float]:
    function(0)  # warm-up: session creation, soundfont load, caches
    times = []
    for run in range(runs):
        started = time.perf_counter()
        function(run + 1)
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    import pretty_midi
    from evaluate import TrigramModel, load_tunes

    from atelier.audio.midi import melody_to_midi
    from atelier.audio.synth import render_melody
    from atelier.core.requests.melody import MelodyRequest, MelodyResult
    from atelier.core.settings import Settings
    from atelier.engine.runner import Engine

    engine = Engine(Settings(threads=1))

    def generate(seed: int) -> MelodyResult:
        result = engine.run_to_end(MelodyRequest(lyrics=LYRIC, seed=seed))
        assert isinstance(result, MelodyResult)
        return result

    melody = generate(0).variations[0]
    assert melody.bars == 16, melody.bars
    notes = len(melody.notes)

    corpus = Path("/tmp/melody-data/corpus.npz")
    trigram = None
    if corpus.exists():
        trigram = TrigramModel(load_tunes(corpus, 0))
        rows = np.zeros((notes, 4), np.int64)

    ours_generate = timed(generate, args.runs)
    peer_generate = (
        timed(lambda seed: trigram.sample([(rows, 0, 0)], np.random.default_rng(seed)), args.runs)
        if trigram is not None
        else None
    )
    ours_render = timed(lambda _: render_melody(melody, 44100), max(5, args.runs // 3))
    midi = melody_to_midi(melody)
    peer_render = timed(lambda _: midi.synthesize(fs=44100), max(5, args.runs // 3))

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"melody: 16 bars, {notes} notes, {melody.duration_seconds:.1f} s of music; "
        f"{args.runs} runs; CPU, 1 thread; load average {load:.1f} on {os.cpu_count()} cores"
    )
    g50, g95 = percentiles(ours_generate)
    print(
        f"generate (Atelier, GRU on ONNX Runtime): p50 {g50:.1f} ms, p95 {g95:.1f} ms "
        f"(goal p50 <= 100 ms: {'met' if g50 <= 100 else 'NOT met'})"
    )
    if peer_generate is not None:
        p50, p95 = percentiles(peer_generate)
        print(
            f"generate (peer: 3-gram sampler, same note count): p50 {p50:.1f} ms, p95 {p95:.1f} ms; "
            f"ratio Atelier/peer p50 {g50 / p50:.2f}x"
        )
    else:
        print("generate peer skipped: run models/melody/prepare_data.py first for the 3-gram's counts")
    r50, r95 = percentiles(ours_render)
    s50, s95 = percentiles(peer_render)
    print(f"render (Atelier, tinysoundfont + TimGM6mb): p50 {r50:.1f} ms, p95 {r95:.1f} ms")
    print(
        f"render (peer: pretty_midi.synthesize, sine waves): p50 {s50:.1f} ms, p95 {s95:.1f} ms; "
        f"ratio Atelier/peer p50 {r50 / s50:.2f}x"
    )
    print(f"pretty_midi {pretty_midi.__version__ if hasattr(pretty_midi, '__version__') else ''}".strip())


if __name__ == "__main__":
    main()
