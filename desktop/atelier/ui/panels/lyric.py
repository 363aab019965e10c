"""Lyric panel: a songwriter's desk. The editor shows syllables and rhyme letters per line, the
stress of the current line and rhymes for the word under the cursor; the language model writes
songs, poems, ideas, continuations and line rewrites into a suggestion area, streaming, and
nothing it writes enters the lyric until the user inserts it.

The text is kept in the shared LyricDocument (the Palette panel reads the words from it).
The bottom tabs hold the suggestions; other tools (the melody) can be added there as tabs.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import (
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from atelier.core.errors import AtelierError, InputFileError
from atelier.core.jobs import Job, JobState
from atelier.core.lyric_text import from_text_file, to_markdown
from atelier.core.progress import Progress
from atelier.core.prosody import analyse, counts, dictionary_ready, stress_pattern, words_of
from atelier.core.requests import Result
from atelier.core.requests.lyrics import (
    LyricAnalysisRequest,
    LyricAnalysisResult,
    LyricRequest,
    LyricResult,
    RhymeRequest,
    RhymeResult,
)
from atelier.core.requests.melody import MelodyRequest
from atelier.core.rhymes import group_by_syllables
from atelier.ui.context import AppContext
from atelier.ui.errors import show_error
from atelier.ui.panels.base import Panel
from atelier.ui.widgets.lyric_controls import LyricControlsWidget
from atelier.ui.widgets.lyric_editor import LyricEditorWidget
from atelier.ui.widgets.melody import MelodyWidget

ANALYSIS_DELAY_MS = 150
RHYME_DELAY_MS = 350
_WORD_AT_RE = re.compile(r"[A-Za-z']+")


class LyricPanel(Panel):
    title = "Lyric"

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self._writing_job: int | None = None
        self._analysis_job: int | None = None
        self._rhyme_word = ""
        self._rewrite_target: tuple[int, str] | None = None  # (line number, original text)
        self._suggestion_mode = ""

        # editor column
        self.editor = LyricEditorWidget()
        self.stress = QLabel()
        self.stress.setObjectName("lyric-stress")
        self.stress.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.counts = QLabel()
        self.import_button = QPushButton("Import .txt…")
        self.export_button = QPushButton("Export…")
        self.unfold_button = QPushButton("Unfold all")
        toolbar = QHBoxLayout()
        for button in (self.import_button, self.export_button, self.unfold_button):
            toolbar.addWidget(button)
        toolbar.addStretch(1)
        toolbar.addWidget(self.counts)
        editor_column = QWidget()
        editor_layout = QVBoxLayout(editor_column)
        editor_layout.setContentsMargins(0, 0, 0, 0)
        editor_layout.addLayout(toolbar)
        editor_layout.addWidget(self.editor, 1)
        editor_layout.addWidget(self.stress)

        # side column: rhymes, writing controls
        self.rhyme_title = QLabel("Put the cursor on a word to see its rhymes.")
        self.rhyme_title.setWordWrap(True)
        self.rhymes = QTreeWidget()
        self.rhymes.setHeaderHidden(True)
        self.rhymes.setObjectName("lyric-rhymes")
        self.rhymes.setToolTip("Click a rhyme to insert it at the cursor")
        self.rhymes.setMinimumHeight(160)
        rhyme_box = QGroupBox("Rhymes")
        rhyme_layout = QVBoxLayout(rhyme_box)
        rhyme_layout.addWidget(self.rhyme_title)
        rhyme_layout.addWidget(self.rhymes, 1)
        self.controls = LyricControlsWidget()
        self.write_button = QPushButton("Write")
        self.write_button.setDefault(True)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setObjectName("lyric-status")
        buttons = QHBoxLayout()
        buttons.addWidget(self.write_button, 1)
        buttons.addWidget(self.stop_button)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.addWidget(rhyme_box, 1)
        side_layout.addWidget(self.controls)
        side_layout.addLayout(buttons)
        side_layout.addWidget(self.status)
        scroll = QScrollArea()
        scroll.setWidget(side)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(370)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        # bottom: suggestions (and room for more tabs, e.g. a melody for the words)
        self.suggestion = QPlainTextEdit()
        self.suggestion.setReadOnly(True)
        self.suggestion.setObjectName("lyric-suggestion")
        self.suggestion.setPlaceholderText("The model's suggestions stream here; insert what you like.")
        self.alternatives = QListWidget()
        self.alternatives.setObjectName("lyric-alternatives")
        self.alternatives.setVisible(False)
        self.insert_button = QPushButton("Insert at cursor")
        self.replace_button = QPushButton("Replace line")
        self.discard_button = QPushButton("Discard")
        for button in (self.insert_button, self.replace_button, self.discard_button):
            button.setEnabled(False)
        suggestion_buttons = QVBoxLayout()
        for button in (self.insert_button, self.replace_button, self.discard_button):
            suggestion_buttons.addWidget(button)
        suggestion_buttons.addStretch(1)
        suggestions_tab = QWidget()
        suggestions_layout = QHBoxLayout(suggestions_tab)
        suggestions_layout.addWidget(self.suggestion, 3)
        suggestions_layout.addWidget(self.alternatives, 3)
        suggestions_layout.addLayout(suggestion_buttons)
        self.bottom_tabs = QTabWidget()
        self.bottom_tabs.setObjectName("lyric-bottom-tabs")
        self.bottom_tabs.addTab(suggestions_tab, "Suggestions")
        self.melody = MelodyWidget(context)
        # In a scroll area: the melody editor is tall (about 470 px), and the lyric must keep
        # most of the window's height.
        self.melody_scroll = QScrollArea()
        self.melody_scroll.setWidget(self.melody)
        self.melody_scroll.setWidgetResizable(True)
        self.bottom_tabs.addTab(self.melody_scroll, "Melody")

        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(editor_column)
        top.addWidget(scroll)
        top.setStretchFactor(0, 3)
        top.setStretchFactor(1, 1)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(top)
        self.splitter.addWidget(self.bottom_tabs)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        # Stretch factors only share extra room; the melody tab's size hint would otherwise take
        # half the height. Start with about 70% for the editor (scaled to the real height).
        self.splitter.setSizes([700, 300])
        self.bottom_tabs.currentChanged.connect(self._fit_bottom_tab)
        self.splitter.setCollapsible(0, False)
        layout = QVBoxLayout(self)
        layout.addWidget(self.splitter)

        # timers: analysis and rhymes follow typing, but not on every keystroke
        self._analysis_timer = QTimer(self)
        self._analysis_timer.setSingleShot(True)
        self._analysis_timer.setInterval(ANALYSIS_DELAY_MS)
        self._analysis_timer.timeout.connect(self.refresh_analysis)
        self._rhyme_timer = QTimer(self)
        self._rhyme_timer.setSingleShot(True)
        self._rhyme_timer.setInterval(RHYME_DELAY_MS)
        self._rhyme_timer.timeout.connect(self.request_rhymes)

        self.editor.textChanged.connect(self._on_text_changed)
        self.editor.cursorPositionChanged.connect(self._on_cursor_moved)
        self.rhymes.itemClicked.connect(self._on_rhyme_clicked)
        self.write_button.clicked.connect(self.write)
        self.stop_button.clicked.connect(self.stop)
        self.insert_button.clicked.connect(self.insert_suggestion)
        self.replace_button.clicked.connect(self.replace_line)
        self.discard_button.clicked.connect(self.discard_suggestion)
        self.alternatives.itemDoubleClicked.connect(lambda _item: self.insert_or_replace())
        self.import_button.clicked.connect(self._choose_import)
        self.export_button.clicked.connect(self._choose_export)
        self.unfold_button.clicked.connect(self.editor.unfold_all)
        self.controls.set_packs(context.runner.pack_summaries())
        self._update_counts()

    # -- text, counts, analysis ------------------------------------------------------------
    def text(self) -> str:
        return self.editor.toPlainText()

    def _on_text_changed(self) -> None:
        self.context.lyric.set_text(self.text())
        self._update_counts()
        self._analysis_timer.start()

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
            job = self.submit(request, self._on_analysis, on_error=self._on_analysis_error)
            self._analysis_job = job.id

    def _on_analysis(self, result: Result) -> None:
        self._analysis_job = None
        if not isinstance(result, LyricAnalysisResult):
            return
        if dictionary_ready():
            self.refresh_analysis()  # the text may have changed while the job ran
        else:  # never submit again from here: that could loop
            self.editor.set_line_infos(list(result.lines))

    def _on_analysis_error(self, message: str) -> None:
        self._analysis_job = None  # the next edit tries again
        self.status.setText(f"Syllable and rhyme analysis failed: {message}")

    def _current_line(self) -> str:
        return self.editor.textCursor().block().text()

    def _update_stress(self) -> None:
        line = self._current_line()
        if not dictionary_ready() or not words_of(line):
            self.stress.setText("")
            return
        self.stress.setText(f"Stress: {stress_pattern(line)}   (/ stressed, u unstressed)")

    # -- rhymes ------------------------------------------------------------------------------
    def word_under_cursor(self) -> str:
        cursor = self.editor.textCursor()
        line, column = cursor.block().text(), cursor.positionInBlock()
        for match in _WORD_AT_RE.finditer(line):
            if match.start() <= column <= match.end():
                return match.group().strip("'").lower()
        return ""

    def _on_cursor_moved(self) -> None:
        if dictionary_ready():
            self._update_stress()
        if self.word_under_cursor() and self.word_under_cursor() != self._rhyme_word:
            self._rhyme_timer.start()

    def request_rhymes(self) -> None:
        word = self.word_under_cursor()
        if not word or word == self._rhyme_word:
            return
        self._rhyme_word = word
        self.rhyme_title.setText(f"Finding rhymes for “{word}”…")
        self.submit(RhymeRequest(word=word, origin="lyric-rhymes", supersedes=True), self._on_rhymes)

    def _on_rhymes(self, result: Result) -> None:
        if not isinstance(result, RhymeResult):
            return
        self.rhymes.clear()
        if not result.rhymes:
            self.rhyme_title.setText(f"No rhymes found for “{result.word}”.")
            return
        self.rhyme_title.setText(f"Rhymes for “{result.word}” (most common first; click to insert)")
        for kind in ("perfect", "near"):
            for syllables, group in group_by_syllables([r for r in result.rhymes if r.kind == kind]).items():
                header = QTreeWidgetItem([f"{kind.capitalize()} · {syllables} syllable{'s' * (syllables > 1)}"])
                header.setFlags(Qt.ItemFlag.ItemIsEnabled)
                for rhyme in group:
                    item = QTreeWidgetItem([rhyme.word])
                    item.setData(0, Qt.ItemDataRole.UserRole, rhyme.word)
                    header.addChild(item)
                self.rhymes.addTopLevelItem(header)
                header.setExpanded(True)

    def _on_rhyme_clicked(self, item: QTreeWidgetItem, _column: int) -> None:
        word = item.data(0, Qt.ItemDataRole.UserRole)
        if word:
            self.insert_word(str(word))

    def insert_word(self, word: str) -> None:
        """Insert at the cursor with one space before it when needed (one undo step)."""
        cursor = self.editor.textCursor()
        before = cursor.block().text()[: cursor.positionInBlock()]
        cursor.insertText((" " if before and not before.endswith(" ") else "") + word)
        self.editor.setTextCursor(cursor)
        self.editor.setFocus()

    # -- writing with the model ------------------------------------------------------------
    def write(self) -> None:
        if self._writing_job is not None:
            return
        cursor = self.editor.textCursor()
        before = self.text()[: cursor.position()]
        line = cursor.selectedText().strip() or self._current_line()
        try:
            request = self.controls.build_request(before, line, self.text())
        except AtelierError as exc:
            show_error(self, exc)
            return
        self._rewrite_target = (cursor.blockNumber(), self._current_line()) if request.mode == "rewrite" else None
        self._suggestion_mode = request.mode
        self.suggestion.clear()
        self.alternatives.clear()
        self.alternatives.setVisible(request.mode in ("rewrite", "brainstorm"))
        self._set_suggestion_buttons(False)
        job = self.submit(request, self._on_written, self._on_writing_progress, self._on_writing_error)
        self._writing_job = job.id
        self.write_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.status.setText("Waiting for the model…")
        self.bottom_tabs.setCurrentIndex(0)

    def stop(self) -> None:
        if self._writing_job is not None:
            self.context.runner.cancel(self._writing_job)

    def _on_writing_progress(self, progress: Progress) -> None:
        if isinstance(progress.preview, str):
            self.suggestion.setPlainText(progress.preview)
            self.suggestion.moveCursor(QTextCursor.MoveOperation.End)
        if progress.message:
            tokens = f" ({progress.step} tokens)" if isinstance(progress.preview, str) else ""
            self.status.setText(progress.message + tokens)

    def _on_written(self, result: Result) -> None:
        self._writing_done()
        if not isinstance(result, LyricResult):
            return
        self.suggestion.setPlainText(result.text)
        self.alternatives.clear()
        self.alternatives.addItems(list(result.alternatives))
        if result.alternatives:
            self.alternatives.setCurrentRow(0)
        self._set_suggestion_buttons(bool(result.text.strip()))
        self.status.setText(
            f"{result.generated_tokens} tokens, {result.decode_tokens_per_s:.0f} tokens/s, "
            f"first token after {result.ttft_s:.2f}s. {result.device.describe()}."
        )

    def _on_writing_error(self, message: str) -> None:
        self._writing_done()
        self.status.setText("")
        show_error(self, message)

    def _on_job_changed(self, job: Job) -> None:
        super()._on_job_changed(job)
        if job.id == self._writing_job and job.state is JobState.CANCELLED:
            self._writing_done()
            self.status.setText("Stopped. The text written so far is kept above; insert it if you like it.")
            self._set_suggestion_buttons(bool(self.suggestion.toPlainText().strip()))

    def _writing_done(self) -> None:
        self._writing_job = None
        self.write_button.setEnabled(True)
        self.stop_button.setEnabled(False)

    def _set_suggestion_buttons(self, enabled: bool) -> None:
        self.insert_button.setEnabled(enabled)
        self.discard_button.setEnabled(enabled)
        self.replace_button.setEnabled(enabled and self._rewrite_target is not None)

    def chosen_suggestion(self) -> str:
        """The selected alternative (rewrite, brainstorm), else the whole suggestion."""
        item = self.alternatives.currentItem()
        if self.alternatives.isVisible() and item is not None and self._suggestion_mode == "rewrite":
            return item.text()
        selected = [i.text() for i in self.alternatives.selectedItems()]
        if self._suggestion_mode == "brainstorm" and selected:
            return "\n".join(selected)
        return self.suggestion.toPlainText().strip("\n")

    def insert_or_replace(self) -> None:
        if self._rewrite_target is not None:
            self.replace_line()
        else:
            self.insert_suggestion()

    def insert_suggestion(self) -> None:
        """Insert the suggestion as whole lines after the cursor's line (one undo step)."""
        text = self.chosen_suggestion()
        if not text:
            return
        cursor = self.editor.textCursor()
        cursor.clearSelection()
        if cursor.block().text().strip():
            cursor.movePosition(QTextCursor.MoveOperation.EndOfBlock)
            text = "\n" + text
        cursor.insertText(text)
        self.editor.setTextCursor(cursor)
        self.editor.setFocus()

    def replace_line(self) -> None:
        """Replace the rewritten line with the chosen alternative, if that line is still as it was."""
        if self._rewrite_target is None:
            return
        number, original = self._rewrite_target
        block = self.editor.document().findBlockByNumber(number)
        replacement = self.chosen_suggestion().split("\n")[0]
        if not block.isValid() or block.text() != original:
            self.status.setText("That line has changed since; the alternative was inserted instead.")
            self.insert_suggestion()
            return
        cursor = QTextCursor(block)
        cursor.movePosition(QTextCursor.MoveOperation.EndOfBlock, QTextCursor.MoveMode.KeepAnchor)
        cursor.insertText(replacement)
        self.editor.setTextCursor(cursor)
        self._rewrite_target = (number, replacement)

    def discard_suggestion(self) -> None:
        self.suggestion.clear()
        self.alternatives.clear()
        self._rewrite_target = None
        self._set_suggestion_buttons(False)

    # -- files -------------------------------------------------------------------------------
    def import_from(self, path: Path) -> None:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputFileError(f"Cannot read {path} ({exc}).") from exc
        cursor = self.editor.textCursor()
        cursor.select(QTextCursor.SelectionType.Document)
        cursor.insertText(from_text_file(data))  # one undo step: Ctrl+Z brings the old text back

    def export_to(self, path: Path) -> None:
        text = self.text()
        content = to_markdown(text) if path.suffix.lower() == ".md" else text.rstrip("\n") + "\n"
        try:
            path.write_text(content, encoding="utf-8")
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
        name, chosen = QFileDialog.getSaveFileName(
            self, "Export the lyric", "lyric.txt", "Text (*.txt);;Markdown (*.md)"
        )
        if name:
            path = Path(name)
            if not path.suffix:
                path = path.with_suffix(".md" if "md" in chosen else ".txt")
            try:
                self.export_to(path)
                self.status.setText(f"Exported to {path}")
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

    # -- session -----------------------------------------------------------------------------
    def save_state(self) -> dict[str, Any]:
        return {
            "text": self.text(),
            "cursor": self.editor.textCursor().position(),
            "controls": self.controls.state(),
            "suggestion": self.suggestion.toPlainText(),
            "melody": self.melody.save_state(),
        }

    def restore_state(self, state: dict[str, Any]) -> None:
        text = state.get("text")
        if isinstance(text, str):
            self.editor.setPlainText(text)
            cursor = self.editor.textCursor()
            position = state.get("cursor")
            if isinstance(position, int) and 0 <= position <= len(text):
                cursor.setPosition(position)
                self.editor.setTextCursor(cursor)
        controls = state.get("controls")
        if isinstance(controls, dict):
            self.controls.restore(controls)
        melody = state.get("melody")
        if isinstance(melody, dict):
            self.melody.restore_state(melody)
        suggestion = state.get("suggestion")
        if isinstance(suggestion, str) and suggestion:
            self.suggestion.setPlainText(suggestion)
            self._set_suggestion_buttons(True)

    def recall(self, job: Job) -> None:
        if isinstance(job.request, MelodyRequest):
            self.melody.recall(job.request)
            self.bottom_tabs.setCurrentWidget(self.melody_scroll)
        elif isinstance(job.request, LyricRequest):
            self.controls.recall(job.request)
            if isinstance(job.result, LyricResult):
                self.suggestion.setPlainText(job.result.text)
                self._set_suggestion_buttons(True)

    def close_panel(self) -> None:
        self._analysis_timer.stop()
        self._rhyme_timer.stop()
        if self._writing_job is not None:
            self.context.runner.cancel(self._writing_job)
        self.melody.close_widget()
        super().close_panel()
