"""Rhymes for a word: perfect (same sound from the last stressed vowel) and near (same vowels and
the same kind of final consonant), common words first, grouped by syllable count.

Obscure words are filtered out with the `wordfreq` frequency list (Zipf scale: 3 is about once
per million words), and names with a list of words that are almost always capitalised
(core/data/proper_nouns.txt, with its provenance in its header).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pronouncing
from wordfreq import zipf_frequency

from atelier.core.prosody import near_key, phones, rhyme_key, syllables

MIN_ZIPF_PERFECT = 3.0
MIN_ZIPF_NEAR = 3.0  # near rhymes are plentiful: keep only everyday words
# Slurs and the crudest words are never offered (a writer can still type them).
OFFENSIVE = frozenset(
    [
        "cum",
        "cunt",
        "fag",
        "faggot",
        "nigga",
        "nigger",
        "retard",
        "slut",
        "whore",
        "twat",
        "tits",
        "dick",
        "cock",
        "fuck",
        "shit",
        "piss",
    ]
)


@dataclass(frozen=True)
class Rhyme:
    word: str
    syllables: int
    kind: str  # "perfect" | "near"
    zipf: float


@lru_cache(maxsize=1)
def proper_nouns() -> frozenset[str]:
    path = Path(__file__).with_name("data") / "proper_nouns.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


@lru_cache(maxsize=1)
def _index() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Words by perfect key and by near key, built once from the CMU dictionary (about 1 s)."""
    pronouncing.init_cmu()
    perfect: dict[str, list[str]] = defaultdict(list)
    near: dict[str, list[str]] = defaultdict(list)
    seen: set[str] = set()
    for word, pronunciation in pronouncing.pronunciations:
        if word in seen or not word.isalpha():
            continue  # first pronunciation only; skip abbreviations like "a.m." and "'til"
        seen.add(word)
        key = " ".join(p.rstrip("012") for p in pronouncing.rhyming_part(pronunciation).split())
        perfect[key].append(word)
        near[near_key(key)].append(word)
    return dict(perfect), dict(near)


def load_index() -> None:
    """Build the rhyme index now (about 1-3 s, once per process) instead of at the first look-up."""
    _index()


def index_ready() -> bool:
    return _index.cache_info().currsize > 0


def find_rhymes(word: str, limit: int = 60) -> list[Rhyme]:
    """Perfect rhymes then near ones, each sorted by frequency (most common first), at most `limit`."""
    word = word.lower().strip()
    key = rhyme_key(word) if phones(word) else None
    if not key:
        return []
    perfect_index, near_index = _index()
    names = proper_nouns()
    found: list[Rhyme] = []
    taken = {word}
    for kind, candidates, minimum in (
        ("perfect", perfect_index.get(key, []), MIN_ZIPF_PERFECT),
        ("near", near_index.get(near_key(key), []), MIN_ZIPF_NEAR),
    ):
        scored = []
        for candidate in candidates:
            if candidate in taken or candidate.endswith(word) or word.endswith(candidate):
                continue  # 'window'/'windows' or 'stay'/'astray' are not useful suggestions
            if (
                candidate in names
                or candidate in OFFENSIVE
                or len(candidate) < 2
                or not any(v in candidate for v in "aeiouy")
            ):
                continue
            zipf = zipf_frequency(candidate, "en")
            if zipf >= minimum:
                scored.append(Rhyme(candidate, syllables(candidate), kind, zipf))
                taken.add(candidate)
        found += sorted(scored, key=lambda r: (-r.zipf, r.word))
    perfect = [r for r in found if r.kind == "perfect"]
    return (perfect + [r for r in found if r.kind == "near"])[:limit]


def group_by_syllables(rhymes: list[Rhyme]) -> dict[int, list[Rhyme]]:
    """Rhymes by syllable count (ascending), keeping each group's frequency order."""
    groups: dict[int, list[Rhyme]] = defaultdict(list)
    for rhyme in rhymes:
        groups[rhyme.syllables].append(rhyme)
    return dict(sorted(groups.items()))
