"""Swatches in a flowing row: click to edit, type a hex, lock, drag one onto another to reorder."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QPoint, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QDrag,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QIcon,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QLabel,
    QLineEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from superqt import QFlowLayout

from atelier.core.color.checks import contrast

MIME = "application/x-atelier-swatch"
SWATCH_SIZE = 120


def lock_icon(locked: bool, ink: str, size: int = 22) -> QIcon:
    """A padlock drawn with QPainter (closed or open), so it shows without an emoji font."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    color = QColor(ink)
    if not locked:
        color.setAlpha(150)
    pen = QPen(color, 2.2)
    painter.setPen(pen)
    shackle = QPainterPath()
    left, right, top, body_top = size * 0.3, size * 0.7, size * 0.12, size * 0.48
    shackle.moveTo(left, body_top)
    shackle.lineTo(left, size * 0.32)
    shackle.arcTo(QRectF(left, top, right - left, (right - left)), 180, -180)
    if locked:
        shackle.lineTo(right, body_top)
    else:
        shackle.lineTo(right, size * 0.3)
    painter.drawPath(shackle)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(color)
    painter.drawRoundedRect(QRectF(size * 0.18, body_top, size * 0.64, size * 0.42), 2.5, 2.5)
    painter.end()
    return QIcon(pixmap)


def ink_for(background: str) -> str:
    """Black or white, whichever reads better on `background`."""
    return "#000000" if contrast(background, "#000000") >= contrast(background, "#ffffff") else "#ffffff"


class SwatchWidget(QFrame):
    """One colour: a large chip (click: colour dialog; drag: reorder), its hex (editable), name and lock."""

    clicked = Signal(int)
    hex_entered = Signal(int, str)
    lock_toggled = Signal(int, bool)

    def __init__(self, index: int, color: str, name: str, locked: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.index = index
        self.color = color
        self._press: QPoint | None = None
        self.setObjectName("swatch")
        self.setFixedWidth(SWATCH_SIZE + 8)
        self.chip = QLabel()
        self.chip.setFixedSize(SWATCH_SIZE, SWATCH_SIZE)
        self.chip.setCursor(Qt.CursorShape.PointingHandCursor)
        self.chip.setToolTip("Click to edit; drag onto another swatch to reorder")
        ink = ink_for(color)
        self.chip.setStyleSheet(f"background:{color}; border-radius:10px; border:1px solid rgba(0,0,0,40);")
        self.lock = QToolButton(self.chip)
        self.lock.setCheckable(True)
        self.lock.setChecked(locked)
        self.lock.setIcon(lock_icon(locked, ink))
        self.lock.setIconSize(QSize(22, 22))
        self.lock.setToolTip("Locked: kept when regenerating" if locked else "Lock to keep this colour")
        self.lock.setAutoRaise(True)
        self.lock.setStyleSheet("background:transparent; border:none;")
        self.lock.move(SWATCH_SIZE - 32, 4)
        self.lock.toggled.connect(lambda on: self.lock_toggled.emit(self.index, on))
        self.hex = QLineEdit(color)
        self.hex.setObjectName("swatch-hex")
        self.hex.setMaxLength(7)
        self.hex.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hex.setToolTip("Type a colour as #rrggbb and press Enter")
        self.hex.editingFinished.connect(self._hex_done)
        self.name = QLabel(name)
        self.name.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.name.setWordWrap(True)
        self.name.setStyleSheet("color: #5a5a5a; font-size: 11px;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(3)
        layout.addWidget(self.chip)
        layout.addWidget(self.hex)
        layout.addWidget(self.name)
        self.chip.installEventFilter(self)

    def _hex_done(self) -> None:
        text = self.hex.text().strip()
        if text.lower().lstrip("#") != self.color.lstrip("#"):
            self.hex_entered.emit(self.index, text)

    def eventFilter(self, watched: object, event: object) -> bool:
        if watched is self.chip and isinstance(event, QMouseEvent):
            kind = event.type()
            if kind == QMouseEvent.Type.MouseButtonPress and event.button() == Qt.MouseButton.LeftButton:
                self._press = event.position().toPoint()
                return True
            if kind == QMouseEvent.Type.MouseMove and self._press is not None:
                moved = (event.position().toPoint() - self._press).manhattanLength()
                if moved >= QApplication.startDragDistance():
                    self._press = None
                    self._start_drag()
                return True
            if kind == QMouseEvent.Type.MouseButtonRelease and self._press is not None:
                self._press = None
                self.clicked.emit(self.index)
                return True
        return False

    def _start_drag(self) -> None:
        mime = QMimeData()
        mime.setData(MIME, str(self.index).encode())
        mime.setText(self.color)
        drag = QDrag(self)
        drag.setMimeData(mime)
        pixmap = QPixmap(48, 48)
        pixmap.fill(QColor(self.color))
        drag.setPixmap(pixmap)
        drag.exec(Qt.DropAction.MoveAction)


class SwatchStripWidget(QWidget):
    """The palette's swatches in a QFlowLayout that wraps to the panel's width."""

    edit_requested = Signal(int)
    hex_entered = Signal(int, str)
    lock_toggled = Signal(int, bool)
    moved = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.flow = QFlowLayout(self)
        self.swatches: list[SwatchWidget] = []

    def set_palette(self, colors: list[str], names: list[str], locks: list[bool]) -> None:
        for swatch in self.swatches:
            self.flow.removeWidget(swatch)
            swatch.hide()  # deleteLater waits for the event loop; hidden, it never shows stale
            swatch.deleteLater()
        self.swatches = []
        for index, (color, name, locked) in enumerate(zip(colors, names, locks, strict=True)):
            swatch = SwatchWidget(index, color, name, locked, self)
            swatch.clicked.connect(self.edit_requested)
            swatch.hex_entered.connect(self.hex_entered)
            swatch.lock_toggled.connect(self.lock_toggled)
            self.flow.addWidget(swatch)
            self.swatches.append(swatch)

    def index_at(self, point: QPoint) -> int:
        """The swatch under `point`, or the nearest one by centre (drops between swatches)."""
        best, best_distance = len(self.swatches) - 1, float("inf")
        for swatch in self.swatches:
            centre = swatch.geometry().center()
            distance = (centre - point).manhattanLength()
            if swatch.geometry().contains(point):
                return swatch.index
            if distance < best_distance:
                best, best_distance = swatch.index, distance
        return best

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasFormat(MIME):
            event.acceptProposedAction()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if event.mimeData().hasFormat(MIME):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        if not event.mimeData().hasFormat(MIME):
            return
        source = int(bytes(event.mimeData().data(MIME).data()).decode())
        target = self.index_at(event.position().toPoint())
        event.acceptProposedAction()
        if source != target:
            self.moved.emit(source, target)
