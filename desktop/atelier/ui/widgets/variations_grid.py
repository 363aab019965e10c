"""The Sketch panel's variations: each image a job made, with its parameters, as a grid of thumbnails;
picking one shows it on the canvas's result layer."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QSize, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QWidget

from atelier.ui.widgets.images import thumbnail

Variation = tuple[np.ndarray, dict[str, Any]]  # an image and the parameters it was made with
ICON_SIDE = 96


class VariationsGridWidget(QListWidget):
    picked = Signal(object, dict)  # the image (HxWx3 or HxWx4 uint8, or HxW lines) and its parameters

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.variations: list[Variation] = []
        self.setViewMode(QListWidget.ViewMode.IconMode)
        self.setIconSize(QSize(ICON_SIDE, ICON_SIDE))
        self.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.setMovement(QListWidget.Movement.Static)
        self.currentRowChanged.connect(self.pick)

    def show_variations(self, variations: list[Variation], append: bool = False) -> None:
        """Show `variations` (after the ones shown, with `append`); a new set shows its first image."""
        if not append:
            self.variations = []
            self.clear()
        self.blockSignals(True)
        for image, params in variations:
            # Generated images are told apart by their seed; colorize variations share one seed.
            label = params.get("variation", params.get("seed", len(self.variations) + 1))
            self.addItem(QListWidgetItem(QIcon(thumbnail(image, ICON_SIDE)), str(label)))
            self.variations.append((image, params))
        self.blockSignals(False)
        if variations and not append:
            self.setCurrentRow(0)

    def pick(self, row: int) -> None:
        if 0 <= row < len(self.variations):
            self.picked.emit(*self.variations[row])
