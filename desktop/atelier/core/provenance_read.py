"""Reads back what any file Atelier writes says about what made it (`atelier provenance FILE`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from atelier.core.errors import InputFileError
from atelier.core.provenance import JSON_KEY, XMP_KEY, json_record, parse_xmp, read_png_text

MAX_TEXT_BYTES = 4 * 1024 * 1024  # a lyric or palette file is a few kB; larger text files are not read
PALETTE_SUFFIXES = (".gpl", ".css", ".json", ".ase", ".aco")
LYRIC_SUFFIXES = (".txt", ".md")
MIDI_SUFFIXES = (".mid", ".midi")


def _text(path: Path) -> bytes:
    if path.stat().st_size > MAX_TEXT_BYTES:
        raise InputFileError(f"{path.name} is larger than any file Atelier writes of its kind; nothing was read.")
    return path.read_bytes()


def _image(path: Path) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    chunks = read_png_text(path)
    return json_record(chunks.get(JSON_KEY)), parse_xmp(chunks.get(XMP_KEY, ""))


def _midi(path: Path) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    from atelier.core.midi_file import read_midi_record

    try:
        found = read_midi_record(path)
    except Exception as exc:  # mido raises many kinds for a damaged file (OSError, EOFError, KeyError ...)
        raise InputFileError(f"{path.name} is not a MIDI file Atelier can read ({exc}).") from exc
    return found["record"], {"title": found["title"]} if found["title"] else {}


def _wav(path: Path) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    from atelier.core.provenance_riff import read_wav_info

    info = read_wav_info(path)
    return json_record(info.get("ICMT")), {k: v for k, v in info.items() if k != "ICMT"}


def _lyric(path: Path) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    from atelier.core.provenance_lyric import marked_lines, split_front_matter

    text = _text(path).decode("utf-8", "replace")
    record, body = split_front_matter(text)
    extra = {"marked_lines": marked_lines(body)} if path.suffix.lower() == ".md" else {}
    return record, extra


def _palette(path: Path) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    from atelier.core.color.formats import format_of, read_record

    fmt = format_of(path)
    if fmt == "png":
        return _image(path)
    return read_record(_text(path), fmt), {}


def kind_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in MIDI_SUFFIXES:
        return "midi"
    if suffix == ".wav":
        return "audio"
    if suffix in LYRIC_SUFFIXES:
        return "lyric"
    if suffix in PALETTE_SUFFIXES:
        return "palette"
    return "image"


def credentials(path: Path) -> dict[str, Any] | None:
    """The C2PA manifest summary, from the content-credentials module when it is there (an optional
    part: without it, or without a manifest in the file, None)."""
    try:
        from atelier.core.content_credentials import (  # type: ignore[import-not-found,unused-ignore]
            read_credentials,
        )
    except ImportError:
        return None
    try:
        found = read_credentials(path)
    except Exception as exc:  # a damaged manifest is worth saying, not a crash of the whole report
        return {"error": str(exc) or type(exc).__name__}
    return found if isinstance(found, dict) else None


def read_provenance(path: str | Path) -> dict[str, Any]:
    """{"file", "kind", "generator", "task", "pack", "prompt", "seed", "source", "ai", "c2pa", "date",
    "record", "details"}: None where the file does not say. Raises InputFileError for a missing file."""
    target = Path(path)
    if not target.is_file():
        raise InputFileError(f"Cannot read {path}: there is no such file.", "Give the path of a file Atelier wrote.")
    kind = kind_of(target)
    readers = {"midi": _midi, "audio": _wav, "lyric": _lyric, "palette": _palette, "image": _image}
    try:
        record, details = readers[kind](target)
    except OSError as exc:
        raise InputFileError(f"Cannot read {path} ({exc.strerror or exc}).") from exc
    record = record or {}
    xmp = details if kind == "image" else {}
    if kind == "image" and record.get("task") == "palette":
        kind = "palette"  # a swatch strip
    pack = record.get("pack") if isinstance(record.get("pack"), dict) else None
    if pack is None and xmp.get("Iptc4xmpExt:AISystemUsed"):
        pack = {"name": xmp["Iptc4xmpExt:AISystemUsed"]}
    seed = record.get("seed", record.get("seeds"))
    return {
        "file": str(path),
        "kind": kind,
        "generator": record.get("generator") or xmp.get("xmp:CreatorTool") or details.get("ISFT"),
        "task": record.get("task"),
        "pack": pack,
        "prompt": record.get("prompt") or xmp.get("Iptc4xmpExt:AIPromptInformation"),
        "seed": seed,
        "source": record.get("sources"),
        "ai": record.get("ai") or xmp.get("ai"),
        "c2pa": credentials(target) if kind == "image" else None,
        "date": record.get("date") or xmp.get("xmp:CreateDate"),
        "record": record or None,
        "details": details or None,
    }
