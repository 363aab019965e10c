"""Shared musical vocabulary: keys, modes, meters, beat strengths, chords and the melody model's tokens.

The training scripts (models/melody) and the engine's melody task both import this module, so
a note means the same thing when the model is trained as when it is sampled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

# Semitones of each mode's scale above its tonic.
MODE_SCALES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
}
MODES: tuple[str, ...] = tuple(MODE_SCALES)
# The model also saw tunes in rarer modes (phrygian, lydian, ...) under this id.
MODE_IDS: dict[str, int] = {name: index for index, name in enumerate(MODES)} | {"other": len(MODES)}
MODE_COUNT = len(MODE_IDS)

# Degrees a phrase may rest on: tonic, third and fifth (as semitones above the tonic).
STABLE_DEGREES = frozenset({0, 3, 4, 7})

NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_LETTER_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
KEYS: tuple[str, ...] = NOTE_NAMES


def tonic_pitch_class(key: str) -> int:
    """'C', 'F#', 'Bb', 'eb' -> pitch class 0..11; raises ValueError for anything else."""
    text = key.strip()
    if not text or text[0].upper() not in _LETTER_PC:
        raise ValueError(f"'{key}' is not a key name (use C, D, Eb, F#, ...).")
    pc = _LETTER_PC[text[0].upper()]
    for char in text[1:]:
        if char in "#♯":
            pc += 1
        elif char in "b♭":
            pc -= 1
        else:
            raise ValueError(f"'{key}' is not a key name (use C, D, Eb, F#, ...).")
    return pc % 12


@dataclass(frozen=True)
class Meter:
    """A time signature with the beat grouping that decides which positions are strong."""

    numerator: int
    denominator: int

    @property
    def name(self) -> str:
        return f"{self.numerator}/{self.denominator}"

    @property
    def bar_quarters(self) -> Fraction:
        return Fraction(4 * self.numerator, self.denominator)

    @property
    def compound(self) -> bool:
        return self.denominator == 8 and self.numerator % 3 == 0 and self.numerator > 3

    @property
    def beat_quarters(self) -> Fraction:
        return Fraction(3, 2) if self.compound else Fraction(4, self.denominator)

    @property
    def beats(self) -> int:
        return int(self.bar_quarters / self.beat_quarters)

    def strength(self, position: Fraction) -> int:
        """3 on the downbeat, 2 on the mid-bar beat, 1 on other beats, 0 between beats."""
        return _beat_strength(self, Fraction(position) % self.bar_quarters)

    def slot_strengths(self, slot: Fraction, count: int) -> list[int]:
        """Strengths of `count` grid positions `slot` apart, from a downbeat."""
        per_bar = _bar_strengths(self, slot)
        return [per_bar[i % len(per_bar)] for i in range(count)]


# Cached: rhythm planning and sampling ask for the same few positions thousands of times, and
# Fraction arithmetic is slow enough to matter in the 100 ms budget for a song.
@lru_cache(maxsize=4096)
def _beat_strength(meter: Meter, position: Fraction) -> int:
    if position == 0:
        return 3
    beat, remainder = divmod(position, meter.beat_quarters)
    if remainder != 0:
        return 0
    if meter.beats >= 2 and meter.beats % 2 == 0 and beat == meter.beats // 2:
        return 2
    return 1


@lru_cache(maxsize=64)
def _bar_strengths(meter: Meter, slot: Fraction) -> tuple[int, ...]:
    return tuple(meter.strength(i * slot) for i in range(int(meter.bar_quarters / slot)))


METERS: tuple[str, ...] = ("4/4", "3/4", "2/4", "6/8", "9/8", "12/8", "3/8")
METER_IDS: dict[str, int] = {name: index for index, name in enumerate(METERS)} | {"other": len(METERS)}
METER_COUNT = len(METER_IDS)


def parse_meter(text: str) -> Meter:
    try:
        numerator, denominator = (int(part) for part in text.strip().split("/"))
    except ValueError:
        raise ValueError(f"'{text}' is not a meter (use 4/4, 3/4, 6/8, ...).") from None
    if numerator <= 0 or denominator not in (1, 2, 4, 8, 16):
        raise ValueError(f"'{text}' is not a meter (use 4/4, 3/4, 6/8, ...).")
    return Meter(numerator, denominator)


def meter_id(meter: Meter) -> int:
    name = "4/4" if meter.name == "2/2" else meter.name
    return METER_IDS.get(name, METER_IDS["other"])


# Note lengths in quarter notes; a duration is stored as the nearest of these.
DURATIONS: tuple[Fraction, ...] = tuple(Fraction(x) for x in ("1/4", "1/3", "1/2", "3/4", "1", "3/2", "2", "3", "4"))
DURATION_COUNT = len(DURATIONS)
STRENGTH_COUNT = 4


_DURATION_VALUES = tuple(float(d) for d in DURATIONS)


@lru_cache(maxsize=1024)
def duration_class(quarters: Fraction | float) -> int:
    value = float(quarters)
    return min(range(DURATION_COUNT), key=lambda i: abs(_DURATION_VALUES[i] - value))


# Pitch tokens: semitones from the tonic placed in the octave from middle C (C4..B4).
PITCH_LOW = -12
PITCH_HIGH = 24
PITCH_COUNT = PITCH_HIGH - PITCH_LOW + 1  # model outputs
START_TOKEN = PITCH_COUNT  # input before the first note
PITCH_INPUT_COUNT = PITCH_COUNT + 1


def tonic_midi(tonic_pc: int) -> int:
    return 60 + tonic_pc % 12


def pitch_token(midi: int, tonic_pc: int) -> int | None:
    relative = midi - tonic_midi(tonic_pc)
    if not PITCH_LOW <= relative <= PITCH_HIGH:
        return None
    return relative - PITCH_LOW


def token_midi(token: int, tonic_pc: int) -> int:
    return tonic_midi(tonic_pc) + token + PITCH_LOW


def in_scale(relative: int, mode: str) -> bool:
    return relative % 12 in MODE_SCALES.get(mode, MODE_SCALES["major"])


# -- chords -----------------------------------------------------------------------------------
MAJOR, MINOR, DIMINISHED = "major", "minor", "diminished"
_TRIAD = {MAJOR: (0, 4, 7), MINOR: (0, 3, 7), DIMINISHED: (0, 3, 6)}
_SUFFIX = {MAJOR: "", MINOR: "m", DIMINISHED: "dim"}
TONIC, TONIC_SUBSTITUTE, SUBDOMINANT, DOMINANT = "T", "t", "S", "D"


@dataclass(frozen=True)
class ChordDegree:
    """A chord a mode offers: its root in semitones above the tonic, quality, numeral and function."""

    root: int
    quality: str
    numeral: str
    function: str
    borrowed: bool = False  # a tone outside the mode's scale (minor's major V: the raised leading note)
    common: bool = True  # one of the I-IV-V-vi family (or its equivalent); others are used a little less


# The I-IV-V-vi family and each mode's equivalents. Minor borrows the major V of harmonic minor for its
# cadences (its third is the raised seventh, outside the natural minor scale); nothing else is borrowed.
CHORD_DEGREES: dict[str, tuple[ChordDegree, ...]] = {
    "major": (
        ChordDegree(0, MAJOR, "I", TONIC),
        ChordDegree(5, MAJOR, "IV", SUBDOMINANT),
        ChordDegree(7, MAJOR, "V", DOMINANT),
        ChordDegree(9, MINOR, "vi", TONIC_SUBSTITUTE),
        ChordDegree(2, MINOR, "ii", SUBDOMINANT, common=False),
    ),
    "minor": (
        ChordDegree(0, MINOR, "i", TONIC),
        ChordDegree(5, MINOR, "iv", SUBDOMINANT),
        ChordDegree(7, MINOR, "v", DOMINANT),
        ChordDegree(8, MAJOR, "VI", SUBDOMINANT),
        ChordDegree(3, MAJOR, "III", TONIC_SUBSTITUTE),
        ChordDegree(10, MAJOR, "VII", DOMINANT),
        ChordDegree(7, MAJOR, "V", DOMINANT, borrowed=True, common=False),
    ),
    "dorian": (
        ChordDegree(0, MINOR, "i", TONIC),
        ChordDegree(5, MAJOR, "IV", SUBDOMINANT),
        ChordDegree(7, MINOR, "v", DOMINANT),
        ChordDegree(3, MAJOR, "III", TONIC_SUBSTITUTE),
        ChordDegree(10, MAJOR, "VII", DOMINANT),
        ChordDegree(2, MINOR, "ii", SUBDOMINANT, common=False),
    ),
    "mixolydian": (
        ChordDegree(0, MAJOR, "I", TONIC),
        ChordDegree(5, MAJOR, "IV", SUBDOMINANT),
        ChordDegree(10, MAJOR, "bVII", DOMINANT),
        ChordDegree(7, MINOR, "v", DOMINANT),
        ChordDegree(9, MINOR, "vi", TONIC_SUBSTITUTE),
        ChordDegree(2, MINOR, "ii", SUBDOMINANT, common=False),
    ),
}


@dataclass(frozen=True)
class Chord:
    """The chord of one bar: root pitch class, quality, its numeral in the key, and when it sounds."""

    root: int  # pitch class 0..11
    quality: str
    numeral: str
    start: float  # quarters from the start of the song
    duration: float  # quarters
    root_name: str = ""  # the root spelled in the key ("Db" in Eb minor, "C#" in A major); "" = NOTE_NAMES

    @property
    def name(self) -> str:
        return (self.root_name or NOTE_NAMES[self.root]) + _SUFFIX[self.quality]

    @property
    def tones(self) -> tuple[int, ...]:
        """Pitch classes of the triad, root first."""
        return tuple((self.root + step) % 12 for step in _TRIAD[self.quality])

    @property
    def end(self) -> float:
        return self.start + self.duration


# Instruments the chords can be played on (General MIDI programmes; -1: chords shown, not played).
ACCOMPANIMENTS: dict[str, int] = {"pad": 89, "piano": 0, "strings": 48, "guitar": 24, "none": -1}

# How one chord's function leads to the next (added to the score of the pair); a chord that stays
# gets STAY. Dominant to tonic is the strongest move, dominant back to subdominant the weakest.
_LEADS = {
    (TONIC, SUBDOMINANT): 0.2,
    (TONIC, DOMINANT): 0.1,
    (TONIC, TONIC_SUBSTITUTE): 0.1,
    (TONIC_SUBSTITUTE, SUBDOMINANT): 0.25,
    (SUBDOMINANT, DOMINANT): 0.3,
    (SUBDOMINANT, TONIC): 0.1,
    (DOMINANT, TONIC): 0.5,
    (DOMINANT, TONIC_SUBSTITUTE): 0.2,
    (DOMINANT, SUBDOMINANT): -0.2,
}
STAY = 0.15
CHORD_TONE, PASSING_TONE, CLASH = 1.0, -0.5, -0.9  # melody weight on a chord tone, a scale tone, a semitone off


_LETTERS = "CDEFGAB"
_ACCIDENTALS = {0: "", 1: "#", 2: "##", 11: "b", 10: "bb"}


def spell(key: str, mode: str, semitones: int) -> str:
    """The note `semitones` above the key's tonic, spelled as the key's scale spells it: a degree of the
    scale takes the letter of that degree (in Eb minor the seventh is Db, not C#)."""
    scale = MODE_SCALES.get(mode, MODE_SCALES["major"])
    tonic = tonic_pitch_class(key)
    step = semitones % 12
    degree = scale.index(step) if step in scale else min(range(7), key=lambda d: abs(scale[d] - step))
    letter = _LETTERS[(_LETTERS.index(key.strip()[0].upper()) + degree) % 7]
    accidental = _ACCIDENTALS.get((tonic + step - _LETTER_PC[letter]) % 12)
    return letter + accidental if accidental is not None else NOTE_NAMES[(tonic + step) % 12]


NoteLike = tuple[int, float, float, int]  # (MIDI pitch, start, duration in quarters, stress)


def bar_fit(notes: list[NoteLike], bar_start: float, bar_end: float, tones: tuple[int, ...]) -> float:
    """How well a chord of `tones` fits the melody in one bar, -1..1 (0 when the bar is silent).

    Notes weigh by how long they sound in the bar, more when they start on a strong beat or carry a
    stressed syllable; a note held over from the bar before weighs half.
    """
    total = score = 0.0
    for pitch, start, duration, stress in notes:
        heard = min(start + duration, bar_end) - max(start, bar_start)
        if heard <= 0:
            continue
        emphasis = 1.0 + 0.5 * (stress > 0) + 0.5 * (start == bar_start) if start >= bar_start else 0.5
        weight = heard * emphasis
        pc = pitch % 12
        if pc in tones:
            value = CHORD_TONE
        elif (pc + 1) % 12 in tones or (pc - 1) % 12 in tones:
            value = CLASH
        else:
            value = PASSING_TONE
        total += weight
        score += weight * value
    return score / total if total else 0.0


def harmonize(
    notes: list[NoteLike], key: str, mode: str, meter: Meter, total_quarters: float, phrase_ends: set[int]
) -> tuple[Chord, ...]:
    """One chord per bar from the mode's I-IV-V-vi family, chosen together (a Viterbi path) for the best
    fit to the melody: chord tones under the long and stressed notes, the tonic first and last, a
    dominant before the final bar, tonic or dominant at the end of each phrase (`phrase_ends`: bars)."""
    degrees = CHORD_DEGREES.get(mode, CHORD_DEGREES["major"])
    tonic = tonic_pitch_class(key)
    bar = float(meter.bar_quarters)
    bars = max(1, math.ceil(total_quarters / bar - 1e-9))
    # The cadence is where the last note starts; silent bars after it hold the tonic.
    last = min(bars - 1, int(max((n[1] for n in notes), default=0.0) // bar))
    tones = [tuple((tonic + d.root + s) % 12 for s in _TRIAD[d.quality]) for d in degrees]
    by_bar: list[list[NoteLike]] = [[] for _ in range(bars)]
    for note in notes:
        first = int(note[1] // bar)
        for index in range(max(0, first), min(bars, math.ceil((note[1] + note[2]) / bar - 1e-9))):
            by_bar[index].append(note)

    def own_score(index: int, d: int) -> float:
        degree = degrees[d]
        score = bar_fit(by_bar[index], index * bar, (index + 1) * bar, tones[d]) - 0.1 * (not degree.common)
        is_tonic = degree.function == TONIC
        if index == 0:
            score += 1.0 * is_tonic
        if index >= last:
            score += 1.5 * is_tonic
        elif index == last - 1 and degree.function == DOMINANT:
            score += 0.5
        elif index in phrase_ends:
            score += 0.4 * is_tonic + 0.3 * (degree.function == DOMINANT)
        if index + 1 in phrase_ends and degree.function == DOMINANT:
            score += 0.2
        if degree.borrowed and not (index == last - 1 or index + 1 in phrase_ends):
            score -= 1.0  # the borrowed dominant only leads into a cadence
        return score

    def lead(a: int, b: int) -> float:
        if a == b:
            return STAY
        return _LEADS.get((degrees[a].function, degrees[b].function), 0.0)

    count = len(degrees)
    best = [own_score(0, d) for d in range(count)]
    back: list[list[int]] = []
    for index in range(1, bars):
        row, choices = [], []
        for d in range(count):
            came = max(range(count), key=lambda p: best[p] + lead(p, d))
            row.append(best[came] + lead(came, d) + own_score(index, d))
            choices.append(came)
        best = row
        back.append(choices)
    path = [max(range(count), key=lambda d: best[d])]
    for choices in reversed(back):
        path.append(choices[path[-1]])
    path.reverse()
    return tuple(
        Chord(
            (tonic + degrees[d].root) % 12,
            degrees[d].quality,
            degrees[d].numeral,
            index * bar,
            bar,
            spell(key, mode, degrees[d].root),
        )
        for index, d in enumerate(path)
    )
