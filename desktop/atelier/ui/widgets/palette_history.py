"""Recent palettes and favourites as strips of colour; double-click (or Enter) puts one back."""

from __future__ import annotations

from PySide6.QtCore import QSize, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from atelier.core.documents.palette import PaletteSnapshot


def strip_icon(colors: tuple[str, ...], width: int = 180, height: int = 22) -> QIcon:
    pixmap = QPixmap(width, height)
    painter = QPainter(pixmap)
    step = width / max(1, len(colors))
    for index, color in enumerate(colors):
        painter.fillRect(round(index * step), 0, round(step) + 1, height, QColor(color))
    painter.end()
    return QIcon(pixmap)


class PaletteListWidget(QListWidget):
    chosen = Signal(object)  # PaletteSnapshot

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setIconSize(QSize(180, 22))
        self._snaps: list[PaletteSnapshot] = []
        self.itemActivated.connect(lambda item: self.chosen.emit(self._snaps[self.row(item)]))

    def set_palettes(self, snaps: list[PaletteSnapshot]) -> None:
        self.clear()
        self._snaps = list(snaps)
        for snap in snaps:
            item = QListWidgetItem(strip_icon(snap.colors), " ".join(snap.colors))
            item.setToolTip("Double-click to use this palette")
            self.addItem(item)


class PaletteHistoryWidget(QWidget):
    chosen = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.recent = PaletteListWidget()
        self.favourites = PaletteListWidget()
        self.recent.chosen.connect(self.chosen)
        self.favourites.chosen.connect(self.chosen)
        layout = QHBoxLayout(self)
        for title, widget in (("Recent palettes", self.recent), ("★ Favourites", self.favourites)):
            column = QVBoxLayout()
            column.addWidget(QLabel(f"<b>{title}</b>"))
            column.addWidget(widget)
            layout.addLayout(column)

    def set_history(self, recent: list[PaletteSnapshot], favourites: list[PaletteSnapshot]) -> None:
        self.recent.set_palettes(recent)
        self.favourites.set_palettes(favourites)
