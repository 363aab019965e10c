"""Colorize speed: the live preview (256x256) and the full pass (1024x1024) against a no-network peer.

The peer is the non-learned region fill from models/colorizer/evaluate.py (the same line reading
and region labelling, no network): the ratio is what the learned colours cost over plain fills.
Goal: live preview p50 <= 150 ms on the CPU. Run: .venv/bin/python bench/colorize.py [--runs 15] [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "desktop"))
sys.path.insert(0, str(ROOT / "models" / "colorizer"))

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from atelier.core.requests.colorize import ColorizeRequest  # noqa: E402
from atelier.core.settings import Settings  # noqa: E402
from atelier.engine.colorizing import class_colours, hex_to_rgb, ink_from_lines, resize_ink  # noqa: E402
from atelier.engine.runner import Engine  # noqa: E402

PALETTE = ("#1b2a41", "#c9a227", "#e4572e", "#76b041", "#f4e3b1")


def drawing(side: int) -> np.ndarray:
    """A busy hand-drawn-looking page: circles, boxes and strokes with a 1/256-of-the-side pen."""
    rng = np.random.default_rng(0)
    image = Image.new("L", (side, side), 255)
    pen = ImageDraw.Draw(image)
    width = max(1, side // 256)
    for _ in range(14):
        x, y = rng.uniform(0, side * 0.8, 2)
        r = rng.uniform(side * 0.05, side * 0.2)
        if rng.random() < 0.5:
            pen.ellipse((x, y, x + r, y + r), outline=0, width=width)
        else:
            pen.rectangle((x, y, x + r, y + r * 0.7), outline=0, width=width)
        pen.line((x, y, rng.uniform(0, side), rng.uniform(0, side)), fill=0, width=width)
    return np.asarray(image)


def time_runs(function, runs: int) -> list[float]:
    function()  # warm up (session creation, first-run allocations)
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - started)
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--threads", type=int, default=2, help="onnxruntime CPU threads (0 = all cores)")
    args = parser.parse_args()
    from evaluate import baseline

    engine = Engine(Settings(device="cpu", threads=args.threads))
    colours, _ = class_colours(np.array([hex_to_rgb(c) for c in PALETTE], np.uint8))
    palette = np.array([hex_to_rgb(c) for c in PALETTE], np.uint8)
    no_dots = {}
    print(f"colorize bench: onnxruntime CPU, {args.threads} thread(s), {args.runs} runs each, p50 (p90)")
    for name, side, preview in (("live preview 256x256", 256, True), ("full pass 1024x1024", 1024, False)):
        lines = drawing(side)
        request = ColorizeRequest(lines=lines, palette=PALETTE, preview=preview)
        ours = time_runs(lambda request=request: engine.run_to_end(request), args.runs)

        def peer(lines=lines, side=side) -> None:
            ink = resize_ink(ink_from_lines(lines), (min(side, 256),) * 2 if side <= 256 else (side, side))
            dots = no_dots.setdefault(ink.shape, np.full(ink.shape, -1, np.int16))
            baseline(ink, palette, colours, dots)

        theirs = time_runs(peer, args.runs)
        p50, p50_peer = statistics.median(ours), statistics.median(theirs)
        p90 = sorted(ours)[int(0.9 * (len(ours) - 1))]
        print(
            f"{name}: atelier colorize {p50 * 1000:.0f} ms ({p90 * 1000:.0f}); region-fill peer "
            f"{p50_peer * 1000:.0f} ms; ratio {p50 / p50_peer:.2f}x"
        )
        if preview:
            print(f"  goal live preview p50 <= 150 ms: {'met' if p50 <= 0.150 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
