"""A piano roll for a sung melody: notes over bars, the chord of each bar above them, each syllable
under its note, the playing note highlighted; clicking a note selects its line (to regenerate or loop it)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QHelpEvent, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QToolTip, QWidget

from atelier.core.music import MODE_SCALES, NOTE_NAMES, parse_meter, spell, tonic_pitch_class
from atelier.core.requests.melody import Melody

PX_PER_QUARTER = 52
LEFT = 44  # room for pitch names
TOP = 22  # room for section names
CHORD_BAND = 22  # the chord of each bar, between the section names and the notes
NOTES_TOP = TOP + CHORD_BAND
LYRIC_BAND = 40
NOTE_COLOR = QColor("#3b6ea5")
STRESSED_COLOR = QColor("#24507f")
CURRENT_COLOR = QColor("#e8822a")
SELECTED_BAND = QColor(232, 130, 42, 40)
CHORD_FILL = QColor(59, 110, 165, 30)
TONIC_CHORD_FILL = QColor(59, 110, 165, 60)


class PianoRollWidget(QWidget):
    line_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.melody: Melody | None = None
        self.current: int | None = None
        self.selected_line: int | None = None
        self.setMinimumHeight(240)
        self.setMouseTracking(False)

    def set_melody(self, melody: Melody | None) -> None:
        self.melody = melody
        self.current = None
        if melody is None or (self.selected_line is not None and self.selected_line >= len(melody.lines)):
            self.selected_line = None
        # The roll is as wide as the song; its scroll area gives it the height.
        self.setMinimumWidth(self.sizeHint().width())
        self.updateGeometry()
        self.update()

    def set_current(self, index: int | None) -> None:
        if index != self.current:
            self.current = index
            self.update()

    def set_selected_line(self, line: int | None) -> None:
        self.selected_line = line
        self.update()

    def sizeHint(self) -> QSize:
        quarters = self.melody.total_quarters if self.melody else 16.0
        return QSize(int(LEFT + quarters * PX_PER_QUARTER + 16), 280)

    # -- geometry ----------------------------------------------------------------------------
    def _pitch_range(self) -> tuple[int, int]:
        assert self.melody is not None
        pitches = [n.pitch for n in self.melody.notes] or [60]
        return min(pitches) - 2, max(pitches) + 2

    def _row_height(self) -> float:
        low, high = self._pitch_range()
        return max(4.0, (self.height() - NOTES_TOP - LYRIC_BAND) / (high - low + 1))

    def x_of(self, quarters: float) -> float:
        return LEFT + quarters * PX_PER_QUARTER

    def y_of(self, pitch: int) -> float:
        _, high = self._pitch_range()
        return NOTES_TOP + (high - pitch) * self._row_height()

    def chord_rect(self, index: int) -> QRectF:
        """Where chord `index` is drawn: over its bar, above the notes."""
        assert self.melody is not None
        chord = self.melody.chords[index]
        return QRectF(self.x_of(chord.start) + 1, TOP + 1, chord.duration * PX_PER_QUARTER - 2, CHORD_BAND - 3)

    def chord_index_at(self, x: float, y: float) -> int | None:
        if self.melody is None:
            return None
        return next((i for i in range(len(self.melody.chords)) if self.chord_rect(i).contains(x, y)), None)

    def note_rect(self, index: int) -> QRectF:
        assert self.melody is not None
        note = self.melody.notes[index]
        return QRectF(
            self.x_of(note.start) + 1,
            self.y_of(note.pitch) + 1,
            max(4.0, note.duration * PX_PER_QUARTER - 2),
            max(3.0, self._row_height() - 2),
        )

    # -- drawing -----------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        painter.fillRect(self.rect(), palette.base())
        if self.melody is None or not self.melody.notes:
            painter.setPen(palette.placeholderText().color())
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Generate a melody to see it here.")
            return
        melody = self.melody
        low, high = self._pitch_range()
        row = self._row_height()
        right = self.x_of(melody.total_quarters)
        tonic = tonic_pitch_class(melody.key)
        scale = MODE_SCALES.get(melody.mode, MODE_SCALES["major"])
        small = QFont(self.font())
        small.setPointSizeF(max(7.0, small.pointSizeF() - 1.5))
        painter.setFont(small)
        # Rows: the key's scale tones lighter than the other semitones, tonic rows marked.
        for pitch in range(low, high + 1):
            y = self.y_of(pitch)
            degree = (pitch - tonic) % 12
            if degree not in scale:
                painter.fillRect(QRectF(LEFT, y, right - LEFT, row), QColor(0, 0, 0, 14))
            if degree == 0:
                painter.fillRect(QRectF(LEFT, y, right - LEFT, row), QColor(59, 110, 165, 22))
                painter.setPen(palette.text().color())
                painter.drawText(
                    QRectF(2, y, LEFT - 6, row),
                    Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                    f"{NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}",
                )
        # Lines: the selected one banded; sections named on top.
        if self.selected_line is not None and self.selected_line < len(melody.line_spans):
            start, end = melody.line_spans[self.selected_line]
            painter.fillRect(
                QRectF(self.x_of(start), TOP, (end - start) * PX_PER_QUARTER, self.height()), SELECTED_BAND
            )
        painter.setPen(palette.text().color())
        for name, first, _ in melody.sections:
            painter.drawText(QRectF(self.x_of(melody.line_spans[first][0]) + 3, 2, 200, TOP - 4), name)
        self._draw_chords(painter, small)
        # Bars and beats.
        meter = parse_meter(melody.meter)
        bar = float(meter.bar_quarters)
        beat = float(meter.beat_quarters)
        position = 0.0
        while position <= melody.total_quarters + 1e-6:
            is_bar = abs(position / bar - round(position / bar)) < 1e-6
            painter.setPen(QPen(QColor(0, 0, 0, 90 if is_bar else 28), 1))
            x = self.x_of(position)
            painter.drawLine(int(x), NOTES_TOP, int(x), self.height() - LYRIC_BAND)
            position += beat
        # Notes, and each syllable under its note (a second row when the first would overlap).
        lyric_y = self.height() - LYRIC_BAND + 3
        metrics = painter.fontMetrics()
        row_right = [-1e9, -1e9]
        for index, note in enumerate(melody.notes):
            rect = self.note_rect(index)
            color = CURRENT_COLOR if index == self.current else STRESSED_COLOR if note.stress else NOTE_COLOR
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(color)
            painter.drawRoundedRect(rect, 3, 3)
            text = melody.sung_text(index)
            x = self.x_of(note.start)
            text_row = 0 if x >= row_right[0] + 3 or row_right[1] > row_right[0] else 1
            width = metrics.horizontalAdvance(text)
            row_right[text_row] = x + width
            if index == self.current:
                bold = QFont(small)
                bold.setBold(True)
                painter.setFont(bold)
                painter.setPen(CURRENT_COLOR)
            else:
                painter.setFont(small)
                painter.setPen(palette.text().color())
            painter.drawText(
                QRectF(x, lyric_y + text_row * (metrics.height() + 1), width + 12, metrics.height() + 2), text
            )
        painter.end()

    def _draw_chords(self, painter: QPainter, font: QFont) -> None:
        """Each bar's chord: its name, and its numeral in the key where there is room."""
        assert self.melody is not None
        bold = QFont(font)
        bold.setBold(True)
        playing = self.melody.notes[self.current].start if self.current is not None else None
        for index, chord in enumerate(self.melody.chords):
            rect = self.chord_rect(index)
            sounding = playing is not None and chord.start <= playing < chord.end
            fill = CURRENT_COLOR if sounding else TONIC_CHORD_FILL if chord.numeral in ("I", "i") else CHORD_FILL
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(fill)
            painter.drawRoundedRect(rect, 3, 3)
            painter.setPen(self.palette().text().color())
            painter.setFont(bold)
            text_rect = rect.adjusted(4, 0, -2, 0)
            painter.drawText(text_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, chord.name)
            used = painter.fontMetrics().horizontalAdvance(chord.name) + 6
            painter.setFont(font)
            if used + painter.fontMetrics().horizontalAdvance(chord.numeral) < text_rect.width():
                painter.drawText(
                    text_rect.adjusted(used, 0, 0, 0),
                    Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                    chord.numeral,
                )

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent) and self.melody is not None:
            index = self.chord_index_at(event.pos().x(), event.pos().y())
            if index is None:
                QToolTip.hideText()
            else:
                chord = self.melody.chords[index]
                melody = self.melody
                tonic = tonic_pitch_class(melody.key)
                tones = " ".join(spell(melody.key, melody.mode, tone - tonic) for tone in chord.tones)
                where = f"{chord.numeral} in {melody.key} {melody.mode}"
                QToolTip.showText(event.globalPos(), f"{chord.name} ({where}): {tones}", self)
            return True
        return super().event(event)

    # -- input -------------------------------------------------------------------------------
    def line_at(self, x: float) -> int | None:
        if self.melody is None:
            return None
        quarters = (x - LEFT) / PX_PER_QUARTER
        for line, (start, end) in enumerate(self.melody.line_spans):
            if start <= quarters < end:
                return line
        return None

    def mousePressEvent(self, event: QMouseEvent) -> None:
        line = self.line_at(event.position().x())
        if line is not None:
            self.set_selected_line(line)
            self.line_clicked.emit(line)
