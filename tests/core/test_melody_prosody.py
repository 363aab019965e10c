"""Syllables, stresses and sections of a lyric (CMU dictionary, with an estimate for unknown words)."""

from __future__ import annotations

import itertools

import pytest

from atelier.core import lyric_syllables, prosody
from atelier.core.lyric_syllables import (
    PRIMARY,
    UNSTRESSED,
    line_syllables,
    parse_lyric,
    section_label,
    split_word,
    word_stresses,
)


def test_dictionary_words_get_their_syllables_and_stress() -> None:
    assert word_stresses("melody") == (PRIMARY, UNSTRESSED, UNSTRESSED)
    assert word_stresses("believe") == (UNSTRESSED, PRIMARY)
    assert word_stresses("the") == (UNSTRESSED,)  # function words are sung light
    assert word_stresses("light") == (PRIMARY,)


def test_unknown_words_are_estimated_like_the_lyric_panel_counts_them() -> None:
    for word in ("glimmerous", "blorptastic", "zorblefrank", "snoke"):
        assert len(word_stresses(word)) == prosody.syllables(word)
    assert word_stresses("zorblefrank")[0] == PRIMARY
    assert len(word_stresses("zorblefrank")) == 3


def test_one_syllable_per_count_of_the_lyric_panel() -> None:
    line = "Everywhere the glimmerous river goes tonight"
    assert len(line_syllables(line)) == prosody.line_syllables(line)


def test_words_are_cut_into_displayable_syllables() -> None:
    assert "".join(split_word("melody", 3)) == "melody"
    assert len(split_word("melody", 3)) == 3
    assert split_word("night", 1) == ["night"]
    assert all(split_word("rhythm", 2))


@pytest.mark.parametrize(
    "sung",
    [
        "re-lent-less",
        "qui-et",
        "mel-o-dy",
        "hum-ming",
        "eve-ning",
        "lan-terns",
        "walk-ing",
        "light-house",
        "to-geth-er",
        "ev-ery-where",
        "strug-gl-ing",
        "Re-lent-less",
    ],
)
def test_words_are_cut_where_they_are_sung(sung: str) -> None:
    word = sung.replace("-", "")
    assert "-".join(split_word(word, len(word_stresses(word)))) == sung


@pytest.mark.parametrize("sung", ["re-lent-less", "qui-et", "mel-o-dy", "hum-ming", "eve-ning", "yel-low", "lit-tle"])
def test_the_pronunciation_alone_cuts_at_the_syllables(sung: str) -> None:
    # The CMU alignment is what cuts words the hyphenation patterns leave whole or count differently.
    word = sung.replace("-", "")
    cuts = lyric_syllables._cuts_by_sound(word, sung.count("-") + 1)
    assert cuts is not None
    bounds = [0, *cuts, len(word)]
    assert "-".join(word[a:b] for a, b in itertools.pairwise(bounds)) == sung


def test_every_word_of_a_line_is_shown_whole_across_its_notes() -> None:
    line = "Relentless, the quiet glimmerous zorblefrank don't know the hour"
    syllables = line_syllables(line)
    assert all(s.text for s in syllables)
    words: dict[int, str] = {}
    index = -1
    for syllable in syllables:
        index += syllable.first_of_word
        words[index] = words.get(index, "") + syllable.text
    assert list(words.values()) == [
        "Relentless",
        "the",
        "quiet",
        "glimmerous",
        "zorblefrank",
        "don't",
        "know",
        "the",
        "hour",
    ]


def test_line_syllables_carry_words_and_stress() -> None:
    syllables = line_syllables("I walked along the river")
    assert [s.text for s in syllables][:3] == ["I", "walked", "a"]
    assert [s.stress for s in syllables] == [0, 2, 0, 2, 0, 2, 0]
    assert syllables[2].first_of_word and not syllables[3].first_of_word


def test_sections_from_labels_and_blank_lines() -> None:
    text = "[Verse]\nOne line here\nTwo lines here\n\nChorus:\nSing it loud\n\nVerse 2\nThree lines here\n"
    sections = parse_lyric(text)
    assert [s.label for s in sections] == ["verse", "chorus", "verse"]
    assert [len(s.lines) for s in sections] == [2, 1, 1]
    assert section_label("(Pre-Chorus)") == "prechorus"
    assert section_label("I sing a verse of love") is None
    assert section_label("[Hook 2]") == "hook"
    assert section_label("[Outro: fade]") == "outro"


def test_a_lyric_without_words_has_no_sections() -> None:
    assert parse_lyric("\n  \n[Chorus]\n...\n") == ()
