"""Nothing generated enters the user's work without an explicit accept, checked on every panel of the real
window with real jobs: the document is unchanged when a job ends, and changes only on the accept action."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from atelier.core.jobs import JobState
from atelier.core.provenance_read import read_provenance
from atelier.core.settings import cache_dir
from tests.ui.test_colorize_flow import draw_house

LYRIC = "[Verse]\nMy own first line\nAnd my second one\n"


def wait_done(qtbot, job) -> None:
    assert job is not None
    qtbot.waitUntil(lambda: job.state.done, timeout=60000)
    assert job.state is JobState.FINISHED, job.error


def test_sketch_trace_and_colorize_enter_the_sketch_only_when_accepted(window, qtbot) -> None:
    panel = window.panels["sketch"]
    window.context.palette.set_colors(["#1b2a41", "#c9a227", "#b23a48"])
    draw_house(panel.canvas)
    drawn = panel.canvas.sketch_array().copy()
    last_step = panel.document.undo.undo_text
    for start in (panel.trace, panel.colorize):
        job = start()
        wait_done(qtbot, job)
        qtbot.waitUntil(lambda: panel.canvas.result is not None, timeout=10000)
        assert np.array_equal(panel.canvas.sketch_array(), drawn)  # shown over the sketch, not in it
        assert panel.document.undo.undo_text == last_step  # not even an undo step was spent
        panel.discard_result()
        assert np.array_equal(panel.canvas.sketch_array(), drawn)
    job = panel.trace()
    wait_done(qtbot, job)
    qtbot.waitUntil(lambda: panel.canvas.result is not None, timeout=10000)
    panel.accept_result()  # the explicit accept
    assert not np.array_equal(panel.canvas.sketch_array(), drawn)
    panel.document.undo.undo()
    assert np.array_equal(panel.canvas.sketch_array(), drawn)  # and one undo takes it back out


@pytest.fixture
def tiny_llm(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The tiny Llama pack (built once, cached), found by the window created after this fixture."""
    pytest.importorskip("torch")
    from tests.llm_builders import TINY_PACK_ID, build_tiny_llama

    monkeypatch.setenv("ATELIER_MODELS", str(build_tiny_llama(cache_dir())))
    yield TINY_PACK_ID


def test_lyric_suggestions_enter_the_lyric_only_when_inserted(tiny_llm: str, window, qtbot, tmp_path: Path) -> None:
    panel = window.panels["lyric"]
    panel.editor.setPlainText(LYRIC)
    panel.controls.pack.setCurrentIndex(panel.controls.pack.findData(tiny_llm))
    panel.controls.prompt.setText("rain")
    panel.controls.sections.setText("Verse")
    panel.controls.lines_per_section.setValue(2)
    panel.controls.max_tokens.setValue(256)  # the tiny random model needs room to finish a line
    job = panel.write()
    wait_done(qtbot, job)
    qtbot.waitUntil(lambda: not panel.writing, timeout=10000)
    suggestion = panel.suggestions.text_view.toPlainText()
    assert suggestion.strip()
    assert panel.text() == LYRIC and window.context.lyric.text == LYRIC  # written, not inserted
    panel.export_to(tmp_path / "mine.md")
    assert read_provenance(tmp_path / "mine.md")["record"] is None  # still all the user's: no AI to disclose
    cursor = panel.editor.textCursor()
    cursor.movePosition(cursor.MoveOperation.End)
    panel.editor.setTextCursor(cursor)
    panel.suggestions.insert()  # the explicit accept
    assert panel.text() != LYRIC and panel.text().startswith(LYRIC)
    panel.export_to(tmp_path / "mixed.md")
    record = read_provenance(tmp_path / "mixed.md")["record"]
    lines = panel.text().split("\n")
    model_lines = [n for n, line in enumerate(lines, start=1) if line.strip() and line in suggestion.split("\n")]
    model_lines = [n for n in model_lines if not lines[n - 1].startswith("[")]
    assert record is not None and record["model_lines"] == model_lines and record["user_lines"] == 2


def test_a_melody_leaves_the_lyric_alone(window, qtbot) -> None:
    lyric = window.panels["lyric"]
    lyric.editor.setPlainText(LYRIC)
    widget = lyric.melody
    widget.generate_button.click()
    qtbot.waitUntil(lambda: widget.melody is not None, timeout=60000)
    assert lyric.text() == LYRIC and window.context.lyric.text == LYRIC
    widget.history.undo_button.click()  # the melody itself is one undo step in its own tab
    assert widget.melody is None and lyric.text() == LYRIC


def test_a_generated_palette_keeps_the_locked_swatches_and_is_one_undo_step(window, qtbot) -> None:
    panel = window.panels["palette"]
    panel.doc.set_base("#336699")
    with qtbot.waitSignal(panel.doc.changed, timeout=20000):
        panel.action_bar.harmony_button.click()
    qtbot.waitUntil(lambda: not panel.progress.isVisible(), timeout=5000)
    mine = panel.doc.colors
    panel.strip.swatches[1].lock.click()
    job = panel.regenerate()
    assert panel.doc.colors == mine  # nothing changes while the job is on its way
    wait_done(qtbot, job)
    qtbot.waitUntil(lambda: panel.doc.colors != mine, timeout=10000)
    assert panel.doc.colors[1] == mine[1] and panel.doc.locks[1]  # a locked swatch is the user's
    panel.undo_redo.undo_button.click()
    assert panel.doc.colors == mine
