"""The one place the UI shows errors: a message that says what to do, never a traceback."""

from __future__ import annotations

import logging

from PySide6.QtWidgets import QMessageBox, QWidget

from atelier.core.errors import AtelierError

log = logging.getLogger(__name__)


def error_text(error: BaseException | str) -> str:
    if isinstance(error, AtelierError):
        return error.user_message()
    return str(error)


def show_error(parent: QWidget | None, error: BaseException | str, title: str = "Atelier") -> None:
    text = error_text(error)
    log.warning("Shown to the user: %s", text)
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, parent)
    box.setObjectName("atelier-error")
    box.open()  # non-modal to the event loop: tests and live modes are never blocked by it
