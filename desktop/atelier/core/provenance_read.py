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
MAX_RECORD_DEPTH = 32  # a record Atelier writes is 3 levels deep; a deeper one is damage or forgery
MAX_MIDI_BYTES = 4 * 1024 * 1024  # as for a tune to continue: a song's MIDI file is a few kilobytes


def _too_deep(value: Any, limit: int = MAX_RECORD_DEPTH) -> bool:
    # Iterative, so a record nested thousands deep costs no recursion here (json.dumps would overflow on it).
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return False


def _scalar_text(value: Any) -> str | None:
    """Text for a field shown to the user: text as it is, a number as its digits, anything else None
    (a file that says a generator is a list is not believed, nor allowed to break the report)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def _text_dict(value: Any) -> dict[str, str] | None:
    if not isinstance(value, dict):
        return None
    kept = {str(k): text for k, v in value.items() if (text := _scalar_text(v)) is not None}
    return kept or None


def _seed(value: Any) -> int | list[int] | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, list):
        seeds = [v for v in value if isinstance(v, int) and not isinstance(v, bool)]
        return seeds or None
    return None


def _text(path: Path) -> bytes:
    if path.stat().st_size > MAX_TEXT_BYTES:
        raise InputFileError(f"{path.name} is larger than any file Atelier writes of its kind; nothing was read.")
    return path.read_bytes()


def _image(path: Path) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    chunks = read_png_text(path)
    return json_record(chunks.get(JSON_KEY)), parse_xmp(chunks.get(XMP_KEY, ""))


def _midi(path: Path) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    from atelier.core.midi_file import read_midi_record

    if path.stat().st_size > MAX_MIDI_BYTES:  # mido reads the whole file into memory first
        raise InputFileError(f"{path.name} is larger than any MIDI file Atelier writes; nothing was read.")
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
    try:
        return read_record(_text(path), fmt), {}
    except RecursionError:  # .gpl/.css records thousands of brackets deep (formats.read_record parses them)
        return None, {}


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
    if record is not None and _too_deep(record):
        record = None  # json.loads takes ~1000 levels; printing such a record would overflow the stack
    record = record or {}
    xmp = details if kind == "image" else {}
    if kind == "image" and record.get("task") == "palette":
        kind = "palette"  # a swatch strip
    # Every field below has the type its docstring gives whatever the file holds: the record is outside
    # data, and the report (text or JSON) formats these fields without checking them again.
    pack = _text_dict(record.get("pack"))
    if pack is None and xmp.get("Iptc4xmpExt:AISystemUsed"):
        pack = {"name": str(xmp["Iptc4xmpExt:AISystemUsed"])}
    sources = record.get("sources")
    source = [found for s in sources if (found := _text_dict(s))] if isinstance(sources, list) else None
    c2pa = credentials(target) if kind == "image" else None
    if c2pa is not None and not isinstance(c2pa.get("failures", []), list):
        c2pa = {**c2pa, "failures": [str(c2pa["failures"])]}
    return {
        "file": str(path),
        "kind": kind,
        "generator": _scalar_text(record.get("generator")) or xmp.get("xmp:CreatorTool") or details.get("ISFT"),
        "task": _scalar_text(record.get("task")),
        "pack": pack,
        "prompt": _scalar_text(record.get("prompt")) or xmp.get("Iptc4xmpExt:AIPromptInformation"),
        "seed": _seed(record.get("seed", record.get("seeds"))),
        "source": source or None,
        "ai": _scalar_text(record.get("ai")) or xmp.get("ai"),
        "c2pa": c2pa,
        "date": _scalar_text(record.get("date")) or xmp.get("xmp:CreateDate"),
        "record": record or None,
        "details": details or None,
    }
