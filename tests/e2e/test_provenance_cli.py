"""`atelier provenance` as a user runs it on files the other commands wrote: a real subprocess each time."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from PIL import Image

from tests.e2e.test_cli import atelier


def provenance(path: Path) -> dict:
    result = atelier("provenance", str(path), "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_lineart_records_read_back_and_no_metadata_leaves_none(tmp_path: Path) -> None:
    picture = np.full((48, 64, 3), 255, np.uint8)
    picture[10:38, 12:50] = 0
    Image.fromarray(picture).save(tmp_path / "photo.png")
    made = atelier("lineart", "--image", str(tmp_path / "photo.png"), "--out", str(tmp_path / "lines.png"))
    assert made.returncode == 0, made.stderr
    found = provenance(tmp_path / "lines.png")
    assert set(found) >= {"file", "kind", "generator", "task", "pack", "prompt", "seed", "source", "ai", "c2pa"}
    assert found["kind"] == "image" and found["task"] == "lineart" and found["generator"].startswith("Atelier ")
    assert found["ai"] == "compositeWithTrainedAlgorithmicMedia" and found["c2pa"] is None
    assert found["pack"]["id"] == "atelier-lineart" and len(found["pack"]["sha256"]) == 64
    digest = hashlib.sha256((tmp_path / "photo.png").read_bytes()).hexdigest()
    assert found["source"] == [{"role": "image", "sha256": digest, "of": "file"}]
    assert str(tmp_path) not in json.dumps(found["record"])  # the user's folders never enter a record
    assert "Size: 64x48" in Image.open(tmp_path / "lines.png").info["parameters"]
    plain = atelier("provenance", str(tmp_path / "lines.png"))
    assert plain.returncode == 0 and "lineart" in plain.stdout and "AI:" in plain.stdout
    assert len(plain.stdout.strip().splitlines()) <= 8
    bare = atelier(
        "lineart", "--image", str(tmp_path / "photo.png"), "--out", str(tmp_path / "bare.png"), "--no-metadata"
    )
    assert bare.returncode == 0, bare.stderr
    assert provenance(tmp_path / "bare.png")["generator"] is None
    assert not {"atelier", "parameters", "XML:com.adobe.xmp"} & set(Image.open(tmp_path / "bare.png").info)


def test_melody_midi_and_wav_name_the_pack_and_seed(tmp_path: Path) -> None:
    (tmp_path / "song.txt").write_text("[Verse]\nRain on the roof tonight\nI hear the city sigh\n", encoding="utf-8")
    made = atelier(
        "melody", "--lyrics-file", str(tmp_path / "song.txt"), "--out", str(tmp_path / "song.mid"),
        "--wav", str(tmp_path / "song.wav"), "--seed", "5",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    midi, wav = provenance(tmp_path / "song.mid"), provenance(tmp_path / "song.wav")
    assert midi["kind"] == "midi" and wav["kind"] == "audio"
    for found in (midi, wav):
        assert found["seed"] == 5 and found["task"] == "melody" and found["pack"]["id"] == "atelier-melody"
        assert found["source"][0]["role"] == "lyric"
    assert midi["record"] == wav["record"]
    plain = atelier("provenance", str(tmp_path / "song.mid"))
    assert "Seed: 5" in plain.stdout and "atelier-melody" in plain.stdout


def test_a_missing_file_is_one_clear_line(tmp_path: Path) -> None:
    result = atelier("provenance", str(tmp_path / "nothing.png"))
    assert result.returncode == 1 and "no such file" in result.stderr and "Traceback" not in result.stderr
    Image.new("RGB", (8, 8)).save(tmp_path / "photo.png")
    foreign = atelier("provenance", str(tmp_path / "photo.png"))
    assert foreign.returncode == 0 and "no record" in foreign.stdout
