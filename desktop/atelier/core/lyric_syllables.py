"""Syllables and stresses of lyric lines, as sung: one entry per syllable with its text and stress.

Used by the melody generator: one note per syllable, stressed syllables on strong beats.
Words the dictionary lacks get an estimate from their vowel groups and English's habit of
stressing the first syllable.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from functools import lru_cache

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


def split_word(word: str, count: int) -> list[str]:
    """Cut a word into `count` pieces at vowel-group boundaries (for showing under the notes)."""
    if count <= 1:
        return [word]
    groups = [m.span() for m in _VOWEL_GROUP.finditer(word)]
    if len(groups) >= count:
        # Cut in the consonants between vowel groups; one consonant goes with the next syllable.
        cuts = []
        for (_, end), (start, _) in itertools.pairwise(groups[:count]):
            gap = start - end
            cuts.append(end + (gap // 2 if gap > 1 else 0) if gap != 1 else end)
    else:
        size = len(word) / count
        cuts = [round(size * (i + 1)) for i in range(count - 1)]
    pieces, previous = [], 0
    for cut in [*cuts, len(word)]:
        cut = max(cut, previous + 1) if cut < len(word) else cut
        pieces.append(word[previous:cut])
        previous = cut
    return [p for p in pieces if p] if all(pieces) else [word] + [""] * (count - 1)


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
