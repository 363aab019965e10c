"""Rhymes for a word: perfect (same sound from the last stressed vowel), multi-syllable (the last two
or three syllables' vowels, stress and closing consonants, as in 'yellow' / 'echo') and near (same
vowels and the same kind of final consonant), common words first, grouped by syllable count.

Obscure words are filtered out with the `wordfreq` frequency list (Zipf scale: 3 is about once
per million words), and names and abbreviations with core/data/proper_nouns.txt (how it is made:
models/thesaurus/build_proper_nouns.py).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pronouncing

from atelier.core.prosody import multi_key, near_key, phones, rhyme_key, syllables

MIN_ZIPF_PERFECT = 3.0
MIN_ZIPF_MULTI = 3.0
MIN_ZIPF_NEAR = 3.0  # near rhymes are plentiful: keep only everyday words
KINDS = ("perfect", "multi", "near")  # the order they are offered in
MULTI_LONGEST = 3  # syllables a multi-syllable rhyme is matched over, at most
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
_INFLECTIONS = ("", "s", "es", "ed", "ing", "in", "er", "ers", "y")  # 'fucks', 'shitty' are left out too


@dataclass(frozen=True)
class Rhyme:
    word: str
    syllables: int
    kind: str  # "perfect" | "multi" | "near"
    zipf: float


@lru_cache(maxsize=1)
def proper_nouns() -> frozenset[str]:
    path = Path(__file__).with_name("data") / "proper_nouns.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


@lru_cache(maxsize=1)
def _index() -> tuple[dict[str, list[str]], dict[str, list[str]], dict[str, list[str]]]:
    """Words by perfect key, by near key and by two-syllable multi key, built once from the CMU
    dictionary (about 2 s)."""
    pronouncing.init_cmu()
    perfect: dict[str, list[str]] = defaultdict(list)
    near: dict[str, list[str]] = defaultdict(list)
    multi: dict[str, list[str]] = defaultdict(list)
    seen: set[str] = set()
    for word, pronunciation in pronouncing.pronunciations:
        if word in seen or not word.isalpha():
            continue  # first pronunciation only; skip abbreviations like "a.m." and "'til"
        seen.add(word)
        key = " ".join(p.rstrip("012") for p in pronouncing.rhyming_part(pronunciation).split())
        perfect[key].append(word)
        near[near_key(key)].append(word)
        two = multi_key(pronunciation, 2)
        if two:
            multi[two].append(word)
    return dict(perfect), dict(near), dict(multi)


def load_index() -> None:
    """Build the rhyme index now (about 1-3 s, once per process) instead of at the first look-up."""
    _index()


def index_ready() -> bool:
    return _index.cache_info().currsize > 0


def is_offensive(word: str) -> bool:
    return any(word.endswith(ending) and word[: len(word) - len(ending)] in OFFENSIVE for ending in _INFLECTIONS)


def _offered(candidate: str, word: str, names: frozenset[str]) -> bool:
    """Whether a candidate is worth offering for `word`: not the word itself or a form of it, not a name,
    an abbreviation or a slur."""
    if candidate == word or candidate.endswith(word) or word.endswith(candidate):
        return False  # 'window'/'windows' or 'stay'/'astray' are not useful suggestions
    return not (
        candidate in names or is_offensive(candidate) or len(candidate) < 2 or not any(v in candidate for v in "aeiouy")
    )


def find_rhymes(word: str, limit: int = 60) -> list[Rhyme]:
    """Perfect rhymes, then multi-syllable ones, then near ones, each kind sorted by frequency (most
    common first; a multi-syllable rhyme over more syllables counts as more common), at most `limit`
    of each kind."""
    from wordfreq import zipf_frequency  # here, not at the top: importing wordfreq costs the window ~1 s

    word = word.lower().strip()
    pronunciation = phones(word)
    key = rhyme_key(word) if pronunciation else None
    if not key or not pronunciation:
        return []
    perfect_index, near_index, multi_index = _index()
    names = proper_nouns()
    taken = {word}

    def scored(candidates: list[str], kind: str, minimum: float, bonus: dict[str, int] | None = None) -> list[Rhyme]:
        found = []
        for candidate in candidates:
            if candidate in taken or not _offered(candidate, word, names):
                continue
            zipf = zipf_frequency(candidate, "en")
            if zipf >= minimum:
                found.append(Rhyme(candidate, syllables(candidate), kind, zipf))
                taken.add(candidate)
        found.sort(key=lambda r: (-r.zipf - (bonus or {}).get(r.word, 0), r.word))
        return found[:limit]

    perfect = scored(perfect_index.get(key, []), "perfect", MIN_ZIPF_PERFECT)
    two = multi_key(pronunciation, 2)
    multi_candidates = multi_index.get(two, []) if two else []
    multi = scored(multi_candidates, "multi", MIN_ZIPF_MULTI, _longer_match_bonus(pronunciation, multi_candidates))
    near = scored(near_index.get(near_key(key), []), "near", MIN_ZIPF_NEAR)
    return perfect + multi + near


def _longer_match_bonus(pronunciation: str, candidates: list[str]) -> dict[str, int]:
    """For each candidate (already matching two syllables), the syllables it matches beyond two, up to
    MULTI_LONGEST: 'equation' matches 'celebration' over three. Each counts as one Zipf step (ten
    times as common), so a longer rhyme leads unless a two-syllable one is far more common."""
    bonus: dict[str, int] = {}
    for candidate in candidates:
        other = phones(candidate) or ""
        count = 2
        while (
            count < MULTI_LONGEST
            and (key := multi_key(pronunciation, count + 1))
            and key == multi_key(other, count + 1)
        ):
            count += 1
        bonus[candidate] = count - 2
    return bonus


def group_by_syllables(rhymes: list[Rhyme]) -> dict[int, list[Rhyme]]:
    """Rhymes by syllable count (ascending), keeping each group's frequency order."""
    groups: dict[int, list[Rhyme]] = defaultdict(list)
    for rhyme in rhymes:
        groups[rhyme.syllables].append(rhyme)
    return dict(sorted(groups.items()))
