"""Chords for a melody (core.music.harmonize): one a bar, in the key, chosen to fit the notes; saved with it."""

from __future__ import annotations

import json
import random

import pytest

from atelier.core.music import (
    CHORD_DEGREES,
    DOMINANT,
    MODE_SCALES,
    MODES,
    NOTE_NAMES,
    Chord,
    harmonize,
    parse_meter,
    tonic_pitch_class,
)
from atelier.core.requests.melody import Melody, MelodyNote


def bar_notes(bars: list[list[int]], beats: int = 4) -> list[tuple[int, float, float, int]]:
    """Quarter notes, `beats` a bar, the first of each bar stressed."""
    notes = []
    for index, pitches in enumerate(bars):
        for beat, pitch in enumerate(pitches):
            notes.append((pitch, float(index * beats + beat), 1.0, 2 if beat == 0 else 0))
    return notes


def test_a_melody_that_outlines_i_iv_v_i_gets_those_chords() -> None:
    # C E G E | F A C A | G B D B | C: the melody spells each chord.
    notes = bar_notes([[60, 64, 67, 64], [65, 69, 72, 69], [67, 71, 74, 71], [72, 67, 64, 60]])
    chords = harmonize(notes, "C", "major", parse_meter("4/4"), 16.0, {3})
    assert [c.numeral for c in chords] == ["I", "IV", "V", "I"]
    assert [c.name for c in chords] == ["C", "F", "G", "C"]
    # The same tune in A minor's relative terms: a i-iv-v... spelled a minor third lower.
    minor = [(p - 3, s, d, st) for p, s, d, st in notes]
    chords = harmonize(minor, "A", "minor", parse_meter("4/4"), 16.0, {3})
    assert [c.name for c in chords] == ["Am", "Dm", "E", "Am"]  # the borrowed major V before the cadence
    assert chords[2].numeral == "V"


def test_the_tonic_opens_and_closes_an_ambiguous_tune() -> None:
    # Only the fifth, G, all song long: I and V both hold it; the tonic wins at both ends.
    notes = bar_notes([[67] * 4] * 4)
    chords = harmonize(notes, "C", "major", parse_meter("4/4"), 16.0, {3})
    assert chords[0].numeral == "I" and chords[-1].numeral == "I"


def random_tune(rng: random.Random, key: str, mode: str, bars: int, bar: float) -> list[tuple[int, float, float, int]]:
    tonic = 60 + tonic_pitch_class(key)
    scale = MODE_SCALES[mode]
    notes, time = [], 0.0
    while time < bars * bar - 1:
        duration = rng.choice([0.5, 1.0, 1.0, 1.5, 2.0])
        pitch = tonic + rng.choice(scale) + rng.choice([-12, 0, 0, 12])
        notes.append((pitch, time, duration, rng.choice([0, 2])))
        time += duration
    return notes


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("meter", ["4/4", "3/4", "6/8"])
def test_every_chord_is_in_key_and_one_sits_under_each_bar(mode: str, meter: str) -> None:
    rng = random.Random(f"{mode}{meter}")
    parsed = parse_meter(meter)
    bar = float(parsed.bar_quarters)
    borrowed = {d.numeral for d in CHORD_DEGREES[mode] if d.borrowed}
    for trial in range(12):
        key = NOTE_NAMES[trial]
        bars = rng.randint(2, 12)
        notes = random_tune(rng, key, mode, bars, bar)
        phrase_ends = {b for b in range(bars) if b % 4 == 3}
        chords = harmonize(notes, key, mode, parsed, bars * bar, phrase_ends)
        tonic = tonic_pitch_class(key)
        scale = {(tonic + step) % 12 for step in MODE_SCALES[mode]}
        assert [c.start for c in chords] == [i * bar for i in range(bars)]
        assert all(c.duration == bar for c in chords)
        last_note_bar = int(max(n[1] for n in notes) // bar)
        for index, chord in enumerate(chords):
            assert chord.root in scale, (key, mode, chord)
            if chord.numeral in borrowed:
                # Minor's major V (its third is the raised seventh) only leads into a cadence.
                assert mode == "minor" and chord.quality == "major" and chord.root == (tonic + 7) % 12
                assert index + 1 in phrase_ends or index == last_note_bar - 1
            else:
                assert set(chord.tones) <= scale, (key, mode, chord)


def test_chords_follow_the_melody_better_than_a_fixed_loop() -> None:
    rng = random.Random(5)
    tone_share = {"harmonized": 0.0, "loop": 0.0}
    for _ in range(20):
        notes = random_tune(rng, "D", "major", 8, 4.0)
        chords = harmonize(notes, "D", "major", parse_meter("4/4"), 32.0, {3, 7})
        loop = [
            Chord((2 + root) % 12, q, n, i * 4.0, 4.0)
            for i, (root, q, n) in enumerate(
                [(0, "major", "I"), (7, "major", "V"), (9, "minor", "vi"), (5, "major", "IV")] * 2
            )
        ]
        for name, under in (("harmonized", chords), ("loop", loop)):
            heard = sum(d for p, s, d, _ in notes if p % 12 in under[int(s // 4)].tones)
            tone_share[name] += heard / sum(d for _, _, d, _ in notes)
    assert tone_share["harmonized"] > tone_share["loop"] + 2.0  # over 20 tunes: 10 points more on average


def test_a_dominant_leads_into_the_final_tonic() -> None:
    # D F A F | B D G D (a V with its seventh spelled) | C: V - I at the end.
    notes = bar_notes([[62, 65, 69, 65], [71, 74, 67, 74], [72, 72, 72, 72]])
    chords = harmonize(notes, "C", "major", parse_meter("4/4"), 12.0, {2})
    functions = {d.numeral: d.function for d in CHORD_DEGREES["major"]}
    assert functions[chords[1].numeral] == DOMINANT and chords[2].numeral == "I"


def melody() -> Melody:
    notes = tuple(
        MelodyNote(p, float(i), 1.0, "la", i // 4, 2 if i % 4 == 0 else 0)
        for i, p in enumerate([60, 64, 67, 64, 65, 69, 72, 69, 67, 71, 74, 71, 72, 67, 64, 60])
    )
    return Melody(notes, ("la la", "la la", "la la", "la la"), tuple((i * 4.0, i * 4.0 + 4.0) for i in range(4)))


def test_a_melody_keeps_its_chords_when_saved_and_an_old_save_gets_them() -> None:
    harmonized = melody().with_chords()
    assert [c.name for c in harmonized.chords] == ["C", "F", "G", "C"]
    assert harmonized.chord_at(5.5) == harmonized.chords[1] and harmonized.chord_at(99.0) is None
    saved = json.loads(json.dumps(harmonized.to_dict()))
    assert Melody.from_dict(saved) == harmonized
    old = {k: v for k, v in saved.items() if k not in ("chords", "chord_program")}
    assert Melody.from_dict(old).chords == harmonized.chords
    damaged = {**saved, "chords": [[0, "augmented-ish", "I", 0.0, 4.0]]}
    with pytest.raises(Exception, match="could not be read"):
        Melody.from_dict(damaged)
