"""Rendered audio (spectrum of a known note), MIDI export round trip, WAV files, and playback
through a real ALSA null device (PortAudio + sounddevice), in a subprocess with its own HOME."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import mido
import numpy as np
import pytest

from atelier.audio.midi import key_number, write_midi
from atelier.audio.synth import render_melody
from atelier.audio.wav import read_wav, write_wav
from atelier.core.music import Chord
from atelier.core.requests.melody import Melody, MelodyNote

REPO = Path(__file__).resolve().parents[2]


def melody_of(notes: list[tuple[int, float, float, str]], **values: object) -> Melody:
    built = tuple(MelodyNote(pitch, start, duration, text, 0, 2, True) for pitch, start, duration, text in notes)
    end = max(n.end for n in built)
    return Melody(notes=built, lines=("la",), line_spans=((0.0, end),), **values)  # type: ignore[arg-type]


def fundamental(audio: np.ndarray, rate: int) -> float:
    mono = audio.mean(axis=1) if audio.ndim == 2 else audio
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(len(mono))))
    freqs = np.fft.rfftfreq(len(mono), 1 / rate)
    spectrum[freqs < 60] = 0
    return float(freqs[int(np.argmax(spectrum))])


@pytest.mark.parametrize(("pitch", "program", "hertz"), [(69, 0, 440.0), (72, 73, 523.25), (57, 40, 220.0)])
def test_rendered_note_has_the_right_fundamental(pitch: int, program: int, hertz: float) -> None:
    melody = melody_of([(pitch, 0.0, 4.0, "la")], tempo=120.0, program=program)
    audio = render_melody(melody, 22050)
    assert audio.dtype == np.float32 and audio.shape[1] == 2
    assert 0.5 < np.abs(audio).max() <= 1.0
    # Two seconds of note, then the release: the length follows the tempo.
    assert abs(len(audio) / 22050 - 3.0) < 0.05
    measured = fundamental(audio[2205:22050], 22050)
    assert abs(measured - hertz) / hertz < 0.02


def test_silence_between_phrases_is_silent() -> None:
    melody = melody_of([(60, 0.0, 1.0, "one"), (64, 8.0, 1.0, "two")], tempo=120.0)
    audio = render_melody(melody, 22050)
    gap = audio[int(2.5 * 22050) : int(3.5 * 22050)]
    assert np.abs(gap).max() < 0.01


def test_midi_export_round_trip(tmp_path: Path) -> None:
    melody = Melody(
        notes=(
            MelodyNote(62, 0.0, 1.0, "mel", 0, 2, True),
            MelodyNote(65, 1.0, 0.5, "o", 0, 0, False),
            MelodyNote(69, 1.5, 2.5, "dy", 0, 0, False),
        ),
        lines=("melody",),
        line_spans=((0.0, 4.0),),
        key="D",
        mode="minor",
        meter="3/4",
        tempo=90.0,
        program=52,
    )
    path = write_midi(melody, tmp_path / "song.mid")
    midi = mido.MidiFile(str(path))
    messages = [m for track in midi.tracks for m in track]
    lyrics = [m.text for m in messages if m.type == "lyrics"]
    assert lyrics == ["mel-", "o-", "dy"]
    tempos = [m.tempo for m in messages if m.type == "set_tempo"]
    assert tempos and abs(mido.tempo2bpm(tempos[0]) - 90.0) < 0.01
    assert [m.key for m in messages if m.type == "key_signature"] == ["Dm"]
    assert [(m.numerator, m.denominator) for m in messages if m.type == "time_signature"] == [(3, 4)]
    assert [m.program for m in messages if m.type == "program_change"] == [52]
    import pretty_midi

    back = pretty_midi.PrettyMIDI(str(path))
    notes = back.instruments[0].notes
    assert [n.pitch for n in notes] == [62, 65, 69]
    seconds_per_quarter = 60 / 90
    assert [round(n.start / seconds_per_quarter, 3) for n in notes] == [0.0, 1.0, 1.5]
    assert notes[0].velocity > notes[1].velocity  # the stressed syllable is louder


def chord_melody(accompaniment: int) -> Melody:
    """C5 held over two bars of C major and F major chords."""
    notes = (MelodyNote(72, 0.0, 8.0, "la", 0, 2, True),)
    chords = (Chord(0, "major", "I", 0.0, 4.0), Chord(5, "major", "IV", 4.0, 4.0))
    return Melody(notes, ("la",), ((0.0, 8.0),), tempo=120.0, chords=chords, chord_program=accompaniment)


def test_the_chords_are_a_quieter_track_on_their_own_channel(tmp_path: Path) -> None:
    path = write_midi(chord_melody(89), tmp_path / "chords.mid")
    midi = mido.MidiFile(str(path))
    channels = {}
    for track in midi.tracks:
        name = next((m.name for m in track if m.type == "track_name"), "")
        ons = [m for m in track if m.type == "note_on" and m.velocity > 0]
        if ons:
            channels[name] = ({m.channel for m in ons}, [m.note for m in ons], max(m.velocity for m in ons))
    assert set(channels) == {"Melody", "Chords"}
    (melody_channel,), _, loud = channels["Melody"]
    (chord_channel,), chord_notes, soft = channels["Chords"]
    assert melody_channel != chord_channel and soft < loud
    programs = {m.channel: m.program for track in midi.tracks for m in track if m.type == "program_change"}
    assert programs[chord_channel] == 89
    # C E G then F A C, close triads below the melody, the second the inversion nearest the first.
    assert sorted(n % 12 for n in chord_notes[:3]) == [0, 4, 7] and sorted(n % 12 for n in chord_notes[3:]) == [0, 5, 9]
    assert all(48 <= n <= 67 for n in chord_notes)
    assert sum(abs(a - b) for a, b in zip(sorted(chord_notes[:3]), sorted(chord_notes[3:]), strict=True)) <= 3
    none = mido.MidiFile(str(write_midi(chord_melody(-1), tmp_path / "alone.mid")))
    assert not [m for track in none.tracks for m in track if m.type == "note_on" and m.channel == chord_channel]


def test_the_chords_sound_under_the_melody_in_the_render() -> None:
    def peak(audio: np.ndarray, hertz: float) -> float:
        mono = audio[2205:22050].mean(axis=1)  # the first bar: C major under C5
        spectrum = np.abs(np.fft.rfft(mono * np.hanning(len(mono))))
        freqs = np.fft.rfftfreq(len(mono), 1 / 22050)
        return float(spectrum[(freqs > hertz * 0.97) & (freqs < hertz * 1.03)].max())

    with_chords = render_melody(chord_melody(89), 22050)
    alone = render_melody(chord_melody(-1), 22050)
    e3 = 164.81  # the chord's third, which the melody's C has no harmonic near
    assert peak(with_chords, e3) > 20 * peak(alone, e3)
    assert peak(with_chords, 523.25) > 2 * peak(with_chords, e3)  # the melody stays on top


def test_modal_keys_use_their_parent_signature() -> None:
    assert key_number("D", "dorian") == 0  # D dorian has C major's notes
    assert key_number("G", "mixolydian") == 0
    assert key_number("A", "minor") == 12 + 9


def test_wav_round_trip(tmp_path: Path) -> None:
    tone = np.sin(2 * np.pi * 330 * np.arange(8000) / 8000).astype(np.float32) * 0.5
    audio = np.stack([tone, tone], axis=1)
    write_wav(tmp_path / "tone.wav", audio, 8000)
    back, rate = read_wav(tmp_path / "tone.wav")
    assert rate == 8000 and back.shape == audio.shape
    assert np.abs(back - audio).max() < 1e-3


NULL_DEVICE_SCRIPT = textwrap.dedent(
    """
    import json, time
    import numpy as np
    from atelier.audio.player import AudioPlayer, output_device
    from atelier.audio.synth import render_melody
    from atelier.core.requests.melody import Melody, MelodyNote

    ok, name = output_device()
    notes = tuple(MelodyNote(60 + i, float(i), 1.0, "la", 0, 2) for i in range(8))
    melody = Melody(notes=notes, lines=("la",), line_spans=((0.0, 8.0),), tempo=240.0)
    audio = render_melody(melody, 22050)
    player = AudioPlayer()
    player.play(audio, 22050)
    finished = player.wait(timeout=30)
    whole = player.position_seconds
    player.play(audio, 22050, start_seconds=0.5, end_seconds=1.0, loop=True)
    time.sleep(0.3)
    looping = player.playing
    loop_position = player.position_seconds
    player.stop()
    print(json.dumps({"ok": ok, "name": name, "finished": finished, "whole": whole,
                      "seconds": len(audio) / 22050, "looping": looping,
                      "loop_position": loop_position, "stopped": not player.playing}))
    """
)


def null_device_env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".asoundrc").write_text("pcm.!default { type null }\nctl.!default { type hw card 0 }\n")
    env = {**os.environ, "HOME": str(home), "PYTHONPATH": str(REPO / "desktop")}
    return env


def portaudio_missing() -> bool:
    try:
        import sounddevice  # noqa: F401
    except OSError:
        return True
    return False


@pytest.mark.skipif(portaudio_missing(), reason="PortAudio (libportaudio2) is not installed")
def test_playback_through_the_alsa_null_device(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", NULL_DEVICE_SCRIPT],
        env=null_device_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["ok"], report
    assert report["finished"]
    assert abs(report["whole"] - report["seconds"]) < 0.01  # every frame was played
    assert report["looping"]  # a loop keeps going
    assert 0.5 <= report["loop_position"] <= 1.0
    assert report["stopped"]
