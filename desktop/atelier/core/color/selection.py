"""Pick a palette from scored candidate colours: relevant to the source AND spread out.

Greedy: keep the locked colours, then repeatedly add the candidate with the best relevance plus a
bonus for distance to what is already chosen and for widening the lightness range, never closer
than `min_delta_e` (CIEDE2000) to a chosen colour. A seed adds Gumbel noise to the relevance, so
regenerate gives a different, equally relevant palette, and the same seed gives the same one.
"""

from __future__ import annotations

import numpy as np

from atelier.core.color.spaces import delta_e_2000

MIN_DELTA_E = 8.0


def pick_diverse(
    scores: np.ndarray,
    cielab: np.ndarray,
    oklab: np.ndarray,
    count: int,
    locked: list[int] | None = None,
    seed: int | None = 0,
    temperature: float = 0.03,
    min_delta_e: float = MIN_DELTA_E,
    spread_weight: float = 0.004,
    lightness_weight: float = 0.25,
) -> list[int]:
    """Indices into the candidate arrays: `locked` first (in order), then the picked ones."""
    scores = np.asarray(scores, np.float64).copy()
    if seed is not None and temperature > 0:
        rng = np.random.default_rng(seed)
        scores += temperature * rng.gumbel(size=scores.shape)
    chosen = list(locked or [])
    n = len(scores)
    nearest = np.full(n, np.inf)
    for index in chosen:
        nearest = np.minimum(nearest, delta_e_2000(cielab, cielab[index]))
    lightness = oklab[:, 0]
    threshold = min_delta_e
    while len(chosen) < count:
        allowed = nearest >= threshold
        allowed[chosen] = False
        if not allowed.any():
            if threshold <= 1.0:
                break
            threshold *= 0.8  # too few distinct candidates: relax rather than return a short palette
            continue
        if chosen:
            low, high = lightness[chosen].min(), lightness[chosen].max()
            widen = np.maximum(lightness - high, 0) + np.maximum(low - lightness, 0)
            spread = np.minimum(nearest, 40.0)
        else:
            widen = np.zeros(n)
            spread = np.zeros(n)
        objective = scores + spread_weight * spread + lightness_weight * widen
        objective[~allowed] = -np.inf
        best = int(np.argmax(objective))
        chosen.append(best)
        nearest = np.minimum(nearest, delta_e_2000(cielab, cielab[best]))
    return chosen
