"""After a run that did not close properly: offer the newest good autosave, saying from when."""

from __future__ import annotations

import time

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPushButton, QVBoxLayout, QWidget

from atelier.core.project import Autosave, LockOwner


def how_long_ago(moment: float, now: float | None = None) -> str:
    seconds = max(0.0, (time.time() if now is None else now) - moment)
    if seconds < 90:
        return f"{seconds:.0f} seconds ago"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} minutes ago"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.0f} hours ago"
    return f"{seconds / 86400:.0f} days ago"


class RestoreDialog(QDialog):
    """Restore (accept) or keep what is open (reject). Opened with `open()`, so tests and the test driver
    answer it by calling accept()/reject() or clicking its buttons, without a modal loop."""

    def __init__(self, project_name: str, crashed: LockOwner, autosave: Autosave, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("restore-dialog")
        self.setWindowTitle("Restore the last autosave?")
        self.autosave = autosave
        self.message = QLabel(
            f"Atelier did not close properly last time ({crashed.describe()}).\n\n"
            f"The newest autosave of {project_name} is from {autosave.describe()} "
            f"({how_long_ago(autosave.saved)}). Restore it?\n\n"
            "Either way nothing is deleted: the files open now are copied to the project's autosave "
            "folder before an autosave is put back."
        )
        self.message.setWordWrap(True)
        buttons = QDialogButtonBox()
        self.restore_button = QPushButton("Restore autosave")
        self.keep_button = QPushButton("Keep what is open")
        buttons.addButton(self.restore_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.keep_button, QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.restore_button.setDefault(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
