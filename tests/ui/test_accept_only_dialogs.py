"""The choices the provenance dialogs offer: export without metadata, and a generated picture's settings."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from atelier.ui.dialogs.export_choice import WITHOUT, export_filters, read_choice
from atelier.ui.dialogs.picture_import_dialog import (
    OPEN_PICTURE,
    USE_SETTINGS,
    GeneratedPictureDialog,
    ask_generated_picture,
)


def test_every_type_is_offered_with_and_without_metadata() -> None:
    filters = export_filters([("Text", "*.txt"), ("Markdown", "*.md")])
    assert filters == ["Text (*.txt)", "Markdown (*.md)", f"Text{WITHOUT} (*.txt)", f"Markdown{WITHOUT} (*.md)"]
    assert read_choice("/tmp/song", filters[1]) == (Path("/tmp/song.md"), True)
    assert read_choice("/tmp/song", filters[2]) == (Path("/tmp/song.txt"), False)
    assert read_choice("/tmp/song.md", filters[2]) == (Path("/tmp/song.md"), False)  # the name the user typed wins


def test_generated_picture_dialog_buttons(qtbot) -> None:
    dialog = GeneratedPictureDialog("Atelier 0.1.0, SD 1.5, seed 7\n“a lighthouse”")
    qtbot.addWidget(dialog)
    dialog.settings_button.click()
    assert dialog.choice == USE_SETTINGS and dialog.result() == dialog.DialogCode.Accepted
    other = GeneratedPictureDialog("x")
    qtbot.addWidget(other)
    other.picture_button.click()
    assert other.choice == OPEN_PICTURE


def test_ask_generated_picture_returns_the_choice_or_none(qtbot) -> None:
    def click(name: str) -> None:
        dialog = next(
            w for w in QApplication.topLevelWidgets() if isinstance(w, GeneratedPictureDialog) and w.isVisible()
        )
        getattr(dialog, name).click() if name else dialog.reject()

    QTimer.singleShot(0, lambda: click("picture_button"))
    assert ask_generated_picture("Atelier 0.1.0") == OPEN_PICTURE
    QTimer.singleShot(0, lambda: click(""))
    assert ask_generated_picture("Atelier 0.1.0") is None
