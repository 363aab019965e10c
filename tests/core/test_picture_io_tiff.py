"""Damaged TIFFs: libtiff's own lines never reach stderr; the user sees Atelier's one-line message only."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from atelier.core.errors import InputFileError
from atelier.core.picture_io import quiet_libtiff, read_picture, read_stored

REPO = Path(__file__).resolve().parents[2]


def damaged_tiff(folder: Path, compression: str) -> Path:
    """A real TIFF written by Pillow (through libtiff), its compressed strips then scrambled."""
    picture = np.random.default_rng(7).integers(0, 256, (64, 96, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, "TIFF", compression=compression)
    data = bytearray(buffer.getvalue())
    for index in range(200, len(data) // 2, 7):  # the strips follow the 8-byte header; the directory is last
        data[index] ^= 0x5A
    path = folder / f"damaged-{compression}.tif"
    path.write_bytes(bytes(data))
    return path


def plain_pillow_stderr(path: Path) -> str:
    """What a bare Pillow decode of `path` prints on stderr (a fresh process: libtiff's handlers untouched)."""
    code = "import sys\nfrom PIL import Image\ntry:\n    Image.open(sys.argv[1]).load()\nexcept Exception:\n    pass\n"
    run = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60)
    return run.stderr


# LZW and deflate strips fail to decode; a scrambled JPEG-in-TIFF often still decodes, with libjpeg's
# complaint printed through libtiff.
COMPRESSIONS = ["tiff_lzw", "tiff_adobe_deflate", "jpeg"]


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_libtiff_prints_nothing_when_atelier_reads_a_damaged_tiff(
    tmp_path: Path, compression: str, capfd: pytest.CaptureFixture[str]
) -> None:
    path = damaged_tiff(tmp_path, compression)
    assert plain_pillow_stderr(path).strip(), "the damaged file must make libtiff speak, or this test proves nothing"
    assert quiet_libtiff()  # a libtiff was found and its handlers cleared (Linux, macOS)
    capfd.readouterr()
    for reader in (read_picture, read_stored):
        try:
            picture = reader(path)
        except InputFileError as exc:
            message = exc.user_message()
            assert str(path) in message and "\n" not in message
        else:
            assert picture.shape[:2] == (64, 96)
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""


def test_the_cli_prints_one_line_for_a_damaged_tiff(tmp_path: Path) -> None:
    path = damaged_tiff(tmp_path, "tiff_adobe_deflate")
    env = {**os.environ, "PYTHONPATH": str(REPO / "desktop")}
    run = subprocess.run(
        [sys.executable, "-m", "atelier", "palette", "--image", str(path), "--count", "3"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert run.returncode != 0 and run.stdout == ""
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith(f"atelier: error: Cannot read {path} as an image")
    assert "ZIPDecode" not in run.stderr and "scanline" not in run.stderr


def test_a_sound_tiff_still_reads_after_the_handlers_are_cleared(tmp_path: Path) -> None:
    picture = np.random.default_rng(3).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    path = tmp_path / "sound.tif"
    Image.fromarray(picture).save(path, compression="tiff_lzw")
    quiet_libtiff()
    assert np.array_equal(read_picture(path), picture)
