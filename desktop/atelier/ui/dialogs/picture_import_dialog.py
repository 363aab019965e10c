"""Asks what to do with a picture dropped or opened on the Sketch panel: for a picture Atelier generated,
use its settings or open it as a picture; for one of another size than the canvas, place it on the canvas
or start a new one."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QDialog, QDialogButtonBox, QLabel, QPushButton, QVBoxLayout, QWidget

PLACE = "place"
NEW_CANVAS = "new"
USE_SETTINGS = "settings"
OPEN_PICTURE = "picture"


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
        self.place_button.setToolTip(
            "Over the drawing, scaled to fit (aspect kept) and centred; the drawing around it and the hints stay"
        )
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


class GeneratedPictureDialog(QDialog):
    """A picture that carries Atelier's record: put its settings back, or open it as any picture."""

    def __init__(self, summary: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("A picture made with Atelier")
        self.choice: str | None = None
        self.setMinimumWidth(460)
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        heading = QLabel("<b>This picture was made with Atelier.</b> Its record says:")
        details = QLabel(summary)
        details.setWordWrap(True)
        details.setContentsMargins(12, 0, 0, 4)  # set in under the heading, as a quotation
        layout.addWidget(heading)
        layout.addWidget(details)
        buttons = QDialogButtonBox()
        self.settings_button = QPushButton("Use its settings")
        self.settings_button.setToolTip("Put its prompt, seed, size and other settings in the form (one undo step)")
        self.picture_button = QPushButton("Open as picture")
        self.picture_button.setToolTip("Put the picture on the canvas, as any other picture")
        buttons.addButton(self.settings_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.picture_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.settings_button.clicked.connect(lambda: self._choose(USE_SETTINGS))
        self.picture_button.clicked.connect(lambda: self._choose(OPEN_PICTURE))
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.settings_button.setDefault(True)

    def _choose(self, choice: str) -> None:
        self.choice = choice
        self.accept()


def ask_generated_picture(summary: str, parent: QWidget | None = None) -> str | None:
    """ "settings" (use its settings), "picture" (open it as a picture), or None when cancelled."""
    dialog = GeneratedPictureDialog(summary, parent)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    return dialog.choice
