"""Training and evaluation samples: palette, class map, hand-drawn-looking line art and hints from a picture.

Everything is seeded by the caller's numpy Generator, so the held-out set is the same on every run.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "desktop"))
from atelier.engine.colorizing import (
    BLACK,
    WHITE,
    class_colours,
    flood_hints,
    label_regions,
    srgb_to_lab,
)

CROP = 128


@dataclass
class Sample:
    picture: np.ndarray  # HxWx3 uint8, the target picture on white
    palette: np.ndarray  # (K,3) uint8, most frequent first
    colours: np.ndarray  # (N_CLASSES,3) uint8
    valid: np.ndarray  # (N_CLASSES,) bool
    target: np.ndarray  # HxW int64 class per pixel
    ink: np.ndarray  # HxW float32 line art (1 = ink)
    dots: np.ndarray  # HxW int16 hint class per hint pixel, -1 none
    labels: np.ndarray  # HxW int32 closed regions of the line art
    count: int


def extract_palette(rgb: np.ndarray, k: int, rng: np.random.Generator, iterations: int = 8) -> np.ndarray:
    """k colours of the picture's fills (k-means in Lab over non-paper, non-ink pixels), biggest first."""
    lab = srgb_to_lab(rgb.reshape(-1, 3))
    chroma = np.hypot(lab[:, 1], lab[:, 2])
    fill = ~((lab[:, 0] > 93) & (chroma < 6)) & (lab[:, 0] > 18)
    pixels = rgb.reshape(-1, 3)[fill]
    points = lab[fill]
    if len(points) < k:
        pixels, points = rgb.reshape(-1, 3), lab
    if len(points) > 1000:
        pick = rng.choice(len(points), 1000, replace=False)
        pixels, points = pixels[pick], points[pick]
    centres = points[[rng.integers(len(points))]]
    for _ in range(k - 1):  # k-means++ seeding
        d = ((points[:, None] - centres[None]) ** 2).sum(-1).min(1)
        if d.sum() <= 0:
            break
        centres = np.vstack([centres, points[rng.choice(len(points), p=d / d.sum())]])
    for _ in range(iterations):
        assign = nearest(points, centres)
        sums = np.zeros_like(centres)
        np.add.at(sums, assign, points)
        counts = np.bincount(assign, minlength=len(centres))[:, None]
        centres = np.where(counts > 0, sums / np.maximum(counts, 1), centres)
    assign = nearest(points, centres)
    counts = np.bincount(assign, minlength=len(centres))
    # Report each cluster by its median member's real colour, so palettes are colours of the picture.
    palette = [np.median(pixels[assign == j], 0) for j in np.argsort(-counts) if counts[j] > 0]
    return np.clip(np.array(palette) + 0.5, 0, 255).astype(np.uint8)


def nearest(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    d = (centres**2).sum(1)[None] - 2 * points @ centres.T
    return d.argmin(1)


def class_map(rgb: np.ndarray, colours: np.ndarray, valid: np.ndarray) -> np.ndarray:
    lab = srgb_to_lab(rgb.reshape(-1, 3))
    class_lab = srgb_to_lab(colours).astype(np.float32)
    d = (class_lab**2).sum(1)[None] - 2 * lab @ class_lab.T
    d[:, ~valid] = np.inf
    return d.argmin(1).reshape(rgb.shape[:2])


def draw_lines(target: np.ndarray, rng: np.random.Generator, clean: bool = False) -> np.ndarray:
    """1-px lines on region boundaries and thin dark outlines, then hand-drawn wobble, breaks, weight."""
    boundary = np.zeros(target.shape, bool)
    boundary[:, :-1] |= target[:, :-1] != target[:, 1:]
    boundary[:-1, :] |= target[:-1, :] != target[1:, :]
    black = target == BLACK
    thick_black = ndimage.binary_opening(black, iterations=2)
    ink = (boundary | (black & ~thick_black)).astype(np.float32)
    if clean:
        return ink
    if rng.random() < 0.5:  # wobble: a smooth random displacement field
        h, w = ink.shape
        amp = rng.uniform(0.5, 2.0)
        dy = ndimage.gaussian_filter(rng.standard_normal((h, w)), 6) * amp * 15
        dx = ndimage.gaussian_filter(rng.standard_normal((h, w)), 6) * amp * 15
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        ink = ndimage.map_coordinates(ink, [yy + dy, xx + dx], order=0, mode="nearest")
    if rng.random() < 0.35:
        ink = ndimage.binary_dilation(ink > 0.5).astype(np.float32)
    if rng.random() < 0.5:  # breaks: small erased gaps, as in quick pen strokes
        h, w = ink.shape
        ys, xs = np.nonzero(ink)
        for i in rng.choice(len(ys), min(len(ys), int(rng.integers(1, 8))), replace=False) if len(ys) else []:
            r = int(rng.integers(1, 3))
            ink[max(0, ys[i] - r) : ys[i] + r + 1, max(0, xs[i] - r) : xs[i] + r + 1] = 0
    if rng.random() < 0.5:  # anti-aliased pencil or brush edge
        ink = np.clip(ndimage.gaussian_filter(ink, rng.uniform(0.4, 0.8)) * rng.uniform(1.8, 2.6), 0, 1)
    return (ink * rng.uniform(0.75, 1.0)).astype(np.float32)


def sample_dots(target: np.ndarray, ink: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` small hint dots at random fill pixels, each with the target's class there."""
    dots = np.full(target.shape, -1, np.int16)
    ys, xs = np.nonzero((target != WHITE) & (ink < 0.5))
    if count == 0 or len(ys) == 0:
        return dots
    for i in rng.choice(len(ys), min(count, len(ys)), replace=False):
        y, x, r = ys[i], xs[i], int(rng.integers(0, 2))
        patch = (slice(max(0, y - r), y + r + 1), slice(max(0, x - r), x + r + 1))
        dots[patch] = np.where(ink[patch] < 0.5, target[y, x], dots[patch])
    return dots


def make_sample(
    picture: np.ndarray,
    rng: np.random.Generator,
    augment: bool = True,
    n_colours: int | None = None,
    n_dots: int | None = None,
    crop: int = CROP,
) -> Sample:
    if augment:  # a random rescale (objects at 0.75..1.25x the held-out scale for crop 96) and crop
        size = int(rng.integers(crop, round(crop * 1.6) + 1))
        big = np.asarray(Image.fromarray(picture).resize((size, size), Image.Resampling.BILINEAR))
        top, left = rng.integers(0, size - crop + 1, 2)
        picture = big[top : top + crop, left : left + crop]
        if rng.random() < 0.5:
            picture = picture[:, ::-1]
        picture = np.ascontiguousarray(picture)
    k = n_colours if n_colours is not None else int(rng.integers(3, 9))
    palette = extract_palette(picture, k, rng)
    if augment and rng.random() < 0.25:  # users do not always list the most used colour first
        palette = palette[rng.permutation(len(palette))]
    colours, valid = class_colours(palette)
    target = class_map(picture, colours, valid)
    ink = draw_lines(target, rng)
    labels, count = label_regions(ink)
    if n_dots is None:
        n_dots = 0 if rng.random() < 0.4 else int(rng.integers(1, 13))
    dots = sample_dots(target, ink, n_dots, rng)
    return Sample(picture, palette, colours, valid, target, ink, dots, labels, count)


def flooded_hints(sample: Sample) -> np.ndarray:
    return flood_hints(sample.dots, sample.labels, sample.count)
