"""The offline thesaurus: WordNet senses for any form of a word, synonyms in that form, the shipped
resource's size, licence and schema. No Qt."""

from __future__ import annotations

import gzip
import json

import pytest

from atelier.core.prosody import load_dictionary
from atelier.core.thesaurus import SCHEMA, Thesaurus, resource_path, synonyms, thesaurus


@pytest.fixture(scope="module", autouse=True)
def dictionary() -> None:
    load_dictionary()  # inflecting checks spellings against the CMU dictionary


def words_of(word: str) -> set[str]:
    return {s for sense in synonyms(word) for s in sense.synonyms}


def test_the_resource_is_small_licensed_and_of_this_schema() -> None:
    path = resource_path()
    assert path.stat().st_size < 3_000_000
    readme = (path.parent / "README.md").read_text(encoding="utf-8")
    assert "WordNet 3.0 Copyright 2006 by Princeton University" in readme and "wordnet-base" in readme
    data = json.loads(gzip.decompress(path.read_bytes()))
    assert data["schema"] == SCHEMA and len(data["words"]) > 15_000
    with pytest.raises(ValueError, match="schema"):
        Thesaurus({**data, "schema": SCHEMA + 1})


def test_senses_are_grouped_with_a_gloss_and_common_synonyms_first() -> None:
    senses = synonyms("sad")
    assert senses[0].pos == "adjective" and "sorrow" in senses[0].gloss
    assert {"melancholy", "mournful", "wistful"} <= set(senses[0].synonyms)
    assert {"glad", "willing"} <= words_of("happy")
    assert "fortunate" in words_of("happy")
    cold = synonyms("cold")
    assert {"icy", "frosty", "wintry"} <= {s for sense in cold for s in sense.synonyms}
    assert all(sense.synonyms for sense in cold) and all(sense.base == "cold" for sense in cold)


def test_names_phrases_on_the_word_itself_and_the_word_are_left_out() -> None:
    walk = words_of("walk")
    assert "walk" not in walk and "walk of life" not in walk and "manner of walking" not in walk
    assert "stroll" in walk  # a kind of walk, offered since WordNet lists no true synonym
    assert not any(s[0].isupper() for s in words_of("earth"))  # "Earth", "Terra" are names


def test_any_form_finds_the_senses_and_synonyms_come_back_in_that_form() -> None:
    walked = synonyms("walked")
    assert walked and all(sense.base == "walk" and sense.pos == "verb" for sense in walked)
    assert "marched" in words_of("walked") and "paraded" in words_of("walked")
    assert {"sprinted", "escaped"} <= words_of("ran")  # an irregular form and regular synonyms
    assert "went" in words_of("ran") and "gone" not in words_of("ran")  # past tense, not participle
    assert {"kids", "youngsters"} <= words_of("children")
    happier = words_of("happier")
    assert {"gladder", "more fortunate"} <= happier  # short adjectives take -er, long ones "more"
    assert {"marching", "pacing"} <= words_of("walking")
    stopped = {s for sense in synonyms("stopped") if sense.base == "stop" for s in sense.synonyms}
    assert "halted" in stopped and "ceased" in stopped


def test_unknown_words_have_no_senses() -> None:
    assert synonyms("zzxqv") == [] and synonyms("") == []
    assert "zzxqv" not in thesaurus() and "walked" in thesaurus()
