"""16-bit PCM WAV files with the standard library (no extra dependency for a simple format), with a
LIST/INFO chunk saying what made them (software, comment with the JSON record, title)."""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Any

import numpy as np

from atelier.core.atomic_files import atomic_output
from atelier.core.errors import InputFileError
from atelier.core.provenance import build_record
from atelier.core.provenance_riff import append_chunk, info_chunk, read_wav_info

__all__ = ["read_wav", "read_wav_info", "write_wav"]


def write_wav(path: str | Path, audio: np.ndarray, sample_rate: int, record: dict[str, Any] | None = None) -> Path:
    """`audio`: float [frames] or [frames, channels] in -1..1; `record` (None: none) goes in LIST/INFO."""
    target = Path(path)
    samples = np.asarray(audio, np.float32)
    if samples.ndim == 1:
        samples = samples[:, None]
    pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).round().astype("<i2")
    try:
        # Written beside the target and renamed: a full disk or a kill leaves any earlier file whole.
        with atomic_output(target) as tmp, wave.open(str(tmp), "wb") as handle:
            handle.setnchannels(samples.shape[1])
            handle.setsampwidth(2)
            handle.setframerate(int(sample_rate))
            handle.writeframes(pcm.tobytes())
            handle.close()  # the header's sizes are final only once closed
            if record:
                append_chunk(tmp, info_chunk(build_record(record)))
    except OSError as exc:
        raise InputFileError(f"Cannot write the WAV file {target} ({exc}).") from exc
    return target


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """float32 [frames, channels] and the sample rate."""
    with wave.open(str(path), "rb") as handle:
        if handle.getsampwidth() != 2:
            raise InputFileError(f"{path} is not a 16-bit WAV file.")
        frames = handle.readframes(handle.getnframes())
        channels = handle.getnchannels()
        rate = handle.getframerate()
    data = np.frombuffer(frames, "<i2").astype(np.float32) / 32767.0
    return data.reshape(-1, channels), rate
