"""`atelier melody` end to end: a lyric file in, a MIDI file with lyric events and a WAV out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import mido

from atelier.audio.wav import read_wav
from atelier.core.midi_file import read_tune

REPO = Path(__file__).resolve().parents[2]
SONG = "[Verse]\nI walked along the river\nThe city humming softly\n\n[Chorus]\nSing it to me, sing it slow\n"


def atelier(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "desktop")}
    return subprocess.run(
        [sys.executable, "-m", "atelier", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_melody_writes_midi_and_wav(tmp_path: Path) -> None:
    (tmp_path / "song.txt").write_text(SONG, encoding="utf-8")
    done = atelier(
        "melody",
        "--lyrics-file",
        "song.txt",
        "--key",
        "G",
        "--mode",
        "major",
        "--tempo",
        "120",
        "--seed",
        "3",
        "--out",
        "song.mid",
        "--wav",
        "song.wav",
        "--json",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["device"] == "CPUExecutionProvider"
    notes = report["melody"]["notes"]
    assert len(notes) == 21  # 7 syllables a line, one note each
    midi = mido.MidiFile(str(tmp_path / "song.mid"))
    lyrics = [m.text for track in midi.tracks for m in track if m.type == "lyrics"]
    assert len(lyrics) == 21 and lyrics[:2] == ["I", "walked"]
    assert [m.key for track in midi.tracks for m in track if m.type == "key_signature"] == ["G"]
    # A chord a bar on a channel of its own, the song ending on the tonic chord.
    chords = report["melody"]["chords"]
    bar_ends = [start + duration for _, _, _, start, duration, _ in chords]
    assert [start for _, _, _, start, _, _ in chords] == [0.0, *bar_ends[:-1]]
    assert report["chords"][-1] == "G" and len(report["chords"]) == len(chords)
    channels = {m.channel for track in midi.tracks for m in track if m.type == "note_on"}
    assert len(channels) == 2
    audio, rate = read_wav(tmp_path / "song.wav")
    song_end = max(bar_ends) * 60 / 120  # the last chord holds to the end of the last bar
    assert abs(len(audio) / rate - (song_end + 1.0)) < 0.1  # and rings for a second
    assert float(abs(audio).max()) > 0.3

    again = atelier(
        "melody",
        "--lyrics-file",
        "song.txt",
        "--key",
        "G",
        "--tempo",
        "120",
        "--seed",
        "3",
        "--out",
        "again.mid",
        "--json",
        cwd=tmp_path,
    )
    assert json.loads(again.stdout)["melody"]["notes"] == notes  # the seed reproduces the melody


def test_melody_errors_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text("\n\n", encoding="utf-8")
    done = atelier("melody", "--lyrics-file", "empty.txt", "--out", "x.mid", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0
    assert "no words" in done.stderr
    missing = atelier("melody", "--lyrics-file", "nope.txt", "--out", "x.mid", cwd=tmp_path)
    assert missing.returncode == 1 and "Cannot read the lyric" in missing.stderr


LONGER = SONG + "The river carries on\nAnd I go with it\n"


def test_continue_from_a_midi_file(tmp_path: Path) -> None:
    (tmp_path / "song.txt").write_text(SONG, encoding="utf-8")
    (tmp_path / "longer.txt").write_text(LONGER, encoding="utf-8")
    first = atelier(
        "melody", "--lyrics-file", "song.txt", "--key", "Eb", "--mode", "minor", "--meter", "6/8",
        "--tempo", "88", "--chords", "none", "--out", "song.mid", "--json", cwd=tmp_path,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    midi = mido.MidiFile(str(tmp_path / "song.mid"))
    assert len({m.channel for track in midi.tracks for m in track if m.type == "note_on"}) == 1  # no chords
    done = atelier(
        "melody", "--lyrics-file", "longer.txt", "--continue-from", "song.mid", "--seed", "2",
        "--out", "longer.mid", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Lines 1-3 are the tune of song.mid: 21 notes (track 'Melody') in Eb minor, 6/8 at 88 bpm." in done.stdout
    assert done.stdout.rstrip().endswith(" Ebm") and "C#" not in done.stdout  # chords spelled in Eb minor: Db
    longer = read_tune(tmp_path / "longer.mid")
    assert (longer.key, longer.mode, longer.meter, longer.tempo) == ("Eb", "minor", "6/8", 88.0)
    before = [tuple(n[:3]) for n in json.loads(first.stdout)["melody"]["notes"]]
    assert [(p, round(s, 6), round(d, 6)) for p, s, d in longer.notes[:21]] == [
        (p, round(s, 6), round(d, 6)) for p, s, d in before
    ]
    assert len(longer.notes) == 21 + 6 + 5  # the two new lines, one note a syllable
    assert (
        len({m.channel for t in mido.MidiFile(str(tmp_path / "longer.mid")).tracks for m in t if m.type == "note_on"})
        == 2
    )

    (tmp_path / "broken.mid").write_bytes(b"MThd not really")
    bad = atelier(
        "melody", "--lyrics-file", "longer.txt", "--continue-from", "broken.mid", "--out", "y.mid", cwd=tmp_path
    )
    assert bad.returncode == 1 and bad.stderr.strip().count("\n") == 0
    assert "broken.mid is not a MIDI file Atelier can read" in bad.stderr
