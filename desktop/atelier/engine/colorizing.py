"""Pre- and post-processing for the colorizer pack (numpy + scipy): the same code feeds training.

Classes: palette slots 0..7, then paper white (8) and ink black (9). The network scores every class
per pixel; pixels are then voted per closed region of the line art, so fills are flat and every
fill is exactly one palette colour.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

MAX_COLOURS = 8
WHITE = MAX_COLOURS
BLACK = MAX_COLOURS + 1
N_CLASSES = MAX_COLOURS + 2
PAPER_RGB = (255, 255, 255)
INK_RGB = (0, 0, 0)
LINE_THRESHOLD = 0.5  # ink darker than mid-grey separates regions


def hex_to_rgb(colour: str) -> tuple[int, int, int]:
    value = colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """CIE Lab (D65) of sRGB values in 0..255, any leading shape, float32."""
    c = np.asarray(rgb, np.float32) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    m = np.array(
        [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]],
        np.float32,
    )
    xyz = linear @ m.T / np.array([0.95047, 1.0, 1.08883], np.float32)
    f = np.where(xyz > 216 / 24389, np.cbrt(xyz), (24389 / 27 * xyz + 16) / 116)
    lab = np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)
    return lab.astype(np.float32)


def class_colours(palette_rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N_CLASSES,3) uint8 colours (unused slots black) and (N_CLASSES,) bool validity."""
    k = len(palette_rgb)
    if not 1 <= k <= MAX_COLOURS:
        raise ValueError(f"a palette has 1..{MAX_COLOURS} colours, got {k}")
    colours = np.zeros((N_CLASSES, 3), np.uint8)
    colours[:k] = palette_rgb
    colours[WHITE], colours[BLACK] = PAPER_RGB, INK_RGB
    valid = np.zeros(N_CLASSES, bool)
    valid[:k] = True
    valid[WHITE] = valid[BLACK] = True
    return colours, valid


def ink_from_lines(lines: np.ndarray) -> np.ndarray:
    """HxW float32 ink amount in 0..1 (1 = black line) from grey, RGB or RGBA line art on paper."""
    image = lines.astype(np.float32)
    if image.ndim == 3:
        if image.shape[2] in (2, 4):  # transparent paper counts as white
            alpha = image[..., -1:] / 255.0
            image = image[..., :-1] * alpha + 255.0 * (1.0 - alpha)
        image = image[..., :3] @ np.array([0.299, 0.587, 0.114], np.float32) if image.shape[2] == 3 else image[..., 0]
    return np.clip(1.0 - image / 255.0, 0.0, 1.0)


def label_regions(ink: np.ndarray, close_gaps: int = 1) -> tuple[np.ndarray, int]:
    """Closed regions between lines: int32 labels (0 = line) and their count.

    Lines are thickened by `close_gaps` pixels first, so a hand-drawn gap that narrow still closes.
    """
    from scipy import ndimage  # here, not at the top: importing scipy costs the window ~1 s at start

    line = ink >= LINE_THRESHOLD
    if close_gaps > 0:
        line = ndimage.binary_dilation(line, iterations=close_gaps)
    labels, count = ndimage.label(~line)
    return labels.astype(np.int32), int(count)


def fill_line_pixels(labels: np.ndarray) -> np.ndarray:
    """Labels where every line pixel takes the label of its nearest region (a full partition)."""
    if not (labels == 0).any() or not (labels > 0).any():
        return labels
    from scipy import ndimage

    _, (iy, ix) = ndimage.distance_transform_edt(labels == 0, return_indices=True)
    return labels[iy, ix]


def snap_hints(hints: np.ndarray, colours: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """HxW int16 class of each hint pixel (alpha > 0) by nearest valid class colour in Lab; -1 = none."""
    out = np.full(hints.shape[:2], -1, np.int16)
    mask = hints[..., 3] > 0 if hints.shape[2] == 4 else np.zeros(hints.shape[:2], bool)
    if not mask.any():
        return out
    lab = srgb_to_lab(hints[mask][:, :3])
    class_lab = srgb_to_lab(colours)
    distance = ((lab[:, None, :] - class_lab[None, :, :]) ** 2).sum(-1)
    distance[:, ~valid] = np.inf
    out[mask] = distance.argmin(1).astype(np.int16)
    return out


def flood_hints(hint_classes: np.ndarray, labels: np.ndarray, count: int) -> np.ndarray:
    """Every region holding hint pixels takes their most common class; hints on lines stay as drawn."""
    flooded = np.full(labels.shape, -1, np.int16)
    marked = hint_classes >= 0
    if not marked.any():
        return flooded
    votes = np.zeros((count + 1, N_CLASSES), np.int64)
    np.add.at(votes, (labels[marked], hint_classes[marked]), 1)
    region_class = np.where(votes.sum(1) > 0, votes.argmax(1), -1).astype(np.int16)
    region_class[0] = -1
    flooded = region_class[labels]
    flooded[marked & (labels == 0)] = hint_classes[marked & (labels == 0)]
    return flooded


def region_maps(labels: np.ndarray, count: int) -> np.ndarray:
    """(2,H,W): 1 where a region touches the picture's border (likely background), and each region's
    size as sqrt(area fraction); both 0 on lines. These give the network the whole-picture layout
    that a stack of 3x3 convolutions sees only dimly."""
    border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    outside = np.zeros(count + 1, np.float32)
    outside[border] = 1.0
    area = np.sqrt(np.bincount(labels.ravel(), minlength=count + 1) / labels.size).astype(np.float32)
    outside[0] = area[0] = 0.0
    return np.stack([outside[labels], area[labels]])


def model_inputs(
    ink: np.ndarray, flooded: np.ndarray, maps: np.ndarray, colours: np.ndarray, valid: np.ndarray
) -> dict:
    """The pack's feeds for one picture: image (1,7,H,W) = ink, hint Lab, hint mask, outside, region
    size; hint_classes (1,10,H,W) one-hot; colours (1,10,3) normalised Lab; valid (1,10)."""
    h, w = ink.shape
    hinted = flooded >= 0
    lab = normalised_lab(colours)  # (N_CLASSES, 3)
    hint_lab = np.zeros((h, w, 3), np.float32)
    hint_lab[hinted] = lab[flooded[hinted]]
    image = np.concatenate([ink[None], hint_lab.transpose(2, 0, 1), hinted[None].astype(np.float32), maps])
    onehot = np.zeros((N_CLASSES, h, w), np.float32)
    ys, xs = np.nonzero(hinted)
    onehot[flooded[ys, xs], ys, xs] = 1.0
    return {
        "image": image[None].astype(np.float32),
        "hint_classes": onehot[None],
        "colours": lab[None].astype(np.float32),
        "valid": valid[None].astype(np.float32),
    }


def normalised_lab(colours: np.ndarray) -> np.ndarray:
    """Lab scaled to about -1..1, the range the network was trained on."""
    lab = srgb_to_lab(colours)
    return (lab - np.array([50.0, 0.0, 0.0], np.float32)) / np.array([50.0, 64.0, 64.0], np.float32)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(0, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(0, keepdims=True))


def region_scores(log_probs: np.ndarray, labels: np.ndarray, count: int) -> np.ndarray:
    """(count+1, N_CLASSES) mean log-probability of each class over each region's pixels."""
    flat = labels.ravel()
    sizes = np.maximum(np.bincount(flat, minlength=count + 1), 1).astype(np.float32)
    sums = np.stack([np.bincount(flat, log_probs[c].ravel(), minlength=count + 1) for c in range(N_CLASSES)], 1)
    return (sums / sizes[:, None]).astype(np.float32)


def compose(classes: np.ndarray, colours: np.ndarray, ink: np.ndarray) -> np.ndarray:
    """Fill colours under the drawn lines (multiplied, as an ink layer over flat colour)."""
    fill = colours[classes].astype(np.float32)
    return np.clip(fill * (1.0 - ink[..., None]) + 0.5, 0, 255).astype(np.uint8)


@dataclass
class PreparedColorize:
    """One picture made ready for the network, plus what is needed to turn scores into images."""

    ink: np.ndarray  # HxW at output resolution
    regions: np.ndarray  # HxW region label per pixel, line pixels given their nearest region
    count: int
    region_hint: np.ndarray  # (count+1,) hinted class per region, -1 = none
    colours: np.ndarray  # (N_CLASSES,3) uint8
    valid: np.ndarray  # (N_CLASSES,) bool
    feeds: dict[str, np.ndarray]
    work_shape: tuple[int, int]  # network input size before padding


def output_size(shape: tuple[int, ...], max_side: int | None) -> tuple[int, int]:
    h, w = shape[:2]
    if max_side is None or max(h, w) <= max_side:
        return h, w
    scale = max_side / max(h, w)
    return max(1, round(h * scale)), max(1, round(w * scale))


def resize_ink(ink: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Shrink line art without losing thin lines: area average, then boosted by the shrink factor."""
    h, w = ink.shape
    if (h, w) == size:
        return ink
    small = np.asarray(Image.fromarray(ink).resize((size[1], size[0]), Image.Resampling.BOX), np.float32)
    factor = max(h / size[0], w / size[1])
    return np.clip(small * factor, 0.0, 1.0) if factor > 1 else small


def nearest_resize(values: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of the last two axes (labels, classes, scores)."""
    h, w = values.shape[-2:]
    ys = np.minimum((np.arange(size[0]) + 0.5) * h / size[0], h - 1).astype(np.int64)
    xs = np.minimum((np.arange(size[1]) + 0.5) * w / size[1], w - 1).astype(np.int64)
    return values[..., ys[:, None], xs[None, :]]


def prepare(
    lines: np.ndarray,
    palette_rgb: np.ndarray,
    hints: np.ndarray | None,
    out_side: int | None,
    work_side: int,
    multiple: int = 16,
) -> PreparedColorize:
    size = output_size(lines.shape, out_side)
    ink = resize_ink(ink_from_lines(lines), size)
    # Hand-drawn gaps grow with the drawing's size; close gaps of about 1/128 of the longer side.
    labels, count = label_regions(ink, close_gaps=max(1, round(max(size) / 256)))
    colours, valid = class_colours(palette_rgb)
    dots = np.full(size, -1, np.int16)
    if hints is not None:
        dots = nearest_resize(snap_hints(hints, colours, valid), size)
    flooded = flood_hints(dots, labels, count)
    region_hint = np.full(count + 1, -1, np.int16)
    inside = labels > 0
    region_hint[labels[inside]] = flooded[inside]
    work = output_size(size, work_side)
    work_ink = resize_ink(ink, work)
    work_flooded = nearest_resize(flooded, work)
    work_maps = nearest_resize(region_maps(labels, count), work)
    padded = (-(-work[0] // multiple) * multiple, -(-work[1] // multiple) * multiple)
    pad = ((0, padded[0] - work[0]), (0, padded[1] - work[1]))
    feeds = model_inputs(
        np.pad(work_ink, pad),
        np.pad(work_flooded, pad, constant_values=-1),
        np.pad(work_maps, ((0, 0), *pad)),
        colours,
        valid,
    )
    return PreparedColorize(ink, fill_line_pixels(labels), count, region_hint, colours, valid, feeds, work)


def palette_orders(k: int, count: int, seed: int) -> list[np.ndarray]:
    """Variation 0 keeps the palette's order; the others are distinct seeded shuffles while any are left."""
    orders = [np.arange(k)]
    seen = {tuple(orders[0])}
    rng = np.random.default_rng(seed)
    for _ in range(100 * count):
        if len(orders) == count:
            break
        order = rng.permutation(k)
        if tuple(order) not in seen or len(seen) == math.factorial(k):
            seen.add(tuple(order))
            orders.append(order)
    return orders


def class_order(order: np.ndarray) -> np.ndarray:
    """(N_CLASSES,) the original class shown in each slot when the palette is listed in `order`."""
    classes = np.arange(N_CLASSES)
    classes[: len(order)] = order
    return classes


def batch_feeds(prepared: PreparedColorize, orders: list[np.ndarray]) -> dict[str, np.ndarray]:
    """One batch holding the picture once per palette order (colours and hints re-listed to match)."""
    feeds, n = prepared.feeds, len(orders)
    slots = [class_order(order) for order in orders]
    return {
        "image": np.repeat(feeds["image"], n, 0),
        "hint_classes": np.concatenate([feeds["hint_classes"][:, s] for s in slots]),
        "colours": np.concatenate([feeds["colours"][:, s] for s in slots]),
        "valid": np.repeat(feeds["valid"], n, 0),
    }


def finish(prepared: PreparedColorize, logits: np.ndarray, orders: list[np.ndarray] | None = None) -> list[np.ndarray]:
    """Images from the network's scores (one per palette order in the batch): region vote, hinted
    regions as hinted, the drawn lines on top. The network reads the palette's order as a cue (most
    used first), so a shuffled order gives a different, still plausible, colouring."""
    h, w = prepared.work_shape
    images = []
    for index, order in enumerate(orders or [np.arange(int(prepared.valid[:MAX_COLOURS].sum()))]):
        shuffled = log_softmax(logits[index, :, :h, :w])
        log_probs = np.empty_like(shuffled)
        log_probs[class_order(order)] = shuffled  # back to the palette's own order
        scores = region_scores(nearest_resize(log_probs, prepared.ink.shape), prepared.regions, prepared.count)
        hinted = prepared.region_hint >= 0
        scores[hinted] = -1e4
        scores[hinted, prepared.region_hint[hinted]] = 0.0
        classes = scores.argmax(1)
        images.append(compose(classes[prepared.regions], prepared.colours, prepared.ink))
    return images
