"""Held-out evaluation of the shipped melody model against a 3-gram baseline and a random walk.

Run: PYTHONPATH=desktop python models/melody/evaluate.py [--data /tmp/melody-data/corpus.npz]
Measures, on the test tunes (5%, never trained or tuned on):
  - NLL per note of the pitch tokens (the ONNX step model, teacher-forced) vs an interpolated
    3-gram on the same tokens (weights tuned on the validation tunes);
  - from pitches sampled on the test tunes' own rhythms (temperature 1, no key masks): share of
    notes in the scale, share of phrase ends on a stable degree, pitch range per tune;
  - the lyric pipeline (what the app does): share of stressed syllables on beats.
Writes models/melody/eval_results.json.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import onnxruntime as ort

from atelier.core.music import (
    MODE_SCALES,
    MODES,
    PITCH_COUNT,
    PITCH_LOW,
    STABLE_DEGREES,
    START_TOKEN,
)

HERE = Path(__file__).resolve().parent
Tune = tuple[np.ndarray, int, int]  # rows (pitch, duration, strength, phrase end), mode, meter


def load_tunes(path: Path, split: int) -> list[Tune]:
    data = np.load(path)
    notes, offsets, meta = data["notes"].astype(np.int64), data["offsets"], data["meta"].astype(np.int64)
    return [
        (notes[offsets[i] : offsets[i + 1]], int(meta[i, 0]), int(meta[i, 1]))
        for i in np.flatnonzero(meta[:, 3] == split)
    ]


# -- the model ---------------------------------------------------------------------------------
class StepModel:
    def __init__(self, folder: Path) -> None:
        manifest = json.loads((folder / "pack.json").read_text())
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        self.session = ort.InferenceSession(
            str(folder / manifest["components"]["step"]), options, providers=["CPUExecutionProvider"]
        )
        self.layers, self.hidden = manifest["hidden_shape"]

    def run(self, feeds: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        log_probs, hidden = self.session.run(None, feeds)
        return log_probs, hidden

    def batch_feeds(self, tunes: list[Tune], t: int, previous: np.ndarray, hidden: np.ndarray) -> dict:
        def column(k: int) -> np.ndarray:
            return np.array([tune[0][min(t, len(tune[0]) - 1), k] for tune in tunes], np.int64)

        return {
            "prev_pitch": previous,
            "duration": column(1),
            "strength": column(2),
            "phrase_end": column(3),
            "mode": np.array([tune[1] for tune in tunes], np.int64),
            "meter": np.array([tune[2] for tune in tunes], np.int64),
            "hidden": hidden,
        }

    def nll(self, tunes: list[Tune]) -> tuple[float, int]:
        total, count = 0.0, 0
        hidden = np.zeros((self.layers, len(tunes), self.hidden), np.float32)
        previous = np.full(len(tunes), START_TOKEN, np.int64)
        lengths = np.array([len(t[0]) for t in tunes])
        for t in range(int(lengths.max())):
            log_probs, hidden = self.run(self.batch_feeds(tunes, t, previous, hidden))
            targets = np.array([tune[0][min(t, len(tune[0]) - 1), 0] for tune in tunes])
            live = lengths > t
            total -= float(log_probs[np.arange(len(tunes)), targets][live].sum())
            count += int(live.sum())
            previous = targets
        return total / count, count

    def sample(self, tunes: list[Tune], rng: np.random.Generator) -> list[np.ndarray]:
        hidden = np.zeros((self.layers, len(tunes), self.hidden), np.float32)
        previous = np.full(len(tunes), START_TOKEN, np.int64)
        lengths = np.array([len(t[0]) for t in tunes])
        out = np.zeros((len(tunes), int(lengths.max())), np.int64)
        for t in range(out.shape[1]):
            log_probs, hidden = self.run(self.batch_feeds(tunes, t, previous, hidden))
            gumbel = -np.log(-np.log(rng.uniform(1e-12, 1.0, log_probs.shape)))
            out[:, t] = np.argmax(log_probs + gumbel, axis=1)
            previous = out[:, t]
        return [out[i, : lengths[i]] for i in range(len(tunes))]


# -- the 3-gram baseline -------------------------------------------------------------------------
class TrigramModel:
    """Linear interpolation of 3-, 2- and 1-gram pitch-token models with add-k smoothing.

    With `rhythm=True` every context also holds the note's beat strength and phrase-end flag,
    the rhythm inputs the GRU gets, so the comparison isolates what the GRU adds beyond them.
    """

    def __init__(self, tunes: list[Tune], k: float = 0.1, rhythm: bool = False) -> None:
        self.k = k
        self.rhythm = rhythm
        self.tri: dict[tuple[int, ...], Counter[int]] = defaultdict(Counter)
        self.bi: dict[tuple[int, ...], Counter[int]] = defaultdict(Counter)
        self.uni: dict[tuple[int, ...], Counter[int]] = defaultdict(Counter)
        for rows, _, _ in tunes:
            for a, b, c, extra in self.contexts(rows):
                self.tri[(a, b, *extra)][c] += 1
                self.bi[(b, *extra)][c] += 1
                self.uni[extra][c] += 1
        self.weights = (0.6, 0.3, 0.1)

    def contexts(self, rows: np.ndarray) -> list[tuple[int, int, int, tuple[int, ...]]]:
        sequence = [START_TOKEN, START_TOKEN, *rows[:, 0].tolist()]
        out = []
        for t in range(len(rows)):
            extra = (int(rows[t, 2]), int(rows[t, 3])) if self.rhythm else ()
            out.append((sequence[t], sequence[t + 1], sequence[t + 2], extra))
        return out

    def distribution(self, a: int, b: int, extra: tuple[int, ...] = ()) -> np.ndarray:
        def smoothed(counter: Counter[int] | None) -> np.ndarray:
            counts = np.full(PITCH_COUNT, self.k)
            if counter:
                for token, n in counter.items():
                    counts[token] += n
            return counts / counts.sum()

        w3, w2, w1 = self.weights
        return (
            w3 * smoothed(self.tri.get((a, b, *extra)))
            + w2 * smoothed(self.bi.get((b, *extra)))
            + w1 * smoothed(self.uni.get(extra))
        )

    def nll(self, tunes: list[Tune]) -> tuple[float, int]:
        total, count = 0.0, 0
        for rows, _, _ in tunes:
            for a, b, c, extra in self.contexts(rows):
                total -= math.log(self.distribution(a, b, extra)[c])
                count += 1
        return total / count, count

    def tune_weights(self, tunes: list[Tune]) -> None:
        best = (math.inf, self.weights)
        for w3 in (0.4, 0.5, 0.6, 0.7, 0.8):
            for w1 in (0.02, 0.05, 0.1):
                self.weights = (w3, 1 - w3 - w1, w1)
                nll, _ = self.nll(tunes)
                best = min(best, (nll, self.weights))
        self.weights = best[1]

    def sample(self, tunes: list[Tune], rng: np.random.Generator) -> list[np.ndarray]:
        out = []
        for rows, _, _ in tunes:
            a, b, tokens = START_TOKEN, START_TOKEN, []
            for t in range(len(rows)):
                extra = (int(rows[t, 2]), int(rows[t, 3])) if self.rhythm else ()
                c = int(rng.choice(PITCH_COUNT, p=self.distribution(a, b, extra)))
                tokens.append(c)
                a, b = b, c
            out.append(np.array(tokens))
        return out


def random_walk(tunes: list[Tune], rng: np.random.Generator) -> list[np.ndarray]:
    """Chromatic steps of up to 3 semitones from the tonic, kept within the token range."""
    out = []
    for rows, _, _ in tunes:
        token, tokens = -PITCH_LOW, []
        for _ in range(len(rows)):
            token = int(np.clip(token + rng.integers(-3, 4), 0, PITCH_COUNT - 1))
            tokens.append(token)
        out.append(np.array(tokens))
    return out


# -- melody statistics ---------------------------------------------------------------------------
def melody_stats(tunes: list[Tune], pitches: list[np.ndarray]) -> dict[str, float]:
    in_scale = notes = stable = ends = 0
    ranges = []
    for (rows, mode, _), tokens in zip(tunes, pitches, strict=True):
        scale = MODE_SCALES[MODES[mode]] if mode < len(MODES) else MODE_SCALES["major"]
        degrees = (tokens + PITCH_LOW) % 12
        in_scale += int(np.isin(degrees, scale).sum())
        notes += len(tokens)
        phrase_ends = rows[:, 3] == 1
        stable_here = np.isin(degrees, list(STABLE_DEGREES)) & np.isin(degrees, scale)
        stable += int(stable_here[phrase_ends].sum())
        ends += int(phrase_ends.sum())
        ranges.append(int(tokens.max() - tokens.min()))
    return {
        "in_scale": in_scale / notes,
        "stable_phrase_ends": stable / max(1, ends),
        "pitch_range_mean": float(np.mean(ranges)),
        "pitch_range_median": float(np.median(ranges)),
    }


def lyric_alignment() -> dict[str, float]:
    """The app's lyric pipeline: where do stressed syllables land?"""
    from atelier.core.lyric_rhythm import line_rhythm
    from atelier.core.lyric_syllables import PRIMARY, parse_lyric
    from atelier.core.music import parse_meter

    lyric = (HERE / "eval_lyric.txt").read_text(encoding="utf-8")
    results: dict[str, float] = {}
    for meter_name in ("4/4", "3/4", "6/8"):
        meter = parse_meter(meter_name)
        on_beat = strong = total = 0
        for section in parse_lyric(lyric):
            for line in section.lines:
                rhythm = line_rhythm(line.syllables, meter)
                for syllable, start in zip(line.syllables, rhythm.starts, strict=True):
                    if syllable.stress == PRIMARY:
                        total += 1
                        on_beat += meter.strength(start) >= 1
                        strong += meter.strength(start) >= 2
        results[f"stressed_on_beat_{meter_name}"] = on_beat / total
        results[f"stressed_on_strong_beat_{meter_name}"] = strong / total
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default="/tmp/melody-data/corpus.npz")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    data = Path(args.data)
    train, valid, test = (load_tunes(data, split) for split in (0, 1, 2))
    model = StepModel(HERE)
    trigram = TrigramModel(train)
    trigram.tune_weights(valid)
    rhythm_trigram = TrigramModel(train, rhythm=True)
    rhythm_trigram.tune_weights(valid)
    model_nll, count = model.nll(test)
    trigram_nll, _ = trigram.nll(test)
    rhythm_trigram_nll, _ = rhythm_trigram.nll(test)
    rng = np.random.default_rng(args.seed)
    real = [rows[:, 0] for rows, _, _ in test]
    samples = {
        "held-out tunes": real,
        "GRU (this model)": model.sample(test, rng),
        "3-gram": trigram.sample(test, rng),
        "3-gram + beat strength, phrase end": rhythm_trigram.sample(test, rng),
        "random walk": random_walk(test, rng),
    }
    results = {
        "test_tunes": len(test),
        "test_notes": count,
        "nll_per_note": {
            "model": model_nll,
            "trigram": trigram_nll,
            "trigram_with_rhythm": rhythm_trigram_nll,
            "uniform": math.log(PITCH_COUNT),
        },
        "nll_reduction_vs_trigram": 1 - model_nll / trigram_nll,
        "nll_reduction_vs_trigram_with_rhythm": 1 - model_nll / rhythm_trigram_nll,
        "trigram_weights": list(trigram.weights),
        "trigram_with_rhythm_weights": list(rhythm_trigram.weights),
        "sampled": {name: melody_stats(test, pitches) for name, pitches in samples.items()},
        "lyric_alignment": lyric_alignment(),
    }
    (HERE / "eval_results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"test: {len(test)} tunes, {count} notes")
    reduction = results["nll_reduction_vs_trigram"]
    print(f"NLL/note: model {model_nll:.3f}, 3-gram {trigram_nll:.3f} ({reduction:.1%} lower)")
    reduction = results["nll_reduction_vs_trigram_with_rhythm"]
    print(f"NLL/note: 3-gram with beat strength and phrase end {rhythm_trigram_nll:.3f} ({reduction:.1%} lower)")
    print("| melodies | in scale | phrase ends on a stable degree | pitch range (semitones, mean / median) |")
    print("| --- | --- | --- | --- |")
    for name, stats in results["sampled"].items():
        print(
            f"| {name} | {stats['in_scale']:.1%} | {stats['stable_phrase_ends']:.1%} | "
            f"{stats['pitch_range_mean']:.1f} / {stats['pitch_range_median']:.0f} |"
        )
    print(json.dumps(results["lyric_alignment"], indent=2))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
