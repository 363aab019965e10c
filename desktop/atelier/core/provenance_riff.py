"""A RIFF LIST/INFO chunk for WAV files (software, title, the JSON record) and its reader; in core so
`atelier provenance` reads WAV files without the audio layer."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

from atelier.core.errors import InputFileError

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


def append_chunk(path: Path, chunk: bytes) -> None:
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
