"""The Palette document: one undo step per change, requests out and back in, schema 2 and today's sessions."""

from __future__ import annotations

import json

import numpy as np
import pytest

from atelier.core.documents.palette import SCHEMA, PaletteDocument, PaletteSource
from atelier.core.errors import InvalidRequestError
from atelier.core.requests.lineart import LineArtRequest
from atelier.core.requests.palette import (
    DEFAULT_TEMPERATURE,
    HarmonyRequest,
    PaletteFromImageRequest,
    PaletteFromTextRequest,
    PaletteInfillRequest,
    PaletteResult,
)

THREE = ["#111111", "#222222", "#333333"]


def result(*colors: str) -> PaletteResult:
    return PaletteResult(colors=colors, names=tuple(f"n{i}" for i in range(len(colors))), source="text")


def test_sketch_panel_contract_still_holds() -> None:
    doc = PaletteDocument(THREE)
    seen: list[list[str]] = []
    doc.changed.connect(seen.append)
    doc.set_colors(THREE)
    assert seen == []  # no change, no signal
    doc.set_colors(["#AAAAAA", "#222222", "#333333"])
    assert seen == [["#aaaaaa", "#222222", "#333333"]] and doc.colors == seen[0]
    doc.set_count(4)
    doc.set_locked(0, True)
    assert len(seen) == 1  # settings and locks are not colour changes


def test_every_user_visible_change_is_one_undo_step() -> None:
    doc = PaletteDocument(THREE)
    assert not doc.can_undo and not doc.can_redo
    states: list[dict] = [doc.to_dict()]

    def step(action) -> None:
        before = len(doc.undo_stack)
        action()
        assert len(doc.undo_stack) == before + 1, doc.undo_stack.undo_text
        states.append(doc.to_dict())

    step(lambda: doc.set_color(1, "#abcdef", "sky"))
    step(lambda: doc.set_locked(2, True))
    step(lambda: doc.move(2, 0))
    step(lambda: doc.apply_result(PaletteFromTextRequest(text="sea", count=3), result("#010101", "#020202", "#030303")))
    step(lambda: doc.remove(1))
    step(lambda: doc.load(doc.recent[0]))
    step(doc.toggle_favourite)
    step(lambda: doc.apply_request(HarmonyRequest(base="#336699", mode="triad", count=4, seed=9)))
    step(lambda: doc.set_count(6))
    step(lambda: doc.set_mode("shades"))
    step(lambda: doc.set_base("#ff0000"))
    recent = doc.to_dict()["recent"]
    for expected in reversed(states[:-1]):
        assert doc.undo()
        now = doc.to_dict()
        assert {k: v for k, v in now.items() if k != "recent"} == {k: v for k, v in expected.items() if k != "recent"}
        assert now["recent"] == recent  # what was made stays in the recent list through undo
    assert not doc.can_undo and not doc.undo()
    while doc.redo():
        pass
    assert doc.to_dict() == states[-1]


def test_locks_move_and_names() -> None:
    doc = PaletteDocument(THREE)
    doc.set_locked(2, True)
    doc.move(2, 0)
    assert doc.colors == ["#333333", "#111111", "#222222"] and doc.locks == [True, False, False]
    assert doc.locked_slots() == [(0, "#333333")]
    doc.set_color(1, "#abcdef", "x")
    assert doc.names[1] == "x" and doc.undo_stack.undo_text == "Edit swatch 2"
    doc.set_names(["a", "b", "c"])
    assert doc.names == ["a", "b", "c"] and doc.undo_stack.undo_text == "Edit swatch 2"  # names are no step


def test_a_spin_box_drag_is_one_step_and_undo_of_an_older_edit_keeps_it() -> None:
    doc = PaletteDocument(THREE)
    doc.set_color(0, "#abcdef")
    for count in (4, 5, 6, 7):
        doc.set_count(count)
    assert len(doc.undo_stack) == 2 and doc.undo_stack.undo_text == "Colour count"
    doc.undo()
    assert doc.count == 3 and doc.colors[0] == "#abcdef"
    doc.redo()
    doc.set_text("night")  # typing is the field's own undo, not the document's
    assert len(doc.undo_stack) == 2 and doc.text == "night"
    with pytest.raises(InvalidRequestError, match="3 to 12"):
        doc.set_count(40)


def test_to_request_for_each_source_and_regenerate() -> None:
    doc = PaletteDocument(["#111111", "#222222", "#333333", "#444444", "#555555", "#666666"])
    doc.set_locked(1, True)
    doc.set_locked(5, True)
    doc.set_count(4)
    # Hand-made: a harmony around the first swatch; with words typed, those words.
    request = doc.to_request()
    assert isinstance(request, HarmonyRequest) and request.base == "#111111" and request.origin == "palette"
    assert request.locked == ((1, "#222222"),) and request.count == 4 and request.seed == 0
    doc.set_text("sea")
    assert isinstance(doc.to_request(), PaletteFromTextRequest)
    picture = np.zeros((4, 4, 3), np.uint8)
    request = doc.to_request(PaletteSource.picture(picture, "a.png"), seed=3)
    assert isinstance(request, PaletteFromImageRequest) and request.image is picture and request.seed == 3
    doc.apply_result(request, result("#000000", "#222222", "#0000ff", "#ffffff"))
    assert doc.source.kind == "image" and doc.source.image is picture and doc.locks == [False, True, False, False]
    again = doc.to_request(seed=doc.next_seed())
    assert isinstance(again, PaletteFromImageRequest) and again.image is picture and again.seed == 1
    assert doc.next_seed() == 2  # each regenerate asks with its own seed, even before the first one ends
    lyric = doc.to_request(PaletteSource.words("Grey rain\nCold streets"))
    assert isinstance(lyric, PaletteFromTextRequest) and PaletteSource.words(lyric.text).kind == "lyric"
    assert PaletteSource.picture(picture, "the sketch").kind == "sketch"


def test_recall_of_each_request_kind_and_its_undo() -> None:
    doc = PaletteDocument(THREE)
    doc.set_text("typed")
    before = doc.to_dict()
    picture = np.full((8, 8, 3), 200, np.uint8)
    image_request = PaletteFromImageRequest(image=picture, count=5, seed=42, locked=((0, "#ff0000"), (4, "#00ff00")))
    assert doc.apply_request(image_request)
    assert len(doc.undo_stack) == 1 and doc.undo_stack.undo_text == "Recall settings"
    assert (doc.count, doc.seed, doc.source.kind, doc.source.label) == (5, 42, "image", "image")
    assert doc.source.image is picture
    # The locked swatches are back in their slots; a slot past the palette's end is filled in grey.
    assert doc.colors == ["#ff0000", "#222222", "#333333", "#808080", "#00ff00"]
    assert doc.locks == [True, False, False, False, True] and doc.text == "typed"
    again = doc.to_request(seed=doc.next_seed())
    assert isinstance(again, PaletteFromImageRequest) and again.image is picture
    assert again.locked == image_request.locked and again.count == 5 and again.seed == 43
    doc.undo()
    assert doc.to_dict() == before and doc.source.image is None

    assert doc.apply_request(PaletteFromTextRequest(text="stormy sea", count=7, seed=3))
    assert (doc.text, doc.count, doc.seed, doc.source) == ("stormy sea", 7, 3, PaletteSource("text", text="stormy sea"))
    assert doc.locks == [False] * 3
    assert doc.apply_request(PaletteFromTextRequest(text="line one\nline two", count=4))
    assert doc.source.kind == "lyric" and doc.text == "stormy sea"  # a lyric is not put in the mood field
    assert doc.apply_request(HarmonyRequest(base="#123456", mode="tetradic", count=8, seed=5))
    assert (doc.base, doc.mode, doc.count, doc.seed) == ("#123456", "tetradic", 8, 5)
    assert doc.source == PaletteSource("harmony", base="#123456", mode="tetradic")
    assert not doc.apply_request(LineArtRequest(image=picture))  # not a palette request
    assert len(doc.undo_stack) == 3


def test_image_source_without_its_picture_says_what_to_do() -> None:
    doc = PaletteDocument.from_dict({"schema": 2, "colors": THREE, "source": {"kind": "image", "label": "a.png"}})
    assert doc.source.kind == "image" and doc.source.image is None
    with pytest.raises(InvalidRequestError, match="From image"):
        doc.to_request()
    picture = np.zeros((2, 2, 4), np.uint8)
    kept = PaletteDocument.from_dict(doc.to_dict(), image=picture)
    assert kept.source.image is picture and isinstance(kept.to_request(), PaletteFromImageRequest)


def test_schema_2_round_trip_is_json_and_restore_clears_undo() -> None:
    doc = PaletteDocument(THREE)
    doc.apply_result(HarmonyRequest(base="#0a0a0a", count=3, seed=2), result("#0a0a0a", "#0b0b0b", "#0c0c0c"))
    doc.set_locked(1, True)
    doc.toggle_favourite()
    doc.set_text("dusk")
    doc.set_count(8)
    doc.next_seed()
    saved = json.loads(json.dumps(doc.to_dict()))
    assert saved["schema"] == SCHEMA == 2
    other = PaletteDocument(["#ffffff", "#000000", "#ff0000"])
    other.set_color(0, "#eeeeee")
    seen: list[list[str]] = []
    other.changed.connect(seen.append)
    other.restore(saved)
    assert other.to_dict() == doc.to_dict() and seen == [doc.colors]
    assert not other.can_undo and not other.can_redo  # another project's document has no past here
    assert other.source == PaletteSource("harmony", base="#0a0a0a", mode="analogous")
    assert other.is_favourite() and other.recent[0].colors == ("#0a0a0a", "#0b0b0b", "#0c0c0c")


# What the Palette panel saved before documents had a schema (PalettePanel.save_state, January).
TODAYS_SESSION = {
    "colors": ["#1b2a41", "#324a5f", "#c9a227"],
    "names": ["Navy", "Slate", ""],
    "locks": [False, True, False],
    "source": {"kind": "text", "text": "Grey rain\nCold streets", "label": "lyric"},
    "undo": [
        {"colors": ["#010101", "#020202", "#030303"], "names": ["", "", ""], "locks": [True, False, False]},
        {"colors": ["#1b2a41", "#324a5f", "#c9a227"], "names": ["", "", ""], "locks": [False, False, False]},
    ],
    "redo": [{"colors": ["#090909", "#080808", "#070707"], "names": ["", "", ""], "locks": [False, False, False]}],
    "recent": [{"colors": ["#1b2a41", "#324a5f", "#c9a227"], "names": ["", "", ""], "locks": [False, False, False]}],
    "favourites": [{"colors": ["#abcdef", "#fedcba", "#123456"], "names": ["a", "b", "c"], "locks": [False] * 3}],
    "panel": {"text": "sea at night", "count": 7, "mode": "triad", "base": "#336699", "tab": 2},
}


def test_migration_from_todays_session() -> None:
    doc = PaletteDocument.from_dict(json.loads(json.dumps(TODAYS_SESSION)))
    assert doc.colors == ["#1b2a41", "#324a5f", "#c9a227"] and doc.names == ["Navy", "Slate", ""]
    assert doc.locks == [False, True, False]
    assert doc.source == PaletteSource("lyric", text="Grey rain\nCold streets")
    assert (doc.text, doc.count, doc.mode, doc.base, doc.seed) == ("sea at night", 7, "triad", "#336699", 0)
    assert [s.names for s in doc.favourites] == [("a", "b", "c")]
    # The old undo/redo palettes are not lost: they follow the recent ones (no duplicates, unlocked).
    assert [s.colors[0] for s in doc.recent] == ["#1b2a41", "#010101", "#090909"]
    assert all(not any(s.locks) for s in doc.recent)
    assert not doc.can_undo
    request = doc.to_request(seed=doc.next_seed())
    assert isinstance(request, PaletteFromTextRequest) and request.text == "Grey rain\nCold streets"
    assert request.locked == ((1, "#324a5f"),) and request.count == 7
    assert doc.to_dict()["schema"] == 2
    for old, kind in (
        ({"kind": "image", "label": "the sketch"}, "sketch"),
        ({"kind": "image", "label": "cat.png"}, "image"),
        ({"kind": "harmony", "base": "#336699", "mode": "triad"}, "harmony"),
        ({"kind": "import", "path": "p.gpl"}, "import"),
        ({"kind": "text", "text": "sea", "label": "text"}, "text"),
    ):
        migrated = PaletteDocument.from_dict({**TODAYS_SESSION, "source": old}).source
        assert migrated.kind == kind, old
    imported = PaletteDocument.from_dict({**TODAYS_SESSION, "source": {"kind": "import", "path": "p.gpl"}})
    assert imported.source.label == "p.gpl"


@pytest.mark.parametrize(
    "data",
    [
        None,
        "oops",
        [],
        {},
        {"schema": 2},
        {"schema": "two", "colors": "red"},
        {"schema": 99, "colors": ["#444444"], "count": "many", "seed": -5, "mode": 3, "base": "blue"},
        {"schema": 2, "colors": ["#444444", 5], "source": "text"},
        {"schema": 2, "colors": ["#444444"], "source": {"kind": "harmony", "base": "nope", "mode": "triad"}},
        {"schema": 2, "colors": ["#444444"], "source": {"kind": "text", "text": 5}, "count": True, "seed": 2**70},
        {"schema": 2, "colors": ["#444444"], "names": "x", "locks": [1, "yes"], "recent": [{"colors": ["zz"]}]},
        {"colors": ["not a colour"], "panel": "x", "undo": "x", "favourites": [None, {"colors": ["#000000"]}]},
        {"colors": ["#444444"], "favourites": "oops", "undo": [{"colors": ["zzz"]}], "panel": {"count": 99}},
    ],
)
def test_bad_values_never_raise(data: object) -> None:
    doc = PaletteDocument(THREE)
    doc.set_color(0, "#999999")
    doc.restore(data)
    assert doc.colors in (["#999999", "#222222", "#333333"], ["#444444"], ["#000000"])
    assert 3 <= doc.count <= 12 and 0 <= doc.seed < 2**63 and doc.mode and doc.base.startswith("#")
    assert len(doc.names) == len(doc.locks) == len(doc.colors)
    assert not doc.can_undo
    doc.to_request()  # whatever was read, the document can still ask for a palette
    json.dumps(doc.to_dict())
    assert PaletteDocument.from_dict(data).to_dict()["schema"] == 2


FIVE = ["#1b2a41", "#c9a227", "#aa3300", "#e0e0d0", "#406080"]


def test_regenerate_asks_the_palette_model_by_default_and_the_source_when_chosen() -> None:
    doc = PaletteDocument(FIVE)
    doc.set_locked(0, True)
    doc.set_locked(1, True)
    request = doc.regenerate_request()
    assert isinstance(request, PaletteInfillRequest) and request.origin == "palette"
    assert request.locked == ((0, "#1b2a41"), (1, "#c9a227")) and request.count == 5
    assert request.avoid == ("#aa3300", "#e0e0d0", "#406080")  # the last press's unlocked colours
    assert request.temperature == DEFAULT_TEMPERATURE and request.seed == 1
    assert doc.regenerate_request().seed == 2  # every press is another question
    doc.set_temperature(0.2)
    assert doc.regenerate_request().temperature == 0.2 and doc.temperature == 0.2
    with pytest.raises(InvalidRequestError, match="0 to 2"):
        doc.set_temperature(3.5)
    with pytest.raises(InvalidRequestError, match="model, source"):
        doc.set_regenerate_mode("dice")
    doc.set_regenerate_mode("source")
    again = doc.regenerate_request()  # hand-made palette: a harmony around its first swatch, locks kept
    assert isinstance(again, HarmonyRequest) and again.locked == ((0, "#1b2a41"), (1, "#c9a227"))
    doc.undo()
    assert doc.regenerate_mode == "model"


def test_harmony_ignores_the_locks_unless_built_around_them() -> None:
    doc = PaletteDocument(FIVE)
    doc.set_base("#336699")
    doc.set_mode("triad")
    doc.set_locked(2, True)
    doc.set_locked(4, True)
    fresh = doc.harmony_request()
    assert (fresh.base, fresh.mode, fresh.locked, fresh.count) == ("#336699", "triad", (), 5)
    doc.set_around_locks(True)
    around = doc.harmony_request()
    assert around.base == "#aa3300" and around.locked == ((2, "#aa3300"), (4, "#406080"))
    assert "around the locked" in around.summary()
    for slot in (2, 4):
        doc.set_locked(slot, False)
    assert doc.harmony_request().base == "#336699"  # around no locks: the chosen base
    doc.apply_request(HarmonyRequest(base="#aa3300", mode="triad", count=5, locked=((2, "#aa3300"),)))
    assert doc.around_locks
    doc.apply_request(HarmonyRequest(base="#aa3300", mode="triad", count=5))
    assert not doc.around_locks


def test_a_model_result_keeps_the_locks_and_the_source_and_recall_puts_its_settings_back() -> None:
    doc = PaletteDocument(FIVE)
    doc.apply_result(PaletteFromTextRequest(text="sea", count=5), result(*FIVE))
    request = PaletteInfillRequest(count=5, seed=3, locked=((0, "#1b2a41"), (3, "#e0e0d0")), temperature=1.2)
    filled = ("#1b2a41", "#101010", "#808080", "#e0e0d0", "#f0f0f0")
    assert doc.apply_result(request, result(*filled))
    assert doc.colors == list(filled) and doc.locks == [True, False, False, True, False]
    assert doc.source == PaletteSource("text", text="sea")  # Regenerate from the source still means the words
    assert doc.recent[0].colors == filled and doc.undo_stack.undo_text == "Regenerate"
    doc.set_regenerate_mode("source")
    doc.set_temperature(0.4)
    assert doc.apply_request(request)
    assert (doc.count, doc.seed, doc.temperature, doc.regenerate_mode) == (5, 3, 1.2, "model")
    assert doc.locks == [True, False, False, True, False]


def test_the_model_settings_are_saved_and_bad_ones_fall_back() -> None:
    doc = PaletteDocument(FIVE)
    doc.set_around_locks(True)
    doc.set_regenerate_mode("source")
    doc.set_temperature(1.5)
    saved = json.loads(json.dumps(doc.to_dict()))
    back = PaletteDocument.from_dict(saved)
    assert (back.around_locks, back.regenerate_mode, back.temperature) == (True, "source", 1.5)
    for bad in ({"temperature": float("nan")}, {"temperature": True}, {"temperature": 9}, {"regenerate": 3}):
        damaged = PaletteDocument.from_dict({**saved, "around_locks": "yes", **bad})
        assert not damaged.around_locks
        assert damaged.temperature == (1.5 if "temperature" not in bad else DEFAULT_TEMPERATURE)
        assert damaged.regenerate_mode == ("source" if "regenerate" not in bad else "model")
    assert PaletteDocument.from_dict({"schema": SCHEMA, "colors": THREE}).regenerate_mode == "model"
