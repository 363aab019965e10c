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

    @classmethod
    def from_oklab(cls, oklab: np.ndarray) -> Codebook:
        oklab = np.asarray(oklab, np.float64)
        if oklab.ndim != 2 or oklab.shape[1] != 3 or len(oklab) < 16 or not np.isfinite(oklab).all():
            raise PackError(f"The palette model's codebook has shape {oklab.shape}; expected K x 3 OKLab colours.")
        rgb = oklab_to_rgb(oklab)  # entries are means of real colours: in gamut, or within a rounding of it
        return cls(rgb_to_oklab(rgb), rgb_to_cielab(rgb), rgb)

    def hex(self, index: int) -> str:
        return rgb_to_hex(self.rgb[index])[0]


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max())
    return shifted / shifted.sum()


def _allowed(near: np.ndarray, avoid: np.ndarray) -> np.ndarray:
    """Codebook entries far enough from the palette's colours (near: K x M CIEDE2000) and the last press's
    (avoid: K x A), relaxed step by step if none are."""
    for scale in (1.0, 0.6, 0.3, 0.0):
        allowed = np.asarray((near >= NEAR_DE * scale).all(1) & (avoid >= AVOID_DE * min(1.0, scale * 2)).all(1))
        if allowed.any():
            return allowed
    return np.ones(len(near), bool)


def safest(codebook: Codebook, probs: np.ndarray, allowed: np.ndarray, candidates: int = 48) -> int:
    """The allowed colour with the least expected distance to the model's distribution (its best guess).

    The most probable single entry is a poor guess when the model spreads its belief over several
    neighbours (a blue of many shades): the colour nearest to all of them, weighted, misses by less.
    OKLab distance stands in for CIEDE2000 here: it is one matrix product, and OKLab is near uniform.
    """
    order = np.argsort(-np.where(allowed, probs, -1.0))[:candidates]
    order = order[allowed[order]]
    distance = np.linalg.norm(codebook.oklab[order, None, :] - codebook.oklab[None, :, :], axis=-1)
    return int(order[np.argmin(distance @ probs)])


def infill(
    run: RunModel,
    codebook: Codebook,
    count: int,
    locked: tuple[tuple[int, str], ...],
    avoid: tuple[str, ...] = (),
    temperature: float = 0.8,
    seed: int = 0,
) -> list[str]:
    """`count` colours: the locked ones at their slots, the rest sampled from the model."""
    rng = np.random.default_rng(seed)
    slots: dict[int, str] = dict(locked)
    free = [i for i in range(count) if i not in slots]
    known_hex = [slots[i] for i in sorted(slots)]
    kept_avoid = list(avoid) if temperature >= LOW_TEMPERATURE else []
    # Every distance the rules need, in one CIEDE2000 call: codebook x (locked + last press's colours); a
    # new swatch is a codebook entry, so its column is one more call.
    fixed = known_hex + kept_avoid
    distances = (
        delta_e_2000(codebook.cielab[:, None, :], rgb_to_cielab(hex_to_rgb(fixed))[None, :, :])
        if fixed
        else np.zeros((len(codebook.rgb), 0))
    )
    near, far = distances[:, : len(known_hex)], distances[:, len(known_hex) :]
    made: list[str] = []
    for position, slot in enumerate(free):
        # Locked colours first, then the newest made ones, and masks for the swatches still to come.
        context = (known_hex + made[::-1])[: MODEL_SLOTS - 1]
        masks = min(len(free) - position, MODEL_SLOTS - len(context))
        lab = np.zeros((1, len(context) + masks, 3), np.float32)
        if context:
            lab[0, : len(context)] = rgb_to_oklab(hex_to_rgb(context))
        known = np.zeros((1, lab.shape[1]), np.float32)
        known[0, : len(context)] = 1.0
        logits = np.asarray(run(lab, known, np.ones_like(known)), np.float64)[0, len(context)]
        allowed = _allowed(near, far)
        if temperature <= 1e-6:
            choice = safest(codebook, _softmax(logits), allowed)
        else:
            probs = _softmax(logits / temperature) * allowed
            choice = int(rng.choice(len(probs), p=probs / probs.sum()))
        made.append(codebook.hex(choice))
        slots[slot] = made[-1]
        near = np.concatenate([near, delta_e_2000(codebook.cielab, codebook.cielab[choice])[:, None]], axis=1)
    return [slots[i] for i in range(count)]
