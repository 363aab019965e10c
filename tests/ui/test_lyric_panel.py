"""The Lyric panel with a real job runner: analysis gutter, rhymes, folding, streaming suggestions
from a tiny real language model, Stop, insert/replace, import/export and the session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from atelier.core.jobs import JobQueue
from atelier.core.session_store import SessionStore
from atelier.core.settings import Settings, cache_dir
from atelier.ui.context import AppContext
from atelier.ui.panels.lyric import LyricPanel
from atelier.ui.worker import JobRunner
from tests.llm_builders import TINY_PACK_ID, build_tiny_llama

SONG = (
    "[Verse]\nRain on the window, taps like a drum\nI wait for the morning, I wait for the sun\n\n"
    "[Chorus]\nOh the night is bright\nHold me tight\n"
)


@pytest.fixture
def panel(qtbot, isolated_dirs: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LyricPanel]:  # type: ignore[no-untyped-def]
    pytest.importorskip("torch")
    monkeypatch.setenv("ATELIER_MODELS", str(build_tiny_llama(cache_dir())))
    queue = JobQueue()
    settings = Settings(threads=1)
    runner = JobRunner(queue, settings)
    context = AppContext(runner, queue, settings, SessionStore(isolated_dirs / "session"))
    widget = LyricPanel(context)
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    widget.show()
    yield widget
    widget.close_panel()
    runner.shutdown()


def put_cursor(panel: LyricPanel, text_before: str) -> None:
    cursor = panel.editor.textCursor()
    cursor.setPosition(len(text_before))
    panel.editor.setTextCursor(cursor)


def test_gutter_counts_rhymes_and_shared_document(qtbot, panel: LyricPanel) -> None:  # type: ignore[no-untyped-def]
    panel.editor.setPlainText(SONG)
    assert panel.context.lyric.text == SONG  # the Palette panel reads the words from here
    qtbot.waitUntil(lambda: len(panel.editor.infos) >= 7, timeout=20000)
    infos = panel.editor.infos
    assert [i.syllables for i in infos[1:3]] == [9, 11]
    assert [i.rhyme for i in infos[5:7]] == ["A", "A"]
    assert panel.counts.text() == "26 words, 4 lines, 2 sections"
    put_cursor(panel, "[Verse]\nRain on the window, taps like a dr")
    qtbot.waitUntil(lambda: panel.rhymes.topLevelItemCount() > 0, timeout=20000)
    assert "drum" in panel.rhyme_title.text()
    assert panel.stress.text().startswith("Stress: /")
    first_group = panel.rhymes.topLevelItem(0)
    assert first_group.text(0).startswith("Perfect")
    word = first_group.child(0).text(0)
    put_cursor(panel, "[Verse]\nRain on the window, taps like a drum")
    panel._on_rhyme_clicked(first_group.child(0), 0)
    assert panel.text().split("\n")[1] == f"Rain on the window, taps like a drum {word}"


def test_sections_fold_and_unfold(panel: LyricPanel) -> None:
    panel.editor.setPlainText(SONG)
    panel.editor.toggle_fold(0)
    document = panel.editor.document()
    assert not document.findBlockByNumber(1).isVisible() and not document.findBlockByNumber(2).isVisible()
    assert document.findBlockByNumber(4).isVisible()  # the chorus stays open
    panel.editor.unfold_all()
    assert document.findBlockByNumber(1).isVisible()


def choose_tiny_model(panel: LyricPanel) -> None:
    index = panel.controls.pack.findData(TINY_PACK_ID)
    assert index >= 0, "the tiny llm pack is listed among the models"
    panel.controls.pack.setCurrentIndex(index)


def test_streams_a_suggestion_and_inserts_only_when_asked(qtbot, panel: LyricPanel) -> None:  # type: ignore[no-untyped-def]
    panel.editor.setPlainText("First line")
    choose_tiny_model(panel)
    panel.controls.prompt.setText("rain")
    panel.controls.sections.setText("Verse, Chorus")
    panel.controls.lines_per_section.setValue(1)
    panel.controls.max_tokens.setValue(96)
    previews: list[str] = []
    panel.suggestion.textChanged.connect(lambda: previews.append(panel.suggestion.toPlainText()))
    panel.write()
    assert not panel.write_button.isEnabled() and panel.stop_button.isEnabled()
    qtbot.waitUntil(lambda: panel._writing_job is None, timeout=60000)
    assert len(previews) >= 3  # text arrived while generating, not only at the end
    suggestion = panel.suggestion.toPlainText()
    assert suggestion.startswith("[Verse]")
    assert panel.text() == "First line"  # nothing changes until the user inserts
    assert "tokens/s" in panel.status.text() and "CPU" in panel.status.text()
    panel.insert_suggestion()
    assert panel.text() == "First line\n" + suggestion


def test_stop_keeps_the_partial_text(qtbot, panel: LyricPanel) -> None:  # type: ignore[no-untyped-def]
    choose_tiny_model(panel)
    panel.controls.prompt.setText("rain")
    panel.controls.max_tokens.setValue(4000)
    panel.controls.lines_per_section.setValue(16)
    panel.write()
    qtbot.waitUntil(lambda: len(panel.suggestion.toPlainText()) > 20, timeout=60000)
    panel.stop()
    qtbot.waitUntil(lambda: panel._writing_job is None, timeout=10000)
    assert panel.status.text().startswith("Stopped")
    assert panel.suggestion.toPlainText() and panel.insert_button.isEnabled()


def test_rewrite_replaces_the_line_after_accepting(qtbot, panel: LyricPanel) -> None:  # type: ignore[no-untyped-def]
    panel.editor.setPlainText("keep me\nI walk alone tonight\nkeep me too")
    choose_tiny_model(panel)
    panel.controls.mode.setCurrentIndex(panel.controls.mode.findData("rewrite"))
    panel.controls.alternatives.setValue(2)
    panel.controls.max_tokens.setValue(1200)
    put_cursor(panel, "keep me\nI walk")
    panel.write()
    qtbot.waitUntil(lambda: panel._writing_job is None, timeout=60000)
    assert panel.text() == "keep me\nI walk alone tonight\nkeep me too"
    if panel.alternatives.count() == 0:
        pytest.skip("the random tiny model wrote no usable line within the budget")
    panel.alternatives.setCurrentRow(0)
    chosen = panel.alternatives.item(0).text()
    panel.replace_line()
    assert panel.text() == f"keep me\n{chosen}\nkeep me too"


def test_session_import_and_export(panel: LyricPanel, tmp_path: Path) -> None:
    panel.editor.setPlainText(SONG)
    panel.controls.prompt.setText("night drive")
    panel.controls.seed.setValue(1234)
    state = panel.save_state()
    panel.editor.setPlainText("")
    panel.controls.seed.setValue(1)
    panel.restore_state(state)
    assert panel.text() == SONG and panel.controls.seed.value() == 1234
    assert panel.controls.prompt.text() == "night drive"
    panel.export_to(tmp_path / "song.md")
    panel.export_to(tmp_path / "song.txt")
    assert "## Chorus" in (tmp_path / "song.md").read_text()
    assert (tmp_path / "song.txt").read_text() == SONG
    (tmp_path / "in.txt").write_bytes(b"imported\r\nlyric\r\n")
    panel.import_from(tmp_path / "in.txt")
    assert panel.text() == "imported\nlyric\n"
    panel.editor.undo()
    assert panel.text() == SONG  # import is one undo step


def test_analysis_of_text_without_dictionary_words_runs_once(qtbot, panel: LyricPanel) -> None:  # type: ignore[no-untyped-def]
    """Empty text or bare section markers look nothing up; the dictionary must still load once,
    not be asked for again and again (a restored empty session once queued a job every few ms)."""
    import pronouncing

    from atelier.core.prosody import dictionary_ready
    from atelier.core.requests.lyrics import LyricAnalysisRequest

    submitted: list[int] = []
    panel.context.queue.job_added.connect(
        lambda job: submitted.append(job.id) if isinstance(job.request, LyricAnalysisRequest) else None
    )
    pronouncing.pronunciations = None  # as in a fresh process (reloaded below)
    try:
        panel.editor.setPlainText("[Chorus]\n")
        qtbot.waitUntil(
            lambda: (
                dictionary_ready()
                and not [job for job in panel.context.queue if isinstance(job.request, LyricAnalysisRequest)]
            ),
            timeout=30000,
        )  # done, and gone from the history
        qtbot.wait(500)  # room for a runaway loop to show itself
        assert len(submitted) == 1
        panel.editor.setPlainText(SONG)  # from now on analysis is direct, with no job
        qtbot.waitUntil(lambda: len(panel.editor.infos) >= 7, timeout=5000)
        assert len(submitted) == 1
    finally:
        pronouncing.init_cmu()
