"""A melody as a Standard MIDI File: notes, one lyric event per syllable, tempo, key and meter.

In core (pretty_midi only, no sound device) so a project's history can keep a .mid of every melody.
"""

from __future__ import annotations

from pathlib import Path

import pretty_midi

from atelier.core.errors import InputFileError
from atelier.core.lyric_syllables import UNSTRESSED
from atelier.core.music import parse_meter, tonic_pitch_class
from atelier.core.requests.melody import Melody

# MIDI key signatures are major or minor only; a modal key uses its parent scale's signature.
_MODE_TO_MAJOR_OFFSET = {"major": 0, "dorian": -2, "mixolydian": -7}


def key_number(key: str, mode: str) -> int:
    """pretty_midi's key number: 0-11 for C..B major, 12-23 for C..B minor."""
    tonic = tonic_pitch_class(key)
    if mode == "minor":
        return 12 + tonic
    return (tonic + _MODE_TO_MAJOR_OFFSET.get(mode, 0)) % 12


def melody_to_midi(melody: Melody) -> pretty_midi.PrettyMIDI:
    seconds = melody.seconds_per_quarter
    midi = pretty_midi.PrettyMIDI(initial_tempo=float(melody.tempo))
    meter = parse_meter(melody.meter)
    midi.time_signature_changes.append(pretty_midi.TimeSignature(meter.numerator, meter.denominator, 0.0))
    midi.key_signature_changes.append(pretty_midi.KeySignature(key_number(melody.key, melody.mode), 0.0))
    instrument = pretty_midi.Instrument(program=melody.program, name="Melody")
    for index, note in enumerate(melody.notes):
        start = note.start * seconds
        # A hair of silence between notes so repeated pitches are heard as separate syllables.
        end = max(start + 0.05, note.end * seconds - 0.02)
        velocity = 78 if note.stress == UNSTRESSED else 100
        instrument.notes.append(pretty_midi.Note(velocity, note.pitch, start, end))
        midi.lyrics.append(pretty_midi.Lyric(melody.sung_text(index), start))
    midi.instruments.append(instrument)
    return midi


def write_midi(melody: Melody, path: str | Path) -> Path:
    target = Path(path)
    try:
        melody_to_midi(melody).write(str(target))
    except OSError as exc:
        raise InputFileError(f"Cannot write the MIDI file {target} ({exc}).") from exc
    return target
