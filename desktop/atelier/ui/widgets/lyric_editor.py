"""The lyric editor: a plain-text editor with a gutter showing each line's syllable count and rhyme
letter (flagged when a later verse's line strays from the first verse's), and fold markers on section
lines ([Verse], [Chorus], ...) that hide a section's lines; and the suggestions area beside it, from
which the model's text enters the lyric only when asked, with the project's earlier suggestions a
click back."""

from __future__ import annotations

import re

from PySide6.QtCore import QEvent, QRect, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QHelpEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QResizeEvent,
    QTextBlock,
    QTextCursor,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QToolButton,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from atelier.core.documents.lyric import LyricDocument
from atelier.core.prosody import PARTNER_TOLERANCE, LineInfo, is_section

GUTTER_WIDTH = 64
_WORD_AT_RE = re.compile(r"[A-Za-z']+")
OFF_METER_COLOR = "#c26a00"  # amber: a warning, not the accent red of section arrows and rhyme letters


def match_case(original: str, word: str) -> str:
    """`word` written with `original`'s capitals: 'Again' -> 'Then', 'AGAIN' -> 'THEN'."""
    if len(original) > 1 and original.isupper():
        return word.upper()
    if original[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


class LyricGutterWidget(QWidget):
    """Paints per line: fold arrow on section lines, syllable count, rhyme letter."""

    def __init__(self, editor: LyricEditorWidget) -> None:
        super().__init__(editor)
        self.editor = editor
        self.setObjectName("lyric-gutter")

    def sizeHint(self) -> QSize:
        return QSize(GUTTER_WIDTH, 0)

    def paintEvent(self, event: QPaintEvent) -> None:
        self.editor.paint_gutter(self, event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        block = self.editor.cursorForPosition(event.position().toPoint()).block()
        if is_section(block.text()) is not None:
            self.editor.toggle_fold(block.blockNumber())

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            number = self.editor.cursorForPosition(event.pos()).block().blockNumber()
            text = self.editor.line_tooltip(number)
            if text:
                QToolTip.showText(event.globalPos(), text, self)
            else:
                QToolTip.hideText()
            return True
        return super().event(event)


class LyricEditorWidget(QPlainTextEdit):
    folds_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("lyric-editor")
        self.setPlaceholderText(
            "Write your lyric here…\n\n[Verse]\nMark sections with [Verse], [Chorus], [Bridge]; "
            "click the arrow beside a section to fold it."
        )
        font = QFont(self.font())
        font.setPointSizeF(max(font.pointSizeF(), 11.0))
        self.setFont(font)
        self.gutter = LyricGutterWidget(self)
        self.infos: list[LineInfo] = []
        self.folded: set[int] = set()  # block numbers of folded section markers
        self.setViewportMargins(GUTTER_WIDTH, 0, 0, 0)
        self.updateRequest.connect(self._on_update_request)
        self.blockCountChanged.connect(self._on_block_count_changed)

    # -- the text at the cursor --------------------------------------------------------------
    def current_line(self) -> str:
        return self.textCursor().block().text()

    def word_span(self) -> tuple[int, int] | None:
        """Where the word the cursor is in (or touches) starts and ends, as document positions."""
        cursor = self.textCursor()
        block = cursor.block()
        line, column = block.text(), cursor.positionInBlock()
        for match in _WORD_AT_RE.finditer(line):
            if match.start() <= column <= match.end():
                word = match.group()
                start = match.start() + len(word) - len(word.lstrip("'"))  # quotes are not the word
                end = match.end() - (len(word) - len(word.rstrip("'")))
                return (block.position() + start, block.position() + end) if end > start else None
        return None

    def word_under_cursor(self) -> str:
        span = self.word_span()
        if span is None:
            return ""
        start = self.textCursor().block().position()
        return self.textCursor().block().text()[span[0] - start : span[1] - start].lower()

    def insert_word(self, word: str) -> None:
        """Insert at the cursor with one space before it when needed (one undo step)."""
        cursor = self.textCursor()
        before = cursor.block().text()[: cursor.positionInBlock()]
        cursor.insertText((" " if before and not before.endswith(" ") else "") + word)
        self.setTextCursor(cursor)
        self.setFocus()

    def replace_word(self, word: str) -> None:
        """Replace the whole word the cursor is in ("aga|in" + "ten" gives "ten", not "aga tenin"), in
        its capitals, as one undo step; with no word at the cursor, insert it there."""
        span = self.word_span()
        if span is None:
            self.insert_word(word)
            return
        cursor = self.textCursor()
        cursor.setPosition(span[0])
        cursor.setPosition(span[1], QTextCursor.MoveMode.KeepAnchor)
        cursor.insertText(match_case(cursor.selectedText(), word))
        self.setTextCursor(cursor)
        self.setFocus()

    def replace_all(self, text: str) -> None:
        """Replace the whole text as one undo step (Ctrl+Z brings the old text back)."""
        cursor = self.textCursor()
        cursor.select(QTextCursor.SelectionType.Document)
        cursor.insertText(text)

    def find_line(self, text: str) -> int | None:
        """The number of the first line that reads `text`, if any."""
        block = self.document().firstBlock()
        while block.isValid():
            if block.text() == text:
                return block.blockNumber()
            block = block.next()
        return None

    # -- analysis shown in the gutter -------------------------------------------------------
    def set_line_infos(self, infos: list[LineInfo]) -> None:
        self.infos = infos
        self.gutter.update()

    def line_tooltip(self, number: int) -> str:
        """What the gutter says about line `number` (from 0) when the pointer rests on it."""
        info = self.infos[number] if 0 <= number < len(self.infos) else None
        if info is None or not info.syllables:
            return ""
        text = f"{info.syllables} syllable{'s' * (info.syllables != 1)}, rhyme {info.rhyme}"
        if info.partner is None:
            return text
        partner = (
            f"line {info.partner + 1}, its partner in the first section of this kind, has {info.partner_syllables}"
        )
        if info.off_meter:
            return (
                f"{text}.\n⚠ {partner}: more than {PARTNER_TOLERANCE} apart, so the tune that fits one will"
                " not fit the other."
            )
        return f"{text}; {partner}."

    # -- folding -----------------------------------------------------------------------------
    def section_blocks(self, marker: int) -> list[QTextBlock]:
        """The lines after a section marker, up to the next marker."""
        blocks = []
        block = self.document().findBlockByNumber(marker).next()
        while block.isValid() and is_section(block.text()) is None:
            blocks.append(block)
            block = block.next()
        return blocks

    def toggle_fold(self, marker: int) -> None:
        self.set_folded(marker, marker not in self.folded)

    def set_folded(self, marker: int, folded: bool) -> None:
        marker_block = self.document().findBlockByNumber(marker)
        if not marker_block.isValid() or is_section(marker_block.text()) is None:
            return
        blocks = self.section_blocks(marker)
        for block in blocks:
            block.setVisible(not folded)
        if folded:
            self.folded.add(marker)
            if self.textCursor().block() in blocks:
                cursor = self.textCursor()
                cursor.setPosition(marker_block.position())
                self.setTextCursor(cursor)  # never leave the cursor inside hidden text
        else:
            self.folded.discard(marker)
        if blocks:
            start = marker_block.position()
            end = blocks[-1].position() + blocks[-1].length()
            self.document().markContentsDirty(start, end - start)
        self.viewport().update()
        self.gutter.update()
        self.folds_changed.emit()

    def unfold_all(self) -> None:
        for marker in sorted(self.folded):
            self.set_folded(marker, False)

    def _on_block_count_changed(self, _count: int) -> None:
        # Line numbers moved: rather than track them, open every fold (nothing stays hidden by surprise).
        if self.folded:
            self.folded.clear()
            block = self.document().firstBlock()
            while block.isValid():
                block.setVisible(True)
                block = block.next()
            self.document().markContentsDirty(0, self.document().characterCount())
            self.viewport().update()
            self.folds_changed.emit()

    # -- gutter geometry and painting -------------------------------------------------------------
    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        rect = self.contentsRect()
        self.gutter.setGeometry(QRect(rect.left(), rect.top(), GUTTER_WIDTH, rect.height()))

    def _on_update_request(self, rect: QRect, dy: int) -> None:
        if dy:
            self.gutter.scroll(0, dy)
        else:
            self.gutter.update(0, rect.y(), self.gutter.width(), rect.height())

    def paint_gutter(self, gutter: QWidget, event: QPaintEvent) -> None:
        painter = QPainter(gutter)
        palette = self.palette()
        painter.fillRect(event.rect(), palette.alternateBase())
        muted = QColor(palette.text().color())
        muted.setAlpha(140)
        accent = QColor("#b23a48")
        block = self.firstVisibleBlock()
        top = round(self.blockBoundingGeometry(block).translated(self.contentOffset()).top())
        height = self.fontMetrics().height()
        while block.isValid() and top <= event.rect().bottom():
            bottom = top + round(self.blockBoundingRect(block).height())
            if block.isVisible() and bottom >= event.rect().top():
                number = block.blockNumber()
                info = self.infos[number] if number < len(self.infos) else None
                if is_section(block.text()) is not None:
                    painter.setPen(accent)
                    arrow = "▸" if number in self.folded else "▾"
                    hidden = len(self.section_blocks(number)) if number in self.folded else 0
                    label = f"{arrow} {hidden}" if hidden else arrow
                    painter.drawText(4, top, GUTTER_WIDTH - 8, height, Qt.AlignmentFlag.AlignLeft, label)
                elif info is not None and info.syllables:
                    if info.off_meter:  # strays from its partner line: a mark and the count in amber
                        warning = QColor(OFF_METER_COLOR)
                        painter.setPen(warning)
                        painter.drawText(2, top, 8, height, Qt.AlignmentFlag.AlignLeft, "!")
                    else:
                        painter.setPen(muted)
                    painter.drawText(10, top, 22, height, Qt.AlignmentFlag.AlignRight, str(info.syllables))
                    painter.setPen(accent)
                    bold = QFont(painter.font())
                    bold.setBold(True)
                    painter.setFont(bold)
                    painter.drawText(38, top, 22, height, Qt.AlignmentFlag.AlignLeft, info.rhyme)
                    painter.setFont(self.font())
            block = block.next()
            top = bottom
        painter.end()


class SuggestionsWidget(QWidget):
    """The model's suggestion (streamed) and, for a rewrite or brainstorm, its alternatives. Nothing
    enters the lyric until the user inserts it; each insert or replace is one undo step in the editor.

    Every write's text is kept in the LyricDocument (saved with the project); ◀ and ▶ browse back to
    earlier ones while a new write may still be streaming (▶ past the newest returns to it)."""

    message = Signal(str)  # something the panel's status line should say

    def __init__(self, editor: LyricEditorWidget, document: LyricDocument, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editor = editor
        self.document = document
        self.mode = ""
        self.rewrite_target: tuple[int, str] | None = None  # (line number, original text)
        self.index: int | None = None  # the kept suggestion on show; None: the write streaming, or nothing
        self.live = False  # a write is streaming (shown when index is None)
        self.live_text = ""  # what it has written so far
        self._live: tuple[str, tuple[int, str] | None] = ("", None)
        self.text_view = QPlainTextEdit()
        self.text_view.setReadOnly(True)
        self.text_view.setObjectName("lyric-suggestion")
        self.text_view.setPlaceholderText("The model's suggestions stream here; insert what you like.")
        self.alternatives = QListWidget()
        self.alternatives.setObjectName("lyric-alternatives")
        self.alternatives.setVisible(False)
        self.alternatives.itemDoubleClicked.connect(lambda _item: self.insert_or_replace())
        self.back_button = QToolButton()
        self.back_button.setText("◀")
        self.back_button.setToolTip("The suggestion before this one")
        self.back_button.clicked.connect(self.go_back)
        self.forward_button = QToolButton()
        self.forward_button.setText("▶")
        self.forward_button.setToolTip("The next suggestion (past the newest: the write in progress)")
        self.forward_button.clicked.connect(self.go_forward)
        self.position = QLabel()
        self.position.setObjectName("lyric-suggestion-position")
        self.position.setWordWrap(True)
        self.insert_button = QPushButton("Insert at cursor")
        self.replace_button = QPushButton("Replace line")
        self.discard_button = QPushButton("Discard")
        self.discard_button.setToolTip("Remove this suggestion from the project's suggestions")
        self.insert_button.clicked.connect(self.insert)
        self.replace_button.clicked.connect(self.replace_line)
        self.discard_button.clicked.connect(self.discard)
        history = QHBoxLayout()
        history.addWidget(self.back_button)
        history.addWidget(self.position, 1)
        history.addWidget(self.forward_button)
        views = QHBoxLayout()
        views.addWidget(self.text_view, 3)
        views.addWidget(self.alternatives, 3)
        column = QVBoxLayout()
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(history)
        column.addLayout(views, 1)
        buttons = QVBoxLayout()
        for button in (self.insert_button, self.replace_button, self.discard_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QHBoxLayout(self)
        layout.addLayout(column, 1)
        layout.addLayout(buttons)
        self.document.suggestions_changed.connect(self._update_history)
        self.set_buttons(False)
        self._update_history()

    # -- a write streaming now --------------------------------------------------------------
    def begin(self, mode: str, rewrite_target: tuple[int, str] | None) -> None:
        """A write's first text arrived: show it as it streams."""
        self.live, self._live, self.live_text = True, (mode, rewrite_target), ""
        self.index = None
        self._show(mode, rewrite_target, "", ())
        self.set_buttons(False)
        self._update_history()

    def stream(self, text: str) -> None:
        self.live_text = text
        if self.index is None:
            self.text_view.setPlainText(text)
            self.text_view.moveCursor(QTextCursor.MoveOperation.End)

    def end_live(self) -> None:
        """The write streaming has ended (finished, stopped or failed)."""
        self.live = False
        if self.index is None:
            self.keep()
        self._update_history()

    # -- the kept suggestions -----------------------------------------------------------------
    def show_suggestion(self, index: int, rewrite_target: tuple[int, str] | None = None) -> None:
        """Show kept suggestion `index`. A rewrite's line is found again by its text unless given."""
        suggestions = self.document.suggestions
        if not 0 <= index < len(suggestions):
            return
        self.index = index
        entry = suggestions[index]
        if entry.mode == "rewrite" and rewrite_target is None:
            number = self.editor.find_line(entry.line)
            rewrite_target = None if number is None else (number, entry.line)
        self._show(entry.mode, rewrite_target, entry.text, entry.alternatives)
        self.keep()
        self._update_history()

    def show_latest(self) -> None:
        """After the document was replaced: its newest suggestion, or an empty view."""
        self.live = False
        if self.document.suggestions:
            self.show_suggestion(len(self.document.suggestions) - 1)
        else:
            self.index = None
            self._show("", None, "", ())
            self.set_buttons(False)
            self._update_history()

    def go_back(self) -> None:
        count = len(self.document.suggestions)
        if self.index is None and count:
            self.show_suggestion(count - 1)
        elif self.index is not None and self.index > 0:
            self.show_suggestion(self.index - 1)

    def go_forward(self) -> None:
        if self.index is None:
            return
        if self.index + 1 < len(self.document.suggestions):
            self.show_suggestion(self.index + 1)
        elif self.live:
            self.index = None
            self._show(*self._live, self.live_text, ())
            self.set_buttons(False)
            self._update_history()

    def _show(
        self, mode: str, rewrite_target: tuple[int, str] | None, text: str, alternatives: tuple[str, ...]
    ) -> None:
        self.mode, self.rewrite_target = mode, rewrite_target
        self.text_view.setPlainText(text)
        self.alternatives.clear()
        self.alternatives.setVisible(mode in ("rewrite", "brainstorm"))
        self.alternatives.addItems(list(alternatives))
        if alternatives:
            self.alternatives.setCurrentRow(0)

    def _update_history(self) -> None:
        count = len(self.document.suggestions)
        if self.index is not None and self.index >= count:  # removed from under us
            self.index = None
        if self.index is None:
            where = "Writing…" if self.live else "No suggestions yet" if not count else f"{count} earlier"
        else:
            where = f"{self.index + 1} of {count} · {self.document.suggestions[self.index].label()}"
        self.position.setText(where)
        last = count - 1
        self.back_button.setEnabled((self.index is None and count > 0) or (self.index is not None and self.index > 0))
        self.forward_button.setEnabled(self.index is not None and (self.index < last or self.live))

    # -- using a suggestion ------------------------------------------------------------------
    def keep(self) -> None:
        """Whatever is shown can be inserted (also a stopped job's partial text)."""
        self.set_buttons(bool(self.text_view.toPlainText().strip()))

    def set_buttons(self, enabled: bool) -> None:
        self.insert_button.setEnabled(enabled)
        self.discard_button.setEnabled(enabled)
        self.replace_button.setEnabled(enabled and self.rewrite_target is not None)

    def chosen(self) -> str:
        """The selected alternative (rewrite, brainstorm), else the whole suggestion."""
        item = self.alternatives.currentItem()
        if self.alternatives.isVisible() and item is not None and self.mode == "rewrite":
            return item.text()
        selected = [i.text() for i in self.alternatives.selectedItems()]
        if self.mode == "brainstorm" and selected:
            return "\n".join(selected)
        return self.text_view.toPlainText().strip("\n")

    def insert_or_replace(self) -> None:
        if self.rewrite_target is not None:
            self.replace_line()
        else:
            self.insert()

    def insert(self) -> None:
        """Insert the suggestion as whole lines after the cursor's line (one undo step)."""
        text = self.chosen()
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
        if self.rewrite_target is None:
            return
        number, original = self.rewrite_target
        block = self.editor.document().findBlockByNumber(number)
        replacement = self.chosen().split("\n")[0]
        if not block.isValid() or block.text() != original:
            self.message.emit("That line has changed since; the alternative was inserted instead.")
            self.insert()
            return
        cursor = QTextCursor(block)
        cursor.movePosition(QTextCursor.MoveOperation.EndOfBlock, QTextCursor.MoveMode.KeepAnchor)
        cursor.insertText(replacement)
        self.editor.setTextCursor(cursor)
        self.rewrite_target = (number, replacement)

    def discard(self) -> None:
        """Drop the suggestion on show from the project (the one before it is shown, if any)."""
        if self.index is None:
            self.text_view.clear()
            self.alternatives.clear()
            self.rewrite_target = None
            self.set_buttons(False)
            return
        index = self.index
        self.document.remove_suggestion(index)
        if self.document.suggestions:
            self.show_suggestion(max(0, index - 1))
        else:
            self.index = None
            self._show("", None, "", ())
            self.set_buttons(False)
            self._update_history()

    def close_widget(self) -> None:
        self.document.suggestions_changed.disconnect(self._update_history)
