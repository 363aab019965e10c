"""Build resources/thesaurus/synonyms.json.gz, the Lyric panel's offline thesaurus, from WordNet 3.0 as
Debian's `wordnet-base` package installs it (/usr/share/wordnet).

For each common English word (wordfreq Zipf >= MIN_HEAD_ZIPF, one word, lower case) it keeps the
word's senses in WordNet's order (most frequent first, at most MAX_SENSES), each with its part of
speech, a short gloss and its synonyms: the other lower-case lemmas of the synset and, for adjectives,
of the synsets WordNet marks as similar ("happy": "glad", "felicitous"); where that gives fewer than
FEW_SYNONYMS, the commonest kinds of it follow (WordNet's hyponyms: "walk": "stroll", "march").
Names (capitalised lemmas), rare words (Zipf < MIN_SYNONYM_ZIPF), phrases of more than three words
and slurs are left out, and each sense's synonyms are ordered most common first. The exception lists
(irregular forms: "ran" -> "run", "children" -> "child") are kept for the words listed, so the app
finds a word's senses from any of its forms.

The result is gzip-compressed JSON; each sense and each word's list of senses is packed into one
string ("n<TAB>gloss<TAB>syn|syn", "3,17"), which parses three times faster than nested lists (about
0.08 s instead of 0.23 s: the panel loads it on the GUI thread at the first look-up). Schema:
core/thesaurus.py; licence and provenance: resources/thesaurus/README.md.

    apt-get install wordnet-base
    python models/thesaurus/build_thesaurus.py          # writes the resource, prints its size
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "desktop"))

from atelier.core.rhymes import is_offensive  # noqa: E402 (the app's own slur filter)

OUTPUT = REPO / "resources" / "thesaurus" / "synonyms.json.gz"
WORDNET = Path("/usr/share/wordnet")
POS_NAMES = {"noun": "n", "verb": "v", "adj": "a", "adv": "r"}
MIN_HEAD_ZIPF = 2.5  # about once in three million words: "meadow", "wistful"
MIN_SYNONYM_ZIPF = 2.0
MAX_SENSES = 10
MAX_SYNONYMS = 14
FEW_SYNONYMS = 4  # below this many synonyms, a sense also lists the commonest kinds of it
MIN_KIND_ZIPF = 3.0
MAX_KINDS = 8
MAX_WORDS_IN_PHRASE = 3
MAX_GLOSS = 80
SCHEMA = 1


@dataclass
class Synset:
    pos: str  # n, v, a (adjectives and their satellites), r
    lemmas: list[str]  # as written in WordNet, "_" for spaces
    similar: list[str] = field(default_factory=list)  # keys of "similar to" adjective synsets
    kinds: list[str] = field(default_factory=list)  # keys of hyponyms (kinds of it: walk -> stroll)
    gloss: str = ""


def read_synsets() -> dict[str, Synset]:
    synsets: dict[str, Synset] = {}
    for name, pos in POS_NAMES.items():
        path = WORDNET / f"data.{name}"
        if not path.is_file():
            raise SystemExit(f"build_thesaurus: {path} is missing; apt-get install wordnet-base.")
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith(" "):
                continue  # the licence header
            data, _, gloss = line.partition(" | ")
            fields = data.split()
            offset, count = fields[0], int(fields[3], 16)
            lemmas = [re.sub(r"\(\w+\)$", "", fields[4 + 2 * i]) for i in range(count)]  # "galore(ip)"
            at = 4 + 2 * count
            pointers = int(fields[at])
            links = [(fields[at + 1 + 4 * i], fields[at + 2 + 4 * i]) for i in range(pointers)]
            similar = [f"a{o}" for symbol, o in links if symbol == "&" and pos == "a"]
            kinds = [f"{pos}{o}" for symbol, o in links if symbol == "~" and pos in "nv"]
            synsets[f"{pos}{offset}"] = Synset(pos, lemmas, similar, kinds, short_gloss(gloss))
    return synsets


def short_gloss(gloss: str) -> str:
    """The definition without its examples, cut at a word boundary."""
    text = gloss.split('; "')[0].split(";")[0].strip().strip('"').strip()
    if len(text) > MAX_GLOSS:
        text = text[: MAX_GLOSS - 1].rsplit(" ", 1)[0] + "…"
    return text


def read_index() -> dict[str, list[tuple[str, str]]]:
    """lemma -> [(pos, synset key)] in WordNet's sense order for each part of speech, parts of speech
    ordered by how many of the lemma's senses were tagged in the SemCor corpus (how common each use is)."""
    by_pos: dict[str, list[tuple[int, str, list[str]]]] = defaultdict(list)
    for name, pos in POS_NAMES.items():
        for line in (WORDNET / f"index.{name}").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith(" "):
                continue
            fields = line.split()
            lemma, synset_count, pointer_count = fields[0], int(fields[2]), int(fields[3])
            tagged = int(fields[5 + pointer_count])
            offsets = fields[6 + pointer_count : 6 + pointer_count + synset_count]
            by_pos[lemma].append((tagged, pos, [f"{pos}{o}" for o in offsets]))
    return {
        lemma: [(pos, key) for _t, pos, keys in sorted(entries, key=lambda e: -e[0]) for key in keys]
        for lemma, entries in by_pos.items()
    }


def read_exceptions() -> dict[str, list[tuple[str, str]]]:
    """Irregular form -> [(part of speech, base form)]."""
    found: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for name, pos in POS_NAMES.items():
        for line in (WORDNET / f"{name}.exc").read_text(encoding="utf-8", errors="replace").splitlines():
            form, *bases = line.split()
            found[form] += [(pos, base) for base in bases]
    return dict(found)


def usable(lemma: str, zipf: dict[str, float]) -> bool:
    if not lemma.islower() or not re.fullmatch(r"[a-z]+(?:[_-][a-z]+)*", lemma):
        return False  # names ("Earth"), abbreviations, numbers
    words = re.split(r"[_-]", lemma)
    if len(words) > MAX_WORDS_IN_PHRASE or is_offensive(lemma.replace("_", "")):
        return False
    if len(words) == 1:
        return zipf.get(lemma, 0.0) >= MIN_SYNONYM_ZIPF
    return all(zipf.get(w, 0.0) >= MIN_SYNONYM_ZIPF for w in words)


def fitting(lemmas: list[str], head: str, zipf: dict[str, float], taken: list[str], minimum: float) -> list[str]:
    """Usable lemmas not yet taken and not phrases built on the head word ("walk of life", "manner of
    walking"), commonest first."""
    found = {
        m.replace("_", " ")
        for m in lemmas
        if m != head
        and usable(m, zipf)
        and not any(part.startswith(head) for part in re.split(r"[_-]", m) if "_" in m or "-" in m)
        and phrase_zipf(m.replace("_", " "), zipf) >= minimum
    }
    return sorted(found - set(taken), key=lambda m: (-phrase_zipf(m, zipf), m))


def phrase_zipf(phrase: str, zipf: dict[str, float]) -> float:
    """How common a synonym is: a phrase is as common as its rarest word."""
    return min(zipf.get(w, 0.0) for w in re.split(r"[ -]", phrase))


def build() -> dict[str, object]:
    from wordfreq import zipf_frequency

    synsets = read_synsets()
    index = read_index()
    cache: dict[str, float] = {}

    def zipf_of(word: str) -> float:
        if word not in cache:
            cache[word] = zipf_frequency(word, "en")
        return cache[word]

    # Every single word that could be a headword or a synonym part, scored once.
    vocabulary = {w for lemma in index for w in re.split(r"[_-]", lemma)} | {
        w for s in synsets.values() for lemma in s.lemmas for w in re.split(r"[_-]", lemma.lower())
    }
    zipf = {w: zipf_of(w) for w in vocabulary if w.isalpha()}

    senses: list[str] = []
    sense_ids: dict[str, int] = {}
    words: dict[str, str] = {}
    base_pos: dict[str, set[str]] = {}  # the parts of speech each listed word has senses in
    for head in sorted(index):
        if not head.isalpha() or zipf.get(head, 0.0) < MIN_HEAD_ZIPF:
            continue
        chosen: list[int] = []
        for pos, key in index[head]:
            synset = synsets[key]
            if head not in synset.lemmas:
                continue  # the word is only capitalised in this sense ("Mark" the gospel)
            own = [lemma for lemma in synset.lemmas if lemma != head]
            similar = [lemma for other in synset.similar for lemma in synsets[other].lemmas]
            ranked: list[str] = []  # the synset's own words first, then the similar ones; each most common first
            for group in (own, similar):
                ranked += fitting(group, head, zipf, ranked, MIN_SYNONYM_ZIPF)
            if len(ranked) < FEW_SYNONYMS:
                # Few true synonyms ("walk": none): add the commonest kinds of it ("stroll", "march").
                # Only a lemma whose commonest sense is that kind: "march" and "stroll" for walk, not
                # "toe" or "foot" (walking is a rare sense of theirs).
                kinds = [
                    lemma
                    for other in synset.kinds
                    for lemma in synsets[other].lemmas
                    if next((k for p, k in index.get(lemma.lower(), []) if p == pos), "") == other
                ]
                ranked += fitting(kinds, head, zipf, ranked, MIN_KIND_ZIPF)[:MAX_KINDS]
            ranked = ranked[:MAX_SYNONYMS]
            if not ranked:
                continue
            entry = f"{pos}\t{synset.gloss}\t{'|'.join(ranked)}"
            if entry not in sense_ids:
                sense_ids[entry] = len(senses)
                senses.append(entry)
            if sense_ids[entry] not in chosen:
                chosen.append(sense_ids[entry])
            if len(chosen) == MAX_SENSES:
                break
        if chosen:
            words[head] = ",".join(map(str, chosen))
            base_pos[head] = {senses[i][0] for i in chosen}
    # "ran" -> "v:run"; only forms of words listed, and only where the base has senses of that part of speech.
    exceptions = {}
    for form, bases in read_exceptions().items():
        kept = [f"{pos}:{base}" for pos, base in bases if base in words and pos in base_pos.get(base, ())]
        if form.isalpha() and kept:
            exceptions[form] = ",".join(kept)
    return {"schema": SCHEMA, "source": "WordNet 3.0", "senses": senses, "words": words, "exceptions": exceptions}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    data = build()
    raw = json.dumps(data, separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode("utf-8")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # mtime=0: the same input gives the same bytes, so a rebuild shows no change in git.
    args.out.write_bytes(gzip.compress(raw, compresslevel=9, mtime=0))
    print(
        f"{len(data['words'])} words, {len(data['senses'])} senses, {len(data['exceptions'])} irregular forms; "  # type: ignore[arg-type]
        f"{len(raw) / 1e6:.1f} MB of JSON, {args.out.stat().st_size / 1e6:.2f} MB compressed -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
