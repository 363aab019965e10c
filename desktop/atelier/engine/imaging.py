"""Image conversions shared by image tasks (numpy and Pillow): paper, sizes at a shape, masks, and the check
that no NaN becomes a pixel."""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageFilter

from atelier.core.errors import PackError

NON_FINITE_HINT = (
    "The pack's weights may be damaged or too low in precision for this device: run `atelier models verify`, "
    "set Device to 'cpu' in Settings, or try another pack, scheduler or step count."
)


def rgb_on_white(image: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 from RGB or RGBA, with transparency flattened onto white paper."""
    if image.shape[2] == 3:
        return image
    alpha = image[:, :, 3:4].astype(np.float32) / 255.0
    rgb = image[:, :, :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
    return np.clip(rgb + 0.5, 0, 255).astype(np.uint8)


def require_finite(values: np.ndarray, what: str) -> None:
    """Refuse NaN or infinity before it becomes pixels: cast to 8 bits it reads as black (or white), which
    would be shown as a finished picture. `what` names the values for the message ("The picture ...")."""
    if np.isfinite(values).all():
        return
    bad = "NaN (not a number)" if np.isnan(values).any() else "infinite values"
    raise PackError(f"{what} came out as {bad}, so there is no picture to show.", NON_FINITE_HINT)


# -- sizes and aspect --------------------------------------------------------------------------------
def size_near_area(width: int, height: int, area: int, multiple: int = 64, limit: int = 2048) -> tuple[int, int]:
    """A generation size with the shape of `width` x `height` and about `area` pixels, both sides multiples
    of `multiple` (what the UNet takes) and at most `limit`. Of the sides rounded down or up, the pair
    whose shape is closest wins (its error counts twice an error in area: a wrong shape is a margin the
    model draws for nothing, a wrong area only a little more or less time), and the contain mapping
    absorbs what is left without stretching."""
    aspect = width / height
    w = math.sqrt(area * aspect)
    h = w / aspect
    if max(w, h) > limit:  # a very long canvas: the long side at the limit, the short one follows
        scale = limit / max(w, h)
        w, h = w * scale, h * scale

    def sides(value: float) -> set[int]:
        low = max(multiple, min(limit, math.floor(value / multiple) * multiple))
        return {low, min(limit, low + multiple)}

    def error(size: tuple[int, int]) -> float:
        return 2 * abs(math.log(size[0] / size[1] / aspect)) + abs(math.log(size[0] * size[1] / (w * h)))

    return min(((a, b) for a in sides(w) for b in sides(h)), key=lambda size: (error(size), size))


@dataclass(frozen=True)
class ContainBox:
    """Where a picture of `source` size lies inside a generation of `target` size: scaled to fit with its
    aspect kept and centred; the margin (at most a few pixels for sizes from `size_near_area`) is padding."""

    source: tuple[int, int]
    target: tuple[int, int]
    left: int
    top: int
    width: int
    height: int

    @classmethod
    def of(cls, source: tuple[int, int], target: tuple[int, int]) -> ContainBox:
        scale = min(target[0] / source[0], target[1] / source[1])
        width = max(1, min(target[0], round(source[0] * scale)))
        height = max(1, min(target[1], round(source[1] * scale)))
        return cls(source, target, (target[0] - width) // 2, (target[1] - height) // 2, width, height)

    def to_target(self, image: np.ndarray, resample: Image.Resampling = Image.Resampling.LANCZOS) -> np.ndarray:
        """The picture (HxW or HxWxC uint8, at `source` size) in the generation frame, the margin filled
        by repeating the edge pixels (a white or black bar would be drawn into the picture)."""
        picture = resize(image, (self.width, self.height), resample)
        right = self.target[0] - self.width - self.left
        bottom = self.target[1] - self.height - self.top
        pad = [(self.top, bottom), (self.left, right)] + [(0, 0)] * (picture.ndim - 2)
        return np.pad(picture, pad, mode="edge")

    def from_target(self, image: np.ndarray, resample: Image.Resampling = Image.Resampling.LANCZOS) -> np.ndarray:
        """The generated picture's part that shows the source, at the source's size."""
        inner = image[self.top : self.top + self.height, self.left : self.left + self.width]
        return resize(inner, self.source, resample)


def resize(
    image: np.ndarray, size: tuple[int, int], resample: Image.Resampling = Image.Resampling.LANCZOS
) -> np.ndarray:
    """`image` (uint8, HxW or HxWxC) at `size` (width, height); a copy-free no-op at its own size."""
    if (image.shape[1], image.shape[0]) == tuple(size):
        return image
    return np.asarray(Image.fromarray(np.ascontiguousarray(image)).resize(size, resample))


# -- masks -------------------------------------------------------------------------------------------
def mask_box(mask: np.ndarray, padding: int, multiple: int = 8) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom) of the mask's painted pixels grown by `padding` on every side and
    clipped to the picture; None for an empty mask."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    height, width = mask.shape[:2]
    left, top = max(0, int(cols[0]) - padding), max(0, int(rows[0]) - padding)
    right, bottom = min(width, int(cols[-1]) + 1 + padding), min(height, int(rows[-1]) + 1 + padding)
    # At least `multiple` pixels a side, so a one-pixel mark still has a shape to generate.
    if right - left < multiple:
        left, right = max(0, min(left, width - multiple)), min(width, max(right, left + multiple))
    if bottom - top < multiple:
        top, bottom = max(0, min(top, height - multiple)), min(height, max(bottom, top + multiple))
    return left, top, right, bottom


def feather_weight(mask: np.ndarray, feather: int) -> np.ndarray:
    """HxW float32 in [0, 1]: 1 on the painted pixels, fading to 0 over about `feather` pixels outside them,
    and 0 exactly beyond (Pillow's blur is a finite box approximation; what rounds to 0 is 0)."""
    painted = mask >= 128
    if feather <= 0:
        return painted.astype(np.float32)
    blurred = Image.fromarray(np.where(painted, 255, 0).astype(np.uint8)).filter(ImageFilter.GaussianBlur(feather / 3))
    # The blur is 1/2 on the mask's edge: doubled, the fade starts at 1 there instead of eating into the mask.
    soft = np.clip(np.asarray(blurred, np.float32) * (2 / 255.0), 0.0, 1.0)
    return np.where(painted, 1.0, soft).astype(np.float32)


def paste_feathered(
    original: np.ndarray, patch: np.ndarray, weight: np.ndarray, box: tuple[int, int, int, int]
) -> np.ndarray:
    """`original` (HxWx3 uint8) with `patch` blended in at `box` by `weight` (the box's size): pixels
    whose weight is 0, and everything outside the box, are the original's bit for bit."""
    left, top, right, bottom = box
    out = original.copy()
    region = out[top:bottom, left:right]
    w = weight[..., None]
    blended = np.clip(region.astype(np.float32) * (1 - w) + patch.astype(np.float32) * w + 0.5, 0, 255).astype(np.uint8)
    out[top:bottom, left:right] = np.where(w > 0, blended, region)
    return out


# -- tiles -------------------------------------------------------------------------------------------
def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Where tiles of `tile` pixels start along a side of `length` so that neighbours share at least
    `overlap` pixels (spread evenly; never more than two tiles over one pixel, so the cross-fades add up)."""
    if length <= tile:
        return [0]
    overlap = min(overlap, tile // 2)
    count = math.ceil((length - overlap) / (tile - overlap))
    return [round(i * (length - tile) / (count - 1)) for i in range(count)]


def _ramps(starts: list[int], extent: int, length: int) -> list[np.ndarray]:
    """Per tile, the 1-D weight along one side: linear fades over the pixels shared with each neighbour,
    so the weights of the tiles over any pixel sum to 1 (a partition of unity)."""
    weights = []
    for i, start in enumerate(starts):
        size = min(extent, length - start)
        weight = np.ones(size, np.float32)
        if i > 0:
            shared = starts[i - 1] + min(extent, length - starts[i - 1]) - start
            if shared > 0:
                weight[:shared] = (np.arange(shared, dtype=np.float32) + 0.5) / shared
        if i + 1 < len(starts):
            shared = start + size - starts[i + 1]
            if shared > 0:
                weight[size - shared :] = np.minimum(
                    weight[size - shared :], 1.0 - (np.arange(shared, dtype=np.float32) + 0.5) / shared
                )
        weights.append(weight)
    return weights


TileRedraw = Callable[[np.ndarray, int], Generator[Any, None, np.ndarray]]


def blend_tiles(image: np.ndarray, tile: int, overlap: int, redraw: TileRedraw) -> Generator[Any, None, np.ndarray]:
    """`image` (HxWx3 uint8) with every tile passed through `redraw(tile_pixels, index)` (a generator: what it
    yields is passed on, for progress and cancel) and the overlaps cross-faded, so no seam shows.

    Memory stays bounded by the tile: one band of tile rows is accumulated in float32 at a time, and rows
    no later tile touches are written out as soon as the band is done.
    """
    height, width = image.shape[:2]
    ys, xs = tile_starts(height, tile, overlap), tile_starts(width, tile, overlap)
    wy, wx = _ramps(ys, tile, height), _ramps(xs, tile, width)
    out = np.empty((height, width, 3), np.uint8)
    band = np.zeros((0, width, 3), np.float32)
    band_weight = np.zeros((0, width), np.float32)
    band_top = 0
    index = 0
    for row, y0 in enumerate(ys):
        y1 = min(height, y0 + tile)
        grow = y1 - band_top - band.shape[0]
        if grow > 0:
            band = np.concatenate([band, np.zeros((grow, width, 3), np.float32)])
            band_weight = np.concatenate([band_weight, np.zeros((grow, width), np.float32)])
        for column, x0 in enumerate(xs):
            x1 = min(width, x0 + tile)
            redrawn = yield from redraw(image[y0:y1, x0:x1, :3], index)
            index += 1
            weight = wy[row][:, None] * wx[column][None, :]
            band[y0 - band_top : y1 - band_top, x0:x1] += redrawn[..., :3].astype(np.float32) * weight[..., None]
            band_weight[y0 - band_top : y1 - band_top, x0:x1] += weight
        done = ys[row + 1] if row + 1 < len(ys) else height
        finished = done - band_top
        pixels = band[:finished] / np.maximum(band_weight[:finished], 1e-6)[..., None]
        out[band_top:done] = np.clip(pixels + 0.5, 0, 255).astype(np.uint8)
        band, band_weight, band_top = band[finished:], band_weight[finished:], done
    return out


# -- line drawings -----------------------------------------------------------------------------------
def _grow(mask: np.ndarray, radius: int) -> np.ndarray:
    """Binary dilation by a (2r+1) square, as shifted maxima (separable, so 4r array operations)."""
    out = mask.copy()
    for axis in (0, 1):
        grown = out.copy()
        for shift in range(1, radius + 1):
            forward = np.zeros_like(out)
            backward = np.zeros_like(out)
            if axis == 0:
                forward[shift:], backward[:-shift] = out[:-shift], out[shift:]
            else:
                forward[:, shift:], backward[:, :-shift] = out[:, :-shift], out[:, shift:]
            grown |= forward | backward
        out = grown
    return out


def line_drawing_lines(rgb: np.ndarray, sensitivity: float) -> np.ndarray | None:
    """For a line drawing (ink strokes on light paper), the strokes themselves as line art, HxW float32 with
    1 = paper; None for a picture that is not one (a photo, a painting, large dark areas).

    An edge tracer outlines both sides of every stroke, so a drawn line came back as two; the strokes of a
    drawing already are its lines. A picture counts as a drawing when most of it is paper and the ink is
    thin: what is left of the ink after thinning it by a few pixels is under 15% of it.
    """
    grey = rgb[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32) / 255.0
    paper = float(np.percentile(grey, 90))
    if paper < 0.6 or (grey > paper - 0.12).mean() < 0.7:
        return None
    darkness = (paper - grey) / paper
    # Sensitivity 0 keeps only dark ink, 1 faint pencil too; below the threshold is paper grain.
    threshold = 0.4 - 0.32 * sensitivity
    ink = darkness > threshold
    if not ink.any():
        return None
    radius = max(4, min(grey.shape) // 64)  # strokes up to 8 px wide on a 256 px picture, 16 on 512
    core = ~_grow(~ink, radius)  # ink that survives thinning by `radius` pixels: thick areas
    if core.sum() > 0.15 * ink.sum():  # a 10 px stroke at radius 4 keeps 20%; a filled square far more
        return None
    # Soft over 0.1 below and above the threshold, so anti-aliased stroke edges stay smooth.
    strength = np.clip((darkness - threshold) / 0.2 + 0.5, 0.0, 1.0)
    return (1.0 - strength).astype(np.float32)
