"""Synonyms by sense for the word under the cursor, from the WordNet 3.0 thesaurus in
resources/thesaurus/ (made by models/thesaurus/build_thesaurus.py). Any form of a word finds its
senses ("walked" -> walk, "children" -> child) and synonyms come back in that form ("strolled").

Inflecting uses the CMU Pronouncing Dictionary (stress decides "preferred" vs "visited", and a
spelling it lacks falls back to the dictionary form): call it once `prosody.dictionary_ready()`.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from atelier.core.color.data import resources_dir
from atelier.core.prosody import phones, syllables

SCHEMA = 1
POS_LABELS = {"n": "noun", "v": "verb", "a": "adjective", "r": "adverb"}
# WordNet's own detachment rules (its "morphy"): ending -> replacement, and the form that ending makes.
_RULES = {
    "n": (("s", "", "s"), ("ses", "s", "s"), ("xes", "x", "s"), ("zes", "z", "s"), ("ches", "ch", "s"),
          ("shes", "sh", "s"), ("men", "man", "s"), ("ies", "y", "s")),
    "v": (("s", "", "s"), ("ies", "y", "s"), ("es", "e", "s"), ("es", "", "s"), ("ed", "e", "ed"),
          ("ed", "", "ed"), ("ing", "e", "ing"), ("ing", "", "ing")),
    "a": (("er", "", "er"), ("est", "", "est"), ("er", "e", "er"), ("est", "e", "est")),
}  # fmt: skip
_VOWELS = "aeiou"


@dataclass(frozen=True)
class Sense:
    pos: str  # "noun", "verb", "adjective" or "adverb"
    gloss: str  # a short definition
    synonyms: tuple[str, ...]  # most common first, in the form of the word looked up
    base: str  # the dictionary form this is a sense of ("walk" for "walked")


class Thesaurus:
    """The loaded resource: senses are unpacked only when a word asks for them."""

    def __init__(self, data: dict[str, object]) -> None:
        if data.get("schema") != SCHEMA:
            raise ValueError(f"thesaurus schema {data.get('schema')!r}, expected {SCHEMA}")
        self._senses: list[str] = data["senses"]  # type: ignore[assignment]
        self._words: dict[str, str] = data["words"]  # type: ignore[assignment]
        self._exceptions: dict[str, str] = data["exceptions"]  # type: ignore[assignment]
        # Irregular forms by base and part of speech, to give a synonym the form of the word looked up.
        self._forms: dict[tuple[str, str], list[str]] = {}
        for form, bases in self._exceptions.items():
            for entry in bases.split(","):
                pos, base = entry.split(":", 1)
                self._forms.setdefault((pos, base), []).append(form)

    @classmethod
    def from_file(cls, path: Path) -> Thesaurus:
        return cls(json.loads(gzip.decompress(path.read_bytes())))

    def __contains__(self, word: str) -> bool:
        return bool(self.bases(word.lower()))

    def bases(self, word: str) -> list[tuple[str, str, str]]:
        """(dictionary form, part of speech or "" for any, form) for each way `word` can be read: itself
        ("" form), an irregular form ("ran": run, verb, "ed"), or a regular one ("walks": walk, "s")."""
        found: list[tuple[str, str, str]] = []
        if word in self._words:
            found.append((word, "", ""))
        for listed in self._exceptions[word].split(",") if word in self._exceptions else []:
            pos, base = listed.split(":", 1)
            found.append((base, pos, _irregular_form(word, pos)))
        for pos, rules in _RULES.items():
            for ending, replacement, form in rules:
                if word.endswith(ending) and len(word) > len(ending) + 1:
                    base = word[: len(word) - len(ending)] + replacement
                    if base != word and base in self._words and any(s[0] == pos for s in self._unpacked(base)):
                        found.append((base, pos, form))
        unique: list[tuple[str, str, str]] = []
        for entry in found:
            if not any(e[0] == entry[0] and e[1] in ("", entry[1]) for e in unique):
                unique.append(entry)
        return unique

    def _unpacked(self, base: str) -> list[tuple[str, str, list[str]]]:
        senses = []
        for number in self._words[base].split(",") if base in self._words else []:
            pos, gloss, synonyms = self._senses[int(number)].split("\t")
            senses.append((pos, gloss, synonyms.split("|")))
        return senses

    def senses(self, word: str, limit: int = 12) -> list[Sense]:
        """The senses of `word` in any of its readings, most frequent first, synonyms in its form (a
        synonym that cannot take that form is left out, and so is a sense left with none)."""
        word = word.lower().strip()
        result: list[Sense] = []
        for base, pos, form in self.bases(word):
            for sense_pos, gloss, synonyms in self._unpacked(base):
                if pos and sense_pos != pos:
                    continue
                inflected = [self.inflect(s, sense_pos, form) for s in synonyms]
                kept = tuple(dict.fromkeys(s for s in inflected if s))
                if kept:
                    result.append(Sense(POS_LABELS[sense_pos], gloss, kept, base))
        return result[:limit]

    def inflect(self, word: str, pos: str, form: str) -> str:
        """`word` (a dictionary form) in `form` ("s", "ed", "ing", "er", "est"; "" leaves it as it is), or
        "" when it has no such form this can be sure of. A phrase's head takes the form: a verb's first
        word ("took off"), a noun's last ("small fries"); an adjective phrase is not compared."""
        if not form:
            return word
        parts = word.split(" ")
        if pos == "a" and len(parts) > 1:
            return ""
        head = 0 if pos == "v" else len(parts) - 1
        parts[head] = self._inflect_word(parts[head], pos, form)
        return " ".join(parts) if parts[head] else ""

    def _inflect_word(self, word: str, pos: str, form: str) -> str:
        irregular = [f for f in self._forms.get((pos, word), []) if _irregular_form(f, pos) == form]
        if irregular:
            # "took", "went" rather than "taken", "gone": a participle mostly ends in n or ne.
            return sorted(irregular, key=lambda f: f.endswith(("n", "ne")))[0]
        regular = _regular_form(word, form)
        if pos == "a" and form in ("er", "est") and not (_takes_suffix(word) and phones(regular)):
            return f"{'more' if form == 'er' else 'most'} {word}"  # "more brilliant", as English compares
        return regular if phones(regular) else ""  # a spelling the dictionary lacks is not invented


def _irregular_form(form: str, pos: str) -> str:
    """What an irregular form is: plural nouns, past verbs (or "ing"), comparatives; "" when unknown."""
    if pos == "n":
        return "s"
    if pos == "v":
        return "ing" if form.endswith("ing") else "s" if form.endswith("s") and not form.endswith("ss") else "ed"
    if pos == "a":
        return "est" if form.endswith("st") else "er" if form.endswith("er") else ""
    return ""


def _takes_suffix(adjective: str) -> bool:
    """One syllable, or two ending in y ("happy"), compare with -er/-est; longer ones with more/most."""
    count = syllables(adjective)
    return count == 1 or (count == 2 and adjective.endswith("y"))


def _doubles(word: str) -> bool:
    """Whether the final consonant doubles before -ed/-ing/-er ("stop": stopped; "visit": visited):
    after one short vowel, when the last syllable is stressed."""
    if len(word) < 3 or word[-1] in _VOWELS + "wxy" or word[-2] not in _VOWELS or word[-3] in _VOWELS:
        return False
    pronunciation = phones(word)
    if not pronunciation:
        return False
    stresses = [p[-1] for p in pronunciation.split() if p[-1].isdigit()]
    return len(stresses) == 1 or stresses[-1] == "1"


def _regular_form(word: str, form: str) -> str:
    """The regular spelling of `word` + `form` ("stop" + "ing": stopping; "cry" + "s": cries)."""
    consonant_y = word.endswith("y") and len(word) > 2 and word[-2] not in _VOWELS
    if form == "s":
        if consonant_y:
            return word[:-1] + "ies"
        return word + ("es" if word.endswith(("s", "x", "z", "ch", "sh")) else "s")
    if form == "ing":
        if word.endswith("ie"):
            return word[:-2] + "ying"
        if word.endswith("e") and not word.endswith(("ee", "ye", "oe")):
            return word[:-1] + "ing"
        return word + word[-1] + "ing" if _doubles(word) else word + "ing"
    # -ed, -er, -est
    if consonant_y:
        return word[:-1] + "i" + form
    if word.endswith("e"):
        return word + form[1:]
    return word + word[-1] + form if _doubles(word) else word + form


def resource_path() -> Path:
    return resources_dir() / "thesaurus" / "synonyms.json.gz"


@lru_cache(maxsize=1)
def thesaurus() -> Thesaurus:
    """The shipped thesaurus, loaded once (about 0.1 s)."""
    return Thesaurus.from_file(resource_path())


def synonyms(word: str, limit: int = 12) -> list[Sense]:
    """Senses of `word` with their synonyms (empty when WordNet has none for it)."""
    return thesaurus().senses(word, limit)
