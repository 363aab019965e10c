"""Fill a palette's unlocked swatches with the learned palette model: one small ONNX run per new swatch.

The model scores a codebook of OKLab colours for a masked swatch given the others (a set: slot order
means nothing to it). New swatches are sampled one at a time, each joining the known colours before
the next is drawn, so a palette hangs together instead of being independent guesses. Two rules keep a
press useful: no new colour within NEAR_DE of a colour already in the palette, and, above
LOW_TEMPERATURE, none within AVOID_DE of the colours the previous press showed (so every press is a
visibly different set).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from atelier.core.color.spaces import delta_e_2000, hex_to_rgb, oklab_to_rgb, rgb_to_cielab, rgb_to_hex, rgb_to_oklab
from atelier.core.errors import PackError
from atelier.core.requests.palette import LOW_TEMPERATURE

# The model was trained on palettes of up to 8 swatches; a longer palette shows it the locked colours
# and the newest ones, 8 tokens in all.
MODEL_SLOTS = 8
NEAR_DE = 8.0  # as the text palette's picker: two swatches closer than this read as one colour
AVOID_DE = 5.0  # the "visibly different": no new colour this close to the last press's
# (colours, known, present) -> logits (1, N, codes)
RunModel = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Codebook:
    oklab: np.ndarray  # K x 3
    cielab: np.ndarray  # K x 3, for CIEDE2000
    rgb: np.ndarray  # K x 3 uint8
    de: np.ndarray  # K x K CIEDE2000 between the entries, shipped in the pack

    @classmethod
    def from_outputs(cls, oklab: np.ndarray, pairwise: np.ndarray) -> Codebook:
        """The codebook and its pairwise distances as the pack's graph returns them (checked: a pack
        built for another layout must fail here with a clear message, not deep inside sampling)."""
        oklab = np.asarray(oklab, np.float64)
        if oklab.ndim != 2 or oklab.shape[1] != 3 or len(oklab) < 16 or not np.isfinite(oklab).all():
            raise PackError(f"The palette model's codebook has shape {oklab.shape}; expected K x 3 OKLab colours.")
        pairwise = np.asarray(pairwise, np.float64)
        if pairwise.shape != (len(oklab), len(oklab)) or not np.isfinite(pairwise).all():
            raise PackError(f"The palette model's codebook distances have shape {pairwise.shape}; expected K x K.")
        rgb = oklab_to_rgb(oklab)  # entries are means of real colours: in gamut, or within a rounding of it
        return cls(rgb_to_oklab(rgb), rgb_to_cielab(rgb), rgb, pairwise)

    def hex(self, index: int) -> str:
        return rgb_to_hex(self.rgb[index])[0]


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max())
    return shifted / shifted.sum()


def _allowed(near: np.ndarray, avoid: np.ndarray) -> np.ndarray:
    """Codebook entries far enough from the palette's colours (near: rows x K x M CIEDE2000) and the last
    press's (avoid: K x A), rows x K; a row with none allowed is relaxed step by step."""
    far_enough = np.asarray((avoid >= AVOID_DE).all(1))
    allowed = np.asarray((near >= NEAR_DE).all(2)) & far_enough[None, :]
    for row in np.flatnonzero(~allowed.any(1)):
        for scale in (0.6, 0.3, 0.0):
            relaxed = (near[row] >= NEAR_DE * scale).all(1) & (avoid >= AVOID_DE * min(1.0, scale * 2)).all(1)
            if relaxed.any():
                allowed[row] = relaxed
                break
        else:
            allowed[row] = True
    return np.asarray(allowed)


def safest(codebook: Codebook, probs: np.ndarray, allowed: np.ndarray) -> int:
    """The allowed colour with the least expected distance to the model's distribution (its best guess).

    The most probable single entry is a poor guess when the model spreads its belief over several
    neighbours (a blue of many shades): the colour nearest to all of them, weighted, misses by less.
    OKLab distance stands in for CIEDE2000 here: K x K distances are one array op, and OKLab is near uniform.
    """
    candidates = np.flatnonzero(allowed)
    distance = np.linalg.norm(codebook.oklab[candidates, None, :] - codebook.oklab[None, :, :], axis=-1)
    return int(candidates[np.argmin(distance @ probs)])


def _fill_rows(
    run: RunModel,
    codebook: Codebook,
    known_hex: list[str],
    free: int,
    far: np.ndarray,
    temperature: float,
    rng: np.random.Generator,
    rows: int = 1,
) -> np.ndarray:
    """`rows` independent fills of `free` swatches (codebook indices, rows x free), one batched model run
    per swatch. Temperature 0 (one row only) takes the least-risk colour; otherwise the Gumbel-max trick
    samples each row from the model's softmax at that temperature, within the allowed colours."""
    known_lab = rgb_to_oklab(hex_to_rgb(known_hex)) if known_hex else np.zeros((0, 3))
    # Every distance the rules need: codebook x locked colours in one CIEDE2000 call (`far`, to the last
    # press's colours, comes with it); a new swatch is a codebook entry, so its column is in codebook.de.
    fixed_near = (
        delta_e_2000(codebook.cielab[:, None, :], rgb_to_cielab(hex_to_rgb(known_hex))[None, :, :])
        if known_hex
        else np.zeros((len(codebook.rgb), 0))
    )
    near = np.repeat(fixed_near[None], rows, axis=0)  # rows x K x colours in the palette so far
    chosen = np.zeros((rows, free), int)
    for position in range(free):
        # Rows that made the same swatches so far ask the model the same question: ask it once.
        if position:
            prefixes, row_of = np.unique(chosen[:, :position], axis=0, return_inverse=True)
        else:
            prefixes, row_of = np.zeros((1, 0), int), np.zeros(rows, int)
        # Locked colours first, then the newest made ones, and masks for the swatches still to come.
        made = codebook.oklab[prefixes[:, ::-1]]  # prefixes x position x 3
        context = np.concatenate([np.repeat(known_lab[None], len(prefixes), axis=0), made], axis=1)
        context = context[:, : MODEL_SLOTS - 1]
        width = context.shape[1]
        masks = min(free - position, MODEL_SLOTS - width)
        lab = np.zeros((len(prefixes), width + masks, 3), np.float32)
        lab[:, :width] = context
        known = np.zeros((len(prefixes), width + masks), np.float32)
        known[:, :width] = 1.0
        logits = np.asarray(run(lab, known, np.ones_like(known)), np.float64)[:, width][row_of.ravel()]
        allowed = _allowed(near, far)
        if temperature <= 1e-6:
            chosen[:, position] = [safest(codebook, _softmax(logits[r]), allowed[r]) for r in range(rows)]
        else:
            noisy = logits / temperature + rng.gumbel(size=logits.shape)
            chosen[:, position] = np.argmax(np.where(allowed, noisy, -np.inf), axis=1)
        if position + 1 < free:  # the next swatch keeps its distance from this one
            near = np.concatenate([near, codebook.de[chosen[:, position]][:, :, None]], axis=2)
    return chosen


def consensus(codebook: Codebook, fills: np.ndarray) -> int:
    """The fill closest, on average, to all the others (minimum Bayes risk over samples): for several
    swatches at temperature 0 the best single guess is a set that agrees with the model's many samples,
    not each swatch's own safest colour, which would drift every swatch towards the same middle grey.
    Two fills differ by the mean OKLab distance from each swatch to the nearest of the other's (no order)."""
    lab = codebook.oklab[fills]  # rows x free x 3
    distance = np.linalg.norm(lab[:, None, :, None, :] - lab[None, :, None, :, :], axis=-1)  # r x r x f x f
    chamfer = (distance.min(3).mean(2) + distance.min(2).mean(2)) / 2
    return int(np.argmin(chamfer.sum(1)))


CONSENSUS_SAMPLES = 32  # samples behind a temperature-0 fill of several swatches
# With nothing locked the model sometimes falls into its grey-scale palettes (22% of presses gave 4-5
# greys of 5 in a 40-press walk): a Regenerate that shows black, white and three greys is no palette to
# an artist who locked nothing. Such a press draws FRESH_DRAWS samples at once and keeps the first with
# colour in it, i.e. a sample of the model's palettes given "not all grey" (the greys stay reachable by
# locking one).
FRESH_DRAWS = 4
NEUTRAL_CHROMA = 0.03  # OKLab chroma below this reads as a grey (the sRGB greys are 0; #c9c9c8 is 0.001)


def _colourful_row(codebook: Codebook, fills: np.ndarray) -> int:
    """The first row with at least two swatches that are not grey, else the row with the most."""
    lab = codebook.oklab[fills]  # rows x free x 3
    coloured = (np.hypot(lab[..., 1], lab[..., 2]) >= NEUTRAL_CHROMA).sum(1)
    enough = np.flatnonzero(coloured >= min(2, fills.shape[1]))
    return int(enough[0]) if len(enough) else int(np.argmax(coloured))


def infill(
    run: RunModel,
    codebook: Codebook,
    count: int,
    locked: tuple[tuple[int, str], ...],
    avoid: tuple[str, ...] = (),
    temperature: float = 0.8,
    seed: int = 0,
) -> list[str]:
    """`count` colours: the locked ones at their slots, the rest from the model.

    Above temperature 0 one sample at that temperature (seeded). At temperature 0 the model's best guess,
    the same for every seed: for one swatch its least-risk colour, for several the consensus of
    CONSENSUS_SAMPLES samples at temperature 1 (drawn with a fixed seed)."""
    slots: dict[int, str] = dict(locked)
    free = [i for i in range(count) if i not in slots]
    known_hex = [slots[i] for i in sorted(slots)]
    kept_avoid = list(avoid) if temperature >= LOW_TEMPERATURE else []
    far = (
        delta_e_2000(codebook.cielab[:, None, :], rgb_to_cielab(hex_to_rgb(kept_avoid))[None, :, :])
        if kept_avoid
        else np.zeros((len(codebook.rgb), 0))
    )
    if not free:
        return [slots[i] for i in range(count)]
    if temperature <= 1e-6 and len(free) > 1:
        fills = _fill_rows(run, codebook, known_hex, len(free), far, 1.0, np.random.default_rng(0), CONSENSUS_SAMPLES)
        picked = fills[consensus(codebook, fills)]
    elif not locked and len(free) > 2:
        rng = np.random.default_rng(seed)
        fills = _fill_rows(run, codebook, known_hex, len(free), far, temperature, rng, FRESH_DRAWS)
        picked = fills[_colourful_row(codebook, fills)]
    else:
        picked = _fill_rows(run, codebook, known_hex, len(free), far, temperature, np.random.default_rng(seed))[0]
    for slot, index in zip(free, picked, strict=True):
        slots[slot] = codebook.hex(int(index))
    return [slots[i] for i in range(count)]
