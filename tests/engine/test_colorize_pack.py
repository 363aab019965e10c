"""The committed atelier-colorizer pack through the real engine: verify, colour, hints, preview, variations."""

from __future__ import annotations

import numpy as np
import pytest

from atelier.core.errors import InvalidRequestError
from atelier.core.requests.colorize import ColorizeRequest, ColorizeResult
from atelier.engine.packs import HashCache, verify
from atelier.engine.runner import Engine

PALETTE = ("#c0392b", "#27ae60", "#2c3e99", "#f1c40f")
ALLOWED = {(0xC0, 0x39, 0x2B), (0x27, 0xAE, 0x60), (0x2C, 0x3E, 0x99), (0xF1, 0xC4, 0x0F), (255, 255, 255), (0, 0, 0)}


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


def drawing(h: int = 160, w: int = 160) -> np.ndarray:
    """A hand-drawn-looking figure: a wobbly circle with a smaller square inside, 2-px pen."""
    from PIL import Image, ImageDraw

    image = Image.new("L", (w, h), 255)
    pen = ImageDraw.Draw(image)
    pen.ellipse((w * 0.15, h * 0.15, w * 0.85, h * 0.85), outline=0, width=2)
    pen.rectangle((w * 0.4, h * 0.4, w * 0.6, h * 0.6), outline=0, width=2)
    return np.asarray(image)


def fill_colours(image: np.ndarray, lines: np.ndarray) -> set[tuple[int, ...]]:
    away_from_lines = lines == 255
    return {tuple(int(v) for v in c) for c in np.unique(image[away_from_lines], axis=0)}


def test_pack_is_committed_small_and_verifies(engine: Engine, tmp_path) -> None:
    (pack,) = engine.catalog.of_kind("colorize")
    assert pack.id == "atelier-colorizer"
    verify(pack, HashCache(tmp_path / "hashes.json"))
    assert pack.component_path("model").stat().st_size <= 20 * 1024 * 1024


def test_colorize_uses_only_palette_paper_and_ink_with_flat_regions(engine: Engine) -> None:
    lines = drawing()
    result = engine.run_to_end(ColorizeRequest(lines=lines, palette=PALETTE, count=3, seed=1))
    assert isinstance(result, ColorizeResult)
    assert len(result.images) == 3 and result.palettes[0] == PALETTE
    assert len(set(result.palettes)) == 3 and all(sorted(p) == sorted(PALETTE) for p in result.palettes)
    assert result.device.provider == "CPUExecutionProvider" and result.pack_id == "atelier-colorizer"
    for image in result.images:
        assert image.shape == (160, 160, 3) and image.dtype == np.uint8
        assert fill_colours(image, lines) <= ALLOWED
        centre = image[72:88, 72:88].reshape(-1, 3)
        assert len(np.unique(centre, axis=0)) == 1  # one closed region, one colour


def test_a_hint_colours_its_region(engine: Engine) -> None:
    lines = drawing()
    hints = np.zeros((160, 160, 4), np.uint8)
    hints[78:82, 78:82] = (0x2C, 0x3E, 0x99, 255)  # a blue dot in the inner square
    hints[40:42, 80:84] = (0xF1, 0xC4, 0x0F, 255)  # a yellow dot in the ring between
    result = engine.run_to_end(ColorizeRequest(lines=lines, palette=PALETTE, hints=hints))
    image = result.images[0]
    assert tuple(image[75, 75]) == (0x2C, 0x3E, 0x99)
    assert tuple(image[45, 80]) == (0xF1, 0xC4, 0x0F)


def test_preview_is_at_most_256_px(engine: Engine) -> None:
    lines = drawing(400, 640)
    result = engine.run_to_end(ColorizeRequest(lines=lines, palette=PALETTE, preview=True))
    assert result.images[0].shape == (160, 256, 3)
    full = engine.run_to_end(ColorizeRequest(lines=lines, palette=PALETTE))
    assert full.images[0].shape == (400, 640, 3)


def test_a_pack_of_another_kind_is_refused(engine: Engine) -> None:
    with pytest.raises(InvalidRequestError, match="not a colorize pack"):
        engine.run_to_end(ColorizeRequest(lines=drawing(), palette=PALETTE, pack_id="atelier-lineart"))
