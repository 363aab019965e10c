"""A panel's side column of settings that scrolls on a short screen, where a wheel turn over a field the
artist has not clicked scrolls the column instead of changing the field."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import (
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QFrame,
    QScrollArea,
    QScrollBar,
    QStyle,
    QWidget,
)


class WheelScrollsColumn(QObject):
    """Qt's spin boxes, combo boxes and sliders take every wheel turn, so scrolling past them changed
    strength or steps: unless the field has the focus, the turn goes to the column's scroll bar."""

    def __init__(self, scroll: QScrollArea) -> None:
        super().__init__(scroll)
        self.scroll = scroll

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Wheel and isinstance(watched, QWidget) and not watched.hasFocus():
            QApplication.sendEvent(self.scroll.verticalScrollBar(), event)
            return True
        return False


def scrolling_column(content: QWidget, max_width: int) -> QScrollArea:
    """`content` in a vertical scroll area at most `max_width` wide (plus its bar): on a short screen it
    scrolls, so its form is never squeezed (its buttons would move) and the window never needs to be
    taller than the screen."""
    scroll = QScrollArea()
    scroll.setWidget(content)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    bar = scroll.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
    scroll.setMinimumWidth(content.minimumSizeHint().width() + bar)  # room for the bar, nothing cut off
    scroll.setMaximumWidth(max_width + bar)
    guard = WheelScrollsColumn(scroll)
    for kind in (QAbstractSpinBox, QComboBox, QAbstractSlider):
        for field in content.findChildren(kind):
            if isinstance(field, QScrollBar):  # a list's own bar scrolls that list
                continue
            field.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # a wheel turn does not pick a field
            field.installEventFilter(guard)
    return scroll
