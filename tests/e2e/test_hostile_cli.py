"""Hostile input at the command line: each case of issue 15 ends in one line on stderr, exit code 1, and
no model run (a bad output path or an oversized input is refused first)."""

from __future__ import annotations

import itertools
import json
import os
import stat
from pathlib import Path

import mido
import pytest
from PIL import Image

from tests.e2e.test_cli import atelier
from tests.fuzz import inputs

PALETTE = "#1b2a41,#c9a227,#e4572e"


def one_line_error(result: object, *needles: str) -> str:
    """The error line, after checking it is the only line, names every needle and is not 'unexpected'."""
    assert result.returncode == 1, result.stdout  # type: ignore[attr-defined]
    stderr = result.stderr.strip()  # type: ignore[attr-defined]
    assert stderr.count("\n") == 0, stderr
    assert stderr.startswith("atelier: error:") and "unexpected" not in stderr and "Traceback" not in stderr
    for needle in needles:
        assert needle in stderr, stderr
    return stderr


@pytest.fixture(scope="module")
def huge_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("huge") / "huge.png"
    path.write_bytes(inputs.png_declaring(13000, 13000))  # 164 KB
    return path


@pytest.fixture
def picture(tmp_path: Path) -> Path:
    path = tmp_path / "in.png"
    Image.new("RGB", (40, 30), (250, 250, 250)).save(path)
    return path


def read_only_folder(tmp_path: Path) -> Path:
    """A folder this process cannot create files in. Root ignores permission bits, so as root it is
    /sys, which refuses new files to everyone."""
    if os.geteuid() == 0:
        return Path("/sys")
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    return folder


def test_a_13000x13000_png_is_refused_by_each_command_naming_the_limit(huge_png: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "out.png")
    lineart = atelier("lineart", "--image", str(huge_png), "--out", out)
    one_line_error(lineart, "13000x13000", "line art takes at most 16.8 megapixels", "4096x4096")
    colorize = atelier("colorize", "--image", str(huge_png), "--palette", PALETTE, "--out", out)
    one_line_error(colorize, "13000x13000", "colorize takes at most 16.8 megapixels", "4096x4096")
    palette = atelier("palette", "--image", str(huge_png), "--count", "4")
    one_line_error(palette, "13000x13000", "120.0 megapixels", "10954x10954")
    assert not Path(out).exists()
    # The message says what to do; the generic "check the path" hint would send the user the wrong way.
    assert all("Check the path" not in done.stderr for done in (lineart, colorize, palette))


def test_bomb_and_broken_pictures_are_one_line_errors(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(inputs.png_declaring(20000, 20000, pixels=False))
    broken = tmp_path / "broken.png"
    broken.write_bytes(inputs.broken_png())
    out = str(tmp_path / "out.png")
    one_line_error(atelier("lineart", "--image", str(bomb), "--out", out), "too large")
    one_line_error(atelier("colorize", "--image", str(broken), "--palette", PALETTE, "--out", out), "Cannot read")
    one_line_error(atelier("palette", "--image", str(broken)), "Cannot read", "SyntaxError")


def test_lineart_and_colorize_read_a_rotated_and_an_animated_picture(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored 40 wide, shown 40 high
    photo = tmp_path / "photo.png"
    Image.new("RGB", (40, 24), (255, 255, 255)).save(photo, exif=exif.tobytes())
    out = tmp_path / "lines.png"
    assert atelier("lineart", "--image", str(photo), "--out", str(out)).returncode == 0
    assert Image.open(out).size == (24, 40)
    gif = tmp_path / "frames.gif"
    gif.write_bytes(inputs.animated_gif([(255, 255, 255), (0, 0, 0)], size=16))
    done = atelier("colorize", "--image", str(gif), "--palette", PALETTE, "--out", str(tmp_path / "c.png"))
    assert done.returncode == 0, done.stderr
    assert Image.open(tmp_path / "c.png").size == (16, 16)


@pytest.mark.parametrize("problem", ["missing folder", "folder", "extension", "read-only"])
def test_a_bad_out_path_fails_before_the_input_is_read(problem: str, tmp_path: Path) -> None:
    # The input does not exist either: the error must be about --out, so the check came before any
    # reading, let alone a model run.
    target = {
        "missing folder": tmp_path / "nowhere" / "out.png",
        "folder": tmp_path,
        "extension": tmp_path / "out.xyz",
        "read-only": read_only_folder(tmp_path) / "out.png",
    }[problem]
    expected = {
        "missing folder": "does not exist",
        "folder": "it is a folder",
        "extension": "must end in .png",
        "read-only": "not writable",
    }[problem]
    missing = str(tmp_path / "missing.png")
    one_line_error(atelier("lineart", "--image", missing, "--out", str(target)), expected, str(target))
    colorize = atelier("colorize", "--image", missing, "--palette", PALETTE, "--out", str(target))
    one_line_error(colorize, expected)
    sketch = atelier("sketch", "--pack", "no-such-pack", "--prompt", "a cat", "--out", str(target))
    one_line_error(sketch, expected)
    midi = target.with_suffix(".xyz" if problem == "extension" else ".mid") if problem != "folder" else target
    melody = atelier("melody", "--lyrics-file", str(tmp_path / "missing.txt"), "--out", str(midi))
    one_line_error(melody, expected.replace(".png", ".mid"))
    export = target.with_suffix(".xyz" if problem == "extension" else ".gpl") if problem != "folder" else target
    palette = atelier("palette", "--text", "stormy sea", "--export", str(export))
    one_line_error(palette, "must end in .gpl or .ase" if problem == "extension" else expected)
    assert "making the palette" not in palette.stderr  # the text model never started


def test_melody_seed_and_a_5_mb_lyric_file_are_one_line_errors(tmp_path: Path) -> None:
    song = tmp_path / "song.txt"
    song.write_text("I walked along the river\n", encoding="utf-8")
    out = str(tmp_path / "song.mid")
    one_line_error(atelier("melody", "--lyrics-file", str(song), "--seed", "-5", "--out", out), "seed", "-5")
    huge = tmp_path / "huge.txt"
    huge.write_bytes(b"la " * 1_700_000)  # 5.1 MB
    one_line_error(atelier("melody", "--lyrics-file", str(huge), "--out", out), "5,100,000 bytes", "20,000")
    assert not Path(out).exists()


def test_one_line_of_300_la_gives_only_forward_notes(tmp_path: Path) -> None:
    song = tmp_path / "la.txt"
    song.write_text(" ".join(["la"] * 300) + "\n", encoding="utf-8")
    out = tmp_path / "la.mid"
    done = atelier("melody", "--lyrics-file", str(song), "--out", str(out), "--chords", "none", "--json")
    assert done.returncode == 0, done.stderr
    notes = json.loads(done.stdout)["melody"]["notes"]
    assert len(notes) == 300
    starts = [start for _, start, _, *_ in notes]
    assert all(start >= 0 for start in starts) and all(duration > 0 for _, _, duration, *_ in notes)
    assert all(a < b for a, b in itertools.pairwise(starts))  # one syllable after another
    # The MIDI file as written: every note starts at or after 0 and lasts at least one tick.
    midi = mido.MidiFile(str(out))
    now, sounding, lengths = 0, {}, []
    for message in mido.merge_tracks(midi.tracks):
        now += message.time
        if message.type == "note_on" and message.velocity > 0:
            sounding[message.note] = now
        elif message.type in ("note_off", "note_on") and message.note in sounding:
            lengths.append(now - sounding.pop(message.note))
    assert len(lengths) == 300 and min(lengths) > 0


def test_a_120_kb_prompt_is_refused_before_the_model(tmp_path: Path) -> None:
    prompt = "a long night by the sea " * 5000  # 120,000 characters
    done = atelier("lyrics", "--prompt", prompt)
    one_line_error(done, "theme is 119,999 characters long", "the limit is 2,000")


def test_fifos_are_refused_without_blocking(tmp_path: Path) -> None:
    # Opening a FIFO blocks until something writes to it: every reader must check it is a plain file.
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    song = tmp_path / "song.txt"
    song.write_text("la la la\nla la la la\n", encoding="utf-8")
    out = str(tmp_path / "o.mid")
    one_line_error(atelier("melody", "--lyrics-file", str(fifo), "--out", out), "no such file")
    continued = atelier("melody", "--lyrics-file", str(song), "--continue-from", str(fifo), "--out", out)
    one_line_error(continued, "no such file")
    one_line_error(atelier("palette", "--image", str(fifo)), "No image")
    one_line_error(atelier("lineart", "--image", str(fifo), "--out", str(tmp_path / "o.png")), "No image")
