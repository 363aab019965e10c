"""A melody as a Standard MIDI File (notes, a lyric event per syllable, tempo, key, meter, chords, and a
track name and Text events saying what made it), and the melody line of any MIDI file read back as a tune.

In core (pretty_midi only, no sound device) so a project's history can keep a .mid of every melody.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import mido
import pretty_midi

from atelier.core.atomic_files import atomic_output
from atelier.core.errors import InputFileError
from atelier.core.lyric_syllables import UNSTRESSED
from atelier.core.music import METERS, NOTE_NAMES, Chord, parse_meter, tonic_pitch_class
from atelier.core.provenance import COMPOSITE, app_label, build_record, json_record, now_iso, strip_paths
from atelier.core.requests.melody import ImportedTune, Melody

# MIDI key signatures are major or minor only; a modal key uses its parent scale's signature.
_MODE_TO_MAJOR_OFFSET = {"major": 0, "dorian": -2, "mixolydian": -7}


def key_number(key: str, mode: str) -> int:
    """pretty_midi's key number: 0-11 for C..B major, 12-23 for C..B minor."""
    tonic = tonic_pitch_class(key)
    if mode == "minor":
        return 12 + tonic
    return (tonic + _MODE_TO_MAJOR_OFFSET.get(mode, 0)) % 12


CHORD_VELOCITY = 52  # the chords sit under the melody (78 unstressed, 100 stressed)
CHORD_LOW, CHORD_HIGH = 48, 67  # C3..G4: below where melodies are sung


def chord_voicings(chords: tuple[Chord, ...]) -> list[tuple[int, ...]]:
    """MIDI pitches of each chord: a close triad between C3 and G4, each the inversion nearest the one
    before (smooth voice leading, as a pianist or a pad would play it)."""
    voicings: list[tuple[int, ...]] = []
    for chord in chords:
        tones = chord.tones
        candidates = []
        for bass in range(CHORD_LOW, CHORD_HIGH + 1):
            if bass % 12 not in tones:
                continue
            voicing = [bass]
            for _ in range(len(tones) - 1):
                above = voicing[-1] + 1
                while above % 12 not in tones or above % 12 in {v % 12 for v in voicing}:
                    above += 1
                voicing.append(above)
            if voicing[-1] <= CHORD_HIGH:
                candidates.append(tuple(voicing))
        if voicings:
            previous = voicings[-1]
            voicings.append(min(candidates, key=lambda v: sum(abs(a - b) for a, b in zip(v, previous, strict=True))))
        else:  # root position, root in the lower octave
            voicings.append(next(v for v in candidates if v[0] % 12 == chord.root))
    return voicings


def melody_to_midi(melody: Melody) -> pretty_midi.PrettyMIDI:
    """The melody on the first channel; its chords, if it plays them, on the second (a track of their own)."""
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
    if melody.chords and melody.chord_program >= 0:
        accompaniment = pretty_midi.Instrument(program=melody.chord_program, name="Chords")
        for chord, pitches in zip(melody.chords, chord_voicings(melody.chords), strict=True):
            start, end = chord.start * seconds, max(chord.start * seconds + 0.05, chord.end * seconds - 0.02)
            accompaniment.notes.extend(pretty_midi.Note(CHORD_VELOCITY, pitch, start, end) for pitch in pitches)
        midi.instruments.append(accompaniment)
    return midi


# The Text meta event holding the JSON record starts with this, so a reader finds it among other texts.
RECORD_PREFIX = "atelier:"


def melody_record(melody: Melody, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """What made a melody: Atelier, the task, the seed and the musical settings (the notes are the
    model's, the words the user's: a composite), plus what the caller knows (pack, prompt ...)."""
    record: dict[str, Any] = {
        "generator": app_label(),
        "task": "melody",
        "date": now_iso(),
        "seed": melody.seed,
        "key": f"{melody.key} {melody.mode}",
        "meter": melody.meter,
        "tempo": melody.tempo,
        "ai": COMPOSITE,
    }
    return build_record({**record, **strip_paths(extra or {})})


def _ascii(text: str) -> str:
    # MIDI meta text has no declared encoding (mido writes Latin-1); ASCII reads the same everywhere.
    return text.encode("ascii", "replace").decode("ascii")


def record_title(record: dict[str, Any]) -> str:
    """The track name: 'Atelier 0.1.0 melody, pack melody-gru 1.0, seed 7' (copyright is the user's to add)."""
    pack = record.get("pack") if isinstance(record.get("pack"), dict) else {}
    parts = [f"{record.get('generator') or app_label()} {record.get('task') or 'melody'}"]
    if pack:
        parts.append(" ".join(str(p) for p in ("pack", pack.get("name") or pack.get("id"), pack.get("version")) if p))
    if record.get("seed") is not None:
        parts.append(f"seed {record['seed']}")
    return _ascii(", ".join(parts))


def add_record(midi_path: Path, record: dict[str, Any]) -> None:
    """Name the first track after what made the file and add two Text events: that line, and the JSON
    record (pretty_midi writes no name for its tempo track and no way to place texts at its start)."""
    song = mido.MidiFile(str(midi_path))
    first = song.tracks[0]
    title = record_title(record)
    data = RECORD_PREFIX + json.dumps(record, sort_keys=True, ensure_ascii=True, default=str)
    first[:0] = [
        mido.MetaMessage("track_name", name=title, time=0),
        mido.MetaMessage("text", text=title, time=0),
        mido.MetaMessage("text", text=data, time=0),
    ]
    song.save(str(midi_path))


def read_midi_record(path: str | Path) -> dict[str, Any]:
    """The record and track name a MIDI file carries: {"record": {...} or None, "title": str, "texts": [...]}."""
    song = mido.MidiFile(str(path))
    found: dict[str, Any] = {"record": None, "title": "", "texts": []}
    for message in song.tracks[0] if song.tracks else []:
        if message.type == "track_name" and not found["title"]:
            found["title"] = message.name
        elif message.type == "text":
            if message.text.startswith(RECORD_PREFIX) and found["record"] is None:
                # json_record refuses deep nesting too (a deep record is not "not a MIDI file").
                found["record"] = json_record(message.text[len(RECORD_PREFIX) :])
            else:
                found["texts"].append(message.text)
    return found


def write_midi(
    melody: Melody, path: str | Path, record: dict[str, Any] | None = None, *, metadata: bool = True
) -> Path:
    """Write the melody atomically; with `metadata` (the default) the file names what made it
    (`melody_record(melody)` unless a fuller `record` is given)."""
    target = Path(path)
    try:
        with atomic_output(target) as tmp:  # a full disk or a kill leaves any earlier file whole
            melody_to_midi(melody).write(str(tmp))
            if metadata:
                add_record(tmp, build_record(record) if record else melody_record(melody))
    except OSError as exc:
        raise InputFileError(f"Cannot write the MIDI file {target} ({exc}).") from exc
    return target


# -- reading a tune to continue -----------------------------------------------------------------
MAX_MIDI_BYTES = 4 * 1024 * 1024  # a song's MIDI file is a few kilobytes; this is surely something else
GRID = 12  # imported note times are rounded to twelfths of a quarter note (sixteenths and triplets)
ARTICULATION = 0.03  # seconds of silence before the next grid point that do not shorten a note
_MELODY_NAMES = ("melody", "vocal", "voice", "lead", "sing", "tune", "solo")
# Krumhansl-Kessler key profiles: how much each degree above the tonic is heard in major and minor music.
_MAJOR_PROFILE = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
_MINOR_PROFILE = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)


def read_tune(path: str | Path) -> ImportedTune:
    """The melody line of a MIDI file, in quarter notes, with its key, mode, meter and tempo.

    The melody is the track that is most like one: high, busy and one note at a time (a track named
    melody, vocal, lead ... counts more); from a track that plays chords its top line is taken. Raises
    InputFileError with what to do when the file cannot be used.
    """
    source = Path(path)
    try:
        size = source.stat().st_size
    except OSError as exc:
        raise InputFileError(f"Cannot read the MIDI file {source} ({exc.strerror or exc}).") from exc
    if size > MAX_MIDI_BYTES:
        raise InputFileError(
            f"{source.name} is {size / 1e6:.1f} MB, far more than a song's MIDI file: choose the song's .mid file."
        )
    try:
        midi = pretty_midi.PrettyMIDI(str(source))
    except Exception as exc:  # mido and pretty_midi raise many kinds (OSError, EOFError, ValueError, KeyError...)
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputFileError(
            f"{source.name} is not a MIDI file Atelier can read ({reason}): choose a Standard MIDI File (.mid)."
        ) from exc
    candidates = [instrument for instrument in midi.instruments if not instrument.is_drum and instrument.notes]
    if not candidates:
        raise InputFileError(f"{source.name} has no melody notes (no notes, or drums only): choose a song with a tune.")
    instrument = max(candidates, key=_melody_likeness)
    resolution = float(midi.resolution)
    notes: list[tuple[int, float, float]] = []
    for pitch, start, end in _top_line(instrument.notes):
        begin = round(midi.time_to_tick(start) / resolution * GRID) / GRID
        finish = midi.time_to_tick(end) / resolution
        # A note let go a hair (up to ARTICULATION s) before a grid point ends on it (Atelier's own files
        # leave 20 ms, a lot of a quarter note at a fast tempo); otherwise the nearest grid point. Above
        # 250 bpm two grid points fit in that hair: the later one is where the note was meant to end.
        held_to = math.floor(midi.time_to_tick(end + ARTICULATION) / resolution * GRID + 1e-9) / GRID
        finish = held_to if held_to >= finish - 1e-9 else round(finish * GRID) / GRID
        if notes and begin <= notes[-1][1]:
            continue  # two notes on one grid point: the higher came first and stays
        notes.append((pitch, begin, max(finish - begin, 1 / GRID)))
    # One note at a time: a note ends where the next begins, at the latest; a gap shorter than a
    # 32nd note is articulation (Atelier's own files leave 20 ms), not a rest.
    notes = [
        (pitch, start, following[1] - start if following and following[1] - start - duration < 1 / 8 else duration)
        for (pitch, start, duration), following in zip(notes, [*notes[1:], None], strict=True)
    ]
    key, mode = _key_of(midi, notes)
    tempos = midi.get_tempo_changes()[1]
    tempo = float(tempos[0]) if len(tempos) else 120.0
    return ImportedTune(
        notes=tuple(notes),
        key=key,
        mode=mode,
        meter=_meter_of(midi, source.name),
        tempo=round(min(260.0, max(30.0, tempo)), 1),
        source=source.name,
        track=instrument.name.strip(),
    )


def _top_line(notes: list[pretty_midi.Note]) -> list[tuple[int, float, float]]:
    """The highest note at each onset (the melody of a part that plays chords), in time order."""
    ordered = sorted(notes, key=lambda n: (n.start, -n.pitch))
    line: list[tuple[int, float, float]] = []
    for note in ordered:
        if line and note.start - line[-1][1] < 0.02:
            continue  # struck with the higher note before it
        line.append((note.pitch, note.start, note.end))
    return line


def _melody_likeness(instrument: pretty_midi.Instrument) -> float:
    line = _top_line(instrument.notes)
    chords = 1.0 - len(line) / len(instrument.notes)  # share of notes struck under a higher one
    mean_pitch = sum(pitch for pitch, _, _ in line) / len(line)
    named = any(word in instrument.name.lower() for word in _MELODY_NAMES)
    return mean_pitch + 6.0 * math.log2(len(line)) - 24.0 * chords + 12.0 * named


def _meter_of(midi: pretty_midi.PrettyMIDI, name: str) -> str:
    if not midi.time_signature_changes:
        return "4/4"  # the MIDI standard's default
    signature = midi.time_signature_changes[0]
    meter = f"{signature.numerator}/{signature.denominator}"
    meter = "4/4" if meter == "2/2" else meter  # the same bar, counted in halves
    if meter not in METERS:
        raise InputFileError(
            f"{name} is in {meter}; Atelier's melodies are in {', '.join(METERS)}: choose a song in one of these."
        )
    return meter


def _key_of(midi: pretty_midi.PrettyMIDI, notes: list[tuple[int, float, float]]) -> tuple[str, str]:
    """The file's key signature, or (none written) the major or minor key whose profile the notes fit best."""
    if midi.key_signature_changes:
        number = midi.key_signature_changes[0].key_number
        return NOTE_NAMES[number % 12], "minor" if number >= 12 else "major"
    weights = [0.0] * 12
    for pitch, _, duration in notes:
        weights[pitch % 12] += duration
    best, found = -math.inf, ("C", "major")
    for tonic in range(12):
        for mode, profile in (("major", _MAJOR_PROFILE), ("minor", _MINOR_PROFILE)):
            rotated = [profile[(pc - tonic) % 12] for pc in range(12)]
            score = _correlation(weights, rotated)
            if score > best:
                best, found = score, (NOTE_NAMES[tonic], mode)
    return found


def _correlation(a: list[float], b: list[float]) -> float:
    mean_a, mean_b = sum(a) / len(a), sum(b) / len(b)
    top = sum((x - mean_a) * (y - mean_b) for x, y in zip(a, b, strict=True))
    spread = math.sqrt(sum((x - mean_a) ** 2 for x in a) * sum((y - mean_b) ** 2 for y in b))
    return top / spread if spread else 0.0
