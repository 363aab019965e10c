"""Checks that a written line is worth keeping: mostly real English words, no word stem looping, no
echo of the instructions, no stray non-Latin script. The lyric writer resamples a line that fails;
models/smollm2/quality.py counts failures to measure a language model pack.

All checks are plain functions of the line's text (no model, no Qt). The word list is the CMU
Pronouncing Dictionary (`pronouncing`, already loaded for syllables and rhymes) plus the 50,000
most frequent English words of `wordfreq` (slang, contractions and spellings the CMU list lacks).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Collection
from functools import lru_cache

GIBBERISH_BELOW = 0.70  # a line with fewer of its words in the word list than this is gibberish
LOOP_REPEATS = 3  # one word stem this many times in a line is a loop
TOP_WORDS = 50_000

GIBBERISH = "gibberish"
STEM_LOOP = "stem loop"
INSTRUCTION_ECHO = "instruction echo"
MIXED_SCRIPT = "mixed script"
PROBLEMS = (MIXED_SCRIPT, INSTRUCTION_ECHO, GIBBERISH, STEM_LOOP)  # the order line_problems reports them

# Letters and digits of any script, with inner apostrophes ("don't", "rock'n'roll") or hyphens
# ("snow-laden") and a trailing apostrophe ("singin'"). "h2l" is one word, and not an English one.
_WORD_RE = re.compile(r"[^\W_]+(?:['\-][^\W_]+)*'?")
# Numbers a lyric sings ("99", "1969", "3am", "24/7"); a longer digit run ("938716") is not a word.
_NUMBER_RE = re.compile(r"\d{1,4}(?:st|nd|rd|th|s|am|pm|k)?")
# Code and markup symbols: a lyric line has none, a model's junk ("RHYTHM = 938716", "CANT=5/vocalic") has.
_SYMBOL_RE = re.compile(r"[=<>{}\[\]|\\#@^~_*/+]+")
SHORT_PART = 3  # a hyphenated word may have one part shorter than this ("rock-n-roll", "x-ray")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u02bc": "'"})

# Words a loop check must not count: a line like "the night, the rain, the road" is not a loop, and
# sung syllables ("la la la", "yeah, yeah, yeah") repeat on purpose.
_LOOP_IGNORED = frozenset(
    (  # noqa: SIM905 (a word list reads better as text)
        "a an the and or but nor so yet of to in on at by for from with as than that this these those "
        "i me my you your he him his she her it its we us our they them their is am are was were be been "
        "do does did have has had will would can could not no oh ah ooh yeah hey whoa na la da doo "
        "baby go come now all one"
    ).split()
)

# Instruction echoes: the model repeating the request's wording or talking about its answer.
# Each pattern is narrow on purpose: "Here is my heart", "Bridge over the water", "Sure as the sun"
# and "Line by line" are lyrics.
_SECTION_WORDS = r"verse|chorus|pre-?chorus|bridge|intro|outro|hook|refrain|stanza|couplet|quatrain|tercet"
_LABELS = (
    r"title|mood|theme|topic|point of view|rhyme scheme|rhymes?|sections?|form|original(?: line)?|"
    r"(?:new )?versions?|alternatives?|options?|answer|output|response|"
    r"lyrics?|poem|song(?: title)?|haiku|limerick|sonnet|ballad|ideas?|hooks?|continuation|syllables?"
)
_ECHO_RES = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"\blines?\s*#?\d+",  # "Line 2", "Lines 1-7", "line 3 open up"
        r"^\W*lines?\s*[:\-\u2013\u2014]",  # "Lines: ..."
        r"^\W*(?:first|last|next|final|new)\s+lines?\s*[:\-\u2013]",
        rf"^\W*(?:{_SECTION_WORDS})\s*\d*\s*(?:[:\-\u2013\u2014.)]|$)",  # "Verse:", "Chorus 2 -", "Verse 1"
        rf"\b(?:{_SECTION_WORDS})\s+\d+\b",  # "... verse 2 ..."
        rf"^\W*(?:{_LABELS})\s*\d*\s*:",  # "Title: ...", "Rhyme scheme: AABB", "Idea 2:"
        r"^\W*(?:sure|certainly|absolutely)\s*[!,.:;\u2013\u2014-]",  # "Sure! Here ...", "Certainly, ..."
        r"^\W*(?:of course|okay|ok|alright|great)\s*!",
        r"^\W*sure\s+(?:thing|here)\b",
        r"^\W*here(?:'s|\s+is|\s+are)\b.*\b(?:song|poem|lyrics?|haiku|limerick|sonnet|ballad|verses?|stanzas?|"
        r"lines?|versions?|list|ideas?|titles?|hooks?|attempt|rewrite|continuation|draft|chorus|take)\b",
        r"^\W*here(?:'s|\s+is|\s+are)\s+(?:a|an|the|my|some)?\s*(?:possible|rewritten|revised|sample|example|"
        r"short|simple|few|new version|version|try|rewrite)\b",  # "Here's a possible", cut before "haiku"
        r"^\W*(?:i hope|i(?:'m| am) (?:sorry|happy|glad)|as an ai|note\s*:|in this (?:song|poem|lyric|haiku|verse))",
        r"\b(?:haikus?|limericks?|sonnets?|quatrains?|stanzas?)\b",  # the form's name: the model talks about it
        r"\b(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|twelve|fourteen)[ -]lines?\b",
        r"^\W*this (?:song|poem|lyric|haiku|limerick|sonnet) (?:is about|describes|captures|tells|explores|uses)",
        r"\bas an ai\b|\blanguage model\b|\brhyme scheme\b|\biambic pentameter\b|\bsyllables? (?:each|per)\b",
        r"\b\d+\s+syllables?\b|\(\s*\d+\s*\)\s*$",  # "5 syllables", a count in brackets at the end
        r"\b(?:AABB|ABAB|ABCB|AABBA|CDCD|EFEF)\b",
    )
)
# Tabs and line ends are layout; the zero-width joiner holds emoji sequences together.
_CONTROLS = ("Cc", "Cf", "Co", "Cs")
_ALLOWED_CONTROLS = "\t\n\r\u200d"
# A chunk of three or more letters said three times in a row inside one word ("stepstepsteps").
_STUTTER_RE = re.compile(r"([^\W\d_]{3,}?)\1\1", re.IGNORECASE)


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """The CMU dictionary's words plus wordfreq's 50,000 most frequent English words, lower case.

    Loads once per process (about 2 s; the CMU half is shared with syllables and rhymes)."""
    import pronouncing
    from wordfreq import top_n_list

    pronouncing.init_cmu()
    assert pronouncing.lookup is not None
    return frozenset(pronouncing.lookup) | frozenset(top_n_list("en", TOP_WORDS))


def english_words_ready() -> bool:
    """Whether the word list is loaded (then every check is a few set look-ups per line)."""
    return english_words.cache_info().currsize > 0


def words(line: str) -> list[str]:
    """The line's words, lower case, curly apostrophes made straight; numbers are words too and a
    hyphenated word is one word ("snow-laden")."""
    return [w.lower().strip("'") or w for w in _WORD_RE.findall(line.translate(_APOSTROPHES))]


def is_english_word(word: str, known: Collection[str] = ()) -> bool:
    """Whether `word` (lower case) is in the word list, or in `known` (e.g. the prompt's own words).

    Numbers count as words. Spellings songs use are tried too: a dropped g ("singin'", "rockin"),
    an elided vowel ("ev'ry", "heav'n") and words joined by apostrophes ("rock'n'roll")."""
    if word in known or _NUMBER_RE.fullmatch(word):
        return True
    vocabulary = english_words()
    if word in vocabulary:
        return True
    if "-" in word:
        # Each part a word, and syllable babble ("wa-a-ko", "wo-wa-loi") is not: at most one
        # part may be short.
        parts = [p for p in word.split("-") if p]
        short = sum(len(p) < SHORT_PART for p in parts)
        return word.replace("-", "") in vocabulary or (short <= 1 and all(is_english_word(p, known) for p in parts))
    bare = word.strip("'")
    candidates = [bare, bare.replace("'", ""), bare.replace("'", "e")]
    if bare.endswith("in"):
        candidates.append(bare + "g")
    if any(c in vocabulary for c in candidates):
        return True
    parts = [p for p in bare.split("'") if p]
    return len(parts) > 1 and all(p in vocabulary or len(p) == 1 for p in parts)


def dictionary_share(line: str, known: Collection[str] = ()) -> float:
    """The share of the line's words that are English words (0..1); 1.0 for a line without words.

    Under GIBBERISH_BELOW (0.70) the line is gibberish: "Toleberaufe des leis djelbewegionen" has 2
    of 4. `known` adds words that are fine in this lyric (names and coinages from the prompt)."""
    found = words(line)
    if not found:
        return 1.0
    known_lower = {k.lower() for k in known}
    symbols = len(_SYMBOL_RE.findall(line))  # each run of code symbols counts as a word that is not English
    return sum(is_english_word(w, known_lower) for w in found) / (len(found) + symbols)


def stem(word: str) -> str:
    """A light inflectional stem: "steps", "stepping", "stepped" -> "step"; "echoes" -> "echo".

    Only plural, possessive, -ed and -ing endings are removed, with a doubled final consonant
    undone and a final e dropped. A full Porter or Snowball stemmer also strips derivational
    endings ("university" and "universe" both become "univers"), which would call ordinary lines
    loops; a loop check needs inflections only, and these few rules are all of them."""
    w = word.lower().strip("'")
    if w.endswith("'s"):
        w = w[:-2]
    if len(w) > 4 and w.endswith("ies"):
        w = w[:-3] + "y"
    elif len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    for suffix in ("ing", "ed"):
        if len(w) > len(suffix) + 2 and w.endswith(suffix) and re.search(r"[aeiouy]", w[: -len(suffix)]):
            w = w[: -len(suffix)]
            if w.endswith("i") and suffix == "ed":
                w = w[:-1] + "y"  # "cried" -> "cry"
            if len(w) > 2 and w[-1] == w[-2] and w[-1] not in "aeiouls":
                w = w[:-1]  # "stepping" -> "step"
            break
    if len(w) > 3 and w.endswith("e"):
        w = w[:-1]  # "hope", "hoped", "hoping" -> "hop"; "echoe(s)" -> "echo"
    return w


def repeated_stem(line: str) -> str:
    """The first word stem the line says LOOP_REPEATS (3) or more times, or a word that stutters
    a chunk three times ("stepstepsteps"); '' when there is none.

    Function words and sung syllables ("the", "yeah", "la") are not counted, and stems shorter
    than three letters are ignored."""
    found = [part for word in words(line) for part in word.split("-") if part]
    for word in found:
        stutter = _STUTTER_RE.search(word)
        if stutter:
            return stutter.group(1).lower()
    counts = Counter(stem(w) for w in found if w not in _LOOP_IGNORED and not w[:1].isdigit())
    for key, count in counts.items():
        if count >= LOOP_REPEATS and len(key) >= 3:
            return key
    return ""


def has_stem_loop(line: str) -> bool:
    """Whether one word stem repeats 3+ times in the line ("Steps walk steps stepping steps")."""
    return bool(repeated_stem(line))


def echoes_instructions(line: str) -> bool:
    """Whether the line echoes the instructions or talks about the answer instead of being a lyric:
    "Line 2", "Lines 1-7:", "Verse:", "Chorus 2 -", "Title: ...", "Here is a song about ...",
    "Sure! ...", "5 syllables", "Rhyme scheme AABB"."""
    text = line.translate(_APOSTROPHES)
    return any(pattern.search(text) for pattern in _ECHO_RES)


def is_mixed_script_junk(line: str) -> bool:
    """Whether an English line holds letters of another script (Cyrillic, CJK, ...), control
    characters, or the replacement character a broken byte sequence decodes to.

    Accented Latin letters ("café", "déjà vu") are fine; emoji and punctuation are not letters."""
    for char in line:
        if char == "\ufffd" or (unicodedata.category(char) in _CONTROLS and char not in _ALLOWED_CONTROLS):
            return True
        if char.isalpha() and not unicodedata.name(char, "").startswith("LATIN"):
            return True
    return False


def looks_english(text: str) -> bool:
    """Whether a prompt is English, so its lyric is held to the English checks: Latin script only and
    at least GIBBERISH_BELOW of its words in the word list (an empty prompt counts as English: the
    writer's own instructions are)."""
    if is_mixed_script_junk(text):
        return False
    return dictionary_share(text) >= GIBBERISH_BELOW


def line_problems(line: str, known: Collection[str] = (), english: bool = True) -> list[str]:
    """Every check the line fails, in the order of PROBLEMS: 'mixed script', 'instruction echo',
    'gibberish', 'stem loop'. An empty list means the line is fine.

    `known` are words that count as English here (the prompt's names and coinages); with
    `english=False` (a prompt in another language) the script and dictionary checks are skipped."""
    problems = []
    if english and is_mixed_script_junk(line):
        problems.append(MIXED_SCRIPT)
    if echoes_instructions(line):
        problems.append(INSTRUCTION_ECHO)
    if english and dictionary_share(line, known) < GIBBERISH_BELOW:
        problems.append(GIBBERISH)
    if has_stem_loop(line):
        problems.append(STEM_LOOP)
    return problems
