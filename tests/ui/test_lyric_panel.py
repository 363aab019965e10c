"""The Lyric panel with a real job runner: analysis gutter (and its meter flags), rhymes and synonyms
that replace the word at the cursor, folding, streaming suggestions from a tiny real language model
and their history, Stop, queueing, cancel from the queue, insert/replace, recall and put back,
settings undo, a side panel that scrolls (the wheel leaves unfocused settings alone), import/export
and the session (with its migration)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QTreeWidget, QTreeWidgetItem, QWidget

from atelier.core.jobs import JobQueue, JobState
from atelier.core.requests.lyrics import LyricRequest, LyricResult, RhymeRequest, RhymeResult
from atelier.core.requests.melody import Melody, MelodyNote, MelodyRequest, MelodyResult
from atelier.core.session_store import SessionStore
from atelier.core.settings import Settings, cache_dir
from atelier.ui.context import AppContext
from atelier.ui.panels.lyric import RHYME_DELAY_MS, STOPPED, LyricPanel
from atelier.ui.worker import JobRunner, LaneThread
from tests.llm_builders import TINY_PACK_ID, build_tiny_llama
from tests.ui.lyric_melody_held_finish import HeldFinishes

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


def find_item(tree: QTreeWidget, word: str) -> QTreeWidgetItem | None:
    for index in range(tree.topLevelItemCount()):
        group = tree.topLevelItem(index)
        for child in range(group.childCount() if group else 0):
            item = group.child(child) if group else None
            if item is not None and item.text(0) == word:
                return item
    return None


def click_item(qtbot, tree: QTreeWidget, item: QTreeWidgetItem | None) -> None:
    """A real mouse click on a list entry (the tree must be on show)."""
    assert item is not None
    tree.scrollToItem(item)
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=tree.visualItemRect(item).center())


def group_titles(tree: QTreeWidget) -> list[str]:
    return [item.text(0) for index in range(tree.topLevelItemCount()) if (item := tree.topLevelItem(index))]


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
    assert panel.text().split("\n")[1] == f"Rain on the window, taps like a {word}"


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
    kept = panel.document.suggestions[-1]  # kept in the history too, marked as stopped
    assert kept.stopped and kept.text == panel.suggestions.text_view.toPlainText()


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
    assert isinstance(first.result, LyricResult)
    kept = panel.document.suggestions
    assert [s.text for s in kept] == [first.result.text, second.result.text] and [s.seed for s in kept] == [7, 8]
    panel.suggestions.back_button.click()  # the first write is still there
    assert panel.suggestions.text_view.toPlainText() == first.result.text


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
    assert [s.text for s in panel.document.suggestions] == ["kept suggestion"]  # now the history's first
    assert panel.melody.key.currentText() == "D" and panel.melody.tempo.value() == 150
    saved = panel.save_state()
    assert saved["schema"] == 3 and saved["melody"]["schema"] == 2
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


def test_a_rhyme_click_replaces_the_whole_word_as_one_undo_step(qtbot, panel: LyricPanel) -> None:
    """Issue 14: "aga|in" + "ten" gave "aga tenin". Now the whole word goes, in its capitals; the list
    stays for "again" so another click tries another rhyme; each click is one undo step."""
    panel.editor.setPlainText("Again and again\nI call your name")
    put_cursor(panel, "Aga")
    qtbot.waitUntil(lambda: find_item(panel.rhymes, "ten") is not None, timeout=20000)
    assert "again" in panel.rhyme_title.text()
    assert find_item(panel.rhymes, "ben") is None and find_item(panel.rhymes, "penn") is None  # names
    assert panel.word_tabs.currentIndex() == 0
    click_item(qtbot, panel.rhymes, find_item(panel.rhymes, "ten"))
    assert panel.text() == "Ten and again\nI call your name"
    qtbot.wait(RHYME_DELAY_MS + 200)  # the cursor moved onto "Ten": the list is still the one for "again"
    assert "again" in panel.rhyme_title.text()
    click_item(qtbot, panel.rhymes, find_item(panel.rhymes, "pen"))
    assert panel.text() == "Pen and again\nI call your name"
    panel.editor.undo()
    assert panel.text() == "Ten and again\nI call your name"
    panel.editor.undo()
    assert panel.text() == "Again and again\nI call your name"
    put_cursor(panel, "Again and again\nI call your na")  # another word: its own rhymes
    qtbot.waitUntil(lambda: "name" in panel.rhyme_title.text() and panel.rhymes.topLevelItemCount() > 0, timeout=20000)


def test_multi_syllable_rhymes_are_their_own_group(qtbot, panel: LyricPanel) -> None:
    panel.editor.setPlainText("A yellow moon")
    put_cursor(panel, "A yel")
    qtbot.waitUntil(lambda: find_item(panel.rhymes, "echo") is not None, timeout=20000)
    titles = group_titles(panel.rhymes)
    kinds = [title.split(" · ")[0] for title in titles]
    assert kinds == sorted(kinds, key=["Perfect", "Multi-syllable", "Near"].index)  # perfect rhymes first
    assert "Multi-syllable · 2 syllables" in titles
    multi = panel.rhymes.topLevelItem(titles.index("Multi-syllable · 2 syllables"))
    assert multi is not None and "echo" in [multi.child(i).text(0) for i in range(multi.childCount())]
    assert find_item(panel.rhymes, "mellow") is not None


def test_a_synonym_click_replaces_the_word_in_its_form(qtbot, panel: LyricPanel) -> None:
    panel.editor.setPlainText("We walked along the shore")
    put_cursor(panel, "We wal")
    qtbot.waitUntil(lambda: find_item(panel.synonyms, "marched") is not None, timeout=30000)
    assert "walked" in panel.synonym_title.text()
    assert group_titles(panel.synonyms)[0].startswith("verb (walk) · ")  # by sense, with its gloss
    panel.word_tabs.setCurrentIndex(1)
    click_item(qtbot, panel.synonyms, find_item(panel.synonyms, "marched"))
    assert panel.text() == "We marched along the shore"
    panel.editor.undo()
    assert panel.text() == "We walked along the shore"
    panel.editor.setPlainText("zzxqv")
    put_cursor(panel, "zz")
    qtbot.waitUntil(lambda: "No synonyms" in panel.synonym_title.text(), timeout=5000)
    assert panel.synonyms.topLevelItemCount() == 0


def amber_rows(widget: QWidget) -> set[int]:
    image = widget.grab().toImage()
    rows = set()
    for y in range(image.height()):
        for x in range(0, 34):
            colour = image.pixelColor(x, y)
            if colour.red() > 170 and 85 < colour.green() < 140 and colour.blue() < 60:  # OFF_METER_COLOR
                rows.add(y)
    return rows


def test_the_gutter_flags_a_verse_line_that_strays_from_its_partner(qtbot, panel: LyricPanel) -> None:
    text = (
        "[Verse 1]\nRain on the window\nI wait\n\n"
        "[Verse 2]\nSun on the water\nI wait for the morning to come and go by\n"
    )
    panel.editor.setPlainText(text)
    qtbot.waitUntil(lambda: len(panel.editor.infos) >= 7, timeout=20000)
    infos = panel.editor.infos
    assert (infos[5].syllables, infos[5].partner, infos[5].off_meter) == (5, 1, False)
    assert (infos[6].syllables, infos[6].partner_syllables, infos[6].off_meter) == (11, 2, True)
    tip = panel.editor.line_tooltip(6)
    assert "⚠" in tip and "line 3" in tip and "has 2" in tip
    assert "⚠" not in panel.editor.line_tooltip(5) and "line 2" in panel.editor.line_tooltip(5)
    assert panel.editor.line_tooltip(0) == ""  # a section marker
    block = panel.editor.document().findBlockByNumber(6)
    top = round(panel.editor.blockBoundingGeometry(block).translated(panel.editor.contentOffset()).top())
    rows = amber_rows(panel.editor.gutter)
    assert rows and all(top <= y < top + panel.editor.fontMetrics().height() + 2 for y in rows)
    panel.editor.setPlainText(text.replace(" for the morning to come and go by", " for you"))
    qtbot.waitUntil(lambda: panel.editor.infos[6].syllables == 4, timeout=5000)
    assert not panel.editor.infos[6].off_meter and not amber_rows(panel.editor.gutter)


def test_suggestions_stay_browsable_and_are_saved(panel: LyricPanel) -> None:
    suggestions = panel.suggestions
    assert suggestions.position.text() == "No suggestions yet" and not suggestions.back_button.isEnabled()
    panel.show_result(LyricRequest(prompt="rain", seed=1), LyricResult(text="[Verse]\nfirst song", mode="song"))
    panel.show_result(LyricRequest(prompt="snow", mode="poem", seed=2), LyricResult(text="second poem", mode="poem"))
    assert suggestions.text_view.toPlainText() == "second poem"
    assert suggestions.position.text() == "2 of 2 · Poem · “snow” · seed 2"
    assert suggestions.back_button.isEnabled() and not suggestions.forward_button.isEnabled()
    suggestions.back_button.click()
    assert suggestions.text_view.toPlainText() == "[Verse]\nfirst song"
    assert suggestions.position.text() == "1 of 2 · Song · “rain” · seed 1"
    assert not suggestions.back_button.isEnabled() and suggestions.forward_button.isEnabled()
    suggestions.insert_button.click()
    assert panel.text() == "[Verse]\nfirst song"  # an earlier suggestion goes in as the latest would
    state = panel.save_state()
    assert [s["text"] for s in state["suggestions"]] == ["[Verse]\nfirst song", "second poem"]
    assert state["suggestion_shown"] == 0
    panel.restore_state({"schema": 3, "text": "another project"})
    assert suggestions.position.text() == "No suggestions yet" and suggestions.text_view.toPlainText() == ""
    assert not suggestions.insert_button.isEnabled()
    panel.restore_state(state)
    assert suggestions.text_view.toPlainText() == "[Verse]\nfirst song"  # as it was left
    suggestions.forward_button.click()
    assert suggestions.text_view.toPlainText() == "second poem"
    suggestions.discard_button.click()  # gone from the project
    assert [s.text for s in panel.document.suggestions] == ["[Verse]\nfirst song"]
    assert suggestions.text_view.toPlainText() == "[Verse]\nfirst song"
    assert suggestions.position.text().startswith("1 of 1 · Song")


def test_browsing_back_while_a_write_streams(qtbot, panel: LyricPanel, slow_stream: None) -> None:
    suggestions = panel.suggestions
    panel.show_result(LyricRequest(prompt="old", seed=3), LyricResult(text="an old song", mode="song"))
    long_write_settings(panel)
    panel.write()
    qtbot.waitUntil(lambda: len(suggestions.live_text) > 10, timeout=60000)
    assert suggestions.position.text() == "Writing…"
    suggestions.back_button.click()
    assert suggestions.text_view.toPlainText() == "an old song"
    streamed = len(suggestions.live_text)
    qtbot.waitUntil(lambda: len(suggestions.live_text) > streamed + 10, timeout=30000)
    assert suggestions.text_view.toPlainText() == "an old song"  # the stream does not take the view back
    assert suggestions.forward_button.isEnabled()
    suggestions.forward_button.click()
    assert suggestions.position.text() == "Writing…" and suggestions.text_view.toPlainText().startswith(
        suggestions.live_text[:10]
    )
    panel.stop()
    qtbot.waitUntil(lambda: not panel.writing, timeout=10000)
    kept = panel.document.suggestions
    assert len(kept) == 2 and kept[-1].stopped and kept[-1].text == suggestions.text_view.toPlainText()
    assert suggestions.position.text().startswith("2 of 2 · Song · “rain” · seed 7") and "(stopped)" in (
        suggestions.position.text()
    )


def wheel(widget: QWidget, steps: int) -> None:
    """Turn the mouse wheel over `widget` (positive: up) as the window system does (QTest goes through
    Qt's window-system queue), so Qt finds the widget under the pointer and passes a turn it ignores
    on to its parents, as it does for a real wheel."""
    window = widget.window()
    handle = window.windowHandle()
    assert handle is not None
    QTest.wheelEvent(handle, QPointF(widget.mapTo(window, widget.rect().center())), QPoint(0, 120 * steps))
    QApplication.processEvents()


def test_the_side_panel_scrolls_and_the_wheel_leaves_unfocused_settings_alone(qtbot, panel: LyricPanel) -> None:
    panel.resize(1200, 520)
    bar = panel.side_scroll.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0, timeout=5000)  # taller than the room: it scrolls
    controls = panel.controls
    for box in (controls.top_k, controls.temperature, controls.rhyme_scheme, controls.mode, controls.pack):
        assert box.focusPolicy() == Qt.FocusPolicy.StrongFocus  # the wheel alone never focuses it
    box = controls.top_k
    bar.setValue(0)
    panel.side_scroll.ensureWidgetVisible(box)
    value, scrolled = box.value(), bar.value()
    assert 0 < scrolled < bar.maximum()  # room to scroll either way
    wheel(box, -2)
    assert box.value() == value and bar.value() > scrolled  # the panel scrolled instead
    combo = controls.rhyme_scheme
    panel.side_scroll.ensureWidgetVisible(combo)
    choice = combo.currentIndex()
    wheel(combo, -1)
    assert combo.currentIndex() == choice
    panel.activateWindow()
    box.setFocus()
    qtbot.waitUntil(box.hasFocus, timeout=5000)
    wheel(box, 1)
    assert box.value() == value + 1  # a focused box takes the wheel, as it should
    assert panel.document.settings.top_k == value + 1


def test_status_lines_wrap_and_are_not_cut_off(qtbot, panel: LyricPanel) -> None:
    panel.resize(1200, 520)
    status = panel.status
    status.setText(
        "Syllable and rhyme analysis failed: the pronouncing dictionary could not be read; reinstall "
        "Atelier or its pronouncing package, then type to try again."
    )
    panel.side_scroll.ensureWidgetVisible(status)
    qtbot.waitUntil(lambda: status.height() >= status.heightForWidth(status.width()), timeout=5000)
    assert status.wordWrap() and status.heightForWidth(status.width()) > status.fontMetrics().lineSpacing() * 2
    assert panel.rhyme_title.wordWrap() and panel.synonym_title.wordWrap()


def test_an_exported_lyric_imports_without_its_header(panel: LyricPanel, tmp_path: Path) -> None:
    from atelier.core.provenance_lyric import lyric_file_text

    lyric = "[Verse]\nSalt on the window\nThe lamp keeps its watch"
    record = {"generator": "Atelier", "model_lines": [2], "user_lines": 2}
    (tmp_path / "song.txt").write_text(lyric_file_text(lyric, False, record), encoding="utf-8")
    assert (tmp_path / "song.txt").read_text(encoding="utf-8").startswith("---")
    panel.import_from(tmp_path / "song.txt")
    assert panel.text().strip() == lyric


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldFinishes]:
    """Requested after `panel`, so every held report is let go before the panel's runner shuts down."""
    with HeldFinishes.installed(monkeypatch) as holder:
        yield holder


@pytest.mark.parametrize("who", ["stop", "jobs dock"])
def test_a_write_cancelled_after_its_last_step_ends_as_a_stop(
    qtbot, panel: LyricPanel, held: HeldFinishes, who: str
) -> None:
    """The model wrote its last token just before the user cancelled: the queue keeps the job FINISHED
    (its result stays in the history), but the panel does as for any stop: it keeps the text it showed,
    marked stopped, adds no finished suggestion and is idle."""
    held.kinds = (LyricResult,)
    choose_tiny_model(panel)
    panel.controls.prompt.setText("rain")
    panel.controls.lines_per_section.setValue(1)
    panel.controls.max_tokens.setValue(40)
    job = panel.write()
    assert job is not None
    job_id, release = held.next(qtbot)
    assert job_id == job.id
    qtbot.waitUntil(lambda: held.all_reported(job), timeout=10000)  # every token it reported is shown
    streamed = panel.suggestions.live_text
    assert streamed.strip() and panel.writing
    if who == "stop":
        panel.stop()
    else:
        assert panel.context.queue.cancel(job.id)
    assert job.state is JobState.RUNNING and job.cancel_token.cancelled
    release.set()
    qtbot.waitUntil(lambda: job.state.done, timeout=10000)
    assert job.state is JobState.FINISHED and isinstance(job.result, LyricResult)
    assert not panel.writing and not panel.stop_button.isEnabled() and panel.write_button.isEnabled()
    assert panel.status.text() == STOPPED  # not the finished write's "N tokens, ... tokens/s"
    kept = panel.document.suggestions
    assert len(kept) == 1 and kept[0].stopped and kept[0].text == streamed and kept[0].alternatives == ()
    assert panel.suggestions.text_view.toPlainText() == streamed


def test_rhymes_for_a_word_left_behind_are_not_shown_when_they_come_late(
    qtbot, panel: LyricPanel, held: HeldFinishes
) -> None:
    """The cursor moved on while the first word's rhymes were being found: that look-up is superseded
    (cancelled) but had finished; its rhymes must not replace the title that says the new word's come."""
    held.kinds = (RhymeResult,)
    panel.editor.setPlainText("Rain and night")
    put_cursor(panel, "Ra")
    first_id, first_release = held.next(qtbot)
    put_cursor(panel, "Rain and ni")
    qtbot.waitUntil(lambda: "night" in panel.rhyme_title.text(), timeout=10000)
    first = panel.context.queue.get(first_id)
    assert first is not None and first.cancel_token.cancelled  # superseded by the look-up for "night"
    first_release.set()
    qtbot.waitUntil(lambda: first.state.done, timeout=10000)
    assert first.state is JobState.FINISHED
    qtbot.wait(50)
    assert panel.rhyme_title.text() == "Finding rhymes for “night”…" and panel.rhymes.topLevelItemCount() == 0
    _, second_release = held.next(qtbot)
    second_release.set()
    qtbot.waitUntil(lambda: panel.rhymes.topLevelItemCount() > 0, timeout=10000)
    assert "night" in panel.rhyme_title.text() and find_item(panel.rhymes, "light") is not None
