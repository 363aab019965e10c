"""Perfect, multi-syllable and near rhymes, common words first, names and obscure words left out."""

from __future__ import annotations

import json

import pytest

from atelier.core.errors import InvalidRequestError
from atelier.core.prosody import multi_key, phones, syllabify
from atelier.core.requests.lyrics import LyricRequest, RhymeRequest
from atelier.core.rhymes import KINDS, find_rhymes, group_by_syllables, proper_nouns


def test_perfect_rhymes_come_first_and_common_words_lead() -> None:
    rhymes = find_rhymes("rain")
    words = [r.word for r in rhymes]
    kinds = [r.kind for r in rhymes]
    assert {"pain", "gain", "explain", "remain"} <= set(words)
    assert kinds == sorted(kinds, key=KINDS.index)  # all perfect, then multi-syllable, then near
    perfect = [r for r in rhymes if r.kind == "perfect"]
    assert [r.zipf for r in perfect] == sorted((r.zipf for r in perfect), reverse=True)
    assert words.index("pain") < words.index("disdain")


def test_names_and_obscure_words_are_filtered() -> None:
    words = {r.word for r in find_rhymes("rain", limit=500)}
    assert not {"spain", "jane", "ukraine", "wayne"} & words  # names
    assert "rain" not in words
    assert "cum" not in {r.word for r in find_rhymes("drum", limit=500)}


def test_no_names_or_abbreviations_for_again() -> None:
    """The words of issue 14 ('ben', 'penn' for 'again') and their kind: first names, surnames, places,
    brands and abbreviations that are common in text but not words a lyric rhymes with."""
    words = {r.word for r in find_rhymes("again", limit=500)}
    assert {"then", "when", "men", "ten", "pen", "amen"} <= words
    assert not {"ben", "penn", "gwen", "sven", "len", "ren", "espn", "isbn", "nguyen", "shenzhen", "ibm", "atm"} & words
    yellow = {r.word for r in find_rhymes("yellow", limit=500)}
    assert {"fellow", "mellow", "echo"} <= yellow
    assert not {"costello", "marcelo", "roberto", "guillermo", "fresno", "tesco", "elmo", "nemo"} & yellow
    rain = {r.word for r in find_rhymes("rain", limit=500)}
    assert not {"shane", "mccain", "kardashian", "elaine", "dwayne", "blaine", "duane"} & rain


def test_everyday_words_the_old_name_list_dropped_are_offered_again() -> None:
    """The first list came from a tokenizer's capitalised words and also caught words written with a
    capital at the start of a sentence."""
    names = proper_nouns()
    assert not {"luckily", "wow", "supper", "swan", "wizard", "raven", "admiral", "grove", "isle"} & names
    assert {"ben", "penn", "harry", "sally", "espn"} <= names
    assert "wow" in {r.word for r in find_rhymes("now", limit=500)}


def test_crude_words_are_left_out_with_their_endings() -> None:
    for word, crude in (("trucks", "fucks"), ("witty", "shitty"), ("kicks", "dicks")):
        assert crude not in {r.word for r in find_rhymes(word, limit=500)}


def test_multi_syllable_rhymes_match_the_last_syllables_vowels_and_codas() -> None:
    """RhymeZone's multi-syllable view: 'yellow' / 'echo' (EH-OW), 'fire' / 'tiger' (AY-ER); perfect
    rhymes ('higher', 'mellow') stay first, and each kind is most common first."""
    for word, perfect, multi in (
        ("fire", {"higher", "desire", "liar"}, {"tiger", "writer", "driver"}),
        ("yellow", {"mellow", "fellow"}, {"echo", "ghetto", "retro"}),
        ("together", {"weather", "feather"}, {"never", "better", "forever"}),
    ):
        rhymes = find_rhymes(word)
        kinds = [r.kind for r in rhymes]
        assert kinds == sorted(kinds, key=KINDS.index)
        assert perfect <= {r.word for r in rhymes if r.kind == "perfect"}
        found = [r for r in rhymes if r.kind == "multi"]
        assert multi <= {r.word for r in found}, word
        pronunciation = phones(word)
        assert pronunciation and all(multi_key(phones(r.word) or "") == multi_key(pronunciation) for r in found)
    # One-syllable rhyme words have no multi-syllable group; a word never rhymes with itself.
    assert not [r for r in find_rhymes("night") if r.kind == "multi"]
    assert "together" not in {r.word for r in find_rhymes("together", limit=500)}


def test_longer_multi_syllable_rhymes_lead() -> None:
    """'equation' matches 'celebration' over three syllables (@-EY-@N) and comes before two-syllable
    matches of about its frequency."""
    multi = [r.word for r in find_rhymes("celebration") if r.kind == "multi"]
    assert multi.index("equation") < multi.index("bacon")
    assert multi_key(phones("equation") or "", 3) == multi_key(phones("celebration") or "", 3)


def test_syllables_split_by_maximal_onset() -> None:
    def split(word: str) -> list[tuple[str, ...]]:
        return [(*s.onset, s.vowel, *s.coda) for s in syllabify(phones(word) or "")]

    assert split("extra") == [("EH", "K"), ("S", "T", "R", "AH")]
    assert split("yellow") == [("Y", "EH"), ("L", "OW")]
    assert split("window") == [("W", "IH", "N"), ("D", "OW")]
    assert multi_key(phones("again") or "") == "@0 EH1N"  # the unstressed 'a' is a reduced vowel
    assert multi_key(phones("night") or "") is None


def test_near_rhymes_for_a_word_with_few_perfect_ones() -> None:
    rhymes = find_rhymes("orange")
    assert rhymes and all(r.kind != "perfect" for r in rhymes)
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


def test_cli_json_lists_the_multi_syllable_kind(capsys: pytest.CaptureFixture[str]) -> None:
    from atelier.cli import main

    assert main(["rhymes", "yellow", "--json", "--limit", "3"]) == 0
    data = json.loads(capsys.readouterr().out)
    kinds = [r["kind"] for r in data["rhymes"]]
    assert kinds == ["perfect"] * 3 + ["multi"] * 3 + ["near"] * 3  # at most --limit of each kind
    assert data["rhymes"][0] == {"word": "fellow", "syllables": 2, "kind": "perfect"}
    assert main(["rhymes", "together", "--limit", "4"]) == 0
    assert "multi-syllable, 2 syllables" in capsys.readouterr().out
