"""A melody for the lyric's words: the request (key, mode, tempo, ...) and the melodies it returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from atelier.core.errors import InvalidRequestError
from atelier.core.lyric_syllables import parse_lyric
from atelier.core.music import METERS, MODES, parse_meter, tonic_pitch_class
from atelier.core.requests import Lane, Request, Result

MAX_VARIATIONS = 8


@dataclass(frozen=True)
class MelodyNote:
    pitch: int  # MIDI note number
    start: float  # quarter notes from the start of the song
    duration: float  # quarter notes
    syllable: str
    line: int  # index of the lyric line (over the whole song)
    stress: int = 0
    first_of_word: bool = True

    @property
    def end(self) -> float:
        return self.start + self.duration


@dataclass(frozen=True)
class Melody:
    """One melody for the whole lyric; `line_spans` are each line's (start, end) in quarters."""

    notes: tuple[MelodyNote, ...]
    lines: tuple[str, ...]
    line_spans: tuple[tuple[float, float], ...]
    key: str = "C"
    mode: str = "major"
    meter: str = "4/4"
    tempo: float = 96.0
    program: int = 0
    seed: int = 0
    # (name, first line, last line) of each section, e.g. ("Chorus", 4, 7).
    sections: tuple[tuple[str, int, int], ...] = ()

    def section_span(self, index: int) -> tuple[float, float]:
        """Start and end, in quarters, of section `index`."""
        _, first, last = self.sections[index]
        return self.line_spans[first][0], self.line_spans[last][1]

    @property
    def total_quarters(self) -> float:
        return self.line_spans[-1][1] if self.line_spans else 0.0

    @property
    def seconds_per_quarter(self) -> float:
        return 60.0 / self.tempo

    @property
    def duration_seconds(self) -> float:
        return self.total_quarters * self.seconds_per_quarter

    @property
    def bars(self) -> float:
        return self.total_quarters / float(parse_meter(self.meter).bar_quarters)

    def sung_text(self, index: int) -> str:
        """The syllable as sung and shown: 'mel-' when the word goes on in the next note."""
        note = self.notes[index]
        following = self.notes[index + 1] if index + 1 < len(self.notes) else None
        if following is not None and following.line == note.line and not following.first_of_word:
            return note.syllable + "-"
        return note.syllable

    def notes_of_line(self, line: int) -> list[MelodyNote]:
        return [note for note in self.notes if note.line == line]

    def note_at(self, seconds: float) -> int | None:
        """Index of the note sounding at `seconds` from the start, if any."""
        quarters = seconds / self.seconds_per_quarter
        for index, note in enumerate(self.notes):
            if note.start <= quarters < note.end:
                return index
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "mode": self.mode,
            "meter": self.meter,
            "tempo": self.tempo,
            "program": self.program,
            "seed": self.seed,
            "sections": [list(section) for section in self.sections],
            "lines": list(self.lines),
            "line_spans": [list(span) for span in self.line_spans],
            "notes": [
                [n.pitch, n.start, n.duration, n.syllable, n.line, n.stress, n.first_of_word] for n in self.notes
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Melody:
        try:
            return cls(
                notes=tuple(
                    MelodyNote(int(p), float(s), float(d), str(t), int(li), int(st), bool(w))
                    for p, s, d, t, li, st, w in data["notes"]
                ),
                lines=tuple(str(line) for line in data["lines"]),
                line_spans=tuple((float(a), float(b)) for a, b in data["line_spans"]),
                key=str(data["key"]),
                mode=str(data["mode"]),
                meter=str(data["meter"]),
                tempo=float(data["tempo"]),
                program=int(data["program"]),
                seed=int(data.get("seed", 0)),
                sections=tuple((str(n), int(a), int(b)) for n, a, b in data.get("sections", [])),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidRequestError(f"A saved melody could not be read ({exc}).") from exc


@dataclass(frozen=True)
class MelodyRequest(Request):
    kind = "melody"
    lane = Lane.HEAVY
    lyrics: str
    key: str = "C"
    mode: str = "major"
    meter: str = "4/4"
    tempo: float = 96.0
    program: int = 0  # General MIDI programme (0 = acoustic grand piano)
    temperature: float = 0.9
    seed: int = 0
    variations: int = 1
    # Regenerate one line of `base` (an index into its lines) and keep every other note.
    regenerate_line: int = -1
    base: Melody | None = field(default=None, compare=False, repr=False)
    pack_id: str = ""

    def __post_init__(self) -> None:
        if not parse_lyric(self.lyrics):
            raise InvalidRequestError("The lyric has no words to sing; write at least one line.")
        try:
            tonic_pitch_class(self.key)
        except ValueError as exc:
            raise InvalidRequestError(str(exc)) from None
        if self.mode not in MODES:
            raise InvalidRequestError(f"Mode must be one of {', '.join(MODES)} (got '{self.mode}').")
        if self.meter not in METERS:
            raise InvalidRequestError(f"Meter must be one of {', '.join(METERS)} (got '{self.meter}').")
        if not 30 <= self.tempo <= 260:
            raise InvalidRequestError(f"Tempo must be between 30 and 260 beats a minute (got {self.tempo}).")
        if not 0 <= self.program <= 127:
            raise InvalidRequestError(f"The instrument must be a General MIDI programme 0-127 (got {self.program}).")
        if not 0.05 <= self.temperature <= 2.0:
            raise InvalidRequestError(f"Temperature must be between 0.05 and 2 (got {self.temperature}).")
        if not 1 <= self.variations <= MAX_VARIATIONS:
            raise InvalidRequestError(f"Variations must be between 1 and {MAX_VARIATIONS} (got {self.variations}).")
        if self.regenerate_line >= 0:
            if self.base is None:
                raise InvalidRequestError("To regenerate one line, generate a melody first.")
            if self.regenerate_line >= len(self.base.lines):
                raise InvalidRequestError(
                    f"Line {self.regenerate_line + 1} does not exist; the melody has {len(self.base.lines)} lines."
                )

    def summary(self) -> str:
        what = f"line {self.regenerate_line + 1}" if self.regenerate_line >= 0 else "melody"
        many = f", {self.variations} variations" if self.variations > 1 else ""
        return f"Melody: {what} in {self.key} {self.mode}, {self.meter} at {self.tempo:g} bpm{many}"

    def to_record(self) -> dict[str, Any]:
        record = super().to_record()
        record["base"] = None if self.base is None else f"<melody of {len(self.base.notes)} notes>"
        return record


@dataclass(frozen=True)
class MelodyResult(Result):
    kind = "melody"
    variations: tuple[Melody, ...] = ()

    def summary(self) -> str:
        if not self.variations:
            return "No melody"
        first = self.variations[0]
        many = f" ({len(self.variations)} variations)" if len(self.variations) > 1 else ""
        return f"Melody of {len(first.notes)} notes, {first.bars:g} bars{many}"

    def nbytes(self) -> int:
        return sum(64 * len(m.notes) for m in self.variations)


@dataclass(frozen=True)
class MelodyAudioRequest(Request):
    """Render a melody to audio with the General MIDI soundfont (for playing and WAV export)."""

    kind = "melody-audio"
    lane = Lane.LIGHT
    in_history = False
    melody: Melody = field(compare=False, repr=False)
    sample_rate: int = 44100

    def __post_init__(self) -> None:
        if not self.melody.notes:
            raise InvalidRequestError("The melody has no notes to play.")
        if not 8000 <= self.sample_rate <= 96000:
            raise InvalidRequestError(f"Sample rate must be 8000-96000 Hz (got {self.sample_rate}).")

    def summary(self) -> str:
        return f"Render melody ({len(self.melody.notes)} notes, {self.melody.duration_seconds:.1f} s)"

    def to_record(self) -> dict[str, Any]:
        record = super().to_record()
        record["melody"] = f"<melody of {len(self.melody.notes)} notes>"
        return record


@dataclass(frozen=True)
class MelodyAudioResult(Result):
    kind = "melody-audio"
    audio: np.ndarray = field(compare=False, repr=False)  # float32 [frames, 2] in -1..1
    sample_rate: int = 44100
    melody: Melody | None = field(default=None, compare=False, repr=False)

    def summary(self) -> str:
        return f"Melody audio, {len(self.audio) / self.sample_rate:.1f} s"
