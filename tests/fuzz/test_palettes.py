"""Palette files from outside: any bytes give a palette or an InputFileError, and every export reads back."""

from __future__ import annotations

import contextlib
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from atelier.core.color.formats import (
    EXPORT_FORMATS,
    IMPORT_FORMATS,
    MAX_IMPORTED,
    MAX_NAME_CHARS,
    PaletteFile,
    clean_text,
    export_bytes,
    import_bytes,
)
from atelier.core.errors import InputFileError
from tests.fuzz import inputs

hex_colours = st.integers(0, 2**24 - 1).map(lambda v: f"#{v:06x}")
# Any text at all, lone surrogates included (json.loads makes them from "\ud800").
names = st.text(st.characters(codec=None), max_size=40) | st.text(max_size=8)


def check_palette(palette: PaletteFile) -> None:
    assert 1 <= len(palette.colors) <= MAX_IMPORTED and len(palette.names) == len(palette.colors)
    for colour in palette.colors:
        assert len(colour) == 7 and colour[0] == "#" and int(colour[1:], 16) >= 0
    for text in (*palette.names, palette.title):
        assert len(text) <= MAX_NAME_CHARS and text == clean_text(text)
        text.encode("utf-8")  # storable: no lone surrogates


@settings(max_examples=1500, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_fuzz_any_palette_file_imports_or_is_an_input_error(seed: int) -> None:
    fmt, data = inputs.hostile_palette(random.Random(seed))
    try:
        palette = import_bytes(data, fmt)
    except InputFileError as exc:
        assert str(exc)
        return
    check_palette(palette)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=300), fmt=st.sampled_from(IMPORT_FORMATS))
def test_fuzz_random_bytes(data: bytes, fmt: str) -> None:
    with contextlib.suppress(InputFileError):
        check_palette(import_bytes(data, fmt))


@settings(max_examples=300, deadline=None)
@given(
    colours=st.lists(hex_colours, min_size=1, max_size=MAX_IMPORTED),
    labels=st.lists(names, max_size=MAX_IMPORTED),
    title=names,
    fmt=st.sampled_from(IMPORT_FORMATS),
)
def test_round_trip_every_import_format(colours: list[str], labels: list[str], title: str, fmt: str) -> None:
    palette = PaletteFile(tuple(colours), tuple(labels[: len(colours)]), title)
    loaded = import_bytes(export_bytes(palette, fmt), fmt)
    assert loaded.colors == palette.colors  # exact: every format stores 8 bits a channel or more
    written = [clean_text(labels[i]) if i < len(labels) else "" for i in range(len(colours))]
    expected = tuple(name or f"Colour {i + 1}" for i, name in enumerate(written))
    assert loaded.names == expected
    check_palette(loaded)
    if fmt in ("gpl", "json"):  # the formats with a title
        assert loaded.title == (clean_text(title) or "Imported palette")


@settings(max_examples=100, deadline=None)
@given(colours=st.lists(hex_colours, min_size=1, max_size=12), labels=st.lists(names, max_size=12), title=names)
def test_every_export_format_writes_without_error(colours: list[str], labels: list[str], title: str) -> None:
    palette = PaletteFile(tuple(colours), tuple(labels), title)
    for fmt in EXPORT_FORMATS:
        assert export_bytes(palette, fmt)
