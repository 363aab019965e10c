"""Harmony rules from a base colour, computed in OKLCH with coloraide and mapped into sRGB."""

from __future__ import annotations

import random

from coloraide import Color

from atelier.core.errors import InvalidRequestError

# Our mode names -> coloraide's harmony names ('shades' is ours: lightness steps of one hue).
HARMONY_MODES = {
    "analogous": "analogous",
    "monochromatic": "mono",
    "complementary": "complement",
    "split-complementary": "split",
    "triad": "triad",
    "tetradic": "square",
    "shades": "",
}


def _hex(color: Color) -> str:
    return color.convert("srgb").fit("srgb", method="oklch-chroma").to_string(hex=True)


def harmony(base: str, mode: str, count: int, seed: int = 0) -> list[str]:
    """`count` colours for `mode` around `base` (the first colour is the base itself).

    coloraide gives each rule's key hues; the rest of the slots are lightness/chroma variations of
    those hues (a seed varies them, so regenerate gives a new palette under the same rule).
    """
    if mode not in HARMONY_MODES:
        raise InvalidRequestError(f"Unknown harmony '{mode}'; use one of {', '.join(HARMONY_MODES)}.")
    color = Color(base).convert("oklch")
    rng = random.Random(seed)
    chroma, hue = color["chroma"], color.get("hue", nans=False)
    if mode == "shades":
        low, high = 0.18, 0.95
        span = [low + (high - low) * i / max(1, count - 1) for i in range(count)]
        jitter = 0.03 if seed else 0.0
        out = [_hex(color)]
        for value in span:
            shade = Color("oklch", [min(0.98, max(0.08, value + rng.uniform(-jitter, jitter))), chroma, hue])
            out.append(_hex(shade))
        return _distinct(out, count)
    keys = list(color.harmony(HARMONY_MODES[mode], space="oklch"))
    # coloraide puts the base in the middle for some rules; a palette reads from its base.
    keys.sort(key=lambda k: k.delta_e(color, method="2000") > 0.5)
    out = [_hex(k) for k in keys]
    # Variations: alternate lighter/darker tints of the key hues, spread in lightness.
    steps = [0.22, -0.2, 0.34, -0.32, 0.12, -0.1, 0.42, 0.28, -0.26]
    rng.shuffle(steps) if seed else None
    index = 0
    while len(out) < count * 3 and index < 60:
        key = keys[index % len(keys)].convert("oklch")
        delta = steps[(index // len(keys)) % len(steps)]
        light = min(0.97, max(0.12, key["lightness"] + delta + rng.uniform(-0.03, 0.03) * bool(seed)))
        chroma_scale = 0.55 if delta > 0.25 else 0.85 if delta > 0 else 1.0
        variant = Color("oklch", [light, key["chroma"] * chroma_scale, key.get("hue", nans=False)])
        out.append(_hex(variant))
        index += 1
    return _distinct(out, count)


def _distinct(colors: list[str], count: int) -> list[str]:
    """First `count` colours that are not near-duplicates (dE2000 >= 6) of an earlier one."""
    chosen: list[str] = []
    for candidate in colors:
        if all(Color(candidate).delta_e(c, method="2000") >= 6 for c in chosen):
            chosen.append(candidate)
        if len(chosen) == count:
            return chosen
    for candidate in colors:  # tiny counts of near-identical inputs: allow closer ones rather than fewer
        if len(chosen) == count:
            break
        if candidate not in chosen:
            chosen.append(candidate)
    return chosen[:count]
