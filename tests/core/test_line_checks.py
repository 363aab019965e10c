"""Line checks: the bad lines quoted in issue 14 are rejected, ordinary lyric lines pass."""

from __future__ import annotations

import pytest

from atelier.core.lyrics.line_checks import (
    GIBBERISH,
    INSTRUCTION_ECHO,
    MIXED_SCRIPT,
    STEM_LOOP,
    dictionary_share,
    echoes_instructions,
    has_stem_loop,
    is_english_word,
    is_mixed_script_junk,
    line_problems,
    looks_english,
    repeated_stem,
    stem,
)

# Lines SmolLM2 wrote with default settings (issue 14), and the check each must fail.
ISSUE_LINES = [
    ("Steps walk steps stepstepsteps stepping-stepping steps upsteps", STEM_LOOP),
    ("Downs do downs doesiddee itdditits dethadetodesdeltotelsltlsslldldsldslndslsbzsdbla", GIBBERISH),
    ("Toleberaufe des leis djelbewegionen", GIBBERISH),
    ("Refreshes echoes repeats repeating repeat repetition bears", STEM_LOOP),
    ("Lines: line 1 play / Line 2, line 3 open up inviting voice", INSTRUCTION_ECHO),
    ("Lines: line 1 play", INSTRUCTION_ECHO),
    ("Line 2, line 3 open up inviting voice", INSTRUCTION_ECHO),
]

GOOD_LINES = [
    "Oh",
    "Hold on",
    "Rain on the window",
    "I don't wanna go home tonight",
    "Maria, Maria, come back to me",
    "Rock'n'roll all night long",
    "We danced to rock-n-roll",
    "99 red balloons drift by",
    "Back in 1999 we were young",
    "Singin' in the rain again",
    "I'm fallin' for you",
    "Ev'ry heav'n o'er the hill",
    "Y'all come back now",
    "Here is my heart",  # "Here is" opens lyrics too, not only chatter
    "Bridge over the water",
    "Sure as the sun will rise",
    "Line by line I write to you",
    "The night, the rain, the road",  # function words repeat in a line
    "She loves you, yeah, yeah, yeah",  # sung syllables repeat on purpose
    "La la la la la",
    "Café au lait at dawn, déjà vu",
    "Snow-laden skies at 3am",
    "My heart’s on fire",  # a curly apostrophe
    "Dancing in the kitchen ❤️",
]


@pytest.mark.parametrize(("line", "problem"), ISSUE_LINES)
def test_each_bad_line_from_the_issue_is_rejected(line: str, problem: str) -> None:
    assert problem in line_problems(line)


@pytest.mark.parametrize("line", GOOD_LINES)
def test_ordinary_lyric_lines_pass(line: str) -> None:
    assert line_problems(line) == []


def test_dictionary_share_counts_words_in_the_cmu_dictionary_or_wordfreq() -> None:
    assert dictionary_share("Toleberaufe des leis djelbewegionen") == 0.5  # "des" and "leis" are words
    assert dictionary_share("") == 1.0 and dictionary_share("...!") == 1.0
    assert dictionary_share("gonna tryna") == 1.0  # slang the CMU list lacks, wordfreq has
    assert dictionary_share("Leftekular h2l it") == pytest.approx(1 / 3)  # letters and digits mixed: junk
    # Syllable babble joined by hyphens is not a word, though each piece is in the CMU list.
    assert not is_english_word("wa-a-ko") and "gibberish" in line_problems("Iris wa-a-ko")
    assert is_english_word("snow-laden") and is_english_word("x-ray")


def test_words_from_the_prompt_count_as_known() -> None:
    line = "Zorblax sails the neon sea"
    assert dictionary_share(line) == 0.8
    assert line_problems("Zorblax Quenth sails") == [GIBBERISH]
    assert line_problems("Zorblax Quenth sails", known={"Zorblax", "quenth"}) == []


def test_stems_join_inflections_only() -> None:
    assert {stem(w) for w in ("steps", "stepping", "stepped", "step")} == {"step"}
    assert {stem(w) for w in ("repeat", "repeats", "repeating", "repeated")} == {"repeat"}
    assert stem("echoes") == stem("echo") and stem("cried") == stem("cries") == "cry"
    assert stem("universe") != stem("university")  # a Porter stemmer would join these
    assert repeated_stem("Falling, fell, fall, falls") == "fall"  # "fell" is not an inflection rule
    assert repeated_stem("Go, go, go") == ""  # too short a stem to call a loop
    assert repeated_stem("Love, love, love") == "lov"
    assert has_stem_loop("stepstepsteps") and not has_stem_loop("Mississippi and bananas")


def test_instruction_echoes() -> None:
    for line in (
        "Sure! Here is a song about rain",
        "Certainly, here are the lines",
        "Here's a possible haiku about autumn",
        "Here's a possible",  # the start of the same, cut at five syllables
        "Verse:",
        "Chorus 2 -",
        "Verse 1",
        "Title: Rain on Glass",
        "Rhyme scheme: AABB",
        "Lines 1-7:",
        "A haiku on the sea",
        "Five syllables here (5)",
        "Three lines to a first",
        "In this poem the rain",
        "As an AI I cannot sing",
    ):
        assert echoes_instructions(line), line
    for line in ("Bridge over the water", "Sure as the sun", "Here I stand", "Chorus of birds at dawn"):
        assert not echoes_instructions(line), line


def test_mixed_script_junk_for_an_english_prompt() -> None:
    assert is_mixed_script_junk("Любовь moon")
    assert is_mixed_script_junk("love 愛 forever")
    assert is_mixed_script_junk("lov\u0435r")  # a Cyrillic e inside a Latin word
    assert is_mixed_script_junk("bad byte \ufffd here") and is_mixed_script_junk("tab\x04junk")
    assert not is_mixed_script_junk("Café, naïve, déjà vu — ❤️")
    assert line_problems("Любовь и кровь") == [MIXED_SCRIPT, GIBBERISH]
    # A prompt in another language turns the script and dictionary checks off, not the others.
    assert line_problems("Любовь и кровь", english=False) == []
    assert line_problems("Verse: любовь", english=False) == [INSTRUCTION_ECHO]


def test_looks_english() -> None:
    assert looks_english("a lullaby for a lighthouse keeper")
    assert looks_english("")  # the writer's own instructions are English
    assert not looks_english("雨の夜")
    assert not looks_english("Любовь и кровь")


@pytest.mark.parametrize("line", ["RHYTHM = 938716", "CANT=5/vocalic sounds", "<verse>{rain}</verse>"])
def test_code_and_long_numbers_are_not_lyric_words(line: str) -> None:
    """Lines a base model wrote (Gemma 3 270M int4) that passed when every digit run was a word."""
    assert GIBBERISH in line_problems(line)


@pytest.mark.parametrize("line", ["I think of you 24/7", "Back in 1969 we danced till 3am", "Rock and roll #1"])
def test_numbers_a_song_sings_stay_words(line: str) -> None:
    assert GIBBERISH not in line_problems(line)
