"""Colorizer pre- and post-processing (numpy): lines, regions, hints, feeds, region vote, variations."""

from __future__ import annotations

import numpy as np
import pytest

from atelier.engine.colorizing import (
    BLACK,
    N_CLASSES,
    WHITE,
    batch_feeds,
    class_colours,
    finish,
    flood_hints,
    ink_from_lines,
    label_regions,
    palette_orders,
    prepare,
    region_maps,
    snap_hints,
    srgb_to_lab,
)

PALETTE = np.array([[200, 40, 40], [40, 160, 60], [30, 60, 200]], np.uint8)


def ring(size: int = 64, width: int = 1) -> np.ndarray:
    """White paper with a black square outline: an inside and an outside region."""
    lines = np.full((size, size), 255, np.uint8)
    a, b = size // 4, 3 * size // 4
    lines[a : a + width, a:b] = lines[b - width : b, a:b] = 0
    lines[a:b, a : a + width] = lines[a:b, b - width : b] = 0
    return lines


def test_lab_of_known_colours() -> None:
    lab = srgb_to_lab(np.array([[255, 255, 255], [0, 0, 0], [255, 0, 0]], np.uint8))
    np.testing.assert_allclose(lab[0], [100, 0, 0], atol=0.05)
    np.testing.assert_allclose(lab[1], [0, 0, 0], atol=0.05)
    np.testing.assert_allclose(lab[2], [53.24, 80.09, 67.20], atol=0.1)


def test_ink_reads_grey_rgb_and_transparent_paper() -> None:
    grey = ring()
    rgba = np.zeros((*grey.shape, 4), np.uint8)
    rgba[grey == 0] = (0, 0, 0, 255)  # lines on a transparent layer
    for lines in (grey, np.stack([grey] * 3, -1), rgba):
        ink = ink_from_lines(lines)
        assert ink.dtype == np.float32
        assert ink[16, 20] == pytest.approx(1.0) and ink[32, 32] == pytest.approx(0.0)


def test_regions_close_a_narrow_gap_but_not_a_wide_one() -> None:
    lines = ring()
    lines[16, 30:32] = 255  # a 2-px break in the top edge
    _, count = label_regions(ink_from_lines(lines), close_gaps=1)
    assert count == 2
    lines[16, 24:40] = 255
    _, count = label_regions(ink_from_lines(lines), close_gaps=1)
    assert count == 1


def test_hints_snap_to_the_nearest_class_and_flood_their_region() -> None:
    colours, valid = class_colours(PALETTE)
    hints = np.zeros((64, 64, 4), np.uint8)
    hints[30:32, 30:32] = (60, 150, 70, 255)  # a greenish scribble inside the square
    hints[5, 5] = (250, 250, 250, 255)  # near white, outside
    dots = snap_hints(hints, colours, valid)
    assert dots[30, 30] == 1 and dots[5, 5] == WHITE and dots[40, 40] == -1
    labels, count = label_regions(ink_from_lines(ring()))
    flooded = flood_hints(dots, labels, count)
    assert (flooded[labels == labels[32, 32]] == 1).all()
    assert (flooded[labels == labels[2, 2]] == WHITE).all()


def test_prepare_pads_to_the_size_multiple_and_keeps_output_size() -> None:
    lines = np.full((50, 70), 255, np.uint8)
    prepared = prepare(lines, PALETTE, None, None, 384)
    assert prepared.ink.shape == (50, 70)
    assert prepared.feeds["image"].shape == (1, 7, 64, 80)
    assert prepared.feeds["hint_classes"].shape == (1, N_CLASSES, 64, 80)
    assert prepared.feeds["colours"].shape == (1, N_CLASSES, 3)
    assert prepared.feeds["valid"].tolist() == [[1, 1, 1, 0, 0, 0, 0, 0, 1, 1]]
    big = np.full((1000, 600), 255, np.uint8)
    assert prepare(big, PALETTE, None, 256, 256).ink.shape == (256, 154)  # preview
    full = prepare(big, PALETTE, None, None, 384)
    assert full.ink.shape == (1000, 600) and full.work_shape == (384, 230)


def test_shrinking_keeps_thin_lines() -> None:
    lines = np.full((1024, 1024), 255, np.uint8)
    lines[500:502, :] = 0  # a 2-px line, 1/4 px after shrinking to 256
    prepared = prepare(lines, PALETTE, None, 256, 256)
    assert prepared.ink.max() >= 0.5


def scores_preferring(prepared, by_region: dict[int, int]) -> np.ndarray:
    """Logits (1,10,h,w) that favour a class per region, with per-pixel noise the vote must remove."""
    h, w = prepared.feeds["image"].shape[2:]
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 0.5, (1, N_CLASSES, h, w)).astype(np.float32)
    regions = prepared.regions[:h, :w]
    for label, cls in by_region.items():
        logits[0, cls, : regions.shape[0], : regions.shape[1]][regions == label] += 2.0
    return logits


def test_finish_fills_each_region_with_one_palette_colour_under_the_lines() -> None:
    lines = ring()
    prepared = prepare(lines, PALETTE, None, None, 384)
    inside, outside = prepared.regions[32, 32], prepared.regions[2, 2]
    (image,) = finish(prepared, scores_preferring(prepared, {inside: 2, outside: WHITE}))
    assert image.shape == (64, 64, 3) and image.dtype == np.uint8
    assert (image[20:44, 20:44] == PALETTE[2]).all()  # flat: the per-pixel noise is voted away
    assert (image[:10, :10] == 255).all()
    assert (image[lines == 0] == 0).all()  # the drawn lines stay on top


def test_a_hinted_region_takes_the_hint_whatever_the_scores() -> None:
    hints = np.zeros((64, 64, 4), np.uint8)
    hints[32, 32] = (*PALETTE[0], 255)
    prepared = prepare(ring(), PALETTE, hints, None, 384)
    inside, outside = prepared.regions[32, 32], prepared.regions[2, 2]
    (image,) = finish(prepared, scores_preferring(prepared, {inside: 2, outside: WHITE}))
    assert (image[20:44, 20:44] == PALETTE[0]).all()


def test_variations_list_the_palette_in_distinct_seeded_orders() -> None:
    orders = palette_orders(3, 4, seed=5)
    assert orders[0].tolist() == [0, 1, 2]
    assert len({tuple(o) for o in orders}) == 4
    assert [o.tolist() for o in orders] == [o.tolist() for o in palette_orders(3, 4, seed=5)]
    assert len(palette_orders(3, 8, seed=1)) == 8  # more than the 6 orders of 3 colours: repeats


def test_a_shuffled_order_maps_back_to_the_same_colours() -> None:
    """Scores that follow the slot listing must give the same picture whatever the listing order."""
    prepared = prepare(ring(), PALETTE, None, None, 384)
    orders = [np.array([0, 1, 2]), np.array([2, 0, 1])]
    feeds = batch_feeds(prepared, orders)
    assert feeds["image"].shape[0] == 2
    np.testing.assert_array_equal(feeds["colours"][1, :3], prepared.feeds["colours"][0, [2, 0, 1]])
    inside = prepared.regions[32, 32]
    base = scores_preferring(prepared, {inside: 1, prepared.regions[2, 2]: WHITE})[0]
    shuffled = base.copy()
    shuffled[:3] = base[[2, 0, 1]]  # slot j now lists original colour order[j]
    first, second = finish(prepared, np.stack([base, shuffled]), orders)
    np.testing.assert_array_equal(first, second)
    assert (first[20:44, 20:44] == PALETTE[1]).all()
    colours, _ = class_colours(PALETTE)
    assert tuple(colours[BLACK]) == (0, 0, 0)


def test_region_maps_mark_the_background_and_region_sizes() -> None:
    labels, count = label_regions(ink_from_lines(ring()))
    outside, area = region_maps(labels, count)
    assert outside[2, 2] == 1.0 and outside[32, 32] == 0.0 and outside[16, 20] == 0.0  # line
    inner = (labels == labels[32, 32]).mean()
    assert area[32, 32] == pytest.approx(np.sqrt(inner))
