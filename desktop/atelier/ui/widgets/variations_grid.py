"""The Sketch panel's variations: each image a job made, with its parameters, as a grid of thumbnails;
picking one shows it on the canvas's result layer."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QResizeEvent
from PySide6.QtWidgets import QAbstractItemView, QListWidget, QListWidgetItem, QWidget

from atelier.ui.widgets.images import thumbnail

Variation = tuple[np.ndarray, dict[str, Any]]  # an image and the parameters it was made with
ICON_SIDE = 96  # the thumbnails' resolution; they are shown at the size the grid's space allows
MIN_SIDE, MAX_SIDE = 48, 160
FIT_AT_ONCE = 4  # this many variations are laid out to fit without a scroll bar
FRAME = 3  # the selection frame's width, in pixels
# Qt's icon views paint the selected icon tinted with the selection colour, hiding the picture the
# artist is choosing by: the item is framed instead, its icon and label left as they are.
STYLE = f"""
QListWidget::item {{ border: {FRAME}px solid transparent; border-radius: 4px; padding: 1px; color: palette(text); }}
QListWidget::item:selected {{ border: {FRAME}px solid palette(highlight); background: transparent;
                              color: palette(text); }}
QListWidget::item:hover:!selected {{ border: {FRAME}px solid palette(mid); }}
"""


def label_of(params: dict[str, Any], number: int) -> str:
    """Generated images are told apart by their seed; colorize variations share one, so they are numbered."""
    return str(params.get("variation", params.get("seed", number)))


class VariationsGridWidget(QListWidget):
    picked = Signal(object, dict)  # the image (HxWx3 or HxWx4 uint8, or HxW lines) and its parameters

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.variations: list[Variation] = []
        self.setViewMode(QListWidget.ViewMode.IconMode)
        self.setIconSize(QSize(ICON_SIDE, ICON_SIDE))
        self.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.setMovement(QListWidget.Movement.Static)
        self.setWrapping(True)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.setUniformItemSizes(True)
        self.setSpacing(2)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setStyleSheet(STYLE)
        self.currentRowChanged.connect(self.pick)

    def show_variations(self, variations: list[Variation], append: bool = False) -> None:
        """Show `variations` (after the ones shown, with `append`); a new set shows its first image."""
        if not append:
            self.variations = []
            self.clear()
        self.blockSignals(True)
        for image, params in variations:
            pixmap = thumbnail(image, ICON_SIDE)
            icon = QIcon()
            for mode in (QIcon.Mode.Normal, QIcon.Mode.Selected, QIcon.Mode.Active):
                icon.addPixmap(pixmap, mode)  # the same picture when selected: no tint
            item = QListWidgetItem(icon, label_of(params, len(self.variations) + 1))
            item.setToolTip(f"Variation {len(self.variations) + 1}, seed {params.get('seed', '?')}")
            self.addItem(item)
            self.variations.append((image, params))
        self.blockSignals(False)
        self._lay_out()
        if variations and not append:
            self.setCurrentRow(0)

    def pick(self, row: int) -> None:
        if 0 <= row < len(self.variations):
            self.picked.emit(*self.variations[row])

    # -- layout ----------------------------------------------------------------------------------
    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._lay_out()

    def cell_side(self) -> int:
        """The largest thumbnail side at which the first FIT_AT_ONCE variations fit in the visible area,
        in the best number of columns (4 in a row in a wide, low space; 2 x 2 in a square one)."""
        count = max(1, min(FIT_AT_ONCE, self.count() or FIT_AT_ONCE))
        area = self.viewport().size()
        text = self.fontMetrics().height() + 2
        extra = 2 * (FRAME + 1) + 2 * self.spacing()
        label = self._label_width()
        best = MIN_SIDE
        for columns in range(1, count + 1):
            rows = math.ceil(count / columns)
            width = (area.width() - 1) // columns - extra
            if width < label and columns > 1:
                continue  # the numbers would be cut off
            best = max(best, min(width, (area.height() - 1) // rows - extra - text))
        return max(MIN_SIDE, min(MAX_SIDE, best))

    def _label_width(self) -> int:
        labels = [self.item(i).text() for i in range(self.count())]
        return max((self.fontMetrics().horizontalAdvance(t) for t in labels), default=0) + 4

    def _lay_out(self) -> None:
        side = self.cell_side()
        text_width = self._label_width()
        self.setIconSize(QSize(side, side))
        # The cell is at least as wide as its label, so no number is cut off.
        cell = QSize(max(side, text_width) + 2 * (FRAME + 1), side + self.fontMetrics().height() + 2 * (FRAME + 2))
        self.setGridSize(cell)
