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


def test_use_its_settings_puts_a_generated_pngs_settings_in_the_sketch_panel(window, tmp_path: Path) -> None:
    """What the Sketch panel does on "Use its settings": the record, rebuilt as a request, through Recall."""
    import numpy as np

    from atelier.core.provenance import read_parameters, save_png
    from atelier.core.provenance_sketch import generation_mode, sketch_request_from_record

    params = {"prompt": "a lighthouse", "seed": 77, "steps": 9, "width": 640, "height": 448, "guidance": 4.0,
              "mode": "img2img", "strength": 0.35, "pack_id": "/elsewhere/sd15", "app_version": "0.1.0"}  # fmt: skip
    save_png(tmp_path / "made.png", np.zeros((448, 640, 3), np.uint8), params)
    panel = window.panels["sketch"]
    known = {summary["id"] for summary in panel.context.runner.pack_summaries()}
    record = read_parameters(tmp_path / "made.png")
    request = sketch_request_from_record(record, known)
    assert request is not None and record is not None
    assert panel.recall(request)
    panel.document.set("generation.mode", generation_mode(record))
    generation = panel.document.generation
    assert (generation.prompt, generation.seed, generation.steps) == ("a lighthouse", 77, 9)
    assert (generation.width, generation.height, generation.strength, generation.mode) == (640, 448, 0.35, "img2img")
    assert generation.pack_id == ""  # another computer's folder is no pack here: the first installed is used
