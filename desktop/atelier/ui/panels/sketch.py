"""Sketch panel: a picture to work from, and line art traced from it on the worker."""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from atelier.core.errors import InputFileError
from atelier.core.progress import Progress
from atelier.core.requests import Result
from atelier.core.requests.lineart import LineArtRequest, LineArtResult
from atelier.ui.context import AppContext
from atelier.ui.errors import show_error
from atelier.ui.panels.base import Panel
from atelier.ui.widgets.images import qimage_from_array

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.bmp *.tif *.tiff)"


def load_image(path: str) -> np.ndarray:
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGBA"))
    except (OSError, ValueError) as exc:
        raise InputFileError(f"Cannot open {path} as an image ({exc}).") from exc


class SketchPanel(Panel):
    title = "Sketch"

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.picture: np.ndarray | None = None
        self.result: np.ndarray | None = None
        open_button = QPushButton("Open picture…")
        open_button.clicked.connect(self.open_dialog)
        self.trace_button = QPushButton("Trace line art")
        self.trace_button.setEnabled(False)
        self.trace_button.clicked.connect(self.trace)
        self.sensitivity = QSlider(Qt.Orientation.Horizontal)
        self.sensitivity.setRange(0, 100)
        self.sensitivity.setValue(50)
        self.sensitivity.setToolTip("Line sensitivity: higher keeps fainter edges")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(160)
        self.progress.setVisible(False)
        tools = QHBoxLayout()
        tools.addWidget(open_button)
        tools.addWidget(self.trace_button)
        tools.addWidget(QLabel("Sensitivity"))
        tools.addWidget(self.sensitivity)
        tools.addWidget(self.progress)
        tools.addStretch(1)
        self.view = QLabel("Open a picture to trace its line art.")
        self.view.setAlignment(Qt.AlignmentFlag.AlignCenter)
        scroll = QScrollArea()
        scroll.setWidget(self.view)
        scroll.setWidgetResizable(True)
        layout = QVBoxLayout(self)
        layout.addLayout(tools)
        layout.addWidget(scroll, 1)

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open picture", "", IMAGE_FILTER)
        if path:
            try:
                self.set_picture(load_image(path))
            except InputFileError as exc:
                show_error(self, exc)

    def set_picture(self, picture: np.ndarray) -> None:
        self.picture = picture
        self.trace_button.setEnabled(True)
        self._show(picture)

    def _show(self, array: np.ndarray) -> None:
        self.view.setPixmap(QPixmap.fromImage(qimage_from_array(array)))

    def trace(self) -> None:
        if self.picture is None:
            return
        request = LineArtRequest(
            image=self.picture, sensitivity=self.sensitivity.value() / 100, origin="sketch", supersedes=True
        )
        self.progress.setVisible(True)
        self.progress.setValue(0)
        self.submit(request, self._on_result, self._on_progress, self._on_error)

    def _on_progress(self, progress: Progress) -> None:
        self.progress.setValue(int(progress.fraction * 100))

    def _on_error(self, message: str) -> None:
        self.progress.setVisible(False)
        show_error(self, message)

    def _on_result(self, result: Result) -> None:
        self.progress.setVisible(False)
        if isinstance(result, LineArtResult):
            self.result = result.lines
            self._show(result.lines)

    def save_state(self) -> dict[str, Any]:
        return {"sensitivity": self.sensitivity.value()}

    def restore_state(self, state: dict[str, Any]) -> None:
        value = state.get("sensitivity")
        if isinstance(value, int):
            self.sensitivity.setValue(value)
