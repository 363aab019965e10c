"""A palette from a text: score colours by meaning (mood anchors + colour names), then pick spread out.

Nearest-name search alone is lexical ("autumn forest" -> only greens), so the hand-written mood table
in resources/colors/moods.json anchors scenes to the colours people expect; the named colours (XKCD +
CSS) add what the words name directly ("teal and coral"). Embeddings of every mood phrase and colour
name are computed once per text-model pack and cached in the cache folder as a .npz (no pickle).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from atelier.core.color.data import ColorTable, data_files, moods, named_colors, table_from_hex
from atelier.core.color.selection import pick_diverse
from atelier.core.settings import cache_dir
from atelier.engine.packs import Pack, bundled_models_dir

MOOD_SHARPNESS = 0.035  # softmax temperature over mood similarities: the best-matching moods dominate
MOOD_KEEP = 0.08  # moods whose softmax weight is below this contribute nothing
ANCHOR_BONUS = 0.25  # scene colours beat a colour name of equal similarity, the best mood's most
NAME_WEIGHT = 0.9
SHORTLIST_MIN = 160
SHORTLIST_PER_COLOUR = 16
ANCHOR_RANK_DECAY = 0.02  # a mood lists its most characteristic colours first; small palettes take those

Embedder = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True)
class ColorIndex:
    names: ColorTable
    name_vectors: np.ndarray  # N x D
    mood_labels: tuple[str, ...]
    mood_vectors: np.ndarray  # phrases x D
    mood_of_phrase: np.ndarray  # phrase -> mood index
    anchors: ColorTable  # every mood colour
    mood_of_anchor: np.ndarray  # anchor -> mood index
    anchor_rank: np.ndarray  # position of the anchor in its mood's list


def index_key(pack: Pack) -> str:
    digest = hashlib.sha256()
    digest.update(pack.id.encode())
    for item in pack.files:
        digest.update(item.sha256.encode())
    for path in data_files():
        digest.update(path.read_bytes())
    return digest.hexdigest()[:20]


def load_index(pack: Pack, embed_texts: Embedder) -> ColorIndex:
    names = named_colors()
    mood_list = moods()
    phrases = [p for m in mood_list for p in m.phrases]
    mood_of_phrase = np.array([i for i, m in enumerate(mood_list) for _ in m.phrases])
    key = index_key(pack)
    path = cache_dir() / "palette-index" / f"{key}.npz"
    bundled = bundled_models_dir() / "minilm" / "palette-index" / f"{key}.npz"  # made by installer/bundle_packs.py
    if not path.is_file() and bundled.is_file():
        path = bundled  # read-only in an installed bundle: read it, never write next to it
    vectors: dict[str, np.ndarray] = {}
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as stored:
                vectors = {"names": stored["names"], "moods": stored["moods"]}
        except (OSError, ValueError, KeyError):
            vectors = {}
    if not vectors or len(vectors["names"]) != len(names.names) or len(vectors["moods"]) != len(phrases):
        vectors = {"names": embed_texts(list(names.names)), "moods": embed_texts(phrases)}
        path = cache_dir() / "palette-index" / f"{key}.npz"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, names=vectors["names"], moods=vectors["moods"])
        tmp.replace(path)
    anchor_hex = [c for m in mood_list for c in m.colors]
    anchor_names = [m.mood for m in mood_list for _ in m.colors]
    return ColorIndex(
        names=names,
        name_vectors=vectors["names"],
        mood_labels=tuple(m.mood for m in mood_list),
        mood_vectors=vectors["moods"],
        mood_of_phrase=mood_of_phrase,
        anchors=table_from_hex(anchor_names, anchor_hex),
        mood_of_anchor=np.array([i for i, m in enumerate(mood_list) for _ in m.colors]),
        anchor_rank=np.array([r for m in mood_list for r in range(len(m.colors))]),
    )


def text_vector(line_vectors: np.ndarray) -> np.ndarray:
    """One vector for a text of several lines (a lyric): the normalised mean of the lines' vectors."""
    mean = line_vectors.mean(0)
    return mean / max(float(np.linalg.norm(mean)), 1e-9)


def mood_weights(index: ColorIndex, vector: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(similarity per mood, softmax weight per mood)."""
    phrase_sim = index.mood_vectors @ vector
    similarity = np.full(len(index.mood_labels), -1.0)
    np.maximum.at(similarity, index.mood_of_phrase, phrase_sim)
    logits = (similarity - similarity.max()) / MOOD_SHARPNESS
    weights = np.exp(logits)
    return similarity, weights / weights.sum()


def palette_for_vector(
    index: ColorIndex,
    vector: np.ndarray,
    count: int,
    seed: int = 0,
    locked: tuple[tuple[int, str], ...] = (),
) -> tuple[list[str], list[str]]:
    """(colours, the moods that shaped them), locked colours at their slots."""
    similarity, weights = mood_weights(index, vector)
    anchor_weight = weights[index.mood_of_anchor]
    anchor_scores = np.where(
        anchor_weight >= MOOD_KEEP,
        similarity[index.mood_of_anchor]
        + ANCHOR_BONUS * anchor_weight / weights.max()
        - ANCHOR_RANK_DECAY * index.anchor_rank,
        -np.inf,
    )
    name_scores = NAME_WEIGHT * (index.name_vectors @ vector)
    locked_table = table_from_hex([""] * len(locked), [c for _, c in locked])
    scores = np.concatenate([np.zeros(len(locked)), anchor_scores, name_scores])
    cielab = np.concatenate([locked_table.cielab, index.anchors.cielab, index.names.cielab])
    oklab = np.concatenate([locked_table.oklab, index.anchors.oklab, index.names.oklab])
    hexes = [c for _, c in locked] + list(index.anchors.hexes) + list(index.names.hexes)
    # Only the most relevant candidates compete (the rest would never be picked); this keeps the
    # greedy pick's CIEDE2000 work small enough for a palette per keystroke.
    shortlist = max(SHORTLIST_MIN, SHORTLIST_PER_COLOUR * count)
    ranked = np.argsort(-np.where(np.isfinite(scores), scores, -1e9), kind="stable")
    keep = np.zeros(len(scores), bool)
    keep[ranked[:shortlist]] = True
    keep &= np.isfinite(scores)
    keep[: len(locked)] = True
    positions = np.flatnonzero(keep)
    picked = pick_diverse(scores[positions], cielab[positions], oklab[positions], count, list(range(len(locked))), seed)
    new_colors = [hexes[positions[i]] for i in picked[len(locked) :]]
    result: list[str | None] = [None] * count
    for slot, color in locked:
        result[slot] = color
    fill = iter(new_colors)
    colors = [c if c is not None else next(fill) for c in result]
    top = [index.mood_labels[i] for i in np.argsort(-weights)[:3] if weights[i] >= MOOD_KEEP]
    return colors, top
