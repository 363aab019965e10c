"""How well the melody's chords fit it: the shipped harmonizer against simple ways of choosing chords.

Run: PYTHONPATH=desktop python models/melody/evaluate_chords.py [--seeds 10]
Generates melodies for a test lyric with the shipped pack (keys, modes and meters below, several
seeds) and measures, for each way of choosing one chord a bar:
  - chord-tone share: of the melody's note weight (length, more on strong beats and stressed
    syllables, as the harmonizer weighs it), how much is a tone of the bar's chord;
  - clash share: how much is a semitone from a chord tone (the rub a listener hears as wrong);
  - songs starting on the tonic chord and ending on it (the bar of the last note), and with a
    dominant in the bar before that one;
  - distinct chords a song (one chord all song long is "correct" and dull).
Baselines: the tonic chord in every bar; the I-V-vi-IV loop (its mode's equivalent); a random
chord of the mode's family each bar (seeded).
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable

from atelier.core.music import CHORD_DEGREES, DOMINANT, TONIC, Chord, parse_meter, tonic_pitch_class
from atelier.core.requests.melody import Melody, MelodyRequest, MelodyResult
from atelier.engine.runner import Engine

LYRIC = """[Verse]
I walked along the river in the evening light
The city humming softly like a lullaby
The lanterns swaying gently on the quay
A melody relentless as the rain

[Chorus]
Sing it to me, sing it slow
Everywhere the river goes
Quiet now the lights are low
Sing it to me, let it go

[Verse]
I heard your voice across the water late at night
The bridges shining silver in the pouring rain
I followed every echo to the harbour wall
And waited for the morning and the tide

[Chorus]
Sing it to me, sing it slow
Everywhere the river goes
Quiet now the lights are low
Sing it to me, let it go
"""
SETTINGS = [
    ("C", "major", "4/4"),
    ("G", "major", "3/4"),
    ("A", "minor", "4/4"),
    ("E", "minor", "6/8"),
    ("D", "dorian", "4/4"),
    ("G", "mixolydian", "4/4"),
]
LOOP = {
    "major": ("I", "V", "vi", "IV"),
    "minor": ("i", "VII", "VI", "VII"),
    "dorian": ("i", "IV", "i", "VII"),
    "mixolydian": ("I", "bVII", "IV", "I"),
}


def chords_from(melody: Melody, numerals: list[str]) -> tuple[Chord, ...]:
    degrees = {d.numeral: d for d in CHORD_DEGREES[melody.mode] if not d.borrowed}
    tonic = tonic_pitch_class(melody.key)
    bar = float(parse_meter(melody.meter).bar_quarters)
    return tuple(
        Chord((tonic + degrees[n].root) % 12, degrees[n].quality, n, i * bar, bar) for i, n in enumerate(numerals)
    )


def tonic_only(melody: Melody, _rng: random.Random) -> tuple[Chord, ...]:
    return chords_from(melody, [CHORD_DEGREES[melody.mode][0].numeral] * len(melody.chords))


def loop(melody: Melody, _rng: random.Random) -> tuple[Chord, ...]:
    return chords_from(melody, [LOOP[melody.mode][i % 4] for i in range(len(melody.chords))])


def random_family(melody: Melody, rng: random.Random) -> tuple[Chord, ...]:
    names = [d.numeral for d in CHORD_DEGREES[melody.mode] if not d.borrowed]
    return chords_from(melody, [rng.choice(names) for _ in melody.chords])


def shipped(melody: Melody, _rng: random.Random) -> tuple[Chord, ...]:
    return melody.chords


WAYS: dict[str, Callable[[Melody, random.Random], tuple[Chord, ...]]] = {
    "tonic chord every bar": tonic_only,
    "I-V-vi-IV loop (mode's equivalent)": loop,
    "random chord of the family": random_family,
    "shipped harmonizer": shipped,
}


def measure(melody: Melody, chords: tuple[Chord, ...]) -> dict[str, float]:
    tone = clash = total = 0.0
    for note in melody.notes:
        for chord in chords:
            heard = min(note.end, chord.end) - max(note.start, chord.start)
            if heard <= 0:
                continue
            onset = chord.start <= note.start < chord.end
            weight = heard * ((1.0 + 0.5 * (note.stress > 0) + 0.5 * (note.start == chord.start)) if onset else 0.5)
            pc = note.pitch % 12
            total += weight
            if pc in chord.tones:
                tone += weight
            elif (pc + 1) % 12 in chord.tones or (pc - 1) % 12 in chord.tones:
                clash += weight
    functions = {d.numeral: d.function for d in CHORD_DEGREES[melody.mode]}
    cadence = int(melody.notes[-1].start // chords[0].duration)  # the bar of the last note
    return {
        "tone": tone / total,
        "clash": clash / total,
        "tonic_ends": float(functions[chords[0].numeral] == TONIC and functions[chords[cadence].numeral] == TONIC),
        "dominant_before_last": float(cadence > 0 and functions[chords[cadence - 1].numeral] == DOMINANT),
        "distinct": float(len({c.numeral for c in chords})),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    args = parser.parse_args()
    engine = Engine()
    melodies: list[Melody] = []
    for key, mode, meter in SETTINGS:
        for seed in range(args.seeds):
            request = MelodyRequest(lyrics=LYRIC, key=key, mode=mode, meter=meter, seed=seed)
            result = engine.run_to_end(request)
            assert isinstance(result, MelodyResult)
            melodies.extend(result.variations)
    print(
        f"{len(melodies)} melodies ({len(SETTINGS)} key/mode/meter settings x {args.seeds} seeds), "
        f"{sum(len(m.chords) for m in melodies)} bars"
    )
    print(f"{'way':38s} {'chord tones':>11s} {'clashes':>8s} {'I..I':>6s} {'V-I':>6s} {'distinct':>9s}")
    for name, way in WAYS.items():
        rng = random.Random(0)
        rows = [measure(m, way(m, rng)) for m in melodies]
        mean = {k: sum(r[k] for r in rows) / len(rows) for k in rows[0]}
        print(
            f"{name:38s} {mean['tone']:>11.1%} {mean['clash']:>8.1%} {mean['tonic_ends']:>6.0%} "
            f"{mean['dominant_before_last']:>6.0%} {mean['distinct']:>9.1f}"
        )


if __name__ == "__main__":
    main()
