"""16-bit PCM WAV files with the standard library (no extra dependency for a simple format), with a
LIST/INFO chunk saying what made them (software, comment with the JSON record, title)."""

from __future__ import annotations

import json
import struct
import wave
from pathlib import Path
from typing import Any

import numpy as np

from atelier.core.atomic_files import atomic_output
from atelier.core.errors import InputFileError
from atelier.core.provenance import build_record

MAX_INFO_BYTES = 64 * 1024  # an INFO chunk Atelier writes is under 1 kB; a larger one is not read


def info_chunk(record: dict[str, Any]) -> bytes:
    """A RIFF LIST/INFO chunk: ISFT (software), INAM (title) and ICMT (the JSON record). Each value is
    NUL-terminated and padded to an even length, as RIFF asks; ASCII, since INFO declares no encoding."""
    title = f"{record.get('generator', 'Atelier')} {record.get('task', '')}".strip()
    if record.get("seed") is not None:
        title += f", seed {record['seed']}"
    fields = {
        b"ISFT": str(record.get("generator", "Atelier")),
        b"INAM": title,
        b"ICMT": json.dumps(record, sort_keys=True, ensure_ascii=True, default=str),
    }
    body = b"INFO"
    for key, text in fields.items():
        data = text.encode("ascii", "replace") + b"\x00"
        body += key + struct.pack("<I", len(data)) + data + (b"\x00" if len(data) % 2 else b"")
    return b"LIST" + struct.pack("<I", len(body)) + body


def _append_chunk(path: Path, chunk: bytes) -> None:
    """Add a chunk at the end of a RIFF file and fix the RIFF size (the stdlib writer has no INFO)."""
    with open(path, "r+b") as handle:
        header = handle.read(12)
        if header[:4] != b"RIFF" or header[8:12] != b"WAVE":
            raise InputFileError(f"{path} is not a WAV file.")
        handle.seek(0, 2)
        if handle.tell() % 2:
            handle.write(b"\x00")  # chunks start on even offsets
        handle.write(chunk)
        size = handle.tell() - 8
        handle.seek(4)
        handle.write(struct.pack("<I", size))


def read_wav_info(path: str | Path) -> dict[str, str]:
    """The LIST/INFO fields of a WAV file ({"ISFT": ..., "ICMT": ...}); {} when it has none."""
    found: dict[str, str] = {}
    with open(path, "rb") as handle:
        header = handle.read(12)
        if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
            return {}
        while len(head := handle.read(8)) == 8:
            kind, size = head[:4], struct.unpack("<I", head[4:])[0]
            if kind != b"LIST" or size > MAX_INFO_BYTES:
                handle.seek(size + size % 2, 1)
                continue
            body = handle.read(size + size % 2)[:size]
            if body[:4] != b"INFO":
                continue
            position = 4
            while position + 8 <= len(body):
                key, length = body[position : position + 4], struct.unpack("<I", body[position + 4 : position + 8])[0]
                value = body[position + 8 : position + 8 + length]
                found[key.decode("ascii", "replace")] = value.split(b"\x00", 1)[0].decode("ascii", "replace")
                position += 8 + length + length % 2
    return found


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
                _append_chunk(tmp, info_chunk(build_record(record)))
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
