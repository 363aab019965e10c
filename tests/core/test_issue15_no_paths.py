"""Issue 15's promise for the metadata added since: no absolute path of the user's files in what Atelier
writes into a file or sends back from the render server. Each writer gets parameters full of absolute paths
(the user's picture, a folder pack, a continued MIDI file) and the bytes it wrote are searched for them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from atelier.audio.wav import write_wav
from atelier.core.color.formats import EXPORT_FORMATS, PaletteFile, export_bytes
from atelier.core.midi_file import write_midi
from atelier.core.provenance import build_record, save_png
from atelier.core.provenance_lyric import lyric_file_text
from atelier.core.requests.melody import Melody, MelodyNote
from atelier.core.requests.sketch import SketchResult
from atelier.remote.wire import encode_error, encode_result


def leaky_params(home: Path) -> dict[str, Any]:
    """What a task could put into a record: every kind of place a path hides (value, list, nested dict)."""
    folder = home / "My Pictures" / "holiday"
    return {
        "generator": "Atelier 1.0",
        "task": "sketch",
        "prompt": "a boat",
        "seed": 3,
        "image": str(folder / "beach.png"),
        "pack_id": str(home / "models" / "my-sdxl"),
        "pack_source": str(home / "models" / "my-sdxl"),
        "continue_from": str(folder / "tune.mid"),
        "inputs": [str(folder / "a.png"), {"path": str(folder / "b.png")}],
        "windows": "C:\\Users\\me\\Pictures\\beach.png",
    }


def check_no_path(data: bytes, home: Path) -> None:
    for needle in (str(home), "My Pictures", "C:\\\\Users", "C:\\Users", "\\Users\\me"):
        assert needle.encode() not in data, needle
        assert needle.encode("utf-16-be") not in data, needle  # .ase and .aco hold UTF-16 names


MELODY = Melody(notes=(MelodyNote(60, 0.0, 1.0, "la", 0),), lines=("la",), line_spans=((0.0, 1.0),))


def test_png_records_and_xmp_hold_no_absolute_path(tmp_path: Path) -> None:
    path = tmp_path / "out.png"
    save_png(path, np.zeros((8, 8, 3), np.uint8), leaky_params(tmp_path))
    check_no_path(path.read_bytes(), tmp_path)
    assert b"beach.png" in path.read_bytes()  # the name stays: it says which picture, not where it is


def test_midi_and_wav_records_hold_no_absolute_path(tmp_path: Path) -> None:
    midi = write_midi(MELODY, tmp_path / "song.mid", leaky_params(tmp_path))
    check_no_path(midi.read_bytes(), tmp_path)
    wav = write_wav(tmp_path / "song.wav", np.zeros(800, np.float32), 8000, build_record(leaky_params(tmp_path)))
    check_no_path(wav.read_bytes(), tmp_path)


@pytest.mark.parametrize("fmt", EXPORT_FORMATS)
def test_palette_exports_hold_no_absolute_path(fmt: str, tmp_path: Path) -> None:
    # `source` is the kind of source (every caller passes result.source or the document's kind)
    palette = PaletteFile(("#112233", "#445566", "#778899"), ("a", "b", "c"), "sea")
    data = export_bytes(palette, fmt, "image", build_record(leaky_params(tmp_path)))
    check_no_path(data, tmp_path)


@pytest.mark.parametrize("markdown", [False, True])
def test_lyric_exports_hold_no_absolute_path(markdown: bool, tmp_path: Path) -> None:
    text = lyric_file_text("la la la\nthe river", markdown, build_record(leaky_params(tmp_path)))
    check_no_path(text.encode("utf-8"), tmp_path)


def test_a_signed_pngs_c2pa_manifest_holds_no_absolute_path(isolated_dirs: Path) -> None:
    pytest.importorskip("c2pa")
    from atelier.core.content_credentials import sign_png

    path = isolated_dirs / "signed.png"
    params = leaky_params(isolated_dirs)
    save_png(path, np.zeros((32, 32, 3), np.uint8), params, sign=lambda p, record: sign_png(p, record))
    check_no_path(path.read_bytes(), isolated_dirs)


def test_the_render_servers_replies_hold_no_absolute_path(tmp_path: Path) -> None:
    """A result's parameters are the task's (paths already stripped by the engine's record); an error that is
    not Atelier's own says only that the job failed, since its text may name the server's files."""
    result = SketchResult(
        images=(np.zeros((8, 8, 3), np.uint8),), seeds=(1,), parameters=build_record(leaky_params(tmp_path))
    )
    check_no_path(json.dumps(encode_result(result)).encode(), tmp_path)
    crash = encode_error(FileNotFoundError(2, "No such file", str(tmp_path / "My Pictures" / "x.png")))
    check_no_path(json.dumps(crash).encode(), tmp_path)
