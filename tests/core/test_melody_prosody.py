"""Syllables, stresses and sections of a lyric (CMU dictionary, with an estimate for unknown words)."""

from __future__ import annotations

from atelier.core.lyric_syllables import (
    PRIMARY,
    UNSTRESSED,
    estimate_syllables,
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


def test_unknown_words_are_estimated_from_vowel_groups() -> None:
    assert estimate_syllables("glimmerous") == 3
    assert estimate_syllables("blorptastic") == 3
    assert estimate_syllables("zingle") == 2  # -le after a consonant is sung
    assert estimate_syllables("flonked") == 1  # -ed after k is not
    assert estimate_syllables("snoke") == 1  # silent final e
    assert word_stresses("zorblefrank")[0] == PRIMARY
    assert len(word_stresses("zorblefrank")) == 3


def test_words_are_cut_into_displayable_syllables() -> None:
    assert "".join(split_word("melody", 3)) == "melody"
    assert len(split_word("melody", 3)) == 3
    assert split_word("night", 1) == ["night"]
    assert all(split_word("rhythm", 2))


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


def test_a_lyric_without_words_has_no_sections() -> None:
    assert parse_lyric("\n  \n[Chorus]\n...\n") == ()
