"""Shared musical vocabulary: keys, modes, meters, beat strengths and the melody model's tokens.

The training scripts (models/melody) and the engine's melody task both import this module, so
a note means the same thing when the model is trained as when it is sampled.
"""

from __future__ import annotations

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
