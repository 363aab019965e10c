"""Perfect and near rhymes, common words first, names and obscure words left out."""

from __future__ import annotations

import pytest

from atelier.core.errors import InvalidRequestError
from atelier.core.requests.lyrics import LyricRequest, RhymeRequest
from atelier.core.rhymes import find_rhymes, group_by_syllables


def test_perfect_rhymes_come_first_and_common_words_lead() -> None:
    rhymes = find_rhymes("rain")
    words = [r.word for r in rhymes]
    kinds = [r.kind for r in rhymes]
    assert {"pain", "gain", "explain", "remain"} <= set(words)
    assert kinds == sorted(kinds, key=lambda k: k != "perfect")  # all perfect before any near
    perfect = [r for r in rhymes if r.kind == "perfect"]
    assert [r.zipf for r in perfect] == sorted((r.zipf for r in perfect), reverse=True)
    assert words.index("pain") < words.index("disdain")


def test_names_and_obscure_words_are_filtered() -> None:
    words = {r.word for r in find_rhymes("rain", limit=500)}
    assert not {"spain", "jane", "ukraine", "wayne"} & words  # names
    assert "rain" not in words
    assert "cum" not in {r.word for r in find_rhymes("drum", limit=500)}


def test_near_rhymes_for_a_word_with_few_perfect_ones() -> None:
    rhymes = find_rhymes("orange")
    assert rhymes and all(r.kind == "near" for r in rhymes)
    assert "storage" in {r.word for r in rhymes}


def test_grouped_by_syllables_and_unknown_words() -> None:
    groups = group_by_syllables(find_rhymes("night"))
    assert list(groups) == sorted(groups)
    assert "light" in {r.word for r in groups[1]}
    assert find_rhymes("zzxqv") == []


def test_requests_validate_their_values() -> None:
    with pytest.raises(InvalidRequestError, match="one word"):
        RhymeRequest(word="two words")
    with pytest.raises(InvalidRequestError, match="theme"):
        LyricRequest(mode="song", prompt=" ")
    with pytest.raises(InvalidRequestError, match="Temperature"):
        LyricRequest(prompt="x", temperature=3.0)
    with pytest.raises(InvalidRequestError, match="line to rewrite"):
        LyricRequest(mode="rewrite")
    assert LyricRequest(prompt="x", mode="poem", form="sonnet").expected_lines() == 14
    assert LyricRequest(prompt="x", sections=("Verse", "Chorus"), lines_per_section=3).expected_lines() == 6
