"""Render a melody to stereo audio with the TimGM6mb General MIDI soundfont that pretty_midi ships.

tinysoundfont does the synthesis offline (no audio device needed). The notes come from the same
pretty_midi object the MIDI export writes, so what you hear is what you export.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from atelier.core.errors import AtelierError
from atelier.core.requests.melody import Melody

RELEASE_SECONDS = 1.0  # let the last note ring out
TARGET_PEAK = 0.8


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
    """float32 [frames, 2] in -1..1."""
    try:
        import tinysoundfont
    except ImportError as exc:
        raise AtelierError(
            "tinysoundfont is not installed, so melodies cannot be rendered to sound.",
            "Install it with: .venv/bin/pip install --no-deps tinysoundfont",
        ) from exc
    from atelier.audio.midi import melody_to_midi

    midi = melody_to_midi(melody)
    synth = tinysoundfont.Synth(gain=gain_db, samplerate=sample_rate)
    soundfont = synth.sfload(str(soundfont_path()))
    synth.program_select(0, soundfont, 0, melody.program)
    events: list[tuple[int, int, int, int]] = []  # (frame, order, pitch, velocity); offs before ons
    for instrument in midi.instruments:
        for note in instrument.notes:
            events.append((round(note.start * sample_rate), 1, note.pitch, note.velocity))
            events.append((round(note.end * sample_rate), 0, note.pitch, 0))
    events.sort()
    total = (events[-1][0] if events else 0) + round(RELEASE_SECONDS * sample_rate)
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
    # Soundfont presets differ in loudness by 20 dB; bring every render to the same peak.
    peak = float(np.abs(out).max()) if len(out) else 0.0
    if peak > 0:
        out *= TARGET_PEAK / peak
    return np.clip(out, -1.0, 1.0)
