"""The one picture reader (core/picture_io): hostile files become InputFileError, sizes are checked before
decoding, and every mode, shape, animation and EXIF rotation reads as the picture a person sees."""

from __future__ import annotations

import io
import os
import random
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from atelier.core.errors import InputFileError
from atelier.core.picture_io import MAX_DECODE_PIXELS, fitting_size, read_picture, read_stored
from tests.fuzz import inputs

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def huge_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The issue's file: 164 KB of PNG declaring 13000x13000 (under Pillow's own bomb limit)."""
    path = tmp_path_factory.mktemp("huge") / "huge.png"
    path.write_bytes(inputs.png_declaring(13000, 13000))
    return path


def test_a_small_file_declaring_13000x13000_is_refused_from_its_header(huge_png: Path, tmp_path: Path) -> None:
    assert huge_png.stat().st_size < 200_000
    with pytest.raises(InputFileError) as refused:
        read_picture(huge_png)
    message = str(refused.value)
    assert "13000x13000" in message and "120.0 megapixels" in message and "10954x10954" in message
    # The same header with garbage for pixels gets the same answer: nothing was decoded before the check.
    header_only = tmp_path / "header.png"
    header_only.write_bytes(inputs.png_declaring(13000, 13000, pixels=False))
    with pytest.raises(InputFileError, match="10954x10954"):
        read_picture(header_only)


def test_refusing_the_huge_png_costs_no_memory(huge_png: Path) -> None:
    # In a fresh process, so the peak is this read's own: decoding would need 169 MB.
    code = (
        "import resource, sys\nfrom atelier.core.picture_io import read_picture\n"
        "from atelier.core.errors import InputFileError\nbefore = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        f"try:\n    read_picture({str(huge_png)!r})\nexcept InputFileError:\n    pass\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "desktop")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) < 20_000  # kB of peak growth


def test_a_task_limit_names_the_task_and_a_size_that_fits(tmp_path: Path) -> None:
    path = tmp_path / "wide.png"
    path.write_bytes(inputs.png_declaring(9000, 3000, pixels=False))
    with pytest.raises(InputFileError) as refused:
        read_picture(path, None, max_pixels=4096 * 4096, rgba=True, what="line art")
    message = str(refused.value)
    assert "line art takes at most 16.8 megapixels" in message and "7094x2364" in message
    assert fitting_size(9000, 3000, 4096 * 4096) == (7094, 2364) and 7094 * 2364 <= 4096 * 4096
    assert fitting_size(60000, 1, 100) == (100, 1)


def test_decompression_bomb_broken_and_truncated_files_are_input_errors(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(inputs.png_declaring(20000, 20000, pixels=False))  # 400 MP: Pillow's own error
    with pytest.raises(Image.DecompressionBombError):
        Image.open(bomb)
    with pytest.raises(InputFileError, match="too large"):
        read_picture(bomb)
    broken = tmp_path / "broken.png"
    broken.write_bytes(inputs.broken_png())
    with pytest.raises(SyntaxError), Image.open(broken) as image:  # what reached "unexpected error"
        image.load()
    with pytest.raises(InputFileError, match=r"Cannot read .*broken\.png"):
        read_picture(broken)
    good = inputs.picture_file("RGB", "PNG", 30, 30, random.Random(1))
    for cut in (8, 33, len(good) // 2, len(good) * 3 // 4):
        truncated = tmp_path / f"cut{cut}.png"
        truncated.write_bytes(good[:cut])
        with pytest.raises(InputFileError):
            read_picture(truncated)


def test_a_fifo_or_device_is_refused_without_reading(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    with pytest.raises(InputFileError, match="No image"):
        read_picture(fifo)  # opening it would block for ever
    with pytest.raises(InputFileError, match="No image"):
        read_picture("/dev/zero")


@pytest.mark.parametrize(("mode", "fmt"), inputs.MODE_FORMATS)
def test_every_mode_reads_as_8_bit_grey_rgb_or_rgba(mode: str, fmt: str, tmp_path: Path) -> None:
    path = tmp_path / f"picture.{fmt.lower()}"
    path.write_bytes(inputs.picture_file(mode, fmt, 23, 17, random.Random(3)))
    for rgba in (False, True):
        picture = read_picture(path, rgba=rgba)
        assert picture.dtype == np.uint8 and picture.shape[:2] == (17, 23)
        assert picture.ndim == 2 or picture.shape[2] in (3, 4)
        if rgba:
            assert picture.shape == (17, 23, 4)
        # Varied content stays varied: no mode collapses to one flat value (16-bit used to clip to white).
        assert picture.std() > 10, (mode, fmt)


def test_16_bit_grey_keeps_its_tones(tmp_path: Path) -> None:
    ramp = np.tile(np.linspace(0, 65535, 256).astype(np.uint16), (4, 1))
    path = tmp_path / "ramp16.png"
    Image.fromarray(ramp).save(path)
    with Image.open(path) as image:
        assert image.mode == "I;16"
    grey = read_picture(path)
    assert grey.shape == (4, 256) and grey[0, 0] == 0 and grey[0, -1] == 255 and 120 <= grey[0, 128] <= 135
    big = tmp_path / "big16.png"  # larger than max_side: Pillow cannot shrink I;16, the reader converts first
    Image.fromarray(np.tile(ramp[:1], (3000, 12))).save(big)
    reduced = read_picture(big, max_side=512)
    assert max(reduced.shape) == 512 and reduced.min() <= 5 and reduced.max() >= 250


def test_lab_tiff_is_converted_as_lab(tmp_path: Path) -> None:
    lab = Image.merge("LAB", [Image.new("L", (4, 4), v) for v in (136, 208, 195)])  # L 53, a 80, b 67: red
    path = tmp_path / "red.tif"
    lab.save(path)
    red, green, blue = (int(v) for v in read_picture(path)[0, 0])
    assert red > 230 and green < 40 and blue < 40


@pytest.mark.parametrize("size", [(1, 1), (60000, 1), (1, 60000)])
def test_one_pixel_and_one_pixel_thin_pictures(size: tuple[int, int], tmp_path: Path) -> None:
    path = tmp_path / "thin.png"
    Image.new("RGB", size, (200, 10, 10)).save(path)
    reduced = read_picture(path)
    assert reduced.shape[:2] == ((1, 1) if size == (1, 1) else (1, 2048) if size[0] > 1 else (2048, 1))
    assert tuple(reduced.reshape(-1, 3)[0]) == (200, 10, 10)
    assert read_picture(path, None, rgba=True).shape == (size[1], size[0], 4)


def test_an_animated_picture_gives_its_first_frame(tmp_path: Path) -> None:
    path = tmp_path / "frames.gif"
    path.write_bytes(inputs.animated_gif([(255, 0, 0), (0, 255, 0), (0, 0, 255)]))
    with Image.open(path) as image:
        assert getattr(image, "n_frames", 1) == 3
    assert tuple(read_picture(path)[4, 4]) == (255, 0, 0)


@pytest.mark.parametrize(("orientation", "corner"), [(1, (0, 0)), (3, (-1, -1)), (6, (0, -1)), (8, (-1, 0))])
def test_exif_rotation_is_applied(orientation: int, corner: tuple[int, int], tmp_path: Path) -> None:
    picture = np.zeros((20, 40, 3), np.uint8)
    picture[:5, :5] = (255, 0, 0)  # a red mark in the stored top-left corner
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "photo.png"
    Image.fromarray(picture).save(path, exif=exif.tobytes())
    shown = read_picture(path)
    assert shown.shape[:2] == ((40, 20) if orientation in (6, 8) else (20, 40))
    assert tuple(shown[corner]) == (255, 0, 0)


def test_a_large_jpeg_is_decoded_reduced(tmp_path: Path) -> None:
    path = tmp_path / "large.jpg"
    Image.new("L", (8000, 6000), 90).save(path, quality=50)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    picture = read_picture(path)
    assert max(picture.shape) == 2048
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 40_000  # kB: 48 MB at full size


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1))
def test_fuzz_any_picture_reads_or_is_an_input_error(seed: int, tmp_path_factory: pytest.TempPathFactory) -> None:
    suffix, data = inputs.hostile_picture(random.Random(seed))
    path = tmp_path_factory.mktemp("fuzz") / f"p.{suffix}"
    path.write_bytes(data)
    for max_side, rgba in ((2048, False), (None, True)):
        try:
            picture = read_picture(path, max_side, rgba=rgba)
        except InputFileError as exc:
            assert str(exc)
            continue
        assert picture.dtype == np.uint8 and picture.size > 0
        assert picture.ndim == 2 or picture.shape[2] in (3, 4)
        assert picture.shape[0] * picture.shape[1] <= MAX_DECODE_PIXELS


def test_the_hostile_builders_make_real_pictures() -> None:
    # The fuzz inputs are only worth their count if undamaged ones open: check the builders themselves.
    for mode, fmt in inputs.MODE_FORMATS:
        with Image.open(io.BytesIO(inputs.picture_file(mode, fmt, 9, 7, random.Random(0)))) as image:
            image.load()
            assert image.size == (9, 7)


def test_read_stored_keeps_the_array_and_guards_like_read_picture(tmp_path: Path) -> None:
    for shape in ((5, 7), (5, 7, 2), (5, 7, 3), (5, 7, 4)):
        array = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
        path = tmp_path / f"a{len(shape)}.png"
        Image.fromarray(array).save(path)
        assert np.array_equal(read_stored(path), array)
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(inputs.png_declaring(20000, 20000, pixels=False))
    broken = tmp_path / "broken.png"
    broken.write_bytes(inputs.broken_png())
    huge = tmp_path / "huge.png"
    huge.write_bytes(inputs.png_declaring(13000, 13000, pixels=False))
    for path in (bomb, broken, huge, tmp_path / "missing.png"):
        with pytest.raises(InputFileError):
            read_stored(path)
