"""Syllables, stress, rhyme letters, sections and counts from the CMU dictionary (no model)."""

from __future__ import annotations

from atelier.core.lyric_text import from_text_file, to_markdown
from atelier.core.prosody import (
    analyse,
    counts,
    estimate_syllables,
    is_section,
    line_syllables,
    partner_lines,
    section_kind,
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


def test_later_verses_scan_against_the_first() -> None:
    """Line N of Verse 2 partners line N of Verse 1 (issue 14: the gutter flags a line more than two
    syllables away from its partner); choruses pair with the first chorus; lines are counted without
    blank lines, and section numbers in any style name the same kind."""
    text = (
        "[Verse 1]\nRain on the window, taps like a drum\nI wait for the morning\n\n"
        "[Chorus]\nOh the night\n"
        "[Verse 2]\nSun\n\nI wait for the evening light to come around\n"
        "[Chorus 2]\nOh the night is here\n"
        "[verse III]\nThe rain on the window taps like a drum\n"
    )
    assert partner_lines(text) == {7: 1, 9: 2, 11: 5, 13: 1}
    infos = analyse(text)
    assert (infos[7].syllables, infos[7].partner_syllables, infos[7].off_meter) == (1, 9, True)
    assert (infos[9].syllables, infos[9].partner_syllables, infos[9].off_meter) == (11, 6, True)
    assert (infos[11].syllables, infos[11].partner_syllables, infos[11].off_meter) == (5, 3, False)  # within 2
    assert infos[13].partner == 1 and not infos[13].off_meter  # 10 against 9
    assert infos[1].partner is None and not infos[1].off_meter  # the first verse has no partner
    assert [section_kind(n) for n in ("Verse 2", "verse II", "Chorus #3", "Pre-Chorus", "Mix")] == [
        "verse",
        "verse",
        "chorus",
        "pre-chorus",
        "mix",
    ]


def test_stanzas_without_markers_scan_against_the_first() -> None:
    poem = "one two three four\nfive six seven eight nine\n\nthe quick brown fox jumps\nover\n\n\nand"
    assert partner_lines(poem) == {3: 0, 4: 1, 7: 0}
    assert [i.off_meter for i in analyse(poem)] == [False, False, False, False, True, False, False, True]
