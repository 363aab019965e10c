"""Syllables, stress, rhyme-scheme letters and song sections for lyric text, from the CMU
Pronouncing Dictionary (`pronouncing`), with a spelling-based syllable estimate for unknown words.

Pure Python and fast after the dictionary's first load (about 2 s, once per process).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from functools import lru_cache

import pronouncing

SECTION_RE = re.compile(r"^\s*\[([^\]\n]{1,40})\]\s*$")
_SECTION_NUMBER_RE = re.compile(r"[\s#-]*\b(\d+|[ivx]+|one|two|three|four|five|six)\s*$", re.IGNORECASE)
# A later verse's line may differ from the same line of the first verse by this many syllables before
# the gutter flags it (what issue 14 asks of the writer too).
PARTNER_TOLERANCE = 2
WORD_RE = re.compile(r"[A-Za-z][A-Za-z']*")
_VOWEL_GROUP_RE = re.compile(r"[aeiouy]+")


def words_of(line: str) -> list[str]:
    return [w.lower().strip("'") for w in WORD_RE.findall(line) if w.strip("'")]


@lru_cache(maxsize=65536)
def phones(word: str) -> str | None:
    """The first CMU pronunciation of `word` (lower case), or None when the dictionary lacks it."""
    found = pronouncing.phones_for_word(word.lower())
    return found[0] if found else None


def estimate_syllables(word: str) -> int:
    """Spelling-based guess for words the dictionary lacks (names, slang, coinages)."""
    word = word.lower()
    count = len(_VOWEL_GROUP_RE.findall(word))
    if word.endswith("e") and not word.endswith(("le", "ee", "ye")) and count > 1:
        count -= 1  # silent final e: "stone", "brave"
    return max(1, count)


def syllables(word: str) -> int:
    pronunciation = phones(word)
    return pronouncing.syllable_count(pronunciation) if pronunciation else estimate_syllables(word)


def line_syllables(line: str) -> int:
    return sum(syllables(w) for w in words_of(line))


# One-syllable function words the dictionary marks stressed but which a line almost never
# stresses ("I WAIT for the MORNing"), as scansion reads them.
FUNCTION_WORDS = frozenset(
    (
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "nor",
        "so",
        "yet",
        "for",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "from",
        "with",
        "as",
        "than",
        "that",
        "if",
        "is",
        "am",
        "are",
        "was",
        "were",
        "be",
        "been",
        "i",
        "you",
        "he",
        "she",
        "it",
        "we",
        "they",
        "me",
        "him",
        "her",
        "us",
        "them",
        "my",
        "your",
        "his",
        "its",
        "our",
        "their",
        "this",
        "these",
        "those",
        "do",
        "does",
        "did",
        "has",
        "have",
        "had",
        "can",
        "could",
        "will",
        "would",
        "shall",
        "should",
        "may",
        "might",
        "must",
        "not",
        "no",
    )
)


def word_stress(word: str) -> str:
    """'1' stressed, '0' unstressed per syllable; secondary stress counts as stressed.

    Unknown words get a guess: stress on the first syllable, the most common English pattern.
    """
    if word in FUNCTION_WORDS:
        return "0"
    pronunciation = phones(word)
    if pronunciation:
        return pronouncing.stresses(pronunciation).replace("2", "1")
    count = estimate_syllables(word)
    return "1" + "0" * (count - 1)


def line_stress(line: str) -> list[tuple[str, str]]:
    """(word, stress digits) for each word of the line."""
    return [(w, word_stress(w)) for w in words_of(line)]


def stress_pattern(line: str) -> str:
    """The line as scansion marks: '/' stressed, 'u' unstressed, words separated by spaces."""
    return " ".join(s.replace("1", "/").replace("0", "u") for _w, s in line_stress(line))


def rhyme_key(word: str) -> str | None:
    """The sound from the last stressed vowel on ('window' -> 'IH N D OW'); None if unknown."""
    pronunciation = phones(word)
    if not pronunciation:
        return None
    part = pronouncing.rhyming_part(pronunciation)
    return re.sub(r"\d", "", part)


_CONSONANT_CLASS = {
    **dict.fromkeys(("P", "B", "T", "D", "K", "G"), "stop"),
    **dict.fromkeys(("M", "N", "NG"), "nasal"),
    **dict.fromkeys(("F", "V", "TH", "DH", "S", "Z", "SH", "ZH", "HH"), "fric"),
    **dict.fromkeys(("CH", "JH"), "affr"),
    **dict.fromkeys(("L", "R"), "liquid"),
    **dict.fromkeys(("W", "Y"), "glide"),
}
_VOWELS = {"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"}


def near_key(key: str) -> str:
    """A looser key for slant rhymes: the vowels of the rhyming part and the class of its last
    consonant ('time' and 'mine' both give 'AY|nasal'); consonants in between are ignored, as
    singers do."""
    parts = key.split()
    vowels = [p for p in parts if p in _VOWELS]
    tail = _CONSONANT_CLASS.get(parts[-1], "") if parts and parts[-1] not in _VOWELS else ""
    return " ".join(vowels) + "|" + tail


# Consonant clusters that can begin an English syllable. A cluster between two vowels is split so
# the second syllable takes the longest of these it can ("ek-stra": K | S T R), the usual
# maximal-onset rule; what is left closes the first syllable (its coda).
_ONSET_CLUSTERS = (
    "P R, P L, P Y, B R, B L, B Y, T R, T W, D R, D W, K R, K L, K W, K Y, G R, G L, G W, F R, F L, F Y, TH R, "
    "SH R, V Y, M Y, HH Y, N Y, S P, S T, S K, S M, S N, S L, S W, S F, S P R, S P L, S T R, S K R, S K W, S K Y"
)
_ONSETS = frozenset(
    [(c,) for c in _CONSONANT_CLASS if c != "NG"] + [tuple(c.split()) for c in _ONSET_CLUSTERS.split(",")]
)
# Unstressed vowels that singers and listeners hear as the same short, central sound ("a-gain", "e-qua-tion").
_REDUCED = {"AH", "IH", "UH"}


@dataclass(frozen=True)
class Syllable:
    onset: tuple[str, ...]
    vowel: str  # ARPAbet vowel without its stress digit
    stressed: bool  # primary or secondary stress
    coda: tuple[str, ...]

    def rhyme_part(self) -> str:
        return _rhyme_part(self.vowel, self.stressed, self.coda)


@lru_cache(maxsize=4096)
def _coda_length(cluster: tuple[str, ...]) -> int:
    """How many consonants of a cluster between two vowels close the first syllable."""
    return next(k for k in range(len(cluster) + 1) if cluster[k:] in _ONSETS or k == len(cluster))


def syllabify(pronunciation: str) -> list[Syllable]:
    """A CMU pronunciation split into syllables by the maximal-onset rule."""
    phonemes = tuple(pronunciation.split("#")[0].split())
    nuclei = [i for i, p in enumerate(phonemes) if p[-1].isdigit()]
    result: list[Syllable] = []
    onset_start = 0
    for index, nucleus in enumerate(nuclei):
        if index + 1 < len(nuclei):
            split = nucleus + 1 + _coda_length(phonemes[nucleus + 1 : nuclei[index + 1]])
        else:
            split = len(phonemes)
        vowel = phonemes[nucleus]
        result.append(
            Syllable(phonemes[onset_start:nucleus], vowel[:-1], vowel[-1] != "0", phonemes[nucleus + 1 : split])
        )
        onset_start = split
    return result


def multi_key(pronunciation: str, count: int = 2) -> str | None:
    """The last `count` syllables' vowels, stress and codas (onsets left out): two words with the same
    key rhyme over that many syllables ('yellow' and 'echo', 'celebration' and 'equation' for 3).
    None when the word has fewer syllables."""
    phonemes = pronunciation.split("#")[0].split()  # a few entries carry a comment: "... R G # place, danish"
    # Only the word's end matters: walk back to the count-th vowel from the end (the rhyme index
    # keys every word of the dictionary, so this runs 130,000 times).
    nuclei: list[int] = []
    for index in range(len(phonemes) - 1, -1, -1):
        if phonemes[index][-1].isdigit():
            nuclei.append(index)
            if len(nuclei) == count:
                break
    if len(nuclei) < count:
        return None
    nuclei.reverse()
    parts = []
    for place, nucleus in enumerate(nuclei):
        if place + 1 < count:
            cluster = tuple(phonemes[nucleus + 1 : nuclei[place + 1]])
            coda = cluster[: _coda_length(cluster)]
        else:
            coda = tuple(phonemes[nucleus + 1 :])
        vowel = phonemes[nucleus]
        parts.append(_rhyme_part(vowel[:-1], vowel[-1] != "0", coda))
    return " ".join(parts)


def _rhyme_part(vowel: str, stressed: bool, coda: tuple[str, ...]) -> str:
    """Vowel, stress and coda, what a multi-syllable rhyme matches (reduced vowels as one sound)."""
    return f"{'@' if not stressed and vowel in _REDUCED else vowel}{'1' if stressed else '0'}{''.join(coda)}"


def is_section(line: str) -> str | None:
    """The section name of a marker line ('[Chorus]' -> 'Chorus'), else None."""
    match = SECTION_RE.match(line)
    return match.group(1).strip() if match else None


@dataclass(frozen=True)
class LineInfo:
    syllables: int  # 0 for blank and section lines
    rhyme: str  # scheme letter ('A', 'B', ...) or '' for blank/section lines
    section: str | None  # the section name when the line is a marker
    partner: int | None = None  # the line it should scan like (line N of Verse 1 for line N of Verse 2)
    partner_syllables: int = 0

    @property
    def off_meter(self) -> bool:
        """More than PARTNER_TOLERANCE syllables away from its partner line."""
        return self.partner is not None and abs(self.syllables - self.partner_syllables) > PARTNER_TOLERANCE


def analyse(text: str) -> list[LineInfo]:
    """Per line: syllable count, rhyme letter and partner line. Letters restart at each section or
    blank line (a stanza), and a line whose last word rhymes (perfectly or nearly) with an earlier
    line of the stanza gets that line's letter. Partners: see partner_lines."""
    infos: list[LineInfo] = []
    seen: list[tuple[str | None, str | None, str]] = []  # (perfect key, near key, letter)
    for line in text.split("\n"):
        section = is_section(line)
        if section is not None or not line.strip():
            seen = []
            infos.append(LineInfo(0, "", section))
            continue
        words = words_of(line)
        if not words:
            infos.append(LineInfo(0, "", None))
            continue
        key = rhyme_key(words[-1])
        near = near_key(key) if key else None
        fallback = words[-1][-3:]  # unknown word: same spelling ending counts as a rhyme
        letter = ""
        for perfect, loose, known_letter in seen:
            if (key and (key == perfect or near == loose)) or (not key and perfect == fallback):
                letter = known_letter
                break
        if not letter:
            letter = _letter(len({entry[2] for entry in seen}))
            seen.append((key or fallback, near, letter))
        infos.append(LineInfo(line_syllables(line), letter, None))
    for number, partner in partner_lines(text).items():
        infos[number] = dataclasses.replace(infos[number], partner=partner, partner_syllables=infos[partner].syllables)
    return infos


def section_kind(name: str) -> str:
    """What a section is, without its number: 'Verse 2', 'verse II' and 'Verse' are all 'verse'."""
    return _SECTION_NUMBER_RE.sub("", name).strip().lower()


def partner_lines(text: str) -> dict[int, int]:
    """Line number -> the line it should scan like: line N of a later section of a kind (Verse 2)
    partners line N of the first section of that kind (Verse 1), counting lines with words only. A
    text without section markers is compared stanza by stanza (blank lines between) with its first."""
    lines = text.split("\n")
    marked = any(is_section(line) is not None for line in lines)
    groups: list[tuple[str, list[int]]] = [("", [])]  # (kind, numbers of the lines with words)
    for number, line in enumerate(lines):
        name = is_section(line)
        if name is not None:
            groups.append((section_kind(name), []))
        elif not line.strip():
            if not marked and groups[-1][1]:
                groups.append(("", []))
        elif words_of(line):
            groups[-1][1].append(number)
    first: dict[str, list[int]] = {}
    partners: dict[int, int] = {}
    for kind, numbers in groups:
        if not numbers:
            continue
        if kind not in first:
            first[kind] = numbers
            continue
        partners.update(zip(numbers, first[kind], strict=False))
    return partners


def _letter(index: int) -> str:
    return chr(ord("A") + index) if index < 26 else f"Z{index - 25}"


@dataclass(frozen=True)
class Counts:
    words: int
    lines: int  # non-blank lines that are not section markers
    sections: int


def counts(text: str) -> Counts:
    lines = [line for line in text.split("\n") if line.strip()]
    sections = sum(1 for line in lines if is_section(line) is not None)
    words = sum(len(line.split()) for line in lines if is_section(line) is None)
    return Counts(words=words, lines=len(lines) - sections, sections=sections)


def section_spans(text: str) -> list[tuple[str, int, int]]:
    """(name, first line, last line) for each section: from its marker to the line before the next."""
    lines = text.split("\n")
    starts = [(i, name) for i, line in enumerate(lines) if (name := is_section(line)) is not None]
    spans = []
    for index, (start, name) in enumerate(starts):
        end = starts[index + 1][0] - 1 if index + 1 < len(starts) else len(lines) - 1
        while end > start and not lines[end].strip():
            end -= 1
        spans.append((name, start, end))
    return spans


def load_dictionary() -> None:
    """Load the CMU dictionary now (about 2 s) rather than at the first look-up: text without a
    dictionary word (empty, or only section markers) would otherwise never load it."""
    pronouncing.init_cmu()


def dictionary_ready() -> bool:
    """Whether the CMU dictionary is loaded (after that, analysis is a few look-ups per line)."""
    return pronouncing.pronunciations is not None
