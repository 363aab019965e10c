"""One binder for every panel: the lyric controls and the melody settings are built from their documents'
field specs and bound through FieldBinder, as the Sketch and Palette panels are. Each edit is one undo step
(a run of edits to one field merges until the edit ends), the document's changes show in the widgets and
are never written back, a restored document shows its values, and the ranges are the documents' own."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QLineEdit, QSpinBox

from atelier.core.documents.lyric import LyricDocument, LyricSettings
from atelier.core.documents.melody import MelodyDocument, MelodySettings
from atelier.core.jobs import JobQueue
from atelier.core.requests.lyrics import LyricRequest
from atelier.core.requests.melody import MelodyRequest
from atelier.core.session_store import SessionStore
from atelier.core.settings import Settings
from atelier.ui.context import AppContext
from atelier.ui.widgets.document_binding import FieldBinder
from atelier.ui.widgets.document_form import DocumentForm, FocusedWheelSpinBox, settings_specs
from atelier.ui.widgets.lyric_controls import LyricControlsWidget
from atelier.ui.widgets.melody import MelodyWidget
from atelier.ui.worker import JobRunner

D = TypeVar("D", LyricDocument, MelodyDocument)
PACKS = [{"kind": "llm", "id": "tiny-llm", "name": "Tiny", "licence": "MIT"}]
EDITS: dict[int, list[tuple[str, object]]] = {}  # id(document) -> every set() its widgets made


def recording(document: D, monkeypatch: pytest.MonkeyPatch) -> D:
    """`document`, its set() (what the binder calls for an edit) recorded in EDITS."""
    edits = EDITS.setdefault(id(document), [])
    real_set = document.set

    def set_value(name: str, value: object) -> None:
        edits.append((name, value))
        real_set(name, value)

    monkeypatch.setattr(document, "set", set_value)
    return document


@pytest.fixture
def controls(qtbot, monkeypatch: pytest.MonkeyPatch) -> Iterator[LyricControlsWidget]:
    widget = LyricControlsWidget(recording(LyricDocument(), monkeypatch))
    qtbot.addWidget(widget)
    widget.set_packs(PACKS)
    yield widget
    widget.close_widget()


@pytest.fixture
def melody(qtbot, isolated_dirs: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MelodyWidget]:
    queue, settings = JobQueue(), Settings()
    runner = JobRunner(queue, settings)
    context = AppContext(runner=runner, queue=queue, settings=settings, session=SessionStore())
    widget = MelodyWidget(context, recording(MelodyDocument(), monkeypatch))
    qtbot.addWidget(widget)
    yield widget
    widget.close_widget()
    runner.shutdown()


def shown_settings(binder: FieldBinder, cls: type) -> dict[str, object]:
    """What the bound widgets hold, read back the way the artist's edits are."""
    values: dict[str, object] = {}
    for name, widget in binder.widgets.items():
        if isinstance(widget, QComboBox):
            values[name] = widget.currentData()
        elif isinstance(widget, QLineEdit):
            values[name] = widget.text()
        elif isinstance(widget, QDoubleSpinBox):
            values[name] = round(widget.value(), widget.decimals())
        else:
            values[name] = widget.value()  # type: ignore[attr-defined]
    assert set(values) == {f.name for f in dataclasses.fields(cls)}  # every setting has its widget
    return values


def test_the_forms_take_ranges_and_choices_from_the_settings(controls: LyricControlsWidget, melody) -> None:
    for widget, cls in ((controls, LyricSettings), (melody, MelodySettings)):
        for f in dataclasses.fields(cls):
            box = widget.binder.widgets[f.name]
            meta = f.metadata
            if isinstance(box, (QSpinBox, QDoubleSpinBox)):
                assert (box.minimum(), box.maximum()) == (meta["minimum"], meta["maximum"]), f.name
            elif meta["choices"]:
                assert isinstance(box, QComboBox)
                assert [box.itemData(i) for i in range(box.count())] == list(meta["choices"]), f.name
    assert controls.mode.itemText(0) == "Song lyric" and controls.point_of_view.itemText(0) == "any"
    assert melody.accompaniment.currentText() == "Pad" and melody.tempo.suffix() == " bpm"
    assert controls.temperature.singleStep() == 0.05 and melody.temperature.singleStep() == 0.1
    assert "0 turns top-k off" in controls.top_k.toolTip()
    specs, defaults = settings_specs(LyricSettings)
    assert specs["lines_per_section"].label == "Lines each" and defaults["seed"] == LyricSettings().seed


@pytest.mark.parametrize("kind", ["lyric", "melody"])
def test_each_edit_is_one_undo_step_merged_until_the_edit_ends(kind: str, controls, melody) -> None:
    widget = controls if kind == "lyric" else melody
    document, box = widget.document, widget.seed
    stack = document.undo_stack
    start = document.settings.seed
    for typed in (1, 12, 123):  # typing 123 into the box: one step
        box.setValue(typed)
    assert document.settings.seed == 123 and len(stack) == 1
    assert EDITS[id(document)] == [("seed", 1), ("seed", 12), ("seed", 123)]
    box.editingFinished.emit()  # focus left the box: the next edit of the seed is a new step
    box.setValue(124)
    widget.temperature.setValue(1.5)  # another field, another step
    assert len(stack) == 3 and stack.undo_text == "Change Temperature"
    stack.undo()
    stack.undo()
    assert box.value() == 123 and document.settings.seed == 123
    stack.undo()
    assert box.value() == start and document.settings.seed == start and not stack.can_undo
    stack.redo()
    assert box.value() == 123


def test_what_the_document_shows_is_never_written_back(controls: LyricControlsWidget, melody) -> None:
    pairs: tuple[tuple[Any, Any], ...] = (
        (
            controls,
            LyricRequest(prompt="harbour lights", mode="poem", form="limerick", lines=9, seed=99, temperature=1.3),
        ),
        (melody, MelodyRequest(lyrics="la la", key="G", mode="minor", tempo=120, seed=31, program=24)),
    )
    for widget, request in pairs:
        stack, document = widget.document.undo_stack, widget.document
        edits = EDITS[id(document)]
        assert not edits  # building and filling the form edited nothing
        shown: list[object] = []
        document.settings_changed.connect(shown.append)
        document.apply_request(request)  # recall: one step, and the widgets follow
        assert len(stack) == 1 and len(shown) == 1  # the widgets that changed pushed nothing of their own
        values = shown_settings(widget.binder, type(document.settings))
        expected = dataclasses.asdict(document.settings)
        if isinstance(widget, LyricControlsWidget):  # a limerick has 5 lines: shown, but the count is kept
            assert values.pop("poem_lines") == 5 and not widget.poem_lines.isEnabled()
            assert document.settings.poem_lines == 9  # the recalled count waits for free verse
            expected.pop("poem_lines")
        assert values == expected
        stack.undo()
        assert shown_settings(widget.binder, type(document.settings)) == dataclasses.asdict(document.settings)
        assert len(shown) == 2 and not stack.can_undo and stack.can_redo
        assert not edits  # the widgets the document changed never wrote back
    assert melody.instrument.currentData() == 0 and melody.key.currentData() == "C"


def test_a_restored_document_shows_its_saved_values(qtbot, controls: LyricControlsWidget) -> None:
    controls.pack.setCurrentIndex(controls.pack.findData("tiny-llm"))
    controls.prompt.setText("night bus")
    controls.top_k.setValue(12)
    saved = controls.document.to_dict()
    restarted = LyricControlsWidget(LyricDocument.from_dict(saved))  # a new window, the same data
    qtbot.addWidget(restarted)
    restarted.set_packs(PACKS)
    try:
        assert restarted.prompt.text() == "night bus" and restarted.top_k.value() == 12
        assert restarted.pack.currentData() == "tiny-llm" and not restarted.history.undo_button.isEnabled()
        assert shown_settings(restarted.binder, LyricSettings) == dataclasses.asdict(controls.document.settings)
    finally:
        restarted.close_widget()


def test_a_refilled_or_emptied_list_changes_no_setting(controls: LyricControlsWidget) -> None:
    """A combo box emptied outside the binder's quiet block reports no value (None): the setting stays,
    where a reset to the default would have been recorded as the artist's choice."""
    controls.pack.setCurrentIndex(controls.pack.findData("tiny-llm"))
    steps = len(controls.document.undo_stack)
    controls.pack.clear()
    assert controls.document.settings.pack == "tiny-llm" and len(controls.document.undo_stack) == steps
    controls.set_packs([])  # the pack is gone from this machine: shown, not dropped
    assert controls.pack.currentData() == "tiny-llm" and "not found" in controls.pack.currentText()
    assert controls.document.settings.pack == "tiny-llm" and len(controls.document.undo_stack) == steps


def test_a_form_made_for_a_scrolling_panel_leaves_the_wheel_to_it(qtbot) -> None:
    """Two forms on one document: each edit in one shows in the other; only the scrolling panel's boxes
    wait for focus before taking the wheel (the Sketch panel's form keeps plain boxes)."""
    document = MelodyDocument()
    specs, defaults = settings_specs(MelodySettings)
    binders = [FieldBinder(document.set, document.undo_stack.break_merge) for _ in range(2)]
    for binder in binders:
        document.settings_changed.connect(lambda settings, b=binder: b.show_all(dataclasses.asdict(settings)))
    plain = DocumentForm(binders[0], specs, defaults).field("tempo")
    focused = DocumentForm(binders[1], specs, defaults, wheel_needs_focus=True).field("tempo")
    assert type(plain) is QSpinBox and isinstance(focused, FocusedWheelSpinBox)
    focused.setValue(100)
    assert document.settings.tempo == 100 and plain.value() == 100 and len(document.undo_stack) == 1
    plain.setValue(120)  # the same field, no edit ended between: merged into the one step
    assert focused.value() == 120 and len(document.undo_stack) == 1
    document.undo_stack.undo()
    assert plain.value() == focused.value() == MelodySettings().tempo == document.settings.tempo
