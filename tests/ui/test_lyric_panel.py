"""The Lyric panel with a real job runner: analysis gutter, rhymes, folding, streaming suggestions
from a tiny real language model, Stop, queueing, cancel from the queue, insert/replace, recall and
put back, settings undo, import/export and the session (with its migration)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from atelier.core.jobs import JobQueue, JobState
from atelier.core.requests.lyrics import LyricRequest, LyricResult, RhymeRequest
from atelier.core.requests.melody import Melody, MelodyNote, MelodyRequest, MelodyResult
from atelier.core.session_store import SessionStore
from atelier.core.settings import Settings, cache_dir
from atelier.ui.context import AppContext
from atelier.ui.panels.lyric import STOPPED, LyricPanel
from atelier.ui.worker import JobRunner, LaneThread
from tests.llm_builders import TINY_PACK_ID, build_tiny_llama

SONG = (
    "[Verse]\nRain on the window, taps like a drum\nI wait for the morning, I wait for the sun\n\n"
    "[Chorus]\nOh the night is bright\nHold me tight\n"
)


@pytest.fixture
def panel(qtbot, isolated_dirs: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LyricPanel]:
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


@pytest.fixture
def slow_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tiny model writes thousands of tokens a second, so a whole song can end before the GUI
    thread sees its first token, and Stop or a cancel would find nothing running. A real model
    streams at tens of tokens a second; wait 5 ms after each reported token to stand in for that."""
    post = LaneThread._post

    def slower(self: LaneThread, event: str, job_id: int, payload: object = None) -> None:
        post(self, event, job_id, payload)
        if event == "progress":
            time.sleep(0.005)

    monkeypatch.setattr(LaneThread, "_post", slower)


def put_cursor(panel: LyricPanel, text_before: str) -> None:
    cursor = panel.editor.textCursor()
    cursor.setPosition(len(text_before))
    panel.editor.setTextCursor(cursor)


def test_gutter_counts_rhymes_and_shared_document(qtbot, panel: LyricPanel) -> None:
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
    assert first_group is not None and first_group.text(0).startswith("Perfect")
    first_rhyme = first_group.child(0)
    assert first_rhyme is not None
    word = first_rhyme.text(0)
    put_cursor(panel, "[Verse]\nRain on the window, taps like a drum")
    panel._on_rhyme_clicked(first_rhyme, 0)
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


def test_streams_a_suggestion_and_inserts_only_when_asked(qtbot, panel: LyricPanel) -> None:
    panel.editor.setPlainText("First line")
    choose_tiny_model(panel)
    panel.controls.prompt.setText("rain")
    panel.controls.sections.setText("Verse, Chorus")
    panel.controls.lines_per_section.setValue(1)
    panel.controls.max_tokens.setValue(96)
    previews: list[str] = []
    view = panel.suggestions.text_view
    view.textChanged.connect(lambda: previews.append(view.toPlainText()))
    panel.write()
    assert panel.write_button.isEnabled() and panel.stop_button.isEnabled()  # Write can queue another
    qtbot.waitUntil(lambda: not panel.writing, timeout=60000)
    assert len(previews) >= 3  # text arrived while generating, not only at the end
    suggestion = panel.suggestions.text_view.toPlainText()
    assert suggestion.startswith("[Verse]")
    assert panel.text() == "First line"  # nothing changes until the user inserts
    assert "tokens/s" in panel.status.text() and "CPU" in panel.status.text()
    panel.suggestions.insert()
    assert panel.text() == "First line\n" + suggestion
    panel.editor.undo()
    assert panel.text() == "First line"  # inserting is one undo step in the editor


def test_stop_keeps_the_partial_text(qtbot, panel: LyricPanel, slow_stream: None) -> None:
    choose_tiny_model(panel)
    panel.controls.prompt.setText("rain")
    panel.controls.max_tokens.setValue(4000)
    panel.controls.lines_per_section.setValue(16)
    panel.controls.sections.setText(", ".join(["Verse", "Chorus"] * 6))  # long enough to be cancelled mid-way
    panel.write()
    qtbot.waitUntil(lambda: len(panel.suggestions.text_view.toPlainText()) > 20, timeout=60000)
    panel.stop()
    qtbot.waitUntil(lambda: not panel.writing, timeout=10000)
    assert panel.status.text().startswith("Stopped")
    assert panel.suggestions.text_view.toPlainText() and panel.suggestions.insert_button.isEnabled()


def test_rewrite_replaces_the_line_after_accepting(qtbot, panel: LyricPanel) -> None:
    panel.editor.setPlainText("keep me\nI walk alone tonight\nkeep me too")
    choose_tiny_model(panel)
    panel.controls.mode.setCurrentIndex(panel.controls.mode.findData("rewrite"))
    panel.controls.alternatives.setValue(2)
    panel.controls.max_tokens.setValue(1200)
    put_cursor(panel, "keep me\nI walk")
    panel.write()
    qtbot.waitUntil(lambda: not panel.writing, timeout=60000)
    assert panel.text() == "keep me\nI walk alone tonight\nkeep me too"
    alternatives = panel.suggestions.alternatives
    if alternatives.count() == 0:
        pytest.skip("the random tiny model wrote no usable line within the budget")
    alternatives.setCurrentRow(0)
    chosen = alternatives.item(0).text()
    panel.suggestions.replace_line()
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


def test_analysis_of_text_without_dictionary_words_runs_once(qtbot, panel: LyricPanel) -> None:
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


def long_write_settings(panel: LyricPanel) -> None:
    choose_tiny_model(panel)
    panel.controls.prompt.setText("rain")
    panel.controls.max_tokens.setValue(4000)
    panel.controls.lines_per_section.setValue(16)
    panel.controls.sections.setText(", ".join(["Verse", "Chorus"] * 6))  # long enough to be cancelled mid-way


def test_a_write_cancelled_from_the_queue_leaves_the_panel_idle(qtbot, panel: LyricPanel, slow_stream: None) -> None:
    long_write_settings(panel)
    running = panel.write()
    waiting = panel.write()  # queues behind the first instead of cancelling it
    assert running is not None and waiting is not None
    qtbot.waitUntil(lambda: running.state is JobState.RUNNING, timeout=60000)
    assert waiting.state is JobState.QUEUED and panel.context.queue.position(waiting) == 1
    panel.context.queue.cancel(waiting.id)  # as the Jobs dock does
    assert waiting.state is JobState.CANCELLED
    assert panel.writing and panel.stop_button.isEnabled()  # the first one still runs
    qtbot.waitUntil(lambda: len(panel.suggestions.text_view.toPlainText()) > 10, timeout=60000)
    panel.context.queue.cancel(running.id)
    qtbot.waitUntil(lambda: running.state.done, timeout=30000)
    assert running.state is JobState.CANCELLED
    assert not panel.writing
    assert panel.write_button.isEnabled() and not panel.stop_button.isEnabled()
    assert panel.status.text() == STOPPED
    assert panel.suggestions.insert_button.isEnabled()  # what was streamed is kept


def test_two_writes_both_finish_in_order(qtbot, panel: LyricPanel) -> None:
    choose_tiny_model(panel)
    panel.controls.prompt.setText("rain")
    panel.controls.lines_per_section.setValue(1)
    panel.controls.max_tokens.setValue(40)
    first = panel.write()
    panel.controls.seed.setValue(8)
    second = panel.write()
    assert first is not None and second is not None
    assert isinstance(second.request, LyricRequest) and second.request.seed == 8
    assert "Queued behind 1" in panel.status.text()
    qtbot.waitUntil(lambda: not panel.writing, timeout=90000)
    assert first.state is JobState.FINISHED and second.state is JobState.FINISHED
    assert first.ended is not None and second.started is not None and second.started >= first.ended
    assert isinstance(second.result, LyricResult)
    assert panel.suggestions.text_view.toPlainText() == second.result.text  # the latest is shown
    assert not panel.stop_button.isEnabled() and "tokens/s" in panel.status.text()


def test_recall_sets_the_controls_as_one_undo_step(panel: LyricPanel) -> None:
    controls = panel.controls
    assert not controls.history.undo_button.isEnabled() and not controls.history.redo_button.isEnabled()
    request = LyricRequest(
        prompt="harbour lights",
        mode="poem",
        form="limerick",
        lines=9,
        temperature=1.25,
        top_k=77,
        seed=123456,
        pack_id=TINY_PACK_ID,
    )
    assert panel.recall(request)
    assert controls.mode.currentData() == "poem" and controls.pages.currentIndex() == 1
    assert controls.prompt.text() == "harbour lights" and controls.form.currentText() == "limerick"
    assert controls.poem_lines.value() == 5 and not controls.poem_lines.isEnabled()  # a limerick has 5
    assert (controls.temperature.value(), controls.top_k.value(), controls.seed.value()) == (1.25, 77, 123456)
    assert controls.pack.currentData() == TINY_PACK_ID
    assert controls.history.undo_button.isEnabled()
    assert controls.history.undo_action.toolTip() == "Undo: Recall lyric settings"
    controls.history.undo_button.click()
    assert controls.mode.currentData() == "song" and controls.prompt.text() == "" and controls.seed.value() == 7
    assert not controls.history.undo_button.isEnabled() and controls.history.redo_button.isEnabled()
    controls.form.setCurrentText("sonnet")  # an edit in the widgets is a document step
    assert panel.document.settings.form == "sonnet" and controls.history.undo_button.isEnabled()
    assert not controls.history.redo_button.isEnabled()
    assert not panel.recall(RhymeRequest(word="rain"))  # not a request this panel recalls


def test_recall_of_a_melody_request_sets_the_melody_tab(panel: LyricPanel) -> None:
    request = MelodyRequest(lyrics="la la la", key="G", mode="minor", tempo=120, seed=31, variations=3)
    assert panel.recall(request)
    melody = panel.melody
    assert panel.bottom_tabs.currentWidget() is panel.melody_scroll
    assert (melody.key.currentText(), melody.mode.currentText(), melody.tempo.value()) == ("G", "minor", 120)
    assert (melody.seed.value(), melody.variation_count.value()) == (31, 3)
    melody.history.undo_button.click()
    assert melody.key.currentText() == "C" and melody.variation_count.value() == 1


def test_put_back_a_past_result(panel: LyricPanel) -> None:
    panel.editor.setPlainText("keep me\nI walk alone tonight")
    request = LyricRequest(mode="rewrite", line="I walk alone tonight", context=panel.text())
    result = LyricResult(text="I run\nI fly", mode="rewrite", alternatives=("I run", "I fly"))
    assert panel.show_result(request, result)
    suggestions = panel.suggestions
    assert suggestions.text_view.toPlainText() == "I run\nI fly" and suggestions.alternatives.count() == 2
    assert suggestions.replace_button.isEnabled()  # the line is still there, so it can be replaced
    suggestions.replace_line()
    assert panel.text() == "keep me\nI run"
    lyric = "[Verse]\nla la\n"
    tune = Melody((MelodyNote(60, 0.0, 1.0, "la", 0), MelodyNote(62, 1.0, 1.0, "la", 0)), ("la la",), ((0.0, 2.0),))
    assert panel.show_result(MelodyRequest(lyrics=lyric), MelodyResult(variations=(tune,)))
    assert panel.melody.melody is tune and panel.bottom_tabs.currentWidget() is panel.melody_scroll
    panel.melody.history.undo_button.click()  # putting a melody back is an undo step
    assert panel.melody.melody is None


# What the panel saved before documents (schema 1).
V1_STATE = {
    "text": SONG,
    "cursor": 9,
    "controls": {"mode": "brainstorm", "prompt": "night drive", "pov": "first person", "seed": 99999999999},
    "suggestion": "kept suggestion",
    "melody": {"key": "D", "tempo": 150, "melodies": [], "current": 0},
}


def test_restore_migrates_and_may_be_called_again(qtbot, panel: LyricPanel) -> None:
    panel.restore_state(V1_STATE)
    controls = panel.controls
    assert panel.text() == SONG and panel.editor.textCursor().position() == 9
    assert controls.mode.currentData() == "brainstorm" and controls.prompt.text() == "night drive"
    assert controls.point_of_view.currentData() == "first person"
    assert controls.seed.value() == 7  # a seed out of range falls back to the default
    assert panel.suggestions.text_view.toPlainText() == "kept suggestion"
    assert panel.melody.key.currentText() == "D" and panel.melody.tempo.value() == 150
    saved = panel.save_state()
    assert saved["schema"] == 2 and saved["melody"]["schema"] == 2
    long_write_settings(panel)
    panel.editor.setPlainText("another song")
    job = panel.write()
    assert job is not None and panel.writing
    panel.restore_state(saved)  # another project opened while a write runs
    assert not panel.writing and not panel.stop_button.isEnabled() and panel.status.text() == ""
    assert panel.text() == SONG and panel.document.settings.prompt == "night drive"
    assert not panel.document.undo_stack.can_undo and not panel.controls.history.undo_button.isEnabled()
    assert not panel.editor.document().isUndoAvailable()
    qtbot.waitUntil(lambda: job.state.done, timeout=10000)
    assert panel.status.text() == "" and panel.suggestions.text_view.toPlainText() == "kept suggestion"


def test_text_set_on_the_document_elsewhere_shows_as_one_editor_step(panel: LyricPanel) -> None:
    panel.editor.setPlainText("mine")
    panel.context.lyric.set_text("from the history")
    assert panel.text() == "from the history"
    panel.editor.undo()
    assert panel.text() == "mine" and panel.context.lyric.text == "mine"
