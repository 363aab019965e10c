"""LyricDocument: settings as undoable commands, request building and recall, saved form and migration. No Qt."""

from __future__ import annotations

import dataclasses
import json

import pytest

from atelier.core.documents.lyric import (
    BUILT_IN_PACK,
    MAX_SUGGESTIONS,
    SCHEMA,
    LyricDocument,
    LyricSettings,
    Suggestion,
)
from atelier.core.errors import InvalidRequestError
from atelier.core.requests.lyrics import LyricRequest

# What LyricPanel.save_state wrote before documents (schema 1: no "schema" key).
V1_SECTION = {
    "text": "[Verse]\nRain on the window\n",
    "cursor": 12,
    "controls": {
        "mode": "poem",
        "prompt": "night drive",
        "sections": "Verse, Chorus",
        "lines_per_section": 6,
        "mood": "hopeful",
        "pov": "second person",
        "rhyme_scheme": "ABAB",
        "form": "haiku",
        "poem_lines": 12,
        "brainstorm_kind": "titles",
        "brainstorm_count": 9,
        "continue_lines": 2,
        "alternatives": 5,
        "temperature": 1.2,
        "top_p": 0.8,
        "top_k": 12,
        "repetition_penalty": 1.3,
        "max_tokens": 512,
        "seed": 1234,
        "pack": "tiny-llm",
    },
    "suggestion": "an old suggestion",
    "melody": {"key": "E"},
}


def test_a_setting_change_is_one_step_and_consecutive_edits_merge() -> None:
    document = LyricDocument()
    seen: list[LyricSettings] = []
    document.settings_changed.connect(seen.append)
    assert not document.undo_stack.can_undo
    for seed in (8, 9, 10):  # a spin box stepped three times
        document.set("seed", seed)
    document.set("prompt", "rain")
    assert document.settings.seed == 10 and document.settings.prompt == "rain"
    assert len(document.undo_stack) == 2 and document.undo_stack.undo_text == "Change Theme"
    assert document.undo_stack.undo() and document.settings.prompt == ""
    assert document.undo_stack.undo() and document.settings.seed == 7
    assert not document.undo_stack.can_undo
    assert document.undo_stack.redo() and document.settings.seed == 10
    assert seen[-1] is document.settings


def test_bad_values_are_ignored_never_raised() -> None:
    document = LyricDocument()
    document.set("seed", 99999999999)
    document.set("temperature", "hot")
    document.set("mode", "opera")
    document.set("top_k", True)
    document.set("temperature", float("nan"))
    assert document.settings == LyricSettings()
    assert not document.undo_stack.can_undo  # nothing changed, so nothing to undo


def test_request_uses_each_modes_own_line_count_and_the_cursor_parts() -> None:
    document = LyricDocument("first line\nsecond line")
    document.set("prompt", "  rain  ")
    document.set("sections", "Verse, , Chorus ,Bridge")
    request = document.to_request()
    assert request.prompt == "rain" and request.sections == ("Verse", "Chorus", "Bridge")
    assert request.origin == "lyric" and not request.supersedes  # Write queues behind a running job
    document.set("mode", "brainstorm")
    document.set("brainstorm_count", 11)
    assert document.to_request().lines == 11
    document.set("mode", "continue")
    assert document.to_request(before_cursor="first line").context == "first line"
    assert document.to_request(before_cursor="first line").lines == 4
    document.set("mode", "rewrite")
    rewrite = document.to_request(line="second line")
    assert rewrite.line == "second line" and rewrite.context == "first line\nsecond line"
    with pytest.raises(InvalidRequestError, match="cursor on"):
        document.to_request(line="")


def test_apply_request_recalls_every_setting_as_one_step() -> None:
    document = LyricDocument()
    document.set("poem_lines", 20)
    request = LyricRequest(
        prompt="harbour lights",
        mode="brainstorm",
        sections=("Intro", "Verse"),
        lines_per_section=3,
        mood="wistful",
        point_of_view="third person",
        rhyme_scheme="ABCB",
        form="sonnet",
        lines=17,
        brainstorm_kind="plot hooks",
        alternatives=4,
        temperature=0.5,
        top_p=0.7,
        top_k=99,
        repetition_penalty=1.5,
        max_tokens=300,
        seed=2**31 - 1,
        pack_id="tiny-llm",
    )
    steps = len(document.undo_stack)
    document.apply_request(request)
    assert len(document.undo_stack) == steps + 1
    assert document.undo_stack.undo_text == "Recall lyric settings"
    recalled = document.to_request()
    same = ("context", "line", "origin")  # from the cursor and the panel, not from the settings
    for f in dataclasses.fields(LyricRequest):
        if f.name not in same:
            assert getattr(recalled, f.name) == getattr(request, f.name), f.name
    assert document.settings.poem_lines == 20  # another mode's count is left alone
    document.undo_stack.undo()
    assert document.settings == dataclasses.replace(LyricSettings(), poem_lines=20)


def test_a_request_without_a_pack_recalls_the_built_in_one() -> None:
    document = LyricDocument()
    document.set("pack", "tiny-llm")
    document.apply_request(LyricRequest(prompt="x", pack_id=""))
    assert document.settings.pack == BUILT_IN_PACK


def test_round_trip_through_json() -> None:
    document = LyricDocument("some words")
    document.set("mood", "bright")
    document.set("top_p", 0.5)
    data = json.loads(json.dumps(document.to_dict()))
    assert data["schema"] == SCHEMA
    copy = LyricDocument.from_dict(data)
    assert copy.text == "some words" and copy.settings == document.settings
    assert not copy.undo_stack.can_undo


def test_migration_from_the_schema_1_session_section() -> None:
    document = LyricDocument.from_dict(json.loads(json.dumps(V1_SECTION)))
    assert document.text == V1_SECTION["text"]
    s = document.settings
    assert (s.mode, s.prompt, s.sections, s.point_of_view, s.form, s.poem_lines) == (
        "poem",
        "night drive",
        "Verse, Chorus",
        "second person",
        "haiku",
        12,
    )
    assert (s.brainstorm_kind, s.brainstorm_count, s.continue_lines, s.alternatives) == ("titles", 9, 2, 5)
    assert (s.temperature, s.top_p, s.top_k, s.repetition_penalty, s.max_tokens, s.seed, s.pack) == (
        1.2,
        0.8,
        12,
        1.3,
        512,
        1234,
        "tiny-llm",
    )
    assert LyricDocument.from_dict({"text": "only text"}).text == "only text"  # the oldest form
    assert document.suggestions == (Suggestion("an old suggestion"),)  # the one on show is kept


def test_migration_from_schema_2_keeps_the_suggestion_on_show() -> None:
    """Schema 2 (issue 13) saved the suggestion on show beside the document, as the panel's "suggestion"."""
    v2 = {"schema": 2, "text": "la", "settings": {"seed": 9}, "suggestion": "the last write", "cursor": 1}
    document = LyricDocument.from_dict(v2)
    assert document.settings.seed == 9 and document.text == "la"
    assert [s.text for s in document.suggestions] == ["the last write"]
    assert document.suggestions[0].label() == "Suggestion · “the last write”"
    assert LyricDocument.from_dict({**v2, "suggestion": "  "}).suggestions == ()
    assert document.to_dict()["schema"] == SCHEMA == 3


def test_suggestions_are_kept_in_order_saved_and_capped() -> None:
    document = LyricDocument()
    changes: list[None] = []
    document.suggestions_changed.connect(lambda: changes.append(None))
    song = Suggestion("[Verse]\nrain", mode="song", prompt="rain", seed=7)
    rewrite = Suggestion("I run\nI fly", mode="rewrite", alternatives=("I run", "I fly"), line="I walk", seed=3)
    assert document.add_suggestion(song) == 0 and document.add_suggestion(rewrite) == 1
    assert document.add_suggestion(rewrite) == 1  # the same text twice in a row is kept once
    assert document.add_suggestion(Suggestion("  ")) == 1 and len(changes) == 2  # nothing written, nothing kept
    assert not document.undo_stack.can_undo  # not an edit of the settings
    assert song.label() == "Song · “rain” · seed 7"
    assert Suggestion("x" * 80, mode="poem", stopped=True).label() == "Poem · “" + "x" * 39 + "…” (stopped)"
    copy = LyricDocument.from_dict(json.loads(json.dumps(document.to_dict())))
    assert copy.suggestions == (song, rewrite)
    copy.remove_suggestion(0)
    assert copy.suggestions == (rewrite,)
    for number in range(MAX_SUGGESTIONS + 5):
        document.add_suggestion(Suggestion(f"write {number}"))
    assert len(document.suggestions) == MAX_SUGGESTIONS
    assert document.suggestions[-1].text == f"write {MAX_SUGGESTIONS + 4}"  # the oldest went first


def test_damaged_suggestions_are_skipped() -> None:
    data = {
        "schema": SCHEMA,
        "text": "t",
        "suggestions": [
            {"text": "good", "mode": "poem", "alternatives": ["a", 3], "seed": True, "stopped": "yes"},
            {"text": ""},
            {"mode": "song"},
            "nonsense",
            {"text": "also good", "mode": 5, "line": None, "seed": 12},
        ],
    }
    suggestions = LyricDocument.from_dict(data).suggestions
    assert suggestions == (
        Suggestion("good", mode="poem", alternatives=("a",)),
        Suggestion("also good", seed=12),
    )
    assert LyricDocument.from_dict({**data, "suggestions": {"not": "a list"}}).suggestions == ()


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        "text",
        {"schema": 2, "text": 5, "settings": "nope"},
        {"controls": {"seed": 99999999999, "temperature": "hot", "mode": None, "top_k": 1.5, "pov": 3}},
        {"schema": 2, "settings": {"seed": -1, "max_tokens": 10**9, "form": "epic", "lines_per_section": True}},
        {"schema": 3, "text": None, "settings": [], "suggestions": None},
    ],
)
def test_damaged_sections_give_defaults(data: object) -> None:
    document = LyricDocument("old text")
    document.set("seed", 5)
    document.add_suggestion(Suggestion("from the project before"))
    document.restore(data)
    assert document.settings == LyricSettings() and document.text == ""
    assert not document.undo_stack.can_undo and document.suggestions == ()


def test_restore_replaces_text_and_clears_the_undo_history() -> None:
    document = LyricDocument("old")
    texts: list[str] = []
    document.changed.connect(texts.append)
    document.set("seed", 3)
    document.restore({"schema": 2, "text": "new", "settings": {"seed": 4}})
    assert texts == ["new"] and document.settings.seed == 4 and not document.undo_stack.can_undo
