"""`atelier melody` end to end: a lyric file in, a MIDI file with lyric events and a WAV out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import mido

from atelier.audio.wav import read_wav

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
    audio, rate = read_wav(tmp_path / "song.wav")
    last_note_end = max(start + duration for _, start, duration, *_ in notes) * 60 / 120
    assert abs(len(audio) / rate - (last_note_end + 1.0)) < 0.1  # the last note rings for a second
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
