"""Reading a tune to continue from a MIDI file: the melody track, its top line, key, meter and tempo;
files that cannot be used are refused with one line that says what to do."""

from __future__ import annotations

from pathlib import Path

import pretty_midi
import pytest

from atelier.core.errors import InputFileError
from atelier.core.midi_file import read_tune, write_midi
from atelier.core.requests.melody import ImportedTune, Melody, MelodyNote


def save(
    path: Path,
    *parts: tuple[str, int, list[tuple[int, float, float]]],
    tempo: float = 120.0,
    meter: tuple[int, int] | None = (4, 4),
    key: int | None = None,
    drums: bool = False,
) -> Path:
    """A MIDI file with one track per (name, programme, [(pitch, start beat, length in beats)])."""
    midi = pretty_midi.PrettyMIDI(initial_tempo=tempo)
    beat = 60.0 / tempo
    if meter:
        midi.time_signature_changes.append(pretty_midi.TimeSignature(*meter, 0.0))
    if key is not None:
        midi.key_signature_changes.append(pretty_midi.KeySignature(key, 0.0))
    for name, program, notes in parts:
        instrument = pretty_midi.Instrument(program=program, name=name, is_drum=drums)
        for pitch, start, length in notes:
            instrument.notes.append(pretty_midi.Note(90, pitch, start * beat, (start + length) * beat))
        midi.instruments.append(instrument)
    midi.write(str(path))
    return path


@pytest.mark.parametrize("tempo", [84.0, 208.0])
def test_an_exported_melody_reads_back_note_for_note(tmp_path: Path, tempo: float) -> None:
    notes = tuple(
        MelodyNote(p, s, d, "la", 0, 2)
        for p, s, d in [
            (62, 0.0, 1.0),
            (66, 1.0, 0.5),
            (69, 1.5, 1.5),
            (67, 3.0, 1.0 / 3),
            (66, 10 / 3, 2 / 3),
            (64, 4.0, 2.0),  # then a rest: the 20 ms Atelier leaves before it is not taken off the note
            (62, 7.0, 2.0),
        ]
    )
    melody = Melody(notes, ("la",), ((0.0, 9.0),), key="D", mode="major", meter="3/4", tempo=tempo).with_chords()
    tune = read_tune(write_midi(melody, tmp_path / "mine.mid"))
    assert [(p, round(s, 6), round(d, 6)) for p, s, d in tune.notes] == [
        (n.pitch, round(n.start, 6), round(n.duration, 6)) for n in notes
    ]  # the chords' track is not taken for the melody
    assert (tune.key, tune.mode, tune.meter, tune.tempo, tune.track) == ("D", "major", "3/4", tempo, "Melody")
    assert tune.source == "mine.mid" and f"7 notes (track 'Melody') in D major, 3/4 at {tempo:g} bpm" in tune.describe()
    assert ImportedTune.from_dict(tune.to_dict()) == tune


def test_the_melody_is_the_high_busy_single_line_not_the_bass_or_the_chords(tmp_path: Path) -> None:
    bass = [(36 + (i % 4) * 2, float(i) / 2, 0.5) for i in range(64)]  # busier than the tune, but low
    tune = [(72 + (i % 5), float(i), 1.0) for i in range(24)]
    pad = [(p, float(b * 4), 4.0) for b in range(6) for p in (60, 64, 67)]  # chords, in the middle
    path = save(tmp_path / "band.mid", ("Bass", 33, bass), ("Pad", 89, pad), ("Flute", 73, tune))
    read = read_tune(path)
    assert read.track == "Flute" and [p for p, _, _ in read.notes] == [p for p, _, _ in tune]


def test_from_a_part_that_plays_chords_its_top_line_is_taken(tmp_path: Path) -> None:
    chords = []
    top = [76, 77, 79, 77, 76, 74, 72, 74]
    for i, high in enumerate(top):
        chords += [(high, float(i), 1.0), (high - 4, float(i), 1.0), (high - 7, float(i), 1.0), (48, float(i), 1.0)]
    read = read_tune(save(tmp_path / "piano.mid", ("Piano", 0, chords)))
    assert [p for p, _, _ in read.notes] == top
    assert [s for _, s, _ in read.notes] == [float(i) for i in range(8)]


@pytest.mark.parametrize(
    ("pitches", "key"),
    [
        ([69, 72, 76, 69, 71, 72, 74, 72, 71, 69, 68, 69, 64, 69], ("A", "minor")),
        ([62, 66, 69, 74, 73, 71, 69, 67, 66, 64, 62, 69, 66, 62], ("D", "major")),
        ([67, 71, 74, 72, 71, 69, 67, 66, 67, 62, 67], ("G", "major")),
    ],
)
def test_without_a_key_signature_the_key_is_heard_from_the_notes(
    tmp_path: Path, pitches: list[int], key: tuple[str, str]
) -> None:
    # The tonic is held longest, at the start and end, as tunes do.
    notes = [(p, float(i), 2.0 if i in (0, len(pitches) - 1) else 1.0) for i, p in enumerate(pitches)]
    notes = [(p, sum(n[2] for n in notes[:i]), d) for i, (p, _, d) in enumerate(notes)]
    read = read_tune(save(tmp_path / "tune.mid", ("Tune", 0, notes)))
    assert (read.key, read.mode) == key


def test_key_meter_and_tempo_come_from_the_file(tmp_path: Path) -> None:
    notes = [(64, float(i), 1.0) for i in range(8)]
    read = read_tune(save(tmp_path / "a.mid", ("T", 0, notes), tempo=72.0, meter=(6, 8), key=12 + 4))
    assert (read.key, read.mode, read.meter, read.tempo) == ("E", "minor", "6/8", 72.0)
    assert read_tune(save(tmp_path / "b.mid", ("T", 0, notes), meter=(2, 2))).meter == "4/4"
    assert read_tune(save(tmp_path / "c.mid", ("T", 0, notes), meter=None)).meter == "4/4"
    assert read_tune(save(tmp_path / "d.mid", ("T", 0, notes), tempo=400.0)).tempo == 260.0


def one_line_error(path: Path) -> str:
    with pytest.raises(InputFileError) as caught:
        read_tune(path)
    message = str(caught.value)
    assert "\n" not in message and path.name in message
    return message


def test_files_that_cannot_be_used_are_refused_with_what_to_do(tmp_path: Path) -> None:
    text = tmp_path / "lyric.mid"
    text.write_text("I walked along the river\n", encoding="utf-8")
    assert "not a MIDI file Atelier can read" in one_line_error(text)
    empty = tmp_path / "empty.mid"
    empty.write_bytes(b"")
    assert "choose a Standard MIDI File" in one_line_error(empty)
    truncated = tmp_path / "cut.mid"
    whole = save(tmp_path / "whole.mid", ("T", 0, [(60, 0.0, 1.0)] * 4)).read_bytes()
    truncated.write_bytes(whole[: len(whole) // 2])
    assert "not a MIDI file" in one_line_error(truncated)
    assert "Cannot read the MIDI file" in one_line_error(tmp_path / "missing.mid")
    drums = save(tmp_path / "drums.mid", ("Kit", 0, [(36, float(i), 0.5) for i in range(8)]), drums=True)
    assert "no melody notes" in one_line_error(drums)
    assert "no melody notes" in one_line_error(save(tmp_path / "silent.mid", ("T", 0, [])))
    odd = save(tmp_path / "odd.mid", ("T", 0, [(60, 0.0, 1.0)]), meter=(5, 4))
    assert "is in 5/4" in one_line_error(odd)
    huge = tmp_path / "huge.mid"
    huge.write_bytes(b"MThd" + bytes(5 * 1024 * 1024))
    assert "far more than a song's MIDI file" in one_line_error(huge)
