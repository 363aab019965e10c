"""`atelier palette` end to end, as a user runs it (a subprocess with the real engine)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from atelier.core.color.formats import import_file

REPO = Path(__file__).resolve().parents[2]


def atelier(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "desktop")}
    return subprocess.run(
        [sys.executable, "-m", "atelier", *args], capture_output=True, text=True, env=env, timeout=600
    )


def check_schema(data: dict, count: int, source: str) -> None:
    assert set(data) >= {"colors", "source", "seconds"}
    assert data["source"] == source and isinstance(data["seconds"], float)
    assert len(data["colors"]) == count
    for item in data["colors"]:
        assert set(item) == {"hex", "name"}
        assert len(item["hex"]) == 7 and item["hex"].startswith("#") and item["name"]


def test_image_palette_json_and_export(tmp_path: Path) -> None:
    picture = np.zeros((60, 90, 3), np.uint8)
    picture[:, :30] = (200, 40, 40)
    picture[:, 30:60] = (40, 160, 60)
    picture[:, 60:] = (30, 60, 200)
    Image.fromarray(picture).save(tmp_path / "photo.png")
    out = atelier(
        "palette",
        "--image",
        str(tmp_path / "photo.png"),
        "--count",
        "3",
        "--json",
        "--export",
        str(tmp_path / "p.ase"),
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    check_schema(data, 3, "image")
    assert import_file(tmp_path / "p.ase").colors == tuple(c["hex"] for c in data["colors"])


@pytest.mark.slow
def test_text_palette_json(tmp_path: Path) -> None:
    pytest.importorskip("torch")  # the first run builds the text model
    out = atelier("palette", "--text", "stormy sea at dusk", "--count", "6", "--seed", "2", "--json")
    assert out.returncode == 0, out.stderr
    check_schema(json.loads(out.stdout), 6, "text")


@pytest.mark.slow
def test_text_of_thousands_of_lines_makes_a_palette(tmp_path: Path) -> None:
    pytest.importorskip("torch")  # the first run builds the text model
    # 4,000 characters can be 2,000 lines, each one model run: the lines are sampled (64), the whole kept.
    words = ["rain", "sun", "ash", "sea", "moss", "gold", "rust", "snow"]
    text = "\n".join(words[i % len(words)] for i in range(1500))
    out = atelier("palette", "--text", text, "--count", "5", "--json")
    assert out.returncode == 0, out.stderr
    check_schema(json.loads(out.stdout), 5, "text")


def test_a_one_pixel_picture_gives_one_colour_and_says_so(tmp_path: Path) -> None:
    Image.new("RGB", (1, 1), (255, 0, 0)).save(tmp_path / "red.png")
    out = atelier("palette", "--image", str(tmp_path / "red.png"), "--count", "5", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    check_schema(data, 1, "image")
    assert data["colors"][0]["hex"] == "#ff0000"
    assert data["detail"] == "This picture has only 1 distinct colour: the palette has 1 swatch, not 5."
    plain = atelier("palette", "--image", str(tmp_path / "red.png"), "--count", "5")
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.splitlines()[0].startswith("#ff0000") and "only 1 distinct colour" in plain.stdout
    assert len(plain.stdout.splitlines()) == 2  # the one swatch, then the note


@pytest.mark.parametrize("fmt", ["gpl", "ase", "aco", "css", "json", "png"])
def test_a_two_colour_picture_exports_its_two_swatches(tmp_path: Path, fmt: str) -> None:
    picture = np.zeros((20, 30, 3), np.uint8)
    picture[:, :20] = (20, 40, 90)
    picture[:, 20:] = (230, 200, 60)
    Image.fromarray(picture).save(tmp_path / "two.png")
    target = tmp_path / f"two.{fmt}"
    out = atelier("palette", "--image", str(tmp_path / "two.png"), "--count", "6", "--json", "--export", str(target))
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    check_schema(data, 2, "image")
    assert [c["hex"] for c in data["colors"]] == ["#14285a", "#e6c83c"]
    assert "only 2 distinct colours" in data["detail"]
    if fmt == "png":  # swatches side by side: two colours across the strip
        strip = np.asarray(Image.open(target).convert("RGB"))
        row = strip[strip.shape[0] // 2]
        assert {tuple(int(v) for v in row[x]) for x in (2, row.shape[0] - 3)} == {(20, 40, 90), (230, 200, 60)}
    elif fmt == "css":
        text = target.read_text()
        assert "--palette-1: #14285a;" in text and "--palette-2: #e6c83c;" in text and "--palette-3" not in text
    else:
        assert import_file(target).colors == ("#14285a", "#e6c83c")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--text", "sea", "--count", "13"], "3 to 12"),
        (["--text", "  "], "empty"),
        (["--image", "/no/such/photo.jpg"], "No image at"),
        (["--image", __file__], "Cannot read"),
        (["--harmony", "triad", "--base", "#12", "--count", "5"], "not a colour"),
    ],
)
def test_errors_are_one_clear_line(args: list[str], message: str) -> None:
    out = atelier("palette", *args)
    assert out.returncode == 1
    assert message in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_harmony_human_output() -> None:
    out = atelier("palette", "--harmony", "complementary", "--base", "#336699", "--count", "4")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0].startswith("#336699")


def test_exported_palette_files_carry_a_record_unless_asked_not_to(tmp_path: Path) -> None:
    from atelier.core.color.formats import read_record

    made = atelier("palette", "--harmony", "triad", "--base", "#336699", "--count", "5", "--export",
                   str(tmp_path / "with.gpl"))  # fmt: skip
    assert made.returncode == 0, made.stderr
    record = read_record((tmp_path / "with.gpl").read_bytes(), "gpl")
    assert record is not None and record["task"] == "palette" and record["ai"] == "algorithmicMedia"
    bare = atelier("palette", "--harmony", "triad", "--base", "#336699", "--count", "5", "--export",
                   str(tmp_path / "bare.gpl"), "--no-metadata")  # fmt: skip
    assert bare.returncode == 0, bare.stderr
    assert read_record((tmp_path / "bare.gpl").read_bytes(), "gpl") is None
    assert import_file(tmp_path / "bare.gpl").colors == import_file(tmp_path / "with.gpl").colors
