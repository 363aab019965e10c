"""Image -> palette: dominant colours in OKLab, accents kept, alpha/grey/huge images handled."""

from __future__ import annotations

import numpy as np
import pytest

from atelier.core.color.spaces import delta_e_2000, hex_to_rgb, rgb_to_cielab, rgb_to_oklab
from atelier.core.errors import InvalidRequestError
from atelier.core.requests.palette import HarmonyRequest, PaletteFromImageRequest, PaletteResult
from atelier.engine.palette_extract import MERGE_DISTANCE, extract, extract_palette
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


def test_a_one_pixel_picture_gives_its_one_colour_and_says_so() -> None:
    # Issue 15: a 1x1 red picture gave red and 4 invented colours.
    red = np.array([[[255, 0, 0]]], np.uint8)
    found = extract(red, 5)
    assert found.colors == ["#ff0000"] and found.distinct == 1 and found.short
    result = Engine().run_to_end(PaletteFromImageRequest(image=red, count=5, label="red"))
    assert isinstance(result, PaletteResult) and result.colors == ("#ff0000",) and len(result.names) == 1
    note = "This picture has only 1 distinct colour: the palette has 1 swatch, not 5."
    assert result.detail == note and result.to_json()["detail"] == note
    assert result.preview_image().shape == (24, 24, 3)


def test_a_two_colour_picture_gives_two() -> None:
    two = blocks([(20, 40, 90), (230, 200, 60)], [10, 30])
    found = extract(two, 6)
    assert found.colors == ["#e6c83c", "#14285a"]  # the picture's own colours, the larger area first
    assert found.note() == "This picture has only 2 distinct colours: the palette has 2 swatches, not 6."


def test_near_duplicates_are_merged_and_distinct_colours_kept() -> None:
    rng = np.random.default_rng(4)
    # A flat red with camera-like noise is one colour to the eye, not five.
    noisy = np.clip(rng.normal([200, 30, 30], 2, (80, 80, 3)), 0, 255).astype(np.uint8)
    found = extract(noisy, 5)
    assert len(found.colors) == 1 and close_to(found.colors, (200, 30, 30), limit=2)
    # Two blocks a little apart in colour (deltaEOK ~0.03, above the merge distance) stay two.
    pale = blocks([(255, 255, 255), (245, 245, 245)], [20, 20])
    assert sorted(extract(pale, 4).colors) == ["#f5f5f5", "#ffffff"]
    # ...and two 2 apart in each channel (deltaEOK ~0.006) are one.
    twins = blocks([(120, 60, 160), (122, 62, 162)], [20, 20])
    assert len(extract(twins, 4).colors) == 1
    other_seed = extract(noisy, 5, seed=3).colors  # any seed: one colour, the same to the eye as the true one
    lab = rgb_to_oklab(hex_to_rgb([*other_seed, "#c81e1e"]))
    assert len(other_seed) == 1 and np.sqrt(((lab[0] - lab[1]) ** 2).sum()) < MERGE_DISTANCE


def test_a_gradient_fills_the_whole_palette() -> None:
    ramp = np.linspace(0.0, 1.0, 256)[None, :, None]
    gradient = np.broadcast_to(
        ((1 - ramp) * [20, 40, 160] + ramp * [250, 200, 40]).round().astype(np.uint8), (32, 256, 3)
    )
    for count in (3, 6, 12):
        found = extract(gradient, count)
        assert len(set(found.colors)) == count and not found.short and found.note() == ""
        lab = rgb_to_oklab(hex_to_rgb(found.colors))
        gaps = np.sqrt(((lab[:, None] - lab[None]) ** 2).sum(-1)) + np.eye(count)
        assert gaps.min() >= MERGE_DISTANCE


def test_locks_stay_in_their_slots_and_move_up_only_past_dropped_slots() -> None:
    flat = np.full((20, 20, 3), (90, 90, 200), np.uint8)
    after = extract(flat, 5, locked=((0, "#ffffff"),))
    assert after.colors == ["#ffffff", "#5a5ac8"] and after.locked_at == (0,)
    assert after.note() == (
        "This picture has only 1 distinct colour besides the 1 locked swatch: the palette has 2 swatches, not 5."
    )
    # A lock at slot 3 with one picture colour: slots 1 and 2 have nothing, so the lock moves to place 1.
    moved = extract(flat, 5, locked=((3, "#ffffff"),))
    assert moved.colors == ["#5a5ac8", "#ffffff"] and moved.locked_at == (1,)
    result = Engine().run_to_end(PaletteFromImageRequest(image=flat, count=5, locked=((3, "#ffffff"),)))
    assert isinstance(result, PaletteResult) and result.colors == ("#5a5ac8", "#ffffff")
    assert result.locks == (False, True) and result.locked_flags(((3, "#ffffff"),)) == [False, True]
    only_lock = extract(flat, 4, locked=((0, "#5a5ac8"),))  # the lock is the picture's only colour
    assert only_lock.colors == ["#5a5ac8"] and only_lock.distinct == 0
    assert only_lock.note() == "The picture has no colours besides the 1 locked swatch: the palette keeps those only."
    full = blocks([(20, 40, 90), (230, 200, 60), (200, 30, 40), (240, 240, 235)], [10, 10, 10, 10])
    kept = extract(full, 4, locked=((2, "#000000"),))
    assert len(kept.colors) == 4 and kept.colors[2] == "#000000" and not kept.short
    result = Engine().run_to_end(PaletteFromImageRequest(image=full, count=4, locked=((2, "#000000"),)))
    assert isinstance(result, PaletteResult) and result.locks == ()  # a full palette: locks at their slots
    assert result.locked_flags(((2, "#000000"),)) == [False, False, True, False]


def test_engine_tasks_for_image_and_harmony() -> None:
    engine = Engine()
    image = blocks([(20, 40, 90), (230, 200, 60), (200, 30, 40)], [50, 50, 50])
    result = engine.run_to_end(PaletteFromImageRequest(image=image, count=3, label="blocks"))
    assert isinstance(result, PaletteResult) and result.source == "image" and len(result.names) == 3
    assert result.preview_image().shape == (24, 72, 3)
    harmony = engine.run_to_end(HarmonyRequest(base="#336699", mode="triad", count=6, locked=((5, "#000000"),)))
    assert isinstance(harmony, PaletteResult)
    assert harmony.colors[0] == "#336699" and harmony.colors[5] == "#000000" and len(set(harmony.colors)) == 6
