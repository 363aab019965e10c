"""Syllables and stresses of lyric lines, as sung: one entry per syllable with its text and stress.

Used by the melody generator: one note per syllable, stressed syllables on strong beats, and each
syllable's letters shown under its note ("re-lent-less", cut by hyphenation patterns and the CMU
pronunciation). Words the dictionary lacks get an estimate from their vowel groups and English's
habit of stressing the first syllable.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pronouncing

from atelier.core import prosody

# Stress levels as the CMU dictionary writes them, reordered so larger means stronger.
UNSTRESSED, SECONDARY, PRIMARY = 0, 1, 2
_CMU_STRESS = {"0": UNSTRESSED, "1": PRIMARY, "2": SECONDARY}

# One-syllable words that are sung unstressed (articles, pronouns, prepositions, auxiliaries).
FUNCTION_WORDS = frozenset(
    (  # noqa: SIM905 (a word list reads better as text)
        "a an the and or but nor so yet of to in on at by for from with as than that this these those "
        "i me my you your he him his she her it its we us our they them their is am are was were be been "
        "do does did have has had will would shall should can could may might must not no if then when "
        "up out oh ah 's 're 've 'll 'd"
    ).split()
)
_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)*")
_VOWEL_GROUP = re.compile(r"[aeiouy]+", re.IGNORECASE)
_LABEL = re.compile(
    r"^\s*[\[(]?\s*(verse|chorus|pre-?chorus|bridge|intro|outro|refrain|hook|interlude)\b[^\])]*[\])]?\s*:?\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Syllable:
    text: str  # the letters of this syllable, e.g. "mel" in "melody"
    stress: int  # UNSTRESSED, SECONDARY or PRIMARY
    word: str
    first_of_word: bool


@dataclass(frozen=True)
class LyricLine:
    text: str
    syllables: tuple[Syllable, ...]

    @property
    def stress_pattern(self) -> str:
        return "".join(str(s.stress) for s in self.syllables)

    @property
    def key(self) -> str:
        """The line's words, lower-case, for spotting repeated lines."""
        return " ".join(w.lower() for w in _WORD.findall(self.text))


@dataclass(frozen=True)
class Section:
    label: str  # "verse", "chorus", ... ("" when the lyric does not say)
    lines: tuple[LyricLine, ...]

    @property
    def key(self) -> str:
        return "\n".join(line.key for line in self.lines)


@lru_cache(maxsize=4096)
def word_stresses(word: str) -> tuple[int, ...]:
    """One stress level per syllable of `word`."""
    lower = word.lower()
    # The Lyric panel's prosody module does the dictionary look-up and the estimate for unknown
    # words, so the melody has exactly as many notes as the panel counts syllables.
    pronunciation = prosody.phones(lower)
    if pronunciation:
        stresses = tuple(_CMU_STRESS[c] for c in pronouncing.stresses(pronunciation))
    else:
        count = prosody.estimate_syllables(lower)
        stresses = (PRIMARY,) + (UNSTRESSED,) * (count - 1)
    if len(stresses) == 1:
        return (UNSTRESSED,) if lower in FUNCTION_WORDS else (PRIMARY,)
    return stresses or (PRIMARY,)


# How each CMU phoneme is spelled (the common ways; anything else costs more in the alignment).
_SPELLINGS: dict[str, tuple[str, ...]] = {
    "AA": ("a", "o", "ah", "al", "au", "aw", "ea"),
    "AE": ("a", "ai", "au"),
    "AH": ("u", "o", "a", "e", "i", "ou", "oo", "oe", "y", "io", "ai", "ia"),
    "AO": ("o", "au", "aw", "a", "ou", "oa", "augh", "ough", "al", "oo"),
    "AW": ("ou", "ow", "ough", "au"),
    "AY": ("i", "y", "ie", "igh", "ai", "ei", "ye", "uy", "eye", "ey", "is"),
    "EH": ("e", "ea", "a", "ai", "ie", "ue", "ay", "ei", "eo"),
    "ER": ("er", "ir", "ur", "or", "ear", "our", "ar", "yr", "r", "re", "err", "urr", "irr", "ere", "eur"),
    "EY": ("a", "ai", "ay", "ei", "ey", "ea", "eigh", "aigh", "e", "et", "ae"),
    "IH": ("i", "y", "e", "ee", "ui", "ie", "a", "u", "o", "ea", "ei"),
    "IY": ("e", "ee", "ea", "ie", "ei", "y", "i", "ey", "eo", "ae", "oe", "ay", "is"),
    "OW": ("o", "oa", "ow", "oe", "ou", "ough", "eau", "ew", "au", "oh"),
    "OY": ("oi", "oy", "uoy"),
    "UH": ("oo", "u", "ou", "o", "oul"),
    "UW": ("oo", "u", "ew", "ue", "ou", "o", "ui", "eu", "oe", "ough", "wo", "ieu"),
    "B": ("b", "bb"),
    "CH": ("ch", "tch", "t", "c", "cc", "ti"),
    "D": ("d", "dd", "ed"),
    "DH": ("th", "the"),
    "F": ("f", "ff", "ph", "gh"),
    "G": ("g", "gg", "gu", "gh", "x"),
    "HH": ("h", "wh"),
    "JH": ("j", "g", "dg", "gg", "d", "di", "ge"),
    "K": ("k", "c", "ck", "ch", "q", "cc", "qu", "x", "kk", "que"),
    "L": ("l", "ll", "le"),
    "M": ("m", "mm", "mb", "mn"),
    "N": ("n", "nn", "kn", "gn", "pn", "ne"),
    "NG": ("ng", "n"),
    "P": ("p", "pp"),
    "R": ("r", "rr", "wr", "rh"),
    "S": ("s", "ss", "c", "sc", "ce", "se", "x", "z", "st", "ps"),
    "SH": ("sh", "ti", "ci", "s", "ss", "ch", "si", "sci", "ce", "ssi"),
    "T": ("t", "tt", "ed", "th", "pt", "bt", "te"),
    "TH": ("th",),
    "V": ("v", "f", "vv", "ve"),
    "W": ("w", "u", "wh", "o"),
    "Y": ("y", "i", "j", "u", "e"),
    "Z": ("z", "s", "zz", "ss", "x", "es", "se", "ze"),
    "ZH": ("s", "si", "g", "z", "ge", "ti"),
}
_LONGEST_SPELLING = max(len(g) for spellings in _SPELLINGS.values() for g in spellings)
_VOWEL_LETTERS = frozenset("aeiouy")
# Clusters that can begin an English syllable (any single consonant but NG can).
_ONSETS = frozenset(
    tuple(cluster.split())
    for cluster in (  # noqa: SIM905 (reads better as text)
        "P R|P L|B R|B L|T R|D R|K R|K L|G R|G L|F R|F L|TH R|SH R|S P|S T|S K|S M|S N|S L|S W|S F|"
        "S P R|S T R|S K R|S P L|S K W|T W|D W|K W|G W|TH W|S Y|P Y|B Y|K Y|F Y|M Y|HH Y|V Y|N Y|L Y|"
        "HH W|SH W|S K Y"
    ).split("|")
)
# Short ("lax") vowels: a stressed one keeps the next consonant ("mel-o-dy", "riv-er", "cit-y").
_LAX_VOWELS = frozenset({"IH", "EH", "AE", "AH", "UH"})


def _silent_cost(word: str, index: int) -> float:
    letter = word[index]
    if letter in "'-":
        return 0.0
    if letter == "e":
        return 0.3 if index == len(word) - 1 else 0.6
    if letter in "hw":
        return 0.6
    if letter in "ubkgtlnps":
        return 1.0
    return 1.2 if letter in _VOWEL_LETTERS else 1.5


def _spelling_cost(phoneme: str, letters: str) -> float:
    if letters in _SPELLINGS.get(phoneme, ()):
        return 0.0
    if len(letters) > 1:
        return math.inf
    vowel_sound = phoneme in _LAX_VOWELS or phoneme in {"AA", "AO", "AW", "AY", "ER", "EY", "IY", "OW", "OY", "UW"}
    return 1.0 if (letters in _VOWEL_LETTERS) == vowel_sound else 2.5


def _unspelled_cost(phoneme: str, following: str) -> float:
    """A phoneme with no letters of its own: the u of "cute" says Y UW, the e of "little" is after its l."""
    if phoneme == "Y":
        return 0.4
    if phoneme in ("AH", "IH", "ER") and following in ("L", "M", "N", "R"):
        return 0.6
    if phoneme in ("S", "Z", "W"):
        return 0.8
    return 1.5


def align_letters(word: str, phonemes: list[str]) -> list[tuple[int, int]] | None:
    """The letters (start, end) spelling each phoneme of `word`, by the cheapest alignment."""
    letters, count = len(word), len(phonemes)
    best = [[math.inf] * (count + 1) for _ in range(letters + 1)]
    back: list[list[tuple[int, int, int] | None]] = [[None] * (count + 1) for _ in range(letters + 1)]
    best[0][0] = 0.0
    for i in range(letters + 1):
        for j in range(count + 1):
            here = best[i][j]
            if here == math.inf:
                continue
            if i < letters and here + _silent_cost(word, i) < best[i + 1][j]:
                best[i + 1][j], back[i + 1][j] = here + _silent_cost(word, i), (i, j, 0)
            if j == count:
                continue
            phoneme = phonemes[j]
            following = phonemes[j + 1] if j + 1 < count else ""
            cost = here + _unspelled_cost(phoneme, following)
            if cost < best[i][j + 1]:
                best[i][j + 1], back[i][j + 1] = cost, (i, j, 1)
            for k in range(1, min(_LONGEST_SPELLING, letters - i) + 1):
                cost = here + _spelling_cost(phoneme, word[i : i + k])
                if cost < best[i + k][j + 1]:
                    best[i + k][j + 1], back[i + k][j + 1] = cost, (i, j, 1)
    if best[letters][count] == math.inf:
        return None
    spans: list[tuple[int, int]] = []
    i, j = letters, count
    while i or j:
        step = back[i][j]
        assert step is not None
        start, previous, took = step
        if took:
            spans.append((start, i))
        i, j = start, previous
    spans.reverse()
    return spans


def syllable_starts(
    phonemes: list[str], keep_after_short: bool = True, unspelled: frozenset[int] = frozenset()
) -> list[int]:
    """Index of the first phoneme of each syllable after the first: the longest onset English allows,
    except that (with `keep_after_short`) a stressed short vowel with nothing after it takes one consonant.
    A vowel with no letters of its own (`unspelled`, the e-less "l" of "cy-cl-ing") keeps the consonants
    after it, which spell its syllable."""
    vowels = [i for i, p in enumerate(phonemes) if p[-1].isdigit()]
    starts = []
    for left, right in itertools.pairwise(vowels):
        consonants = phonemes[left + 1 : right]
        split = len(consonants)
        for k in range(len(consonants)):
            onset = tuple(p.rstrip("012") for p in consonants[k:])
            if (len(onset) == 1 and onset[0] != "NG") or onset in _ONSETS:
                split = k
                break
        vowel = phonemes[left]
        if left in unspelled:
            split = len(consonants)
        elif keep_after_short and split == 0 and consonants and vowel[:-1] in _LAX_VOWELS and vowel[-1] == "1":
            split = 1 if right not in unspelled else 0
        starts.append(left + 1 + split)
    return starts


def _cuts_by_sound(word: str, count: int) -> list[int] | None:
    """Where to cut `word` so that each piece holds the letters of one sung syllable (CMU dictionary)."""
    pronunciation = prosody.phones(word)
    if not pronunciation:
        return None
    phonemes = pronunciation.split()
    spans = align_letters(word, [p.rstrip("012") for p in phonemes])
    if spans is None:
        return None
    unspelled = frozenset(i for i, (start, end) in enumerate(spans) if start == end and phonemes[i][-1].isdigit())
    # A short vowel keeps its consonant unless that leaves the next piece without a vowel letter; a
    # syllable spelled without one ("prism", "hour") gets its consonants: "pri-sm", "hou-r".
    for keep_after_short, need_vowels in ((True, True), (False, True), (False, False)):
        starts = syllable_starts(phonemes, keep_after_short, unspelled)
        if len(starts) != count - 1:
            return None
        cuts = [_cut_before(word, spans, start) for start in starts]
        if None in cuts:
            continue
        found = [c for c in cuts if c is not None]
        pieces = _pieces(word, found)
        if pieces is not None and (not need_vowels or all(_has_vowel(p) or _syllabic(p) for p in pieces)):
            return found
    return None


def _syllabic(piece: str) -> bool:
    """A piece sung on a consonant ("gl" of "strug-gl-ing", "bl" of "gam-bl-ing")."""
    return len(piece) >= 2 and piece.lower()[-1] in "lmnr"


def _cut_before(word: str, spans: list[tuple[int, int]], start: int) -> int | None:
    """The letter where the syllable beginning with phoneme `start` begins (silent letters before it
    stay with the syllable before); a doubled consonant is split between the two: "hum-ming"."""
    spelled = [spans[p] for p in range(start, len(spans)) if spans[p][1] > spans[p][0]]
    if not spelled:
        return None
    first, end = spelled[0]
    if end - first >= 2 and word[first] == word[first + 1] and word[first] not in _VOWEL_LETTERS:
        return first + 1
    before = [spans[p] for p in range(start) if spans[p][1] > spans[p][0]]
    if before:
        last_start, last_end = before[-1]
        doubled = last_end - last_start >= 2 and word[last_end - 1] == word[last_end - 2]
        if doubled and last_end == first and word[first - 1] not in _VOWEL_LETTERS:
            return first - 1
    return first


def _has_vowel(text: str) -> bool:
    return any(letter in _VOWEL_LETTERS for letter in text.lower())


@lru_cache(maxsize=1)
def _hyphenator() -> Any:
    """LibreOffice's en_US hyphenation patterns (BSD-style licence) through pyphen, or None without pyphen."""
    try:
        import pyphen
    except ImportError:
        return None
    return pyphen.Pyphen(lang="en_US")


def _cuts_by_hyphenation(word: str) -> list[int]:
    """Where a dictionary hyphenates `word` for print."""
    hyphenator = _hyphenator()
    return list(hyphenator.positions(word)) if hyphenator is not None else []


def _cuts_by_vowel_groups(word: str, count: int) -> list[int]:
    groups = [m.span() for m in _VOWEL_GROUP.finditer(word)]
    if len(groups) >= count:
        # Cut in the consonants between vowel groups; one consonant goes with the next syllable.
        cuts = []
        for (_, end), (start, _) in itertools.pairwise(groups[:count]):
            gap = start - end
            cuts.append(end + (gap // 2 if gap > 1 else 0) if gap != 1 else end)
        return cuts
    size = len(word) / count
    return [round(size * (i + 1)) for i in range(count - 1)]


def _pieces(word: str, cuts: list[int]) -> list[str] | None:
    bounds = [0, *cuts, len(word)]
    if any(b <= a for a, b in itertools.pairwise(bounds)):
        return None
    return [word[a:b] for a, b in itertools.pairwise(bounds)]


@lru_cache(maxsize=8192)
def split_word(word: str, count: int) -> list[str]:
    """Cut a word into `count` pieces as it is sung, for showing under the notes: "re-lent-less", "qui-et".

    A dictionary's hyphenation (pyphen) knows where English spelling breaks words ("walk-ing", not
    "wal-king"), but it hyphenates for print: it leaves short words whole ("melody", "quiet") and can
    disagree with the sung syllable count. So it is used when it gives exactly `count` pieces; otherwise
    the CMU pronunciation is aligned to the letters and cut at its syllable boundaries, and words the
    dictionary lacks are cut between vowel groups.
    """
    if count <= 1:
        return [word]
    lower = word.lower()
    for cuts in (_cuts_by_hyphenation(lower), _cuts_by_sound(lower, count), _cuts_by_vowel_groups(lower, count)):
        if cuts is not None and len(cuts) == count - 1:
            pieces = _pieces(word, cuts)
            if pieces is not None:
                return pieces
    return [word] + [""] * (count - 1)


def line_syllables(text: str) -> tuple[Syllable, ...]:
    syllables: list[Syllable] = []
    for word in _WORD.findall(text):
        stresses = word_stresses(word)
        pieces = split_word(word, len(stresses))
        while len(pieces) < len(stresses):
            pieces.append("")
        for index, (piece, stress) in enumerate(zip(pieces, stresses, strict=False)):
            syllables.append(Syllable(piece, stress, word, index == 0))
    return tuple(syllables)


def section_label(line: str) -> str | None:
    """'[Chorus]', 'Chorus:', 'Verse 2' -> 'chorus' / 'verse'; None for a sung line.

    Any bracketed marker the Lyric panel treats as a section ('[Hook 2]') is one here too.
    """
    match = _LABEL.match(line)
    if match:
        return match.group(1).lower().replace("-", "")
    marker = prosody.is_section(line)
    if marker is None:
        return None
    words = marker.lower().split()
    return words[0] if words else None


def parse_lyric(text: str) -> tuple[Section, ...]:
    """Sections separated by blank lines or labels; lines without words are skipped."""
    sections: list[Section] = []
    label = ""
    lines: list[LyricLine] = []

    def close() -> None:
        nonlocal lines, label
        if lines:
            sections.append(Section(label, tuple(lines)))
        lines = []
        label = ""

    for raw in text.splitlines():
        found = section_label(raw)
        if found is not None:
            close()
            label = found
            continue
        if not raw.strip():
            if lines:
                close()
            continue
        syllables = line_syllables(raw)
        if syllables:
            lines.append(LyricLine(raw.strip(), syllables))
    close()
    return tuple(sections)
