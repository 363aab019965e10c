"""Dominant colours of an image: weighted k-means in OKLab on a downsampled, de-duplicated pixel set.

Memory stays small on any image size: the picture is first sampled on a stride (a view, no copy) to
at most ~250k pixels, then quantised to 15-bit colour bins, so k-means runs on <= 32k weighted
points. Transparent pixels are ignored; grey images work. Each bin's weight grows with its chroma so a
small vivid accent (a red flower in a green field) can win a cluster instead of being averaged away.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from atelier.core.color.spaces import oklab_to_rgb, rgb_to_hex, rgb_to_oklab
from atelier.core.errors import InvalidRequestError

SAMPLE_PIXELS = 250_000
ACCENT_BOOST = 5.0  # weight multiplier per unit of OKLab chroma (vivid colours reach ~1.0 + 5 * 0.3)
ITERATIONS = 20
RESTARTS = 3
ACCENT_DISTANCE = 0.12  # OKLab distance from every centre at which a colour counts as unrepresented
ACCENT_MIN_SHARE = 0.001  # ...if it holds at least this share of the (chroma-weighted) picture
# Two colours nearer than this in OKLab look the same in a palette: 0.02 is OKLab's just-noticeable
# difference (CSS Color 4's deltaEOK of 2), so a flat or noisy picture gives one swatch, not several.
MERGE_DISTANCE = 0.02


def rgba_pixels(image: np.ndarray, sample: int = SAMPLE_PIXELS) -> np.ndarray:
    """Opaque pixels of a strided sample as Nx3 uint8 (grey, grey+alpha, RGB or RGBA input)."""
    height, width = image.shape[:2]
    stride = max(1, math.ceil(math.sqrt(height * width / sample)))
    view = image[::stride, ::stride]
    if view.ndim == 2:
        view = view[:, :, None]
    channels = view.shape[2]
    colour = view[:, :, :3] if channels >= 3 else np.repeat(view[:, :, :1], 3, axis=2)
    flat = colour.reshape(-1, 3)
    if channels in (2, 4):
        alpha = view[:, :, channels - 1].reshape(-1)
        flat = flat[alpha >= 128]
    if len(flat) == 0:
        raise InvalidRequestError("The picture is fully transparent; there are no colours to take.")
    return np.ascontiguousarray(flat)


def colour_bins(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique 5-bit-per-channel bins: (Mx3 uint8 bin-centre colours, M pixel counts)."""
    quantised = (pixels >> 3).astype(np.int32)
    keys = (quantised[:, 0] << 10) | (quantised[:, 1] << 5) | quantised[:, 2]
    # Average the real colours inside each bin rather than using the bin centre (less quantisation error).
    unique, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    sums = np.zeros((len(unique), 3))
    np.add.at(sums, inverse, pixels.astype(np.float64))
    return (sums / counts[:, None]).round().astype(np.uint8), counts


def weighted_kmeans(
    points: np.ndarray,
    weights: np.ndarray,
    count: int,
    seed: int,
    fixed: np.ndarray | None = None,
    iterations: int = ITERATIONS,
    restarts: int = RESTARTS,
) -> tuple[np.ndarray, np.ndarray]:
    """Centres (count x 3) and their total weights; the first len(fixed) centres never move.

    k-means++ seeding, a few restarts (the lowest weighted inertia wins), then accent rescue.
    """
    rng = np.random.default_rng(seed)
    fixed = np.zeros((0, 3)) if fixed is None else np.asarray(fixed, np.float64)
    n_fixed = len(fixed)
    best: tuple[float, np.ndarray] | None = None
    for _ in range(restarts):
        centres = _seed_centres(points, weights, count, fixed, rng)
        centres = _lloyd(points, weights, centres, n_fixed, iterations)
        inertia = float((weights * _distances(points, centres).min(1)).sum())
        if best is None or inertia < best[0]:
            best = (inertia, centres)
    assert best is not None
    centres = _rescue_accents(points, weights, best[1], n_fixed, iterations)
    totals = np.bincount(_distances(points, centres).argmin(1), weights=weights, minlength=count)
    return centres, totals


def _seed_centres(
    points: np.ndarray, weights: np.ndarray, count: int, fixed: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    centres = list(fixed)
    if not centres:
        centres.append(points[rng.choice(len(points), p=weights / weights.sum())])
    nearest = _distances(points, np.array(centres)).min(1)
    while len(centres) < count:
        score = nearest * weights
        index = rng.choice(len(points), p=score / score.sum()) if score.sum() > 0 else rng.integers(len(points))
        centres.append(points[index])
        nearest = np.minimum(nearest, ((points - points[index]) ** 2).sum(1))
    return np.array(centres, np.float64)


def _distances(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Squared distances N x K through one matrix product (much faster than broadcasting N x K x 3)."""
    squared = (points**2).sum(1)[:, None] - 2 * points @ centres.T + (centres**2).sum(1)[None]
    return np.maximum(squared, 0.0)


def _lloyd(points: np.ndarray, weights: np.ndarray, centres: np.ndarray, n_fixed: int, iterations: int) -> np.ndarray:
    centres = centres.copy()
    k = len(centres)
    for _ in range(iterations):
        labels = _distances(points, centres).argmin(1)
        totals = np.bincount(labels, weights=weights, minlength=k)
        sums = np.stack([np.bincount(labels, weights=weights * points[:, d], minlength=k) for d in range(3)], 1)
        update = totals > 0
        update[:n_fixed] = False
        new = centres.copy()
        new[update] = sums[update] / totals[update, None]
        moved = float(np.abs(new - centres).max()) if k else 0.0
        centres = new
        if moved < 1e-5:
            break
    return centres


def _rescue_accents(
    points: np.ndarray, weights: np.ndarray, centres: np.ndarray, n_fixed: int, iterations: int
) -> np.ndarray:
    """Give a cluster to a distinct colour that no centre is near (a small accent k-means merged away),
    taking it from the centre that costs least to lose (low weight, close to another centre)."""
    total_weight = weights.sum()
    for _ in range(max(1, len(centres) // 4)):
        distance = np.sqrt(_distances(points, centres).min(1))
        far = distance > ACCENT_DISTANCE
        if weights[far].sum() < ACCENT_MIN_SHARE * total_weight or len(centres) - n_fixed < 2:
            break
        seed_point = points[far][np.argmax(weights[far] * distance[far])]
        group = far & (np.sqrt(((points - seed_point) ** 2).sum(1)) < ACCENT_DISTANCE)
        accent = (points[group] * weights[group, None]).sum(0) / weights[group].sum()
        totals = np.bincount(_distances(points, centres).argmin(1), weights=weights, minlength=len(centres))
        gaps = np.sqrt(_distances(centres, centres))
        np.fill_diagonal(gaps, np.inf)
        cost = totals * gaps.min(1) ** 2
        cost[:n_fixed] = np.inf
        centres = centres.copy()
        centres[int(np.argmin(cost))] = accent
        centres = _lloyd(points, weights, centres, n_fixed, iterations)
    return centres


@dataclass(frozen=True)
class Extraction:
    """Colours taken from a picture: the locked swatches and `distinct` colours of the picture's own.

    A picture with fewer distinct colours than asked gives only those (a 1x1 red picture gives one
    swatch, not red and four invented ones), as Coolors and Adobe Color pick colours that are in the
    picture: the palette is then shorter than `asked`, and `note` says so. `locked_at` are the places
    of the locked swatches in `colors`: their own slots, moved up only past free slots left empty.
    """

    colors: list[str]
    distinct: int
    asked: int
    locked_at: tuple[int, ...] = ()

    @property
    def short(self) -> bool:
        return len(self.colors) < self.asked

    def note(self) -> str:
        """What to tell the user when the picture could not fill the palette ('' when it did)."""
        if not self.short:
            return ""
        kept = len(self.locked_at)
        locks = f"{kept} locked swatch{'es' if kept > 1 else ''}"
        if self.distinct == 0:
            return f"The picture has no colours besides the {locks}: the palette keeps those only."
        many = f"{self.distinct} distinct colour{'s' if self.distinct > 1 else ''}"
        besides = f" besides the {locks}" if kept else ""
        size = len(self.colors)
        return (
            f"This picture has only {many}{besides}: the palette has {size} swatch{'es' if size > 1 else ''}, "
            f"not {self.asked}."
        )


def extract_palette(
    image: np.ndarray, count: int, seed: int = 0, locked: tuple[tuple[int, str], ...] = ()
) -> list[str]:
    """Up to `count` '#rrggbb' colours (see `extract`)."""
    return extract(image, count, seed, locked).colors


def extract(image: np.ndarray, count: int, seed: int = 0, locked: tuple[tuple[int, str], ...] = ()) -> Extraction:
    """Up to `count` colours, locked ones at their slots, the picture's own dominant-first in the free slots.

    Colours closer than MERGE_DISTANCE to a kept one (or a locked one) are the same colour to the eye
    and are merged into it, so a flat or noisy picture is not split into near-identical swatches. When
    the picture has fewer colours than free slots, the free slots left over are dropped."""
    pixels = rgba_pixels(image)
    bins, counts = colour_bins(pixels)
    lab = rgb_to_oklab(bins)
    chroma = np.hypot(lab[:, 1], lab[:, 2])
    weights = counts * (1.0 + ACCENT_BOOST * chroma)
    locked = tuple(sorted(locked))
    fixed = (
        rgb_to_oklab(np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for _, c in locked], np.uint8))
        if locked
        else None
    )
    free = count - len(locked)
    found: list[str] = []
    if free > 0:
        k = min(count, len(bins) + len(locked))
        centres, totals = weighted_kmeans(lab, weights, k, seed, fixed)
        order = len(locked) + np.argsort(-totals[len(locked) :], kind="stable")
        kept = [centres[i] for i in range(len(locked))]
        for index in order:  # dominant first: a near-duplicate joins the heavier colour already kept
            if all(np.sqrt(((centres[index] - other) ** 2).sum()) >= MERGE_DISTANCE for other in kept):
                kept.append(centres[index])
        picture = kept[len(locked) :][:free]
        locked_hex = {c for _, c in locked}
        # Two centres can still round to one hex colour (or a locked one's): each colour is offered once.
        if picture:
            found = [c for c in dict.fromkeys(rgb_to_hex(oklab_to_rgb(np.array(picture)))) if c not in locked_hex]
    slots = dict(locked)
    fill = iter(found)
    colors: list[str] = []
    locked_at: list[int] = []
    for slot in range(count):
        if slot in slots:
            locked_at.append(len(colors))
            colors.append(slots[slot])
        elif (color := next(fill, None)) is not None:
            colors.append(color)
    return Extraction(colors, len(found), count, tuple(locked_at))
