"""`--project DIR` on generating commands and `atelier history DIR`, run as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import mido
import numpy as np
import pytest
from PIL import Image, ImageDraw

from atelier.core.history import HistoryEntry, ProjectHistory
from atelier.core.provenance import read_parameters
from atelier.core.requests.colorize import ColorizeRequest, ColorizeResult
from atelier.core.requests.lineart import LineArtRequest, LineArtResult
from atelier.core.requests.melody import Melody, MelodyResult
from atelier.core.requests.palette import PaletteFromImageRequest, PaletteResult
from atelier.core.requests.sketch import SketchRequest, SketchResult

REPO = Path(__file__).resolve().parents[2]
SONG = "[Verse]\nI walked along the river\nThe city humming softly\n"


def atelier(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "desktop")}
    return subprocess.run(
        [sys.executable, "-m", "atelier", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def kept_in_project(tmp_path: Path, *args: str) -> tuple[ProjectHistory, HistoryEntry, dict]:
    """Run a generating command with `--json --project p`: the project's history, its one entry, the JSON."""
    done = atelier(*args, "--json", "--project", "p", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    history = ProjectHistory(tmp_path / "p" / "history")
    [entry] = history.entries()
    return history, entry, json.loads(done.stdout)


def picture(path: Path) -> np.ndarray:
    image = np.zeros((60, 90, 3), np.uint8)
    image[:, :30] = (200, 40, 40)
    image[:, 30:60] = (40, 160, 60)
    image[:, 60:] = (30, 60, 200)
    Image.fromarray(image).save(path)
    return image


def test_generating_commands_keep_their_results_in_the_project(tmp_path: Path) -> None:
    photo = picture(tmp_path / "photo.png")
    (tmp_path / "song.txt").write_text(SONG, encoding="utf-8")
    palette = atelier(
        "palette", "--image", "photo.png", "--count", "3", "--json", "--project", "songs/river", cwd=tmp_path
    )
    assert palette.returncode == 0, palette.stderr
    palette_json = json.loads(palette.stdout)
    project = tmp_path / "songs" / "river"
    assert palette_json["history"]["project"] == str(project)
    assert json.loads((project / "project.json").read_text())["app"] == "atelier"  # made on first use

    lineart = atelier("lineart", "--image", "photo.png", "--out", "lines.png", "--project", str(project), cwd=tmp_path)
    assert lineart.returncode == 0, lineart.stderr
    assert "Kept in" in lineart.stderr and lineart.stdout.count("\n") == 1  # stdout stays one line
    melody = atelier(
        "melody",
        "--lyrics-file",
        "song.txt",
        "--seed",
        "4",
        "--out",
        "song.mid",
        "--json",
        "--project",
        str(project),
        cwd=tmp_path,
    )
    assert melody.returncode == 0, melody.stderr
    melody_json = json.loads(melody.stdout)

    listed = atelier("history", str(project), "--json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    entries = json.loads(listed.stdout)
    assert [e["kind"] for e in entries] == ["melody", "lineart", "palette-image"]  # newest first
    assert entries[2]["id"] == palette_json["history"]["id"] and entries[0]["id"] == melody_json["history"]["id"]
    for entry in entries:
        assert {"id", "kind", "created", "starred", "files", "request"} <= set(entry) and entry["starred"] is False
        for name in entry["files"]:
            assert (project / "history" / entry["id"] / name).is_file(), name
    assert entries[2]["request"]["count"] == 3 and entries[2]["request"]["label"] == "photo.png"
    assert entries[1]["request"]["sensitivity"] == 0.5 and entries[0]["request"]["lyrics"] == SONG
    assert entries[0]["request"]["seed"] == 4 and "melody-1.mid" in entries[0]["files"]

    # The stored entries rebuild exactly what the commands computed and wrote.
    history = ProjectHistory(project / "history")
    by_kind = {entry.kind: entry for entry in history.entries()}
    stored_palette = history.load_result(by_kind["palette-image"])
    assert isinstance(stored_palette, PaletteResult)
    assert list(stored_palette.colors) == [c["hex"] for c in palette_json["colors"]]
    palette_request = history.load_request(by_kind["palette-image"])
    assert isinstance(palette_request, PaletteFromImageRequest)
    assert np.array_equal(palette_request.image, photo)  # the picture itself, to recall exactly
    stored_lines = history.load_result(by_kind["lineart"])
    assert isinstance(stored_lines, LineArtResult)
    assert np.array_equal(stored_lines.lines, np.asarray(Image.open(tmp_path / "lines.png")))
    lineart_request = history.load_request(by_kind["lineart"])
    assert isinstance(lineart_request, LineArtRequest) and np.array_equal(lineart_request.image[:, :, :3], photo)
    stored_melody = history.load_result(by_kind["melody"])
    assert isinstance(stored_melody, MelodyResult)
    assert stored_melody.variations[0] == Melody.from_dict(melody_json["melody"])
    kept_midi = mido.MidiFile(project / "history" / entries[0]["id"] / "melody-1.mid")
    written_midi = mido.MidiFile(tmp_path / "song.mid")
    notes = [
        [m.note for m in track if m.type == "note_on"] for track in (kept_midi.tracks[-1], written_midi.tracks[-1])
    ]
    assert notes[0] == notes[1] and notes[0]

    history.star(by_kind["lineart"].id)
    plain = atelier("history", str(project), cwd=tmp_path)
    assert plain.returncode == 0 and len(plain.stdout.splitlines()) == 3
    first, second, third = plain.stdout.splitlines()
    assert entries[0]["id"] in first and "melody" in first
    assert entries[1]["id"] in second and "lineart" in second and " * " in second and " * " not in third
    starred = json.loads(atelier("history", str(project), "--json", "--starred", cwd=tmp_path).stdout)
    assert [e["id"] for e in starred] == [entries[1]["id"]] and starred[0]["starred"] is True


def test_project_errors_are_one_line_and_come_before_the_work(tmp_path: Path) -> None:
    picture(tmp_path / "photo.png")
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.jpg").write_bytes(b"jpeg")
    busy = atelier("lineart", "--image", "photo.png", "--out", "lines.png", "--project", "photos", cwd=tmp_path)
    assert busy.returncode == 1 and busy.stderr.strip().count("\n") == 0
    assert "not empty and is not an Atelier project" in busy.stderr and "Traceback" not in busy.stderr
    assert not (tmp_path / "lines.png").exists()  # refused before the engine ran
    assert sorted(p.name for p in (tmp_path / "photos").iterdir()) == ["cat.jpg"]

    listed = atelier("history", "photos", cwd=tmp_path)
    assert listed.returncode == 1 and listed.stderr.strip().count("\n") == 0
    assert "is not an Atelier project" in listed.stderr

    (tmp_path / "empty").mkdir()
    made = atelier("palette", "--harmony", "triad", "--count", "3", "--project", "empty", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "empty" / "project.json").is_file()
    empty_list = atelier("history", "empty", cwd=tmp_path)
    assert empty_list.returncode == 0 and "palette-harmony" in empty_list.stdout


def test_colorize_keeps_its_images_lines_and_hints(tmp_path: Path) -> None:
    lines = Image.new("L", (120, 90), 255)
    ImageDraw.Draw(lines).ellipse((20, 10, 100, 80), outline=0, width=2)
    lines.save(tmp_path / "lines.png")
    hints = Image.new("RGBA", (120, 90), (0, 0, 0, 0))
    ImageDraw.Draw(hints).ellipse((55, 20, 61, 26), fill=(0x1B, 0x2A, 0x41, 255))
    hints.save(tmp_path / "hints.png")
    history, entry, summary = kept_in_project(
        tmp_path, "colorize", "--image", "lines.png", "--palette", "#1b2a41,#c9a227,#e4572e", "--hints", "hints.png",
        "--count", "2", "--out", "out.png",
    )  # fmt: skip
    assert entry.id == summary["history"]["id"] and entry.thumbnail is not None
    result = history.load_result(entry)
    assert isinstance(result, ColorizeResult) and len(result.images) == 2
    for image, name in zip(result.images, ("out.png", "out-2.png"), strict=True):
        assert np.array_equal(image, np.asarray(Image.open(tmp_path / name).convert("RGB")))
    assert read_parameters(entry.folder / "image-2.png") == read_parameters(tmp_path / "out-2.png")
    request = history.load_request(entry)
    assert isinstance(request, ColorizeRequest) and request.palette == ("#1b2a41", "#c9a227", "#e4572e")
    assert request.hints is not None and np.array_equal(request.hints, np.asarray(hints))
    assert np.array_equal(request.lines, np.asarray(lines.convert("RGBA")))


@pytest.mark.slow
def test_sketch_keeps_its_images_and_input_picture(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("diffusers")
    from tests.diffusion_builders import tiny_onnx_folder

    pack, _, _ = tiny_onnx_folder("optimum", controlnet=True)
    source = np.random.default_rng(5).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(source).save(tmp_path / "start.png")
    history, entry, _ = kept_in_project(
        tmp_path, "sketch", "--accept-licence", "--pack", str(pack), "--prompt", "a lighthouse", "--image", "start.png",
        "--width", "64", "--height", "64", "--steps", "2", "--seed", "9", "--count", "2", "--out", "out.png",
    )  # fmt: skip
    assert entry.kind == "sketch" and entry.request["seed"] == 9 and entry.request["image"]["png"] == "input-image.png"
    result = history.load_result(entry)
    assert isinstance(result, SketchResult) and result.seeds == (9, 10)
    for image, name in zip(result.images, ("out-1.png", "out-2.png"), strict=True):
        assert np.array_equal(image, np.asarray(Image.open(tmp_path / name).convert("RGB")))
    assert read_parameters(entry.folder / "image-2.png") == read_parameters(tmp_path / "out-2.png")
    request = history.load_request(entry)
    assert isinstance(request, SketchRequest) and request.mode == "img2img"
    assert request.image is not None and np.array_equal(request.image[:, :, :3], source)
