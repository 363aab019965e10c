"""A small ABC reader for monophonic folk tunes: notes with pitch, length, bar position, phrase ends.

Why not music21's parser: it takes about 10 CPU-minutes for the corpus and builds full scores;
the melody model needs only the first voice's notes, so a 200-line reader does it in seconds.
It follows the ABC 2.1 standard for what these collections use: key signatures (with modes),
bar accidentals, L:/M:/K: changes (also inline), broken rhythm, tuplets, ties, chords (top note),
grace notes, decorations and chord symbols (skipped). Repeats are not expanded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction

from atelier.core.music import Meter

_LETTER_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_MAJOR_SHARPS = {"C": 0, "G": 1, "D": 2, "A": 3, "E": 4, "B": 5, "F": -1}
_MODE_SHIFT = {"maj": 0, "ion": 0, "dor": -2, "phr": -4, "lyd": 1, "mix": -1, "min": -3, "aeo": -3, "loc": -5}
_MODE_NAME = {
    "maj": "major",
    "ion": "major",
    "min": "minor",
    "aeo": "minor",
    "dor": "dorian",
    "mix": "mixolydian",
}
_SHARP_ORDER = "FCGDAEB"


@dataclass
class Note:
    midi: int
    quarters: Fraction
    position: Fraction  # quarters from the start of its bar
    phrase_end: bool = False


@dataclass
class Tune:
    title: str
    key: str  # tonic name as written, e.g. "G", "Bb"
    tonic_pc: int
    mode: str  # major, minor, dorian, mixolydian or other
    meter: Meter | None  # None for free meter (M:none)
    notes: list[Note] = field(default_factory=list)


@dataclass
class KeySignature:
    tonic_pc: int
    mode: str
    accidentals: dict[str, int]  # letter -> semitone shift


def parse_key(text: str) -> KeySignature | None:
    match = re.match(r"\s*([A-Ga-g])([#b]?)\s*([A-Za-z]*)", text)
    if not match or text.strip().lower().startswith(("none", "hp")):
        return None
    letter, accidental, mode_text = match.group(1).upper(), match.group(2), match.group(3).lower()
    mode_key = "min" if mode_text in ("m",) else (mode_text[:3] or "maj")
    if mode_key not in _MODE_SHIFT:
        mode_key = "maj"
    tonic_pc = (_LETTER_PC[letter] + {"#": 1, "b": -1, "": 0}[accidental]) % 12
    sharps = _MAJOR_SHARPS[letter] + {"#": 7, "b": -7, "": 0}[accidental] + _MODE_SHIFT[mode_key]
    accidentals: dict[str, int] = {}
    if sharps > 0:
        for letter_ in _SHARP_ORDER[: min(sharps, 7)]:
            accidentals[letter_] = 1
    elif sharps < 0:
        for letter_ in _SHARP_ORDER[::-1][: min(-sharps, 7)]:
            accidentals[letter_] = -1
    return KeySignature(tonic_pc, _MODE_NAME.get(mode_key, "other"), accidentals)


def parse_meter_field(text: str) -> Meter | None:
    text = text.strip()
    if text in ("C", "c"):
        return Meter(4, 4)
    if text in ("C|", "c|"):
        return Meter(2, 2)
    match = re.match(r"\(?(\d+)(?:\+\d+)*\)?\s*/\s*(\d+)", text)
    if not match:
        return None
    numerator, denominator = int(match.group(1)), int(match.group(2))
    if "+" in text:  # 2+3/8 style additive meters: sum the parts
        numerator = sum(int(x) for x in re.findall(r"\d+", text.split("/")[0]))
    if numerator <= 0 or denominator not in (1, 2, 4, 8, 16):
        return None
    return Meter(numerator, denominator)


def _length(text: str) -> Fraction:
    """An ABC length suffix ('', '2', '/', '//', '3/2', '/4') as a multiple of the unit length."""
    if not text:
        return Fraction(1)
    if "/" not in text:
        return Fraction(int(text))
    numerator_text, _, rest = text.partition("/")
    numerator = int(numerator_text) if numerator_text else 1
    if rest.startswith("/") or rest == "":
        slashes = text.count("/")
        return Fraction(numerator, 2**slashes)
    return Fraction(numerator, int(rest))


_NOTE = re.compile(r"(\^\^|\^|__|_|=)?([A-Ga-g])([',]*)(\d*/*\d*)")
_REST = re.compile(r"([zxZX])(\d*/*\d*)")


class _TuneReader:
    def __init__(self, title: str, key: KeySignature, meter: Meter | None, unit: Fraction) -> None:
        self.tune = Tune(title, "", key.tonic_pc, key.mode, meter)
        self.key = key
        self.meter = meter
        self.unit = unit
        self.bar_accidentals: dict[tuple[str, int], int] = {}
        self.bar_notes: list[Note] = []
        self.bar_length = Fraction(0)
        self.first_bar = True
        self.tuplet_left = 0
        self.tuplet_factor = Fraction(1)
        self.broken: Fraction | None = None  # factor for the next note after > or <
        self.tie_pending = False
        self.last: Note | None = None

    # -- events ------------------------------------------------------------------------------
    def _scale_length(self, length: Fraction) -> Fraction:
        if self.tuplet_left > 0:
            length *= self.tuplet_factor
            self.tuplet_left -= 1
        if self.broken is not None:
            length *= self.broken
            self.broken = None
        return length

    def note(self, midi: int, length: Fraction) -> None:
        quarters = self._scale_length(length) * self.unit * 4
        if self.tie_pending and self.last is not None and self.last.midi == midi:
            self.last.quarters += quarters
            self.bar_length += quarters
            self.tie_pending = False
            return
        self.tie_pending = False
        note = Note(midi, quarters, self.bar_length)
        self.bar_notes.append(note)
        self.bar_length += quarters
        self.last = note

    def rest(self, length: Fraction, bars: int = 0) -> None:
        if self.last is not None:
            self.last.phrase_end = True
        if bars and self.meter is not None:
            self.bar_line()
            return
        self.bar_length += self._scale_length(length) * self.unit * 4
        self.tie_pending = False

    def broken_rhythm(self, symbol: str) -> None:
        if self.last is None:
            return
        dots = len(symbol)
        short = Fraction(1, 2**dots)
        long_ = 2 - short
        first, second = (long_, short) if symbol[0] == ">" else (short, long_)
        old = self.last.quarters
        self.last.quarters = old * first
        self.bar_length += self.last.quarters - old
        self.broken = second

    def tuplet(self, p: int, q: int | None, r: int | None) -> None:
        if q is None:
            q = 3 if p in (2, 4, 8) else 2
        self.tuplet_factor = Fraction(q, p)
        self.tuplet_left = r or p

    def bar_line(self, section_end: bool = False) -> None:
        notes = self.bar_notes
        if notes and self.meter is not None:
            bar = self.meter.bar_quarters
            # A short first bar is a pickup: its notes lead into the next downbeat.
            shift = bar - self.bar_length if self.first_bar and self.bar_length < bar else Fraction(0)
            for note in notes:
                note.position = (note.position + shift) % bar
        self.tune.notes.extend(notes)
        if notes or self.bar_length:
            self.first_bar = False
        if section_end and self.last is not None:
            self.last.phrase_end = True
        self.bar_notes = []
        self.bar_length = Fraction(0)
        self.bar_accidentals = {}

    def line_end(self) -> None:
        if self.last is not None:
            self.last.phrase_end = True

    def finish(self) -> Tune:
        self.bar_line(section_end=True)
        return self.tune

    # -- pitch -------------------------------------------------------------------------------
    def midi_of(self, accidental: str | None, letter: str, octave_marks: str) -> int:
        upper = letter.upper()
        octave = 4 if letter.isupper() else 5
        octave += octave_marks.count("'") - octave_marks.count(",")
        if accidental:
            shift = {"^": 1, "^^": 2, "_": -1, "__": -2, "=": 0}[accidental]
            self.bar_accidentals[(upper, octave)] = shift
        else:
            shift = self.bar_accidentals.get((upper, octave), self.key.accidentals.get(upper, 0))
        return 12 * (octave + 1) + _LETTER_PC[upper] + shift


def _body_tokens(line: str, reader: _TuneReader) -> None:
    i = 0
    n = len(line)
    while i < n:
        char = line[i]
        if char == "%":
            break
        if char == '"':  # chord symbol or annotation
            end = line.find('"', i + 1)
            i = n if end < 0 else end + 1
            continue
        if char in "!+":  # !decoration!
            end = line.find(char, i + 1)
            i = n if end < 0 else end + 1
            continue
        if char == "{":  # grace notes carry no length
            end = line.find("}", i + 1)
            i = n if end < 0 else end + 1
            continue
        if char == "[":
            field_match = re.match(r"\[([KML]):([^\]]*)\]", line[i:])
            if field_match:
                _apply_field(reader, field_match.group(1), field_match.group(2))
                i += field_match.end()
                continue
            if i + 1 < n and (line[i + 1].isdigit() or line[i + 1] == '"'):
                i += 1  # first/second ending marker
                continue
            if i + 1 < n and line[i + 1] == "|":
                reader.bar_line(section_end=True)
                i += 2
                continue
            end = line.find("]", i + 1)
            if end < 0:
                i += 1
                continue
            chord = line[i + 1 : end]
            length_match = re.match(r"\d*/*\d*", line[end + 1 :])
            outer = length_match.group(0) if length_match else ""
            # The top note of a chord carries the tune; the chord's length is its first note's.
            notes = list(_NOTE.finditer(chord))
            if notes:
                midis = [reader.midi_of(m.group(1), m.group(2), m.group(3)) for m in notes]
                reader.note(max(midis), _length(notes[0].group(4)) * _length(outer))
            i = end + 1 + len(outer)
            continue
        if char == "|" or char == ":":
            match = re.match(r"[:|\]]+\d*", line[i:])
            assert match is not None
            symbol = match.group(0)
            reader.bar_line(section_end=("||" in symbol or ":" in symbol or "]" in symbol))
            i += match.end()
            continue
        if char == "(":
            tuplet = re.match(r"\((\d)(?::(\d)?)?(?::(\d)?)?", line[i:])
            if tuplet:
                p = int(tuplet.group(1))
                q = int(tuplet.group(2)) if tuplet.group(2) else None
                r = int(tuplet.group(3)) if tuplet.group(3) else None
                reader.tuplet(p, q, r)
                i += tuplet.end()
            else:
                i += 1
            continue
        if char in "<>":
            match = re.match(r"[<>]+", line[i:])
            assert match is not None
            reader.broken_rhythm(match.group(0)[:3])
            i += match.end()
            continue
        if char == "-":
            reader.tie_pending = True
            i += 1
            continue
        note_match = _NOTE.match(line, i)
        if note_match:
            midi = reader.midi_of(note_match.group(1), note_match.group(2), note_match.group(3))
            reader.note(midi, _length(note_match.group(4)))
            i = note_match.end()
            continue
        rest_match = _REST.match(line, i)
        if rest_match:
            length = _length(rest_match.group(2))
            bars = int(length) if rest_match.group(1) in "ZX" else 0
            reader.rest(length, bars)
            i = rest_match.end()
            continue
        i += 1  # slurs, decorations (.~HLMOPSTuv), spaces, backquotes


def _apply_field(reader: _TuneReader, name: str, value: str) -> None:
    if name == "K":
        key = parse_key(value)
        if key is not None:
            reader.key = key
    elif name == "M":
        meter = parse_meter_field(value)
        if meter is not None or value.strip().lower() == "none":
            reader.bar_line()
            reader.meter = meter
    elif name == "L":
        match = re.match(r"\s*(\d+)\s*/\s*(\d+)", value)
        if match:
            reader.unit = Fraction(int(match.group(1)), int(match.group(2)))


def read_abc(text: str) -> Iterator[Tune]:
    """Every tune in an ABC file (tunes without a usable key are skipped)."""
    for block in re.split(r"\n(?=X:)", "\n" + text):
        lines = block.splitlines()
        if not any(line.startswith("X:") for line in lines[:1]):
            continue
        header: dict[str, str] = {}
        body_start = None
        for index, line in enumerate(lines):
            match = re.match(r"([A-Za-z]):(.*)", line)
            if match:
                header.setdefault(match.group(1), match.group(2).strip())
                if match.group(1) == "K":
                    body_start = index + 1
                    break
        if body_start is None:
            continue
        key = parse_key(header["K"])
        if key is None:
            continue
        meter_text = header.get("M", "none")
        meter = parse_meter_field(meter_text)
        if "L" in header:
            match = re.match(r"\s*(\d+)\s*/\s*(\d+)", header["L"])
            unit = Fraction(int(match.group(1)), int(match.group(2))) if match else Fraction(1, 8)
        else:
            unit = (
                Fraction(1, 16) if meter is not None and meter.numerator / meter.denominator < 0.75 else Fraction(1, 8)
            )
        reader = _TuneReader(header.get("T", ""), key, meter, unit)
        reader.tune.key = header["K"].split()[0] if header["K"].split() else ""
        first_voice: str | None = None
        in_first_voice = True
        for line in lines[body_start:]:
            stripped = line.strip()
            field_match = re.match(r"([A-Za-z]):(.*)", stripped)
            if field_match:
                name, value = field_match.group(1), field_match.group(2)
                if name == "V":
                    voice = value.split()[0] if value.split() else ""
                    first_voice = first_voice if first_voice is not None else voice
                    in_first_voice = voice == first_voice
                elif in_first_voice:
                    _apply_field(reader, name, value)
                continue
            if not stripped or stripped.startswith("%") or not in_first_voice:
                continue
            _body_tokens(stripped, reader)
            if not stripped.rstrip().endswith("\\"):
                reader.line_end()
        yield reader.finish()
