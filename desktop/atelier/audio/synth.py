"""Render a melody and its chords to stereo audio with the TimGM6mb General MIDI soundfont (in pretty_midi).

tinysoundfont does the synthesis offline (no audio device needed). The notes come from the same
pretty_midi object the MIDI export writes, so what you hear is what you export.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from atelier.core.errors import AtelierError
from atelier.core.requests.melody import Melody

RELEASE_SECONDS = 1.0  # let the last note ring out
TARGET_PEAK = 0.8
CHORD_LEVEL = 0.35  # the chords' loudness against the melody's (about 9 dB below)


def soundfont_path() -> Path:
    import pretty_midi

    path = Path(pretty_midi.__file__).resolve().parent / "TimGM6mb.sf2"
    if not path.is_file():
        raise AtelierError(
            "The General MIDI soundfont (TimGM6mb.sf2) is missing from pretty_midi.",
            "Reinstall pretty_midi: .venv/bin/pip install --force-reinstall pretty_midi",
        )
    return path


def render_melody(melody: Melody, sample_rate: int = 44100, gain_db: float = 0.0) -> np.ndarray:
    """float32 [frames, 2] in -1..1: the melody and, if it plays them, its chords below it."""
    try:
        import tinysoundfont
    except ImportError as exc:
        raise AtelierError(
            "tinysoundfont is not installed, so melodies cannot be rendered to sound.",
            "Install it with: .venv/bin/pip install --no-deps tinysoundfont",
        ) from exc
    from atelier.audio.midi import melody_to_midi

    midi = melody_to_midi(melody)
    ends = [note.end for instrument in midi.instruments for note in instrument.notes]
    total = round((max(ends, default=0.0) + RELEASE_SECONDS) * sample_rate)
    synth = tinysoundfont.Synth(gain=gain_db, samplerate=sample_rate)
    soundfont = synth.sfload(str(soundfont_path()))
    parts = [_render_part(synth, soundfont, instrument, sample_rate, total) for instrument in midi.instruments]
    # Soundfont presets differ in loudness by 20 dB: each part is brought to the same loudness while it
    # sounds, the chords CHORD_LEVEL below the melody, then the mix to one peak.
    out = np.zeros((total, 2), np.float32)
    for index, part in enumerate(parts):
        loudness = _sounding_rms(part)
        if loudness > 0:
            out += part * ((1.0 if index == 0 else CHORD_LEVEL) / loudness)
    peak = float(np.abs(out).max()) if len(out) else 0.0
    if peak > 0:
        out *= TARGET_PEAK / peak
    return np.clip(out, -1.0, 1.0)


def _render_part(synth: Any, soundfont: int, instrument: Any, sample_rate: int, total: int) -> np.ndarray:
    """One instrument's notes alone, `total` frames long (the synthesizer is silenced after it)."""
    synth.program_select(0, soundfont, 0, instrument.program)
    events: list[tuple[int, int, int, int]] = []  # (frame, order, pitch, velocity); offs before ons
    for note in instrument.notes:
        events.append((round(note.start * sample_rate), 1, note.pitch, note.velocity))
        events.append((round(note.end * sample_rate), 0, note.pitch, 0))
    events.sort()
    out = np.zeros((total, 2), np.float32)
    position = 0
    for frame, _, pitch, velocity in [*events, (total, 0, -1, 0)]:
        if frame > position:
            block = np.frombuffer(synth.generate(frame - position), dtype=np.float32)
            out[position:frame] = block.reshape(-1, 2)
            position = frame
        if pitch < 0:
            break
        if velocity:
            synth.noteon(0, pitch, velocity)
        else:
            synth.noteoff(0, pitch)
    synth.sounds_off()
    return out


def _sounding_rms(audio: np.ndarray) -> float:
    """RMS over the frames where the part is heard (a melody's rests would make it seem quieter)."""
    if not len(audio):
        return 0.0
    # Per-frame power summed over the channels, on every 16th frame: plenty for a level, and a tenth of
    # the time of the whole (a reduction over the short channel axis is slow in numpy).
    frames = audio[::16]
    power = np.einsum("ij,ij->i", frames, frames)
    peak = float(power.max())
    if peak <= 0:
        return 0.0
    heard = power[power > peak * 1e-6]  # within 60 dB of the loudest frame
    return float(np.sqrt(heard.mean(dtype=np.float64) / audio.shape[1]))
