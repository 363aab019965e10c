"""The ABC reader that turns the training corpus into notes (models/melody/abc_reader.py)."""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "models" / "melody"))

from abc_reader import parse_key, read_abc

TUNE = """X:1
T:Test tune
M:6/8
L:1/8
K:D
A|"D"d2f {g}a>f d|(3efg e- e2 z|[Ac]2 ^c =c _B, B|
d'3 d3||
"""


def test_key_signatures_with_modes() -> None:
    assert parse_key("D").accidentals == {"F": 1, "C": 1}  # type: ignore[union-attr]
    assert parse_key("Ddor").accidentals == {}  # type: ignore[union-attr]
    assert parse_key("Ador").accidentals == {"F": 1}  # type: ignore[union-attr]
    assert parse_key("Gm").accidentals == {"B": -1, "E": -1}  # type: ignore[union-attr]
    assert parse_key("Bb").mode == "major"  # type: ignore[union-attr]
    assert parse_key("Emix").mode == "mixolydian"  # type: ignore[union-attr]
    assert parse_key("none") is None


def test_notes_lengths_positions_and_phrase_ends() -> None:
    (tune,) = list(read_abc(TUNE))
    assert tune.title == "Test tune" and tune.mode == "major" and tune.tonic_pc == 2
    midis = [n.midi for n in tune.notes]
    # Pickup A, then d f# a (grace g skipped) f# d, a triplet e f# g, a tied e, chord top c#,
    # ^c, =c natural, then _B, (B flat, low octave).
    assert midis[:6] == [69, 74, 78, 81, 78, 74]
    assert midis[6:9] == [76, 78, 79]
    assert midis[9] == 76
    assert midis[10] == 73  # [Ac] -> the top note, c# from the key
    assert midis[11:14] == [73, 72, 58]
    lengths = [n.quarters for n in tune.notes]
    assert lengths[0] == Fraction(1, 2)
    assert lengths[1] == 1
    assert lengths[3] == Fraction(3, 4) and lengths[4] == Fraction(1, 4)  # a>f
    assert lengths[6:9] == [Fraction(1, 3)] * 3
    assert lengths[9] == Fraction(3, 2)  # e- e2 tied
    # The pickup sits at the end of a bar, the next note on the downbeat.
    assert tune.notes[0].position == Fraction(5, 2) and tune.notes[1].position == 0
    assert tune.notes[9].phrase_end  # a rest follows
    assert tune.notes[-2].midi == 86 and tune.notes[-1].phrase_end
