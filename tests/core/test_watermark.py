"""The invisible watermark: read back after a PNG file, JPEG quality 85 and halving; rarely seen where absent."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from atelier.core import watermark as wm


def photo(seed: int, height: int, width: int) -> np.ndarray:
    """A photo-like picture: smooth colour waves, hard-edged shapes and sensor noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    image = np.zeros((height, width, 3))
    for c in range(3):
        image[..., c] = 128 + 60 * np.sin(2 * np.pi * (x * rng.uniform(0.5, 3) + y * rng.uniform(0.5, 3)) + c)
    for _ in range(12):
        cy, cx, r = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.03, 0.2)
        image[(y - cy) ** 2 + (x - cx) ** 2 < r * r] = rng.uniform(0, 255, 3)
    image += rng.normal(0, 6, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def line_art(height: int, width: int) -> np.ndarray:
    """Black strokes on white, the hardest case: the mark can only darken the paper."""
    image = np.full((height, width, 3), 255, np.uint8)
    image[height // 5 : height // 5 + 4, width // 10 : -width // 10] = 0
    image[height // 10 : -height // 10, width // 2 : width // 2 + 3] = 0
    return image


def through_png(pixels: np.ndarray, folder: Path) -> np.ndarray:
    path = folder / "marked.png"
    Image.fromarray(pixels).save(path)
    with Image.open(path) as image:
        return np.asarray(image)


def through_jpeg(pixels: np.ndarray, quality: int = 85) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(pixels[..., :3]).save(buffer, format="JPEG", quality=quality)
    buffer.seek(0)
    with Image.open(buffer) as image:
        return np.asarray(image.convert("RGB"))


def halved(pixels: np.ndarray) -> np.ndarray:
    height, width = pixels.shape[:2]
    return np.asarray(Image.fromarray(pixels).resize((width // 2, height // 2)))  # Pillow's default (bicubic)


@pytest.mark.parametrize(
    ("name", "pixels"),
    [
        ("photo 640x480", photo(1, 480, 640)),
        ("photo 256x256, the smallest marked", photo(2, 256, 256)),
        ("photo 1024x300", photo(3, 300, 1024)),
        ("line art 512x512", line_art(512, 512)),
    ],
)
def test_mark_survives_png_jpeg_and_halving_without_showing(name: str, pixels: np.ndarray, tmp_path: Path) -> None:
    marked = wm.apply_watermark(pixels, "3fa2b9c1")
    assert wm.psnr(pixels, marked) >= 40.0, name
    assert np.abs(marked.astype(int) - pixels).max() <= 12  # no pixel moves visibly on its own
    assert wm.read_watermark(pixels).found is False
    for attack, copy in (
        ("PNG file", through_png(marked, tmp_path)),
        ("JPEG 85", through_jpeg(marked)),
        ("0.5x resize", halved(marked)),
    ):
        reading = wm.read_watermark(copy)
        assert (reading.found, reading.mark_id) == (True, "3fa2b9c1"), f"{name}, {attack}: {reading}"


def test_small_pictures_are_left_alone_and_alpha_is_kept() -> None:
    small = photo(4, 255, 400)
    assert not wm.can_mark(small.shape)
    assert np.array_equal(wm.apply_watermark(small, "3fa2b9c1"), small)
    rgba = np.dstack([photo(5, 300, 300), np.tile(np.linspace(0, 255, 300, dtype=np.uint8), (300, 1))])
    marked = wm.apply_watermark(rgba, "0000beef")
    assert np.array_equal(marked[..., 3], rgba[..., 3])
    assert wm.detect_watermark(marked) == "0000beef"
    grey = photo(6, 320, 320)[..., 0]
    assert wm.detect_watermark(wm.apply_watermark(grey, "cafe0001")) == "cafe0001"


def test_any_text_id_becomes_eight_hex_digits() -> None:
    assert wm.mark_code("3FA2B9C1") == "3fa2b9c1"
    code = wm.mark_code("job 17 of project sea")
    assert len(code) == 8 and code == wm.mark_code("job 17 of project sea") != wm.mark_code("job 18 of project sea")
    assert wm.detect_watermark(wm.apply_watermark(photo(7, 300, 400), "job 17 of project sea")) == code


def test_two_ids_are_told_apart() -> None:
    base = photo(8, 400, 400)
    assert wm.detect_watermark(wm.apply_watermark(base, "11111111")) == "11111111"
    assert wm.detect_watermark(wm.apply_watermark(base, "11111110")) == "11111110"


def unmarked_pictures(count: int) -> list[np.ndarray]:
    """Varied unmarked pictures: photos, JPEG'd photos, noise, flat colours, gradients, line art, halved ones."""
    rng = np.random.default_rng(99)
    out: list[np.ndarray] = []
    for i in range(count):
        height, width = int(rng.integers(128, 420)), int(rng.integers(128, 420))
        kind = i % 6
        if kind == 0:
            out.append(photo(1000 + i, height, width))
        elif kind == 1:
            out.append(through_jpeg(photo(2000 + i, height, width), int(rng.integers(40, 95))))
        elif kind == 2:
            out.append(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
        elif kind == 3:
            out.append(np.full((height, width, 3), rng.integers(0, 256, 3), dtype=np.uint8))
        elif kind == 4:
            ramp = np.linspace(rng.uniform(0, 255), rng.uniform(0, 255), width)
            out.append(np.repeat(np.tile(ramp, (height, 1))[..., None], 3, axis=2).astype(np.uint8))
        else:
            out.append(halved(line_art(height * 2, width * 2)))
    return out


def test_unmarked_pictures_are_not_reported_as_marked() -> None:
    # The suite's quick check; bench/watermark_false_positives.py runs thousands, clip art included.
    readings = [wm.read_watermark(p) for p in unmarked_pictures(240)]
    assert [r for r in readings if r.found] == []
    assert max(r.confidence for r in readings) < wm.THRESHOLD * 0.8
