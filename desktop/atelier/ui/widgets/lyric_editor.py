"""The lyric editor: a plain-text editor with a gutter showing each line's syllable count and rhyme
letter, and fold markers on section lines ([Verse], [Chorus], ...) that hide a section's lines."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QMouseEvent, QPainter, QPaintEvent, QResizeEvent, QTextBlock
from PySide6.QtWidgets import QPlainTextEdit, QWidget

from atelier.core.prosody import LineInfo, is_section

GUTTER_WIDTH = 64


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

    # -- analysis shown in the gutter -------------------------------------------------------
    def set_line_infos(self, infos: list[LineInfo]) -> None:
        self.infos = infos
        self.gutter.update()

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
                    painter.setPen(muted)
                    painter.drawText(2, top, 30, height, Qt.AlignmentFlag.AlignRight, str(info.syllables))
                    painter.setPen(accent)
                    bold = QFont(painter.font())
                    bold.setBold(True)
                    painter.setFont(bold)
                    painter.drawText(38, top, 22, height, Qt.AlignmentFlag.AlignLeft, info.rhyme)
                    painter.setFont(self.font())
            block = block.next()
            top = bottom
        painter.end()
