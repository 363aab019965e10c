"""Image -> palette: dominant colours in OKLab, accents kept, alpha/grey/huge images handled."""

from __future__ import annotations

import numpy as np
import pytest

from atelier.core.color.spaces import delta_e_2000, hex_to_rgb, rgb_to_cielab
from atelier.core.errors import InvalidRequestError
from atelier.core.requests.palette import HarmonyRequest, PaletteFromImageRequest, PaletteResult
from atelier.engine.palette_extract import extract, extract_palette
from atelier.engine.runner import Engine


def blocks(colors: list[tuple[int, int, int]], sizes: list[int], height: int = 64) -> np.ndarray:
    image = np.concatenate([np.full((height, w, 3), c, np.uint8) for c, w in zip(colors, sizes, strict=True)], 1)
    return image


def close_to(found: list[str], target: tuple[int, int, int], limit: float = 5.0) -> bool:
    lab = rgb_to_cielab(hex_to_rgb(found))
    return float(delta_e_2000(lab, rgb_to_cielab(np.array(target, np.uint8))).min()) < limit


def test_finds_the_colours_of_a_block_image_and_is_deterministic() -> None:
    colours = [(20, 40, 90), (230, 200, 60), (200, 30, 40), (240, 240, 235)]
    image = blocks(colours, [100, 80, 60, 90])
    found = extract_palette(image, 4, seed=3)
    assert all(close_to(found, c) for c in colours)
    assert extract_palette(image, 4, seed=3) == found


def test_a_small_vivid_accent_is_not_lost() -> None:
    rng = np.random.default_rng(0)
    field = np.clip(rng.normal([70, 110, 60], 12, (200, 300, 3)), 0, 255).astype(np.uint8)
    field[90:100, 140:150] = (230, 20, 30)  # 0.17% of the picture
    found = extract_palette(field, 5, seed=0)
    assert close_to(found, (230, 20, 30), limit=10)


def test_alpha_greyscale_and_two_channel_images() -> None:
    rgba = np.zeros((50, 50, 4), np.uint8)
    rgba[:, :25] = (10, 200, 10, 255)
    rgba[:, 25:] = (255, 0, 0, 0)  # transparent red must be ignored
    found = extract_palette(rgba, 3)
    assert close_to(found, (10, 200, 10)) and not close_to(found, (255, 0, 0), limit=20)
    grey = np.tile(np.linspace(0, 255, 64, dtype=np.uint8), (32, 1))
    assert len(set(extract_palette(grey, 4))) == 4
    grey_alpha = np.stack([grey, np.full_like(grey, 255)], axis=2)
    assert len(extract_palette(grey_alpha, 3)) == 3
    with pytest.raises(InvalidRequestError, match="transparent"):
        extract_palette(np.zeros((8, 8, 4), np.uint8), 3)


def test_a_100_megapixel_image_is_sampled_not_copied() -> None:
    # A zero-stride view: 10000 x 10000 x 3 pixels that take 30 kB; a full copy would need 300 MB.
    row = np.zeros((1, 10000, 3), np.uint8)
    row[0, :5000] = (200, 120, 40)
    row[0, 5000:] = (30, 60, 160)
    huge = np.broadcast_to(row, (10000, 10000, 3))
    found = extract_palette(huge, 3)
    assert close_to(found, (200, 120, 40)) and close_to(found, (30, 60, 160))


def test_a_flat_picture_fills_the_palette_with_marked_steps() -> None:
    # Issue 15: a 1x1 red picture gave red and 4 invented colours without a word.
    red = np.array([[[255, 0, 0]]], np.uint8)
    found = extract(red, 5)
    assert found.colors[0] == "#ff0000" and len(set(found.colors)) == 5
    assert (found.distinct, found.stepped) == (1, 4)
    result = Engine().run_to_end(PaletteFromImageRequest(image=red, count=5, label="red"))
    assert isinstance(result, PaletteResult) and result.colors == tuple(found.colors)
    note = "The picture has only 1 distinct colour; the other 4 swatches are lighter and darker steps of it."
    assert result.detail == note and result.to_json()["detail"] == note
    two = blocks([(20, 40, 90), (230, 200, 60)], [10, 10])
    assert extract(two, 6).stepped == 4 and "steps of them" in extract(two, 6).note()
    full = blocks([(20, 40, 90), (230, 200, 60), (200, 30, 40)], [10, 10, 10])
    assert extract(full, 3).note() == "" and extract(full, 3).stepped == 0


def test_flat_image_pads_to_the_count_and_locks_stay_in_place() -> None:
    flat = np.full((20, 20, 3), (90, 90, 200), np.uint8)
    found = extract(flat, 5, locked=((2, "#ffffff"),))
    assert len(set(found.colors)) == 5 and found.colors[2] == "#ffffff" and found.stepped == 3
    assert close_to(found.colors[:1], (90, 90, 200))
    only_lock = extract(flat, 4, locked=((0, "#5a5ac8"),))  # the lock is the picture's only colour
    assert only_lock.colors[0] == "#5a5ac8" and len(set(only_lock.colors)) == 4 and only_lock.distinct == 0
    assert "no colours besides the locked swatches" in only_lock.note()


def test_engine_tasks_for_image_and_harmony() -> None:
    engine = Engine()
    image = blocks([(20, 40, 90), (230, 200, 60), (200, 30, 40)], [50, 50, 50])
    result = engine.run_to_end(PaletteFromImageRequest(image=image, count=3, label="blocks"))
    assert isinstance(result, PaletteResult) and result.source == "image" and len(result.names) == 3
    assert result.preview_image().shape == (24, 72, 3)
    harmony = engine.run_to_end(HarmonyRequest(base="#336699", mode="triad", count=6, locked=((5, "#000000"),)))
    assert isinstance(harmony, PaletteResult)
    assert harmony.colors[0] == "#336699" and harmony.colors[5] == "#000000" and len(set(harmony.colors)) == 6
