"""Vectorised colour maths agree with coloraide; names, harmony and accessibility checks behave."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from coloraide import Color

from atelier.core.color.checks import (
    confusable_pairs,
    contrast,
    contrast_badge,
    contrast_matrix,
    simulate,
    suggest_roles,
)
from atelier.core.color.data import moods, named_colors
from atelier.core.color.harmony import HARMONY_MODES, harmony
from atelier.core.color.names import nearest_name, nearest_names
from atelier.core.color.selection import pick_diverse
from atelier.core.color.spaces import (
    delta_e_2000,
    hex_to_rgb,
    oklab_to_rgb,
    rgb_to_cielab,
    rgb_to_hex,
    rgb_to_oklab,
)

RNG = np.random.default_rng(7)
SAMPLE = RNG.integers(0, 256, (200, 3)).astype(np.uint8)


def test_oklab_and_cielab_match_coloraide() -> None:
    hexes = rgb_to_hex(SAMPLE)
    ours_ok = rgb_to_oklab(SAMPLE)
    ours_lab = rgb_to_cielab(SAMPLE)
    for i, h in enumerate(hexes[:60]):
        assert np.allclose(ours_ok[i], Color(h).convert("oklab").coords(), atol=2e-4)
        assert np.allclose(ours_lab[i], Color(h).convert("lab-d65").coords(), atol=0.05)
    assert (oklab_to_rgb(ours_ok) == SAMPLE).all()


def test_delta_e_2000_matches_coloraide() -> None:
    hexes = rgb_to_hex(SAMPLE)
    lab = rgb_to_cielab(SAMPLE)
    ours = delta_e_2000(lab[:-1], lab[1:])
    theirs = [Color(a).delta_e(b, method="2000") for a, b in itertools.pairwise(hexes)]
    assert np.allclose(ours, theirs, atol=0.02)
    assert float(delta_e_2000(lab[0], lab[0])) == 0.0


def test_colour_data_is_filtered_and_complete() -> None:
    table = named_colors()
    assert 1000 < len(table.names) < 1100  # 949 xkcd minus crude ones + 148 CSS
    assert not {"puke", "vomit", "poop", "shit", "snot", "barf"} & set(table.names)
    assert len(moods()) >= 30
    assert nearest_name("#ff0000") == "red"
    assert nearest_names(["#000000", "#ffffff"]) == ["black", "white"]


@pytest.mark.parametrize("mode", list(HARMONY_MODES))
def test_harmony_modes_give_distinct_in_gamut_colours(mode: str) -> None:
    for count in (3, 6, 12):
        colors = harmony("#2a7ab0", mode, count)
        assert len(colors) == count and len(set(colors)) == count
        assert all(len(c) == 7 and c.startswith("#") for c in colors)
    assert harmony("#2a7ab0", mode, 5, seed=4) == harmony("#2a7ab0", mode, 5, seed=4)


def test_harmony_hues_follow_the_rule() -> None:
    def hue(c: str) -> float:
        return float(Color(c).convert("oklch")["hue"])

    base = "#2a7ab0"
    complement = harmony(base, "complementary", 2)
    assert complement[0] == base
    assert abs(((hue(complement[1]) - hue(base)) % 360) - 180) < 12
    triad = harmony(base, "triad", 3)
    assert sorted(round(((hue(c) - hue(base)) % 360) / 120) for c in triad) == [0, 1, 2]


def test_contrast_badges_and_roles() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast_badge(21) == "AAA" and contrast_badge(5) == "AA"
    assert contrast_badge(3.5) == "AA Large" and contrast_badge(2) == "Fail"
    matrix = contrast_matrix(["#000000", "#777777", "#ffffff"])
    assert matrix[0][2] == pytest.approx(21.0) and matrix[1][1] == pytest.approx(1.0)
    roles = suggest_roles(["#f4f1ea", "#1b2a41", "#c9a227", "#b23a48"])
    assert roles.background == "#f4f1ea" and roles.text == "#1b2a41" and not roles.warnings
    weak = suggest_roles(["#bbbbbb", "#999999", "#aaaaaa"])
    assert any("4.5:1" in w for w in weak.warnings)


def test_colour_blind_simulation_warns_about_red_green() -> None:
    palette = ["#d62728", "#2ca02c", "#1f77b4"]
    assert len(simulate(palette, "protanopia")) == 3
    assert simulate(palette, "tritanopia") != simulate(palette, "deuteranopia")
    assert any({i, j} == {0, 1} for i, j, _ in confusable_pairs(palette, "deuteranopia"))
    assert confusable_pairs(["#000000", "#ffffff"], "protanopia") == []


def test_pick_diverse_keeps_locks_and_spreads() -> None:
    rgb = RNG.integers(0, 256, (300, 3)).astype(np.uint8)
    lab, ok = rgb_to_cielab(rgb), rgb_to_oklab(rgb)
    scores = RNG.random(300)
    picked = pick_diverse(scores, lab, ok, 8, locked=[5, 9], seed=1)
    assert picked[:2] == [5, 9] and len(set(picked)) == 8
    chosen = lab[picked]
    distances = delta_e_2000(chosen[:, None], chosen[None])
    assert distances[~np.eye(8, dtype=bool)].min() >= 8.0
    assert pick_diverse(scores, lab, ok, 8, seed=1) == pick_diverse(scores, lab, ok, 8, seed=1)
    assert hex_to_rgb(["#0a0b0c"]).tolist() == [[10, 11, 12]]
