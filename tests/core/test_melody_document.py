"""MelodyDocument: generate, regenerate a line, choose a variation, import a tune and continue it as undo
steps; recall; migration. No Qt."""

from __future__ import annotations

import json

import pytest

from atelier.core.documents.melody import SCHEMA, MelodyDocument, MelodySettings
from atelier.core.errors import InvalidRequestError
from atelier.core.requests.melody import ImportedTune, Melody, MelodyNote, MelodyRequest, MelodyResult

LYRIC = "[Verse]\nla la\nla la\n"


def melody(pitches: list[int], tempo: float = 96.0, seed: int = 0) -> Melody:
    notes = tuple(MelodyNote(p, float(i), 1.0, "la", i // 2) for i, p in enumerate(pitches))
    return Melody(notes, ("la la", "la la"), ((0.0, 2.0), (2.0, 4.0)), tempo=tempo, seed=seed)


def generated(document: MelodyDocument, *variations: Melody) -> MelodyRequest:
    request = document.to_request(LYRIC)
    document.add_result(request, MelodyResult(variations=variations))
    return request


def test_generate_regenerate_and_undo_give_back_exactly_what_was_there() -> None:
    document = MelodyDocument()
    assert not document.undo_stack.can_undo and document.melody is None
    first = melody([60, 62, 64, 65])
    generated(document, first)
    assert document.melody is first and document.generated_from == LYRIC
    seed = document.settings.seed
    request = document.regenerate_request(1)
    assert request.regenerate_line == 1 and request.base is first and request.variations == 1
    assert request.seed == seed + 1 == document.settings.seed  # a new seed each press
    second = melody([60, 62, 67, 69])
    document.add_result(request, MelodyResult(variations=(second,)))
    assert document.melody is second and document.undo_stack.undo_text == "Regenerate line 2"
    assert document.undo_stack.undo() and document.melody is first
    assert document.undo_stack.undo() and document.melody is first and document.settings.seed == seed
    assert document.undo_stack.undo() and document.melody is None  # before the first melody
    assert not document.undo_stack.can_undo
    for _ in range(3):
        document.undo_stack.redo()
    assert document.melody is second and not document.undo_stack.can_redo


def test_choosing_a_variation_is_a_step_and_regenerate_keeps_it() -> None:
    document = MelodyDocument()
    a, b, c = melody([60] * 4), melody([62] * 4), melody([64] * 4)
    generated(document, a, b, c)
    events: list[int] = []
    document.melody_changed.connect(lambda: events.append(document.current))
    document.choose(2)
    document.choose(5)  # out of range: nothing
    assert document.current == 2 and events == [2]
    request = document.regenerate_request(0)
    document.add_result(request, MelodyResult(variations=(melody([70] * 4),)))
    assert document.current == 2 and document.variations[:2] == (a, b) and document.melody != c
    document.undo_stack.undo()
    document.undo_stack.undo()  # the seed
    document.undo_stack.undo()
    assert document.current == 0 and document.variations == (a, b, c)


def test_a_regenerated_line_whose_melody_is_gone_is_added_not_lost() -> None:
    document = MelodyDocument()
    generated(document, melody([60] * 4))
    request = document.regenerate_request(0)
    generated(document, melody([50] * 4))  # a new melody finished first (queued before)
    document.add_result(request, MelodyResult(variations=(melody([72] * 4),)))
    assert len(document.variations) == 2 and document.current == 1
    assert [n.pitch for n in document.variations[1].notes] == [72] * 4


def test_tempo_and_instrument_apply_to_every_variation_in_the_same_step() -> None:
    document = MelodyDocument()
    generated(document, melody([60] * 4), melody([62] * 4))
    request = document.regenerate_request(1)
    document.set("tempo", 120)
    document.set("tempo", 130)  # merged with the step before
    document.set("program", 40)
    assert all(m.tempo == 130.0 and m.program == 40 for m in document.variations)
    document.undo_stack.undo()
    document.undo_stack.undo()
    assert all(m.tempo == 96.0 and m.program == 0 for m in document.variations)
    document.undo_stack.redo()
    # A regenerated line still finds its melody after the tempo changed it.
    document.add_result(request, MelodyResult(variations=(melody([75] * 4, tempo=96.0),)))
    assert len(document.variations) == 2 and document.current == 0
    assert [n.pitch for n in document.variations[0].notes] == [75] * 4
    assert document.variations[0].tempo == 130.0  # the tempo shown is the one every variation has


def test_regenerate_without_a_melody_says_what_to_do() -> None:
    with pytest.raises(InvalidRequestError, match="generate a melody first"):
        MelodyDocument().regenerate_request(0)


def test_request_and_recall() -> None:
    document = MelodyDocument()
    request = MelodyRequest(
        lyrics=LYRIC,
        key="F#",
        mode="minor",
        meter="6/8",
        tempo=141.6,
        program=73,
        temperature=1.3,
        seed=2**30,
        variations=4,
    )
    document.apply_request(request)
    assert document.undo_stack.undo_text == "Recall melody settings" and len(document.undo_stack) == 1
    assert document.settings == MelodySettings("F#", "minor", "6/8", 142, 73, 1.3, 2**30, 4)
    again = document.to_request(LYRIC)
    assert (again.key, again.mode, again.meter, again.tempo, again.seed, again.variations) == (
        "F#",
        "minor",
        "6/8",
        142.0,
        2**30,
        4,
    )
    base = melody([60] * 4)
    document.apply_request(MelodyRequest(lyrics=LYRIC, variations=1, regenerate_line=0, base=base))
    assert document.settings.variations == 4  # a regenerate request does not recall its count of 1
    document.undo_stack.undo()
    document.undo_stack.undo()
    assert document.settings == MelodySettings()


def test_round_trip_through_json() -> None:
    document = MelodyDocument()
    generated(document, melody([60] * 4), melody([65] * 4))
    document.choose(1)
    document.set("key", "D")
    data = json.loads(json.dumps(document.to_dict()))
    assert data["schema"] == SCHEMA
    copy = MelodyDocument.from_dict(data)
    assert copy.variations == document.variations and copy.current == 1
    assert copy.settings == document.settings and copy.generated_from == LYRIC
    assert not copy.undo_stack.can_undo


def test_migration_from_the_schema_1_widget_state() -> None:
    first, second = melody([60] * 4, tempo=80.0), melody([67] * 4, tempo=80.0)
    v1 = {  # what MelodyWidget.save_state wrote inside the lyric section
        "key": "E",
        "mode": "dorian",
        "meter": "3/4",
        "tempo": 80,
        "program": 12,
        "temperature": 0.6,
        "seed": 4242,
        "variations": 2,
        "melodies": [first.to_dict(), {"notes": "damaged"}, second.to_dict()],
        "current": 1,
        "generated_from": LYRIC,
    }
    document = MelodyDocument.from_dict(json.loads(json.dumps(v1)))
    assert document.settings == MelodySettings("E", "dorian", "3/4", 80, 12, 0.6, 4242, 2)
    assert document.variations == (first, second)  # the damaged one is dropped on its own
    assert document.current == 1 and document.generated_from == LYRIC


@pytest.mark.parametrize(
    "data",
    [
        None,
        "x",
        {"schema": 2, "settings": [], "melodies": 7, "current": "1", "generated_from": 3},
        {"seed": 99999999999, "tempo": "fast", "key": "H", "variations": 100, "melodies": [None, 1, "a"]},
    ],
)
def test_damaged_state_gives_defaults(data: object) -> None:
    document = MelodyDocument()
    generated(document, melody([60] * 4))
    document.restore(data)
    assert document.settings == MelodySettings() and document.variations == () and document.melody is None
    assert not document.undo_stack.can_undo


def test_what_plays_the_chords_applies_to_every_variation_at_once() -> None:
    document = MelodyDocument()
    generated(document, melody([60] * 4).with_chords(), melody([62] * 4).with_chords())
    assert all(m.chord_program == 89 for m in document.variations)  # a pad by default
    document.set("accompaniment", "piano")
    assert all(m.chord_program == 0 for m in document.variations)
    document.set("accompaniment", "none")
    assert all(m.chord_program == -1 and m.chords for m in document.variations)  # shown, not played
    assert document.to_request(LYRIC).accompaniment == "none"
    document.undo_stack.undo()
    document.undo_stack.undo()
    assert all(m.chord_program == 89 for m in document.variations)


SONG = "[Verse]\nla la\nla la\n\n[Chorus]\nsing it\n"
TUNE = ImportedTune(
    notes=tuple((p, float(i), 1.0) for i, p in enumerate([64, 66, 67, 69, 71])),
    key="E",
    mode="minor",
    meter="3/4",
    tempo=100.4,
    source="tune.mid",
)


def test_importing_a_tune_is_a_step_and_continue_keeps_its_key_and_meter() -> None:
    document = MelodyDocument()
    with pytest.raises(InvalidRequestError, match="Import a MIDI file first"):
        document.continue_request(SONG)
    document.import_tune(TUNE)
    assert document.imported == TUNE and document.undo_stack.undo_text == "Import tune.mid"
    assert (document.settings.key, document.settings.mode, document.settings.meter) == ("E", "minor", "3/4")
    assert document.settings.tempo == 100
    document.set("key", "C")  # continuing stays in the tune's key whatever the controls say
    request = document.continue_request(SONG)
    assert (request.key, request.mode, request.meter) == ("E", "minor", "3/4")
    assert request.continue_from is not None and request.continue_from.lines == ("la la", "la la")
    assert [n.pitch for n in request.continue_from.notes] == [64, 66, 67, 69]  # two whole lines; one note left
    finished = melody([64, 66, 67, 69]).with_chords()
    document.add_result(request, MelodyResult(variations=(finished,)))
    assert document.melody is not None and document.undo_stack.undo_text == "Continue after line 2"
    with pytest.raises(InvalidRequestError, match="already has notes for every line"):
        document.continue_request("la la\nla")
    document.undo_stack.undo()
    document.undo_stack.undo()
    document.undo_stack.undo()
    assert document.imported is None and document.settings == MelodySettings()


def test_an_imported_tune_is_saved_with_the_melody() -> None:
    document = MelodyDocument()
    document.import_tune(TUNE)
    copy = MelodyDocument.from_dict(json.loads(json.dumps(document.to_dict())))
    assert copy.imported == TUNE and not copy.undo_stack.can_undo
    damaged = {**document.to_dict(), "imported": {"notes": [[1, 2]], "key": "E"}}
    assert MelodyDocument.from_dict(damaged).imported is None  # dropped on its own; the rest is kept
    assert MelodyDocument.from_dict(damaged).settings.key == "E"
