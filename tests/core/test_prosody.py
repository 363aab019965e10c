"""Syllables, stress, rhyme letters, sections and counts from the CMU dictionary (no model)."""

from __future__ import annotations

from atelier.core.lyric_text import from_text_file, to_markdown
from atelier.core.prosody import (
    analyse,
    counts,
    estimate_syllables,
    is_section,
    line_syllables,
    section_spans,
    stress_pattern,
    syllables,
)

SONG = """[Verse]
Rain on the window, taps like a drum
I wait for the morning, I wait for the sun
The city is sleeping, the streetlights are low
I hold on to nothing and nowhere to go

[Chorus]
Oh the night is bright
Hold me tight"""


def test_syllables_from_the_dictionary_and_a_fallback_for_unknown_words() -> None:
    assert syllables("window") == 2
    assert syllables("beautiful") == 3
    assert syllables("fire") == 2  # CMU: F AY1 ER0
    assert line_syllables("Rain on the window, taps like a drum") == 9
    # Not in the dictionary: estimated from vowel groups, silent final e dropped.
    assert estimate_syllables("glimmerstone") == 3
    assert syllables("zorblax") == 2


def test_stress_pattern_marks_stressed_syllables_and_keeps_function_words_light() -> None:
    assert stress_pattern("window") == "/u"
    assert stress_pattern("I wait for the sun") == "u / u u /"


def test_rhyme_letters_restart_per_section_and_match_rhymes() -> None:
    infos = analyse(SONG)
    letters = [i.rhyme for i in infos]
    assert letters[:5] == ["", "A", "A", "B", "B"]  # drum/sun is a near rhyme; low/go perfect
    assert infos[0].section == "Verse"
    assert letters[6:9] == ["", "A", "A"]  # night/tight rhyme again from A after [Chorus]
    assert infos[1].syllables == 9
    assert infos[5].syllables == 0  # blank line


def test_sections_and_counts() -> None:
    assert is_section("[Pre-Chorus]") == "Pre-Chorus"
    assert is_section("Verse one") is None
    assert [name for name, _s, _e in section_spans(SONG)] == ["Verse", "Chorus"]
    assert section_spans(SONG)[0][1:] == (0, 4)
    c = counts(SONG)
    assert (c.lines, c.sections) == (6, 2)
    assert c.words == sum(len(line.split()) for line in SONG.splitlines() if not line.startswith("["))


def test_markdown_export_and_text_import() -> None:
    markdown = to_markdown(SONG)
    assert "## Verse" in markdown and "## Chorus" in markdown
    assert "Rain on the window, taps like a drum  \n" in markdown
    assert from_text_file("\ufeffline one\r\nline two\r\n".encode()) == "line one\nline two\n"
    assert from_text_file("caf\xe9".encode("cp1252")) == "café"
