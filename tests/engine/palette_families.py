"""Hue families for the palette quality tests, defined on OKLCH (lightness 0..1, chroma, hue degrees)."""

from __future__ import annotations

from coloraide import Color


def families(hex_color: str) -> set[str]:
    lch = Color(hex_color).convert("oklch")
    lightness, chroma = lch["lightness"], lch["chroma"]
    hue = lch.get("hue", nans=False) % 360
    found: set[str] = set()
    if lightness < 0.28:
        found.add("near-black")
    if lightness < 0.42:
        found.add("dark")
    if lightness > 0.8:
        found.add("light")
    if lightness > 0.92 and chroma < 0.05:
        found.add("near-white")
    if chroma < 0.04:
        found.add("grey")
    if chroma >= 0.15:
        found.add("vivid")
    if chroma >= 0.03 and 20 <= hue < 100 and lightness < 0.62:
        found.add("brown")
    if chroma >= 0.04:
        for name, low, high in (
            ("red", 10, 42),
            ("orange", 42, 80),
            ("yellow", 80, 125),
            ("green", 125, 170),
            ("teal", 170, 225),
            ("blue", 225, 280),
            ("purple", 280, 318),
            ("pink", 318, 360),
        ):
            if low <= hue < high:
                found.add(name)
        if hue < 10:
            found.update({"pink", "red"} if lightness > 0.7 else {"red"})
        if "red" in found and lightness > 0.72:
            found.add("pink")
    return found
