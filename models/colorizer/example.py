"""Colour a hand-drawn-looking sketch through the engine and save a small side-by-side example PNG.

Run: python models/colorizer/example.py [--out models/colorizer/example.png]
The sketch is drawn with wobbly PIL pen strokes (uneven width, small gaps), like a quick mouse drawing.
Panels: the line art, the colorizer without hints, with a few hint dots (shown as rings), and the baseline.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "desktop"))
from evaluate import baseline  # noqa: E402

from atelier.core.requests.colorize import ColorizeRequest  # noqa: E402
from atelier.core.settings import Settings  # noqa: E402
from atelier.engine.colorizing import class_colours, hex_to_rgb, ink_from_lines  # noqa: E402
from atelier.engine.runner import Engine  # noqa: E402

SIZE = 320
PALETTE = ("#c0392b", "#f1c40f", "#27ae60", "#2e86c1", "#8e5b3a")
HINTS = {
    (150, 230): "#8e5b3a",
    (100, 160): "#2e86c1",
    (270, 70): "#f1c40f",
    (160, 100): "#c0392b",
    (46, 215): "#27ae60",
}


def stroke(pen: ImageDraw.ImageDraw, points: list[tuple[float, float]], rng: np.random.Generator) -> None:
    """A wobbly polyline: each segment split into jittered steps with a varying pen width."""
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        steps = max(2, int(np.hypot(x1 - x0, y1 - y0) / 6))
        xs = np.linspace(x0, x1, steps) + rng.normal(0, 0.8, steps)
        ys = np.linspace(y0, y1, steps) + rng.normal(0, 0.8, steps)
        for i in range(steps - 1):
            pen.line((xs[i], ys[i], xs[i + 1], ys[i + 1]), fill=0, width=int(rng.integers(2, 4)))


def circle(cx: float, cy: float, r: float, n: int = 28) -> list[tuple[float, float]]:
    angles = np.linspace(0, 2 * np.pi, n)
    return [(cx + r * np.cos(a), cy + r * np.sin(a)) for a in angles]


def sketch() -> np.ndarray:
    rng = np.random.default_rng(3)
    image = Image.new("L", (SIZE, SIZE), 255)
    pen = ImageDraw.Draw(image)
    stroke(pen, [(80, 150), (240, 150), (240, 280), (80, 280), (80, 150)], rng)  # house
    stroke(pen, [(65, 155), (160, 70), (255, 155), (65, 155)], rng)  # roof
    stroke(pen, [(140, 280), (140, 210), (180, 210), (180, 280)], rng)  # door
    stroke(pen, [(95, 175), (125, 175), (125, 200), (95, 200), (95, 175)], rng)  # window
    stroke(pen, [(200, 175), (228, 175), (228, 200), (200, 200), (200, 175)], rng)
    stroke(pen, circle(270, 55, 28), rng)  # sun
    stroke(pen, [(40, 300), (40, 240)], rng)  # tree trunk and crown
    stroke(pen, [(52, 300), (52, 240)], rng)
    stroke(pen, circle(46, 215, 30), rng)
    stroke(pen, [(0, 300), (320, 300)], rng)  # ground line
    return np.asarray(image)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "example.png")
    args = parser.parse_args()
    lines = sketch()
    hints = np.zeros((SIZE, SIZE, 4), np.uint8)
    for (x, y), colour in HINTS.items():
        hints[y - 3 : y + 4, x - 3 : x + 4] = (*hex_to_rgb(colour), 255)
    engine = Engine(Settings(device="cpu", threads=1))
    plain = engine.run_to_end(ColorizeRequest(lines=lines, palette=PALETTE)).images[0]  # type: ignore[attr-defined]
    hinted = engine.run_to_end(ColorizeRequest(lines=lines, palette=PALETTE, hints=hints)).images[0]  # type: ignore[attr-defined]
    palette = np.array([hex_to_rgb(c) for c in PALETTE], np.uint8)
    colours, _ = class_colours(palette)
    base = baseline(ink_from_lines(lines), palette, colours, np.full(lines.shape, -1, np.int16))
    shown = Image.fromarray(hinted)
    pen = ImageDraw.Draw(shown)
    for (x, y), _colour in HINTS.items():
        pen.ellipse((x - 6, y - 6, x + 6, y + 6), outline=(255, 255, 255), width=2)
    panels = [np.stack([lines] * 3, -1), plain, np.asarray(shown), base]
    Image.fromarray(np.concatenate(panels, 1)).save(args.out, optimize=True)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
