"""Palette files round-trip through every format; malformed files are clear errors."""

from __future__ import annotations

import io
import json
import os
import struct
from pathlib import Path

import pytest
from PIL import Image

from atelier.core.color.formats import (
    EXPORT_FORMATS,
    IMPORT_FORMATS,
    PaletteFile,
    export_bytes,
    export_file,
    import_bytes,
    import_file,
)
from atelier.core.errors import InputFileError

PALETTE = PaletteFile(
    ("#1b2a41", "#324a5f", "#c9a227", "#e8dab2", "#b23a48", "#000000", "#ffffff"),
    ("navy night", "slate", "gold", "sand", "berry", "black", "white – ünïcode"),
    "Test palette",
)


@pytest.mark.parametrize("fmt", IMPORT_FORMATS)
def test_round_trip(fmt: str, tmp_path: Path) -> None:
    path = export_file(PALETTE, tmp_path / f"p.{fmt}")
    loaded = import_file(path)
    assert loaded.colors == PALETTE.colors
    assert loaded.names == PALETTE.names


def test_css_and_png_exports() -> None:
    css = export_bytes(PALETTE, "css").decode()
    assert "--palette-1: #1b2a41;" in css and css.count("--palette-") == 7
    png = Image.open(io.BytesIO(export_bytes(PALETTE, "png")))
    assert png.size == (7 * 120, 120)
    assert png.getpixel((60, 60)) == (0x1B, 0x2A, 0x41) and png.getpixel((6 * 120 + 5, 5)) == (255, 255, 255)
    assert set(EXPORT_FORMATS) >= set(IMPORT_FORMATS)


def test_reads_files_written_by_other_tools() -> None:
    gpl = b"GIMP Palette\nName: Other\nColumns: 2\n#\n255   0   0\tRed\n  0 128 255 Sky blue\n\n"
    loaded = import_bytes(gpl, "gpl")
    assert loaded.colors == ("#ff0000", "#0080ff") and loaded.names == ("Red", "Sky blue")
    assert loaded.title == "Other"
    # A version-1-only .aco (no names) with an RGB and a greyscale entry.
    aco = struct.pack(">HH", 1, 2) + struct.pack(">5H", 0, 65535, 0, 0, 0) + struct.pack(">5H", 8, 10000, 0, 0, 0)
    assert import_bytes(aco, "aco").colors == ("#ff0000", "#000000")
    # An .ase with a group and a CMYK swatch.
    name = "C".encode("utf-16-be") + b"\0\0"
    body = struct.pack(">H", 2) + name + b"CMYK" + struct.pack(">ffff", 0, 0, 0, 1) + struct.pack(">H", 2)
    group = struct.pack(">H", 2) + name
    data = b"ASEF" + struct.pack(">HHI", 1, 0, 3)
    data += struct.pack(">HI", 0xC001, len(group)) + group
    data += struct.pack(">HI", 0x0001, len(body)) + body
    data += struct.pack(">HI", 0xC002, 0)
    assert import_bytes(data, "ase").colors == ("#000000",)
    assert import_bytes(b'["#ABCDEF", {"hex": "123456", "name": "x"}]', "json").colors == (
        "#abcdef",
        "#123456",
    )


@pytest.mark.parametrize(
    ("fmt", "data", "message"),
    [
        ("gpl", b"not a palette", "GIMP palette"),
        ("gpl", b"GIMP Palette\n300 0 0 Too red\n", "Line 2"),
        ("gpl", b"GIMP Palette\n# only comments\n", "no colours"),
        ("ase", b"ASEX" + bytes(8), "ASEF"),
        ("ase", export_bytes(PALETTE, "ase")[:-7], "cut short"),
        ("ase", export_bytes(PALETTE, "ase") + b"junk", "after its last"),
        ("aco", struct.pack(">HH", 9, 1), "version"),
        ("aco", export_bytes(PALETTE, "aco")[:30], "cut short"),
        ("aco", struct.pack(">HH", 1, 1) + struct.pack(">5H", 99, 0, 0, 0, 0), "colour space 99"),
        ("json", b"{not json", "not valid JSON"),
        ("json", b'{"colors": ["#12345"]}', "Colour 1"),
        ("json", b'{"colours": []}', "'colors' list"),
        ("txt", b"", "Cannot import"),
    ],
)
def test_malformed_files_are_clear_errors(fmt: str, data: bytes, message: str) -> None:
    with pytest.raises(InputFileError, match=message):
        import_bytes(data, fmt)


def test_missing_file_and_unknown_export(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="Cannot read"):
        import_file(tmp_path / "missing.gpl")
    with pytest.raises(InputFileError, match="Cannot export"):
        export_file(PALETTE, tmp_path / "p.bmp")


def test_gpl_with_a_multi_line_title_stays_readable(tmp_path: Path) -> None:
    lyric = PaletteFile(("#112233", "#445566", "#778899"), ("a", "b\nc", "d"), "Rain on the window\nlight in the hall")
    path = export_file(lyric, tmp_path / "lyric.gpl")
    text = path.read_text()
    assert "Name: Rain on the window light in the hall\n" in text
    loaded = import_file(path)
    assert loaded.colors == lyric.colors and loaded.names == ("a", "b c", "d")


# -- hostile files (issue 15) ------------------------------------------------------------------
def _ase_one(model: bytes, values: bytes) -> bytes:
    body = struct.pack(">H", 2) + "x".encode("utf-16-be") + b"\x00\x00" + model + values + struct.pack(">H", 2)
    return b"ASEF" + struct.pack(">HHI", 1, 0, 1) + struct.pack(">HI", 1, len(body)) + body


@pytest.mark.parametrize("bits", ["7fc00000", "7f800000", "ff800000"])
@pytest.mark.parametrize(("model", "floats"), [(b"RGB ", 3), (b"CMYK", 4), (b"LAB ", 3), (b"Gray", 1)])
def test_ase_with_nan_or_infinity_is_an_input_error(model: bytes, floats: int, bits: str) -> None:
    # NaN raised ValueError and infinity OverflowError from round(); the GUI showed a traceback.
    values = bytes.fromhex(bits) + struct.pack(f">{floats - 1}f", *([0.5] * (floats - 1)))
    with pytest.raises(InputFileError, match="not a number"):
        import_bytes(_ase_one(model, values), "ase")


def test_ase_out_of_range_values_are_clamped() -> None:
    loaded = import_bytes(_ase_one(b"RGB ", struct.pack(">fff", 3.0e38, -2.0, 0.5)), "ase")
    assert loaded.colors == ("#ff0080",)


@pytest.mark.parametrize("depth", [1000, 100_000])
def test_deeply_nested_json_is_an_input_error(depth: int) -> None:
    with pytest.raises(InputFileError, match="nested too deeply"):
        import_bytes(b"[" * depth + b"]" * depth, "json")
    with pytest.raises(InputFileError, match="nested too deeply"):
        import_bytes(b'{"colors":' * depth + b"[]" + b"}" * depth, "json")


def test_json_in_utf16_and_names_that_no_format_could_store() -> None:
    data = json.dumps({"title": "t\u2028x", "colors": [{"hex": "#112233", "name": "a\ud800\x00b\n" + "z" * 500}]})
    loaded = import_bytes(data.encode("utf-16"), "json")
    assert loaded.title == "t x" and loaded.names == ("a\ufffd b " + "z" * 95,)
    for fmt in ("gpl", "ase", "aco", "json"):  # every export of it reads back
        assert import_bytes(export_bytes(loaded, fmt), fmt).names == loaded.names


def test_ase_and_aco_names_count_utf16_units() -> None:
    # An emoji is two UTF-16 units: counting it as one made .ase and .aco files nothing could read.
    palette = PaletteFile(("#ff0000", "#00ff00"), ("fire 🔥", "𝄞 clef"), "t")
    for fmt in ("ase", "aco"):
        assert import_bytes(export_bytes(palette, fmt), fmt).names == palette.names


def test_a_huge_or_special_palette_file_is_refused_unread(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    with big.open("wb") as handle:
        handle.truncate(5 * 1024 * 1024)
    with pytest.raises(InputFileError, match="at most 4,194,304 bytes"):
        import_file(big)
    fifo = tmp_path / "pipe.gpl"
    os.mkfifo(fifo)
    with pytest.raises(InputFileError, match="no palette file"):
        import_file(fifo)
