"""The shared PaletteDocument: edits, locks, undo/redo, recent, favourites, session round trip."""

from __future__ import annotations

from atelier.core.documents.palette import PaletteDocument


def test_sketch_panel_contract_still_holds() -> None:
    doc = PaletteDocument(["#111111", "#222222", "#333333"])
    seen: list[list[str]] = []
    doc.changed.connect(seen.append)
    doc.set_colors(["#111111", "#222222", "#333333"])
    assert seen == []  # no change, no signal
    doc.set_colors(["#AAAAAA", "#222222", "#333333"])
    assert seen == [["#aaaaaa", "#222222", "#333333"]] and doc.colors == seen[0]


def test_locks_move_undo_redo() -> None:
    doc = PaletteDocument(["#111111", "#222222", "#333333"])
    doc.set_locked(2, True)
    doc.move(2, 0)
    assert doc.colors == ["#333333", "#111111", "#222222"] and doc.locks == [True, False, False]
    assert doc.locked_slots() == [(0, "#333333")]
    doc.set_color(1, "#abcdef", "x")
    assert doc.undo() and doc.colors == ["#333333", "#111111", "#222222"]
    assert doc.undo() and doc.colors == ["#111111", "#222222", "#333333"]
    assert not doc.undo()
    assert doc.redo() and doc.redo() and doc.colors[1] == "#abcdef" and doc.names[1] == "x"
    assert not doc.can_redo
    doc.remove(1)
    assert doc.colors == ["#333333", "#222222"]


def test_recent_and_favourites_and_session_round_trip() -> None:
    doc = PaletteDocument(["#111111", "#222222", "#333333"])
    doc.set_colors(["#010101", "#020202", "#030303"], source={"kind": "text", "text": "night"})
    doc.set_colors(["#0a0a0a", "#0b0b0b", "#0c0c0c"], source={"kind": "harmony", "base": "#0a0a0a"})
    assert [p.colors[0] for p in doc.recent] == ["#0a0a0a", "#010101"]
    assert doc.toggle_favourite() and doc.is_favourite()
    saved = doc.to_dict()
    other = PaletteDocument()
    other.restore(saved)
    assert other.colors == doc.colors and other.source["kind"] == "harmony"
    assert len(other.favourites) == 1 and len(other.recent) == 2
    assert other.undo() and other.colors == ["#010101", "#020202", "#030303"]
    other.load(other.recent[1])
    assert other.colors[0] == "#010101"
    assert not other.toggle_favourite() or other.is_favourite()


def test_damaged_session_keeps_the_palette() -> None:
    doc = PaletteDocument(["#111111", "#222222", "#333333"])
    doc.restore({"colors": ["not a colour"]})
    assert doc.colors == ["#111111", "#222222", "#333333"]
    doc.restore({"colors": ["#444444"], "favourites": "oops", "undo": [{"colors": ["zzz"]}]})
    assert doc.colors == ["#444444"] and doc.favourites == [] and not doc.can_undo
