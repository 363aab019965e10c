"""`atelier colorize` as a user runs it: a real subprocess, real PNGs in and out, provenance, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from atelier.core.provenance import read_parameters
from tests.e2e.test_cli import atelier


def write_lines(path: Path) -> None:
    image = Image.new("L", (120, 90), 255)
    pen = ImageDraw.Draw(image)
    pen.ellipse((20, 10, 100, 80), outline=0, width=2)
    pen.line((20, 45, 100, 45), fill=0, width=2)
    image.save(path)


def test_colorize_writes_variations_with_provenance(tmp_path: Path) -> None:
    write_lines(tmp_path / "lines.png")
    hints = Image.new("RGBA", (120, 90), (0, 0, 0, 0))
    ImageDraw.Draw(hints).ellipse((55, 20, 61, 26), fill=(0x1B, 0x2A, 0x41, 255))
    hints.save(tmp_path / "hints.png")
    out = tmp_path / "out.png"
    result = atelier(
        "colorize",
        "--image",
        str(tmp_path / "lines.png"),
        "--palette",
        "#1b2a41,#c9a227,#e4572e",
        "--hints",
        str(tmp_path / "hints.png"),
        "--count",
        "3",
        "--out",
        str(out),
        "--json",
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["out"] == [str(out), str(tmp_path / "out-2.png"), str(tmp_path / "out-3.png")]
    assert report["size"] == [120, 90] and report["device"] == "CPUExecutionProvider"
    for path in report["out"]:
        with Image.open(path) as image:
            assert image.size == (120, 90)
            text = image.text["parameters"]  # A1111-style text, as for Stable Diffusion images
            assert "Model: atelier-colorizer" in text and "Palette: #" in text
        record = read_parameters(path)  # the JSON chunk
        assert record is not None and record["kind"] == "colorize"
        assert sorted(record["palette"]) == ["#1b2a41", "#c9a227", "#e4572e"]
        assert record["hints"] is True and record["device"] == "CPUExecutionProvider"
        assert record["licence"] and record["app_version"] and record["width"] == 120
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("RGB"))
        assert tuple(pixels[23, 58]) == (0x1B, 0x2A, 0x41)  # the hinted upper half


def test_colorize_bad_palette_is_one_line_error(tmp_path: Path) -> None:
    write_lines(tmp_path / "lines.png")
    result = atelier(
        "colorize",
        "--image",
        str(tmp_path / "lines.png"),
        "--palette",
        "#123456,#abcdef",
        "--out",
        str(tmp_path / "out.png"),
    )
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "3 to 8 colours" in result.stderr
    result = atelier(
        "colorize",
        "--image",
        str(tmp_path / "lines.png"),
        "--palette",
        "#123456,#abcdef,nope",
        "--out",
        str(tmp_path / "out.png"),
    )
    assert result.returncode == 1 and "nope" in result.stderr


def test_doctor_smoke_runs_the_colorizer() -> None:
    report = json.loads(atelier("doctor", "--json").stdout)
    entry = next(p for p in report["packs"] if p["id"] == "atelier-colorizer")
    assert entry["verified"] is True and entry["error"] in (None, "")
    assert entry["device"] == "CPUExecutionProvider"
