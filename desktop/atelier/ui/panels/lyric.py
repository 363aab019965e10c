"""Lyric panel: a songwriter's desk. The editor shows syllables and rhyme letters per line (and flags
a later verse's line that strays from the first verse's), the stress of the current line, and rhymes
(perfect, multi-syllable, near) and synonyms for the word under the cursor, a click on either putting
it in place of that word; the language model writes songs, poems, ideas, continuations and line
rewrites into a suggestion area, streaming, nothing it writes enters the lyric until the user
inserts it, and earlier suggestions stay a click back.

A view of the shared LyricDocument (text and writing settings; the Palette panel reads the words
from it) and, in the Melody tab, of a MelodyDocument.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from atelier.core.documents.lyric import Suggestion
from atelier.core.errors import AtelierError, InputFileError
from atelier.core.job_handle import JobHandle
from atelier.core.jobs import Job
from atelier.core.lyric_text import from_text_file
from atelier.core.progress import Progress
from atelier.core.prosody import analyse, counts, dictionary_ready, stress_pattern, words_of
from atelier.core.provenance_lyric import split_front_matter
from atelier.core.requests import Request, Result
from atelier.core.requests.lyrics import (
    LyricAnalysisRequest,
    LyricAnalysisResult,
    LyricRequest,
    LyricResult,
    RhymeRequest,
    RhymeResult,
)
from atelier.core.requests.melody import MelodyRequest, MelodyResult
from atelier.core.rhymes import KINDS, group_by_syllables
from atelier.core.settings import export_folder
from atelier.core.thesaurus import synonyms
from atelier.ui.context import AppContext
from atelier.ui.errors import show_error
from atelier.ui.panels.base import Panel
from atelier.ui.widgets.lyric_controls import LyricControlsWidget
from atelier.ui.widgets.lyric_editor import LyricEditorWidget, SuggestionsWidget
from atelier.ui.widgets.melody import MelodyWidget

ANALYSIS_DELAY_MS = 150
RHYME_DELAY_MS = 350
STOPPED = "Stopped. The text written so far is kept above; insert it if you like it."
NO_WORD = "Put the cursor on a word to see its {}."
KIND_TITLES = {"perfect": "Perfect", "multi": "Multi-syllable", "near": "Near"}


def _single_shot(parent: QWidget, interval_ms: int, slot: Callable[[], None]) -> QTimer:
    timer = QTimer(parent)
    timer.setSingleShot(True)
    timer.setInterval(interval_ms)
    timer.timeout.connect(slot)
    return timer


class LyricPanel(Panel):
    title = "Lyric"

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.document = context.lyric
        # Writes waiting or running, with what each needs when its text arrives: the mode and, for a
        # rewrite, the line (number, text) it rewrites. A job not here any more is ignored when it ends.
        self._writes: dict[int, tuple[str, tuple[int, str] | None]] = {}
        self._shown_write: int | None = None
        self._write_handle = JobHandle(
            self._on_written, self._on_write_failed, self._on_write_cancelled, self._on_writing
        )
        self._analysis_job: int | None = None
        self._rhyme_job: int | None = None
        self._rhyme_word = ""  # the word the rhyme list is for (or being found for)
        self._synonym_word = ""  # the word the synonym list is for
        # A word a click on either list put in place of the looked-up one: the lists still fit it, so
        # they stay, and another click tries another word from them.
        self._stand_in = ""

        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self._build_editor_column())
        top.addWidget(self._build_side_column())
        top.setStretchFactor(0, 3)
        top.setStretchFactor(1, 1)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(top)
        self.splitter.addWidget(self._build_bottom_tabs())
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        # Stretch factors only share extra room; the melody tab's size hint would otherwise take
        # half the height. Start with about 70% for the editor (scaled to the real height).
        self.splitter.setSizes([700, 300])
        self.splitter.setCollapsible(0, False)
        layout = QVBoxLayout(self)
        layout.addWidget(self.splitter)

        # Analysis and the word's rhymes and synonyms follow typing, but not on every keystroke.
        self._analysis_timer = _single_shot(self, ANALYSIS_DELAY_MS, self.refresh_analysis)
        self._rhyme_timer = _single_shot(self, RHYME_DELAY_MS, self.look_up_word)
        self.editor.textChanged.connect(self._on_text_changed)
        self.editor.cursorPositionChanged.connect(self._on_cursor_moved)
        self.document.changed.connect(self._on_document_text)
        self.controls.set_packs(context.runner.pack_summaries())
        self.editor.setPlainText(self.document.text)
        self._update_counts()

    def _build_editor_column(self) -> QWidget:
        self.editor = LyricEditorWidget()
        self.stress = QLabel()
        self.stress.setObjectName("lyric-stress")
        self.stress.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.counts = QLabel()
        self.import_button = QPushButton("Import .txt…")
        self.import_button.clicked.connect(self._choose_import)
        self.export_button = QPushButton("Export…")
        self.export_button.clicked.connect(self._choose_export)
        self.unfold_button = QPushButton("Unfold all")
        self.unfold_button.clicked.connect(self.editor.unfold_all)
        toolbar = QHBoxLayout()
        for button in (self.import_button, self.export_button, self.unfold_button):
            toolbar.addWidget(button)
        toolbar.addStretch(1)
        toolbar.addWidget(self.counts)
        column = QWidget()
        layout = QVBoxLayout(column)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(toolbar)
        layout.addWidget(self.editor, 1)
        layout.addWidget(self.stress)
        return column

    def _build_side_column(self) -> QWidget:
        """Rhymes and synonyms for the word at the cursor, then the writing controls, Write and Stop,
        all in a scrolling column (the wheel scrolls it, not the setting under the pointer)."""
        self.word_tabs = QTabWidget()
        self.word_tabs.setObjectName("lyric-word-tools")
        self.rhyme_title, self.rhymes = self._word_list("rhymes", "Click a rhyme to put it in place of the word")
        self.rhymes.itemClicked.connect(self._on_rhyme_clicked)
        self.synonym_title, self.synonyms = self._word_list(
            "synonyms", "Click a synonym to put it in place of the word (WordNet 3.0)"
        )
        self.synonyms.itemClicked.connect(self._on_synonym_clicked)
        self.controls = LyricControlsWidget(self.document)
        self.write_button = QPushButton("Write")
        self.write_button.setDefault(True)
        self.write_button.setToolTip("Write with the model; a second Write waits for the first to finish.")
        self.write_button.clicked.connect(self.write)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop writing (and drop the writes waiting); the text so far is kept.")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setObjectName("lyric-status")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # Room for two lines at least, so a speed report or an error never shows cut off.
        self.status.setMinimumHeight(2 * self.status.fontMetrics().lineSpacing() + 4)
        self.status.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        buttons = QHBoxLayout()
        buttons.addWidget(self.write_button, 1)
        buttons.addWidget(self.stop_button)
        side = QWidget()
        layout = QVBoxLayout(side)
        layout.addWidget(self.word_tabs, 1)
        layout.addWidget(self.controls)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        self.side_scroll = QScrollArea()
        self.side_scroll.setObjectName("lyric-side")
        self.side_scroll.setWidget(side)
        self.side_scroll.setWidgetResizable(True)
        self.side_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.side_scroll.setMinimumWidth(370)
        self.side_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        return self.side_scroll

    def _word_list(self, name: str, tooltip: str) -> tuple[QLabel, QTreeWidget]:
        """A titled list of words in its own tab of the word tools."""
        title = QLabel(NO_WORD.format(name))
        title.setWordWrap(True)
        tree = QTreeWidget()
        tree.setHeaderHidden(True)
        tree.setObjectName(f"lyric-{name}")
        tree.setToolTip(tooltip)
        tree.setMinimumHeight(180)
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(title)
        layout.addWidget(tree, 1)
        self.word_tabs.addTab(page, name.capitalize())
        return title, tree

    def _build_bottom_tabs(self) -> QWidget:
        """The suggestions and the melody for the words."""
        self.suggestions = SuggestionsWidget(self.editor, self.document)
        self.suggestions.message.connect(self.status.setText)
        self.bottom_tabs = QTabWidget()
        self.bottom_tabs.setObjectName("lyric-bottom-tabs")
        self.bottom_tabs.addTab(self.suggestions, "Suggestions")
        self.melody = MelodyWidget(self.context)
        # In a scroll area: the melody editor is tall (about 470 px), and the lyric must keep
        # most of the window's height.
        self.melody_scroll = QScrollArea()
        self.melody_scroll.setWidget(self.melody)
        self.melody_scroll.setWidgetResizable(True)
        self.bottom_tabs.addTab(self.melody_scroll, "Melody")
        self.bottom_tabs.currentChanged.connect(self._fit_bottom_tab)
        return self.bottom_tabs

    # -- text, counts, analysis ------------------------------------------------------------
    def text(self) -> str:
        return self.editor.toPlainText()

    def _on_text_changed(self) -> None:
        self.document.set_text(self.text())
        self._update_counts()
        self._analysis_timer.start()

    def _on_document_text(self, text: str) -> None:
        """The document's text changed from outside the editor: show it, as one undo step in the editor."""
        if text != self.text():
            self.editor.replace_all(text)

    def _update_counts(self) -> None:
        c = counts(self.text())
        sections = f", {c.sections} sections" if c.sections else ""
        self.counts.setText(f"{c.words} words, {c.lines} lines{sections}")

    def refresh_analysis(self) -> None:
        """Syllables and rhyme letters for every line. Once the pronouncing dictionary is loaded this
        is a few dictionary look-ups per line (about a millisecond for a song), cheaper than a
        round trip through the job queue; the first time it runs as a light-lane job."""
        if dictionary_ready():
            self.editor.set_line_infos(analyse(self.text()))
            self._update_stress()
        elif self._analysis_job is None:
            request = LyricAnalysisRequest(text=self.text(), origin="lyric")
            handle = JobHandle(self._on_analysis, self._on_analysis_failed, self._on_analysis_cancelled)
            self._analysis_job = self.submit(request, handle).id

    def _on_analysis(self, job: Job, result: Result) -> None:
        self._analysis_job = None
        if not isinstance(result, LyricAnalysisResult):
            return
        if dictionary_ready():
            self.refresh_analysis()  # the text may have changed while the job ran
            self.show_synonyms()  # they waited for the dictionary (it spells the forms they take)
        else:  # never submit again from here: that could loop
            self.editor.set_line_infos(list(result.lines))

    def _on_analysis_failed(self, job: Job, error: AtelierError) -> None:
        self._analysis_job = None  # the next edit tries again
        self.status.setText(f"Syllable and rhyme analysis failed: {error.user_message()}")

    def _on_analysis_cancelled(self, job: Job) -> None:
        self._analysis_job = None

    def _update_stress(self) -> None:
        line = self.editor.current_line()
        if not dictionary_ready() or not words_of(line):
            self.stress.setText("")
            return
        self.stress.setText(f"Stress: {stress_pattern(line)}   (/ stressed, u unstressed)")

    # -- rhymes and synonyms for the word at the cursor ---------------------------------------
    def _on_cursor_moved(self) -> None:
        if dictionary_ready():
            self._update_stress()
        word = self.editor.word_under_cursor()
        if word and word != self._stand_in and (word != self._rhyme_word or word != self._synonym_word):
            self._rhyme_timer.start()

    def look_up_word(self) -> None:
        self.request_rhymes()
        self.show_synonyms()

    def request_rhymes(self) -> None:
        word = self.editor.word_under_cursor()
        if not word or word in (self._rhyme_word, self._stand_in):
            return
        self._rhyme_word, self._stand_in = word, ""
        self.rhyme_title.setText(f"Finding rhymes for “{word}”…")
        # A helper look-up: a newer word replaces the one still waiting.
        request = RhymeRequest(word=word, origin="lyric-rhymes", supersedes=True)
        handle = JobHandle(self._on_rhymes, self._on_rhymes_failed, self._on_rhymes_cancelled)
        self._rhyme_job = self.submit(request, handle).id

    def _on_rhymes_failed(self, job: Job, error: AtelierError) -> None:
        if job.id == self._rhyme_job:
            self._rhyme_word = ""  # moving the cursor tries again
            self.rhyme_title.setText(f"Rhymes could not be found: {error.user_message()}")

    def _on_rhymes_cancelled(self, job: Job) -> None:
        if job.id == self._rhyme_job:  # not replaced by a newer word: nothing is being looked up now
            self._rhyme_word = ""
            self.rhyme_title.setText(NO_WORD.format("rhymes"))

    def _on_rhymes(self, job: Job, result: Result) -> None:
        if job.cancel_token.cancelled:  # replaced by a newer word (or cancelled) but it finished first
            self._on_rhymes_cancelled(job)
            return
        if job.id != self._rhyme_job or not isinstance(result, RhymeResult):
            return
        self.rhymes.clear()
        if not result.rhymes:
            self.rhyme_title.setText(f"No rhymes found for “{result.word}”.")
            return
        self.rhyme_title.setText(f"Rhymes for “{result.word}” (most common first; click one to put it in its place)")
        for kind in KINDS:
            for syllables, group in group_by_syllables([r for r in result.rhymes if r.kind == kind]).items():
                title = f"{KIND_TITLES[kind]} · {syllables} syllable{'s' * (syllables > 1)}"
                self._add_group(self.rhymes, title, [r.word for r in group])

    def show_synonyms(self) -> None:
        """Synonyms by sense, straight from the shipped thesaurus (a look-up in a loaded table; the
        first one loads it, about 0.2 s). They wait for the pronouncing dictionary, which the first
        analysis loads, because it spells the form they are given ("walked": "marched")."""
        word = self.editor.word_under_cursor()
        if not word or word in (self._synonym_word, self._stand_in):
            return
        if not dictionary_ready():
            self.synonym_title.setText("Loading the dictionary…")
            return
        self._synonym_word, self._stand_in = word, ""
        self.synonyms.clear()
        try:
            senses = synonyms(word)
        except (OSError, ValueError) as exc:
            self.synonym_title.setText(f"The thesaurus could not be read ({exc}); reinstalling Atelier restores it.")
            return
        if not senses:
            self.synonym_title.setText(f"No synonyms for “{word}”.")
            return
        self.synonym_title.setText(f"Synonyms for “{word}” by sense (click one to put it in its place)")
        for sense in senses:
            base = f" ({sense.base})" if sense.base != word else ""
            header = self._add_group(self.synonyms, f"{sense.pos}{base} · {sense.gloss}", list(sense.synonyms))
            header.setToolTip(0, sense.gloss)

    @staticmethod
    def _add_group(tree: QTreeWidget, title: str, words: list[str]) -> QTreeWidgetItem:
        header = QTreeWidgetItem([title])
        header.setFlags(Qt.ItemFlag.ItemIsEnabled)
        for word in words:
            item = QTreeWidgetItem([word])
            item.setData(0, Qt.ItemDataRole.UserRole, word)
            header.addChild(item)
        tree.addTopLevelItem(header)
        header.setExpanded(True)
        return header

    def _on_rhyme_clicked(self, item: QTreeWidgetItem, _column: int) -> None:
        self._put_in_place(item)

    def _on_synonym_clicked(self, item: QTreeWidgetItem, _column: int) -> None:
        self._put_in_place(item)

    def _put_in_place(self, item: QTreeWidgetItem) -> None:
        """The clicked word replaces the whole word at the cursor (one undo step in the editor)."""
        word = item.data(0, Qt.ItemDataRole.UserRole)
        if word:
            self._stand_in = str(word).lower()
            self.editor.replace_word(str(word))

    # -- writing with the model ------------------------------------------------------------
    def write(self) -> Job | None:
        """Queue a write for the current settings (behind any write still running)."""
        cursor = self.editor.textCursor()
        line = cursor.selectedText().strip() or self.editor.current_line()
        try:
            request = self.document.to_request(self.text()[: cursor.position()], line, self.text())
        except AtelierError as exc:
            show_error(self, exc)
            return None
        target = (cursor.blockNumber(), self.editor.current_line()) if request.mode == "rewrite" else None
        job = self.submit(request, self._write_handle)
        if job.state.done:  # declined before it queued (the pack's licence was not accepted)
            self.status.setText("Not started.")
            return job
        self._writes[job.id] = (request.mode, target)
        waiting = len(self._writes) - 1
        self.status.setText(f"Queued behind {waiting} write(s)." if waiting else "Waiting for the model…")
        self.stop_button.setEnabled(bool(self._writes))
        self.bottom_tabs.setCurrentIndex(0)
        return job

    @property
    def writing(self) -> bool:
        return bool(self._writes)

    def stop(self) -> None:
        """Cancel the running write (its text so far stays) and the writes waiting behind it."""
        for job_id in reversed(list(self._writes)):  # the waiting ones first, so none starts meanwhile
            self.context.runner.cancel(job_id)

    def _show_write(self, job: Job) -> None:
        """The suggestion area follows one write at a time: the one that produced text last."""
        if job.id != self._shown_write:
            if self._shown_write in self._writes:
                self.suggestions.end_live()
            self._shown_write = job.id
            self.suggestions.begin(*self._writes[job.id])

    def _on_writing(self, job: Job, progress: Progress) -> None:
        if job.id not in self._writes:
            return
        if isinstance(progress.preview, str):
            self._show_write(job)
            self.suggestions.stream(progress.preview)
        if progress.message:
            tokens = f" ({progress.step} tokens)" if isinstance(progress.preview, str) else ""
            self.status.setText(progress.message + tokens)

    def _on_written(self, job: Job, result: Result) -> None:
        if job.cancel_token.cancelled:  # asked to stop (Stop, the Jobs dock) but it finished first: a stop
            self._on_write_cancelled(job)
            return
        if job.id not in self._writes or not isinstance(result, LyricResult):
            return
        self._show_write(job)
        target = self._writes[job.id][1]
        self._end_write(job)
        if isinstance(job.request, LyricRequest):
            self._keep(job.request, result.text, result.alternatives, target)
        resampled = f", {result.rejected_lines} lines resampled" if result.rejected_lines else ""
        self.status.setText(
            f"{result.generated_tokens} tokens{resampled}, {result.decode_tokens_per_s:.0f} tokens/s, "
            f"first token after {result.ttft_s:.2f}s. {result.device.describe()}."
        )

    def _keep(
        self,
        request: LyricRequest,
        text: str,
        alternatives: tuple[str, ...],
        target: tuple[int, str] | None,
        stopped: bool = False,
    ) -> None:
        """Keep a write's text in the project's suggestions and show it."""
        line = request.line if request.mode == "rewrite" else ""
        entry = Suggestion(text, request.mode, alternatives, line, request.prompt, request.seed, stopped)
        self.suggestions.show_suggestion(self.document.add_suggestion(entry), target)

    def _on_write_failed(self, job: Job, error: AtelierError) -> None:
        if job.id in self._writes:
            self._end_write(job)
            self.status.setText("")
            self.show_failure(job, error)

    def _on_write_cancelled(self, job: Job) -> None:
        if job.id in self._writes:
            shown = job.id == self._shown_write
            target = self._writes[job.id][1]
            self._end_write(job)
            partial = self.suggestions.live_text if shown else ""
            if partial.strip() and isinstance(job.request, LyricRequest):
                self._keep(job.request, partial, (), target, stopped=True)
            self.status.setText(STOPPED if shown else "A waiting write was cancelled.")

    def _end_write(self, job: Job) -> None:
        del self._writes[job.id]
        if job.id == self._shown_write:
            self.suggestions.end_live()
        self.stop_button.setEnabled(bool(self._writes))

    # -- files -------------------------------------------------------------------------------
    def import_from(self, path: Path) -> None:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputFileError(f"Cannot read {path} ({exc}).") from exc
        text = from_text_file(data)
        # An exported lyric brings its words back, not the header that says what made them.
        header, body = split_front_matter(text)
        self.editor.replace_all(body.lstrip("\n") if header is not None else text)

    def export_to(self, path: Path, metadata: bool = True) -> None:
        """Write the lyric as .txt or .md; with `metadata`, a front-matter header says what made it and
        which lines the model wrote (lines edited since are the user's), marked in Markdown too."""
        from atelier.core.atomic_files import write_atomic
        from atelier.core.provenance_lyric import lyric_file_text, lyric_record

        text = self.text()
        record = lyric_record(text, self.document.suggestions, self.document.settings.pack) if metadata else None
        content = lyric_file_text(text, path.suffix.lower() == ".md", record)
        try:
            write_atomic(path, content.encode("utf-8"))  # a full disk keeps the earlier file whole
        except OSError as exc:
            raise InputFileError(f"Cannot write {path} ({exc}).") from exc

    def _choose_import(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Import a lyric", "", "Text (*.txt);;All files (*)")
        if name:
            try:
                self.import_from(Path(name))
            except AtelierError as exc:
                show_error(self, exc)

    def _choose_export(self) -> None:
        from atelier.ui.dialogs.export_choice import ask_export_path

        suggested = str(export_folder(self.context.settings) / "lyric.txt")
        answer = ask_export_path(self, "Export the lyric", suggested, [("Text", "*.txt"), ("Markdown", "*.md")])
        if answer:
            path, metadata = answer
            try:
                self.export_to(path, metadata)
                self.status.setText(f"Exported to {path}" + ("" if metadata else " (without metadata)"))
            except AtelierError as exc:
                show_error(self, exc)

    def _fit_bottom_tab(self, index: int) -> None:
        """The melody editor needs about 470 px; give it the room while its tab is open."""
        total = sum(self.splitter.sizes())
        if self.bottom_tabs.widget(index) is self.melody_scroll:
            bottom = min(max(total * 0.6, 360), total - 160)
        else:
            bottom = total * 0.3
        self.splitter.setSizes([int(total - bottom), int(bottom)])

    # -- history -----------------------------------------------------------------------------
    def recall(self, request: Request) -> bool:
        if isinstance(request, LyricRequest):
            self.document.apply_request(request)
            return True
        if isinstance(request, MelodyRequest):  # the main window routes the melody tab's jobs here
            self.melody.recall(request)
            self.bottom_tabs.setCurrentWidget(self.melody_scroll)
            return True
        return False

    def show_result(self, request: Request, result: Result) -> bool:
        if isinstance(request, LyricRequest) and isinstance(result, LyricResult):
            line = self.editor.find_line(request.line) if request.mode == "rewrite" else None
            self._keep(request, result.text, result.alternatives, None if line is None else (line, request.line))
            self.bottom_tabs.setCurrentIndex(0)
            return True
        if isinstance(request, MelodyRequest) and isinstance(result, MelodyResult):
            self.melody.document.add_result(request, result)  # one undo step in the melody tab
            self.bottom_tabs.setCurrentWidget(self.melody_scroll)
            return True
        return False

    # -- session -----------------------------------------------------------------------------
    def save_state(self) -> dict[str, Any]:
        return {
            **self.document.to_dict(),
            "melody": self.melody.save_state(),
            "cursor": self.editor.textCursor().position(),
            "suggestion_shown": self.suggestions.index,
        }

    def restore_state(self, state: dict[str, Any]) -> None:
        """Replace everything with a saved lyric section (any schema): documents, suggestion, undo."""
        self.stop()
        self._writes.clear()  # their ends, still to come, belong to the project being closed
        self.status.setText("")
        self.document.restore(state)
        self.editor.document().clearUndoRedoStacks()
        position = state.get("cursor")
        if isinstance(position, int) and 0 <= position <= len(self.text()):
            cursor = self.editor.textCursor()
            cursor.setPosition(position)
            self.editor.setTextCursor(cursor)
        self.melody.restore_state(state.get("melody"))
        self._shown_write = None
        self.suggestions.show_latest()
        shown = state.get("suggestion_shown")
        if isinstance(shown, int) and not isinstance(shown, bool):
            self.suggestions.show_suggestion(shown)

    def close_panel(self) -> None:
        self._analysis_timer.stop()
        self._rhyme_timer.stop()
        self.stop()
        self.document.changed.disconnect(self._on_document_text)
        self.controls.close_widget()
        self.suggestions.close_widget()
        self.melody.close_widget()
        super().close_panel()
