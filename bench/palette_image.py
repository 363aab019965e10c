"""Image -> palette: Atelier vs Pylette (and colorthief) on a 4000x3000 photo-like image, same palette size.

Prints, for each extractor, the median wall time over the runs and the mean CIEDE2000 from each pixel
to its nearest palette colour (on a fixed random sample of 300,000 pixels; the vectorised CIEDE2000 is
checked against coloraide in tests/core), then Atelier's ratios to the peer. Goal: time <= 0.5x and
error <= 0.9x of Pylette's.

Run: PYTHONPATH=desktop python bench/palette_image.py [--runs 3] [--count 8] [--colorthief]
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable

import numpy as np
from PIL import Image

from atelier.core.color.spaces import delta_e_2000, hex_to_rgb, rgb_to_cielab
from atelier.engine.palette_extract import extract_palette


def photo_like(width: int = 4000, height: int = 3000, seed: int = 0) -> np.ndarray:
    """Sky gradient, hills, a sunlit field with texture, soft blobs and small vivid accents, plus noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    image = np.zeros((height, width, 3), np.float32)
    t = y / height
    sky = np.stack([90 + 120 * t, 140 + 80 * t, 220 - 40 * t], -1)
    horizon = 0.45 * height + 120 * np.sin(x / 500) + 60 * np.sin(x / 170 + 1)
    hills = np.stack([40 + 30 * np.sin(x / 300), 90 + 40 * np.cos(y / 200), 50 + 0 * x], -1)
    field = np.stack([150 + 40 * np.sin(x / 90), 130 + 30 * np.sin(y / 70), 60 + 20 * np.cos(x / 50)], -1)
    image[:] = sky
    image[y > horizon] = hills[y > horizon]
    image[y > horizon + 0.25 * height] = field[y > horizon + 0.25 * height]
    for _ in range(25):  # soft coloured blobs (trees, rocks, houses)
        cx, cy, r = rng.uniform(0, width), rng.uniform(0.4 * height, height), rng.uniform(60, 300)
        colour = rng.uniform(20, 200, 3)
        mask = ((x - cx) ** 2 + (y - cy) ** 2) < r**2
        image[mask] = 0.3 * image[mask] + 0.7 * colour
    for colour in ((230, 30, 40), (250, 200, 20), (150, 40, 200)):  # small vivid accents (flowers)
        for _ in range(40):
            cx, cy = rng.integers(0, width - 30), rng.integers(int(0.7 * height), height - 30)
            image[cy : cy + 24, cx : cx + 24] = colour
    image += rng.normal(0, 6, image.shape).astype(np.float32)
    return np.clip(image, 0, 255).astype(np.uint8)


def mean_error(image: np.ndarray, colors: list[str], sample: np.ndarray) -> float:
    pixels = image.reshape(-1, 3)[sample]
    lab = rgb_to_cielab(pixels)
    palette = rgb_to_cielab(hex_to_rgb(colors))
    best = np.full(len(lab), np.inf)
    for colour in palette:
        best = np.minimum(best, delta_e_2000(lab, colour))
    return float(best.mean())


def hexes(rgbs: list[tuple[int, int, int]]) -> list[str]:
    return ["#{:02x}{:02x}{:02x}".format(*map(int, rgb)) for rgb in rgbs]


def timed(function: Callable[[], list[str]], runs: int) -> tuple[float, list[str]]:
    times, colors = [], []
    for _ in range(runs):
        start = time.perf_counter()
        colors = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), colors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--count", type=int, default=8)
    parser.add_argument("--colorthief", action="store_true", help="also time colorthief (slow, pure Python)")
    args = parser.parse_args()
    image = photo_like()
    pil = Image.fromarray(image)
    sample = np.random.default_rng(1).choice(image.shape[0] * image.shape[1], 300_000, replace=False)
    print(f"image {image.shape[1]}x{image.shape[0]}, palette size {args.count}, median of {args.runs} runs")

    ours_time, ours = timed(lambda: extract_palette(image, args.count, seed=0), args.runs)
    ours_error = mean_error(image, ours, sample)
    print(f"atelier     {ours_time * 1000:8.1f} ms   mean dE2000 {ours_error:6.2f}   {' '.join(ours)}")

    from pylette import extract_colors

    peer_time, peer = timed(lambda: hexes([c.rgb for c in extract_colors(pil, palette_size=args.count)]), args.runs)
    peer_error = mean_error(image, peer, sample)
    print(f"pylette     {peer_time * 1000:8.1f} ms   mean dE2000 {peer_error:6.2f}   {' '.join(peer)}")
    print(f"ratio vs Pylette: time {ours_time / peer_time:.2f}x, error {ours_error / peer_error:.2f}x")

    if args.colorthief:
        from colorthief import ColorThief

        buffer = io.BytesIO()
        pil.save(buffer, "PNG")

        def thief() -> list[str]:
            buffer.seek(0)
            return hexes(ColorThief(buffer).get_palette(color_count=args.count, quality=10)[: args.count])

        thief_time, thief_colors = timed(thief, 1)
        thief_error = mean_error(image, thief_colors, sample)
        print(f"colorthief  {thief_time * 1000:8.1f} ms   mean dE2000 {thief_error:6.2f}")
        print(f"ratio vs colorthief: time {ours_time / thief_time:.2f}x, error {ours_error / thief_error:.2f}x")


if __name__ == "__main__":
    main()
