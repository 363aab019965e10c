"""Asks what to do with a picture of another size than the canvas: place it on the canvas, or start a new one."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QDialog, QDialogButtonBox, QLabel, QPushButton, QVBoxLayout, QWidget

PLACE = "place"
NEW_CANVAS = "new"


class PictureImportDialog(QDialog):
    def __init__(self, picture_size: tuple[int, int], canvas_size: tuple[int, int], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Picture of another size")
        self.choice: str | None = None
        layout = QVBoxLayout(self)
        layout.addWidget(
            QLabel(
                f"The picture is {picture_size[0]}×{picture_size[1]} pixels; the canvas is "
                f"{canvas_size[0]}×{canvas_size[1]}.\nEither way, Undo brings back the canvas as it is now."
            )
        )
        buttons = QDialogButtonBox()
        self.place_button = QPushButton("Place on this canvas")
        self.place_button.setToolTip("Scaled to fit with its aspect kept, centred; the hints layer stays")
        self.new_button = QPushButton("New canvas of the picture's size")
        self.new_button.setToolTip("The sketch becomes the picture; the hints layer starts empty")
        buttons.addButton(self.place_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.new_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.place_button.clicked.connect(lambda: self._choose(PLACE))
        self.new_button.clicked.connect(lambda: self._choose(NEW_CANVAS))
        buttons.rejected.connect(self.reject)
        self.remember = QCheckBox("Remember my choice")
        self.remember.setToolTip("Change it back with the arrow beside Open… in the Sketch panel")
        layout.addWidget(buttons)
        layout.addWidget(self.remember)
        self.place_button.setDefault(True)

    def _choose(self, choice: str) -> None:
        self.choice = choice
        self.accept()


def ask_picture_import(
    picture_size: tuple[int, int], canvas_size: tuple[int, int], parent: QWidget | None = None
) -> tuple[str, bool] | None:
    """The artist's choice ("place" or "new") and whether to remember it, or None when cancelled."""
    dialog = PictureImportDialog(picture_size, canvas_size, parent)
    if dialog.exec() != QDialog.DialogCode.Accepted or dialog.choice is None:
        return None
    return dialog.choice, dialog.remember.isChecked()
