"""Palette files: export .gpl, .ase, .aco, .css, .json and a .png swatch strip; import .gpl/.ase/.aco/.json.

An export given a provenance record says what made it where the format allows: a comment in .gpl and
.css, an "atelier" key in .json, text chunks in .png (.ase and .aco have no place for one).
Readers check everything before returning, so a malformed file raises InputFileError naming what is
wrong and the caller's palette is never half-replaced.
"""

from __future__ import annotations

import io
import json
import math
import re
import struct
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coloraide import Color

from atelier.core.atomic_files import write_atomic
from atelier.core.errors import InputFileError
from atelier.core.provenance import ALGORITHMIC, TRAINED, app_label, build_record

RECORD_MARK = "atelier:"  # the comment line (.gpl, .css) that holds the JSON record starts with this
Record = dict[str, Any] | None

EXPORT_FORMATS = ("gpl", "ase", "aco", "css", "json", "png")
IMPORT_FORMATS = ("gpl", "ase", "aco", "json")
MAX_IMPORTED = 64  # palettes beyond this are libraries, not palettes; the first ones are kept
MAX_FILE_BYTES = 4 * 1024 * 1024  # a palette file is a few kB; a larger one is refused unread
MAX_NAME_CHARS = 100  # a colour name or title longer than this is cut (a 1 MB name is no name)


@dataclass(frozen=True)
class PaletteFile:
    colors: tuple[str, ...]
    names: tuple[str, ...]
    title: str = "Atelier palette"


def _rgb(hex_color: str) -> tuple[int, int, int]:
    return int(hex_color[1:3], 16), int(hex_color[3:5], 16), int(hex_color[5:7], 16)


def _hex(r: float, g: float, b: float) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(max(0, min(255, round(v))) for v in (r, g, b)))


def clean_text(text: str, limit: int = MAX_NAME_CHARS) -> str:
    """A name as one line of text that every format can store: lone surrogates (valid in a Python string,
    not encodable in UTF-8 or UTF-16) become U+FFFD, control characters and line breaks become spaces,
    runs of spaces one, and at most `limit` characters are kept."""
    text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    text = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text)
    return " ".join(text.split())[:limit]


def _names(palette: PaletteFile) -> list[str]:
    return [
        clean_text(palette.names[i]) or f"Colour {i + 1}" if i < len(palette.names) else f"Colour {i + 1}"
        for i in range(len(palette.colors))
    ]


def _utf16_units(text: str) -> int:
    """Length in UTF-16 code units, what .ase and .aco count (an emoji is 2)."""
    return len(text.encode("utf-16-be")) // 2


# -- export -----------------------------------------------------------------------------------
def palette_record(
    source: str, prompt: str = "", seed: int | None = None, pack: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What made a palette: from text the text model chose the colours (trained algorithmic media);
    from an image (k-means on the user's picture) or a harmony rule it is an algorithm's, no model's; the palette
    model filling around locked colours is trained algorithmic media too."""
    record: dict[str, Any] = {
        "generator": app_label(),
        "task": "palette",
        "source": source,
        "ai": TRAINED if source in ("text", "model") else ALGORITHMIC,
    }
    if prompt:
        record["prompt"] = prompt
    if seed is not None:
        record["seed"] = seed
    if pack:
        record["pack"] = pack
    return build_record(record)


def _record_json(record: dict[str, Any]) -> str:
    # One line, ASCII, and never "*/" (that would end a CSS comment): JSON may escape "/" as "\\/".
    return json.dumps(build_record(record), sort_keys=True, ensure_ascii=True, default=str).replace("*/", "*\\/")


def _made_with(record: dict[str, Any]) -> str:
    made = build_record(record)
    what = f" ({made['task']})" if made.get("task") else ""
    return clean_text(f"Made with {made.get('generator', 'Atelier')}{what}")


def to_gpl(palette: PaletteFile, record: Record = None) -> bytes:
    # A .gpl is line based: a title or name with a line break (a palette from a lyric) would end the
    # header early and make the file unreadable, so each is joined onto one line.
    title = clean_text(palette.title)
    lines = ["GIMP Palette", f"Name: {title}", f"Columns: {min(len(palette.colors), 16)}", "#"]
    if record:  # comment lines: every .gpl reader skips them
        lines += [f"# {_made_with(record)}", f"# {RECORD_MARK} {_record_json(record)}", "#"]
    for color, name in zip(palette.colors, _names(palette), strict=True):
        r, g, b = _rgb(color)
        lines.append(f"{r:3d} {g:3d} {b:3d}\t{' '.join(name.split())}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _utf16(text: str) -> bytes:
    return text.encode("utf-16-be") + b"\x00\x00"


def to_ase(palette: PaletteFile) -> bytes:
    blocks = []
    for color, name in zip(palette.colors, _names(palette), strict=True):
        r, g, b = _rgb(color)
        body = struct.pack(">H", _utf16_units(name) + 1) + _utf16(name)
        body += b"RGB " + struct.pack(">fff", r / 255, g / 255, b / 255) + struct.pack(">H", 2)  # 2 = normal
        blocks.append(struct.pack(">HI", 0x0001, len(body)) + body)
    return b"ASEF" + struct.pack(">HHI", 1, 0, len(blocks)) + b"".join(blocks)


def to_aco(palette: PaletteFile) -> bytes:
    """Version 1 (values) followed by version 2 (values + names), as Photoshop writes it."""
    v1 = struct.pack(">HH", 1, len(palette.colors))
    v2 = struct.pack(">HH", 2, len(palette.colors))
    for color, name in zip(palette.colors, _names(palette), strict=True):
        entry = struct.pack(">HHHHH", 0, *(v * 257 for v in _rgb(color)), 0)
        v1 += entry
        v2 += entry + struct.pack(">I", _utf16_units(name) + 1) + _utf16(name)
    return v1 + v2


def to_css(palette: PaletteFile, record: Record = None) -> bytes:
    lines = [f"/* {clean_text(palette.title).replace('*/', '')} (Atelier) */"]
    if record:
        lines += [f"/* {_made_with(record).replace('*/', '')} */", f"/* {RECORD_MARK} {_record_json(record)} */"]
    lines.append(":root {")
    for index, (color, name) in enumerate(zip(palette.colors, _names(palette), strict=True), start=1):
        safe = name.replace("*/", "")
        lines.append(f"  --palette-{index}: {color}; /* {safe} */")
    lines.append("}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def to_json(palette: PaletteFile, source: str = "", record: Record = None) -> bytes:
    data: dict[str, Any] = {
        "title": clean_text(palette.title),
        "colors": [{"hex": c, "name": n} for c, n in zip(palette.colors, _names(palette), strict=True)],
        "source": source,
    }
    if record:
        data["atelier"] = build_record(record)
    return (json.dumps(data, indent=2) + "\n").encode("utf-8")


def to_png(palette: PaletteFile, swatch: int = 120, height: int = 120, record: Record = None) -> bytes:
    from PIL import Image

    from atelier.core.provenance import png_info

    strip = Image.new("RGB", (swatch * len(palette.colors), height))
    for index, color in enumerate(palette.colors):
        strip.paste(_rgb(color), (index * swatch, 0, (index + 1) * swatch, height))
    buffer = io.BytesIO()
    strip.save(buffer, "PNG", pnginfo=png_info(record) if record else None)
    return buffer.getvalue()


def export_bytes(palette: PaletteFile, fmt: str, source: str = "", record: Record = None) -> bytes:
    """The file's bytes; `record` (a provenance record, None for none) goes where the format allows."""
    if fmt == "json":
        return to_json(palette, source, record)
    if fmt in ("ase", "aco"):
        return to_ase(palette) if fmt == "ase" else to_aco(palette)
    if fmt == "gpl":
        return to_gpl(palette, record)
    if fmt == "css":
        return to_css(palette, record)
    if fmt == "png":
        return to_png(palette, record=record)
    raise InputFileError(f"Cannot export '.{fmt}'; use one of {', '.join(EXPORT_FORMATS)}.")


def read_record(data: bytes, fmt: str) -> dict[str, Any] | None:
    """The provenance record an exported palette file carries, or None (.ase, .aco, or none written)."""
    if fmt == "json":
        try:
            raw = json.loads(data)
        except (UnicodeDecodeError, ValueError, RecursionError):
            return None
        value = raw.get("atelier") if isinstance(raw, dict) else None
        return value if isinstance(value, dict) else None
    if fmt in ("gpl", "css"):
        text = data.decode("utf-8", "replace")
        match = re.search(r"^\s*(?:#|/\*)\s*" + re.escape(RECORD_MARK) + r"\s*(\{.*?\})\s*(?:\*/)?\s*$", text, re.M)
        if match:
            try:
                value = json.loads(match.group(1))
            except (ValueError, RecursionError):
                return None
            return value if isinstance(value, dict) else None
    return None


def format_of(path: str | Path) -> str:
    return Path(path).suffix.lower().lstrip(".")


def export_file(palette: PaletteFile, path: str | Path, source: str = "", record: Record = None) -> Path:
    target = Path(path)
    data = export_bytes(palette, format_of(target), source, record)
    try:
        write_atomic(target, data)  # a full disk keeps the earlier file whole
    except OSError as exc:
        raise InputFileError(f"Cannot write {target} ({exc.strerror or exc}).") from exc
    return target


# -- import -----------------------------------------------------------------------------------
class _Reader:
    """Big-endian binary reader that turns running off the end into a clear error."""

    def __init__(self, data: bytes, what: str) -> None:
        self.data, self.pos, self.what = data, 0, what

    def take(self, size: int) -> bytes:
        if size < 0 or self.pos + size > len(self.data):
            raise InputFileError(f"This {self.what} file is cut short or damaged (at byte {self.pos}).")
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def unpack(self, fmt: str) -> tuple[int | float, ...]:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))

    def utf16(self, chars: int) -> str:
        raw = self.take(chars * 2)
        try:
            return raw.decode("utf-16-be", "replace").rstrip("\x00")
        except UnicodeDecodeError as exc:
            raise InputFileError(f"This {self.what} file has a damaged colour name.") from exc

    @property
    def remaining(self) -> int:
        return len(self.data) - self.pos


def _finish(colors: list[str], names: list[str], title: str, what: str) -> PaletteFile:
    if not colors:
        raise InputFileError(f"This {what} file has no colours in it.")
    kept = tuple(clean_text(name) for name in names[:MAX_IMPORTED])
    return PaletteFile(tuple(colors[:MAX_IMPORTED]), kept, clean_text(title) or "Imported palette")


_GPL_LINE = re.compile(r"^\s*(\d{1,3})\s+(\d{1,3})\s+(\d{1,3})(?:\s+(.*))?$")


def from_gpl(data: bytes) -> PaletteFile:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputFileError("This .gpl file is not UTF-8 text.") from exc
    lines = text.splitlines()
    if not lines or lines[0].strip() != "GIMP Palette":
        raise InputFileError("This is not a GIMP palette: the first line must be 'GIMP Palette'.")
    colors, names, title = [], [], "Imported palette"
    for number, line in enumerate(lines[1:], start=2):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("Name:"):
            title = stripped[5:].strip() or title
            continue
        if stripped.startswith("Columns:"):
            continue
        match = _GPL_LINE.match(line)
        if not match or any(int(match.group(i)) > 255 for i in (1, 2, 3)):
            raise InputFileError(f"Line {number} of this .gpl file is not 'R G B name' with values 0-255.")
        colors.append(_hex(*(int(match.group(i)) for i in (1, 2, 3))))
        names.append((match.group(4) or "").strip())
    return _finish(colors, names, title, ".gpl")


def _cmyk(c: float, m: float, y: float, k: float) -> str:
    """Device CMYK without a profile, as swatch files mean it (no ICC profile is stored)."""
    return _hex(*(255 * (1 - v) * (1 - k) for v in (c, m, y)))


_ASE_MODELS = {b"RGB ": 3, b"CMYK": 4, b"LAB ": 3, b"Gray": 1}


def _ase_color(model: bytes, reader: _Reader) -> str:
    if model not in _ASE_MODELS:
        raise InputFileError(f"This .ase file uses an unknown colour model {model!r}.")
    values = [float(v) for v in reader.unpack(">" + "f" * _ASE_MODELS[model])]
    if not all(math.isfinite(v) for v in values):  # NaN or infinity: no colour (round() would raise)
        raise InputFileError(f"This .ase file has a colour value that is not a number ({values}).")
    if model == b"RGB ":
        r, g, b = values
        return _hex(r * 255, g * 255, b * 255)
    if model == b"CMYK":
        c, m, y, k = values
        return _cmyk(c, m, y, k)
    if model == b"LAB ":
        lightness, a, b = values
        return Color("lab", [lightness * 100, a, b]).convert("srgb").to_string(hex=True, fit=True)
    grey = values[0]
    return _hex(grey * 255, grey * 255, grey * 255)


def from_ase(data: bytes) -> PaletteFile:
    reader = _Reader(data, ".ase")
    if reader.take(4) != b"ASEF":
        raise InputFileError("This is not an Adobe swatch exchange (.ase) file: it must start with 'ASEF'.")
    major, _minor, count = reader.unpack(">HHI")
    if major != 1:
        raise InputFileError(f"This .ase file is version {major}; Atelier reads version 1.")
    colors, names = [], []
    for _ in range(int(count)):
        kind, length = reader.unpack(">HI")
        block = _Reader(reader.take(int(length)), ".ase")
        if kind != 0x0001:
            continue  # group start/end blocks carry only a name
        (name_chars,) = block.unpack(">H")
        name = block.utf16(int(name_chars))
        colors.append(_ase_color(block.take(4), block))
        names.append(name)
    if reader.remaining:
        raise InputFileError("This .ase file has data after its last block (damaged?).")
    return _finish(colors, names, "Imported palette", ".ase")


def _aco_color(space: int, values: tuple[int | float, ...]) -> str:
    w, x, y, _z = (int(v) for v in values)
    if space == 0:
        return _hex(w / 257, x / 257, y / 257)
    if space == 1:
        return Color("hsv", [w / 65535 * 360, x / 65535, y / 65535]).convert("srgb").to_string(hex=True, fit=True)
    if space == 2:
        c, m, ye, k = (1 - v / 65535 for v in (w, x, y, _z))  # Photoshop stores 0 = 100% ink
        return _cmyk(c, m, ye, k)
    if space == 7:
        a = x - 65536 if x > 32767 else x
        b = y - 65536 if y > 32767 else y
        return Color("lab", [w / 100, a / 100, b / 100]).convert("srgb").to_string(hex=True, fit=True)
    if space == 8:
        grey = 255 - w / 10000 * 255
        return _hex(grey, grey, grey)
    raise InputFileError(f"This .aco file uses colour space {space}, which Atelier cannot read.")


def from_aco(data: bytes) -> PaletteFile:
    reader = _Reader(data, ".aco")
    version, count = reader.unpack(">HH")
    if version not in (1, 2):
        raise InputFileError("This is not a Photoshop swatch (.aco) file: its version must be 1 or 2.")
    colors, names = [], []
    for _ in range(int(count)):
        space, *values = reader.unpack(">HHHHH")
        colors.append(_aco_color(int(space), tuple(values)))
        names.append("")
        if version == 2:
            (chars,) = reader.unpack(">I")
            names[-1] = reader.utf16(int(chars))
    if version == 1 and reader.remaining:
        v2_version, v2_count = reader.unpack(">HH")
        if v2_version != 2 or v2_count != count:
            raise InputFileError("This .aco file's second (named) section does not match its first.")
        for index in range(int(count)):
            space, *values = reader.unpack(">HHHHH")
            colors[index] = _aco_color(int(space), tuple(values))
            (chars,) = reader.unpack(">I")
            names[index] = reader.utf16(int(chars))
    if reader.remaining:
        raise InputFileError("This .aco file has data after its last colour (damaged?).")
    return _finish(colors, names, "Imported palette", ".aco")


_HEX = re.compile(r"^#?([0-9a-fA-F]{6})$")


def from_json(data: bytes) -> PaletteFile:
    try:
        raw = json.loads(data)  # bytes: UTF-8, UTF-16 or UTF-32, as JSON allows
    except (UnicodeDecodeError, ValueError) as exc:
        raise InputFileError(f"This .json file is not valid JSON ({exc}).") from exc
    except RecursionError as exc:  # a palette is two levels deep; thousands are an attack or damage
        raise InputFileError("This .json file is nested too deeply to be a palette.") from exc
    title = "Imported palette"
    if isinstance(raw, dict):
        title = str(raw.get("title") or title)
        raw = raw.get("colors")
    if not isinstance(raw, list):
        raise InputFileError("A palette .json must be a list of colours or an object with a 'colors' list.")
    colors, names = [], []
    for index, item in enumerate(raw, start=1):
        value, name = (
            (item, "")
            if isinstance(item, str)
            else ((item.get("hex"), item.get("name", "")) if isinstance(item, dict) else (None, ""))
        )
        match = _HEX.match(value.strip()) if isinstance(value, str) else None
        if not match:
            raise InputFileError(f"Colour {index} in this .json file is not '#rrggbb' (or {{'hex': ...}}).")
        colors.append("#" + match.group(1).lower())
        names.append(str(name or ""))
    return _finish(colors, names, title, ".json")


def import_bytes(data: bytes, fmt: str) -> PaletteFile:
    readers = {"gpl": from_gpl, "ase": from_ase, "aco": from_aco, "json": from_json}
    if fmt not in readers:
        raise InputFileError(f"Cannot import '.{fmt}' files; use one of {', '.join(IMPORT_FORMATS)}.")
    return readers[fmt](data)


def import_file(path: str | Path) -> PaletteFile:
    source = Path(path)
    if not source.is_file():  # a FIFO or a device would block or never end
        raise InputFileError(f"Cannot read {source}: there is no palette file there.")
    try:
        size = source.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputFileError(
                f"{source.name} is {size:,} bytes; a palette file is at most {MAX_FILE_BYTES:,} bytes "
                f"(Atelier keeps the first {MAX_IMPORTED} colours of any palette)."
            )
        data = source.read_bytes()
    except OSError as exc:
        raise InputFileError(f"Cannot read {source} ({exc.strerror or exc}).") from exc
    return import_bytes(data, format_of(source))
