"""A melody for the lyric's words: the request (key, mode, tempo, ...) and the melodies it returns."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from atelier.core.errors import InvalidRequestError
from atelier.core.lyric_syllables import parse_lyric
from atelier.core.music import (
    ACCOMPANIMENTS,
    CHORD_DEGREES,
    METERS,
    MODES,
    Chord,
    harmonize,
    parse_meter,
    tonic_pitch_class,
)
from atelier.core.requests import Lane, Request, Result, check_seed

MAX_VARIATIONS = 8
# A long song is about 3,000 characters; the planner's time grows with the text (200 KB took 14.5 s and
# 5 MB ran past 300 s), so a lyric is refused beyond this, before it is even parsed.
MAX_LYRIC_CHARS = 20_000


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
    chords: tuple[Chord, ...] = ()  # one a bar (see `with_chords`)
    chord_program: int = ACCOMPANIMENTS["pad"]  # General MIDI programme the chords play on; -1: not played

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

    def with_chords(self) -> Melody:
        """This melody with a chord for each bar, chosen to fit its notes (core.music.harmonize)."""
        meter = parse_meter(self.meter)
        bar = float(meter.bar_quarters)
        last_of_line: dict[int, MelodyNote] = {}
        for note in self.notes:
            last_of_line[note.line] = note
        phrase_ends = {int(note.start // bar) for note in last_of_line.values()}
        end = max(self.total_quarters, max((n.end for n in self.notes), default=0.0))
        notes = [(n.pitch, n.start, n.duration, n.stress) for n in self.notes]
        return dataclasses.replace(self, chords=harmonize(notes, self.key, self.mode, meter, end, phrase_ends))

    def chord_at(self, quarters: float) -> Chord | None:
        return next((chord for chord in self.chords if chord.start <= quarters < chord.end), None)

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
            "chords": [[c.root, c.quality, c.numeral, c.start, c.duration, c.root_name] for c in self.chords],
            "chord_program": self.chord_program,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Melody:
        """A melody as `to_dict` wrote it; one saved before melodies had chords gets them now."""
        try:
            melody = cls(
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
                chords=tuple(_chord(item) for item in data.get("chords", [])),
                chord_program=int(data.get("chord_program", ACCOMPANIMENTS["pad"])),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidRequestError(f"A saved melody could not be read ({exc}).") from exc
        return melody if "chords" in data else melody.with_chords()


def _chord(item: Any) -> Chord:
    root, quality, numeral, start, duration, root_name = item
    if not any(d.quality == quality for degrees in CHORD_DEGREES.values() for d in degrees):
        raise ValueError(f"unknown chord quality {quality!r}")
    return Chord(int(root) % 12, str(quality), str(numeral), float(start), float(duration), str(root_name))


@dataclass(frozen=True)
class ImportedTune:
    """The melody line of a MIDI file, to be continued: its notes (pitch, start, duration in quarter notes)
    and the key, mode, meter and tempo it is in. `source` names the file in messages."""

    notes: tuple[tuple[int, float, float], ...]
    key: str = "C"
    mode: str = "major"
    meter: str = "4/4"
    tempo: float = 96.0
    source: str = "the MIDI file"
    track: str = ""  # the name of the track the melody was taken from

    def describe(self) -> str:
        track = f" (track '{self.track}')" if self.track else ""
        return (
            f"{self.source}: {len(self.notes)} notes{track} in {self.key} {self.mode}, {self.meter} "
            f"at {self.tempo:g} bpm"
        )

    def lines_covered(self, lyrics: str) -> int:
        """How many whole lines of `lyrics` the tune sings, one note per syllable."""
        covered = sung = 0
        for section in parse_lyric(lyrics):
            for line in section.lines:
                sung += len(line.syllables)
                if sung > len(self.notes):
                    return covered
                covered += 1
        return covered

    def prefix(self, lyrics: str) -> Melody:
        """The tune as the first whole lines of `lyrics` (one note per syllable, in order), to continue from.

        Notes after the last whole line are left out; a tune shorter than the first line, or as long as
        the whole lyric, is refused with what to do.
        """
        lines = [line for section in parse_lyric(lyrics) for line in section.lines]
        covered = self.lines_covered(lyrics)
        if not lines:
            raise InvalidRequestError("The lyric has no words to sing; write at least one line.")
        if covered == 0:
            raise InvalidRequestError(
                f"{self.source} has {len(self.notes)} notes, fewer than the {len(lines[0].syllables)} syllables of "
                "the lyric's first line: a tune to continue needs at least one whole line (one note a syllable)."
            )
        if covered == len(lines):
            raise InvalidRequestError(
                f"{self.source} already has notes for every line of the lyric ({len(self.notes)} notes): "
                "add the lines it should go on with to the lyric."
            )
        bar = float(parse_meter(self.meter).bar_quarters)
        notes: list[MelodyNote] = []
        firsts: list[float] = []
        for index, line in enumerate(lines[:covered]):
            firsts.append(self.notes[len(notes)][1])
            for syllable in line.syllables:
                pitch, start, duration = self.notes[len(notes)]
                notes.append(
                    MelodyNote(pitch, start, duration, syllable.text, index, syllable.stress, syllable.first_of_word)
                )
        # Each line runs from the bar its first note is in (from its first note when the line before
        # starts in that bar too) to the next line's start; the last to the bar line after its last
        # note, where the new lines begin.
        starts = [0.0]
        for first in firsts[1:]:
            bar_start = math.floor(first / bar) * bar
            starts.append(bar_start if bar_start > starts[-1] else first)
        ends = [*starts[1:], math.ceil(max(n.end for n in notes) / bar - 1e-9) * bar]
        return Melody(
            notes=tuple(notes),
            lines=tuple(line.text for line in lines[:covered]),
            line_spans=tuple(zip(starts, ends, strict=True)),
            key=self.key,
            mode=self.mode,
            meter=self.meter,
            tempo=self.tempo,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "notes": [list(note) for note in self.notes],
            "key": self.key,
            "mode": self.mode,
            "meter": self.meter,
            "tempo": self.tempo,
            "source": self.source,
            "track": self.track,
        }

    @classmethod
    def from_dict(cls, data: Any) -> ImportedTune:
        try:
            return cls(
                notes=tuple((int(p), float(s), float(d)) for p, s, d in data["notes"]),
                key=str(data["key"]),
                mode=str(data["mode"]),
                meter=str(data["meter"]),
                tempo=float(data["tempo"]),
                source=str(data.get("source", "the MIDI file")),
                track=str(data.get("track", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidRequestError(f"A saved imported tune could not be read ({exc}).") from exc


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
    accompaniment: str = "pad"  # what the chords are played on: a key of ACCOMPANIMENTS ("none": not played)
    temperature: float = 0.9
    seed: int = 0
    variations: int = 1
    # Regenerate one line of `base` (an index into its lines) and keep every other note.
    regenerate_line: int = -1
    base: Melody | None = field(default=None, compare=False, repr=False)
    # Continue this melody (an imported tune as the lyric's first lines): keep it note for note, write the rest.
    continue_from: Melody | None = field(default=None, compare=False, repr=False)
    pack_id: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.lyrics, str):
            raise InvalidRequestError("The lyric must be text.")
        if len(self.lyrics) > MAX_LYRIC_CHARS:
            raise InvalidRequestError(
                f"The lyric is {len(self.lyrics):,} characters long; a melody is written for at most "
                f"{MAX_LYRIC_CHARS:,} characters (a long song is about 3,000).",
                "Split the lyric into songs or sections and write a melody for each.",
            )
        check_seed(self.seed)
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
        if self.accompaniment not in ACCOMPANIMENTS:
            raise InvalidRequestError(
                f"Chords must be played on one of {', '.join(ACCOMPANIMENTS)} (got '{self.accompaniment}')."
            )
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
        if self.continue_from is not None:
            self._check_continuation(self.continue_from)

    def _check_continuation(self, start: Melody) -> None:
        lines = [line.text for section in parse_lyric(self.lyrics) for line in section.lines]
        if self.regenerate_line >= 0:
            raise InvalidRequestError("A melody is either continued or has one line regenerated, not both.")
        if not start.lines or list(start.lines) != lines[: len(start.lines)]:
            raise InvalidRequestError("The tune to continue does not sing the lyric's first lines; import it again.")
        if len(start.lines) >= len(lines):
            raise InvalidRequestError("The tune to continue already sings every line; add lines to the lyric.")
        if (start.key, start.mode, start.meter) != (self.key, self.mode, self.meter):
            raise InvalidRequestError(
                f"A continuation stays in the tune's key and meter ({start.key} {start.mode}, {start.meter})."
            )

    def summary(self) -> str:
        what = f"line {self.regenerate_line + 1}" if self.regenerate_line >= 0 else "melody"
        if self.continue_from is not None:
            what = f"continue after line {len(self.continue_from.lines)}"
        many = f", {self.variations} variations" if self.variations > 1 else ""
        return f"Melody: {what} in {self.key} {self.mode}, {self.meter} at {self.tempo:g} bpm{many}"

    def to_record(self) -> dict[str, Any]:
        record = super().to_record()
        record["base"] = None if self.base is None else f"<melody of {len(self.base.notes)} notes>"
        start = self.continue_from
        record["continue_from"] = None if start is None else f"<melody of {len(start.notes)} notes>"
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

    def preview_image(self) -> np.ndarray | None:
        """The first variation as a small piano roll (the History tab's thumbnail): a bar per note, time
        across and pitch up, on paper, over the whole tune."""
        notes = self.variations[0].notes if self.variations else ()
        if not notes:
            return None
        width, height, margin = 64, 40, 2  # fits a History row (64 px icons, rows about 44 px tall) unscaled
        roll = np.full((height, width, 3), 250, np.uint8)
        end = max(note.end for note in notes) or 1.0
        low, high = min(n.pitch for n in notes), max(n.pitch for n in notes)
        row = (height - 2 * margin) / max(high - low + 1, 10)  # a narrow tune still looks narrow
        for note in notes:
            left = margin + int(note.start / end * (width - 2 * margin))
            right = max(left + 1, margin + int(note.end / end * (width - 2 * margin)) - 1)
            top = height - margin - int((note.pitch - low + 1) * row)
            roll[max(top, 0) : max(top, 0) + max(int(row), 2), left:right] = (52, 92, 168)
        return roll


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
