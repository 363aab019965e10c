"""About: the version and every model pack with its licence and source."""

from __future__ import annotations

from html import escape

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QTextBrowser, QVBoxLayout, QWidget

from atelier import __version__


class AboutDialog(QDialog):
    def __init__(self, packs: list[dict[str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About Atelier")
        self.resize(560, 420)
        header = QLabel(
            f"<h2>Atelier {__version__}</h2><p>An offline creative assistant: everything runs on this "
            "computer, and nothing is downloaded.</p>"
        )
        header.setWordWrap(True)
        rows = "".join(
            f"<li><b>{escape(p['name'])}</b> (<code>{escape(p['id'])}</code>, {escape(p['kind'])})<br>"
            f"Licence: {escape(p['licence'])}<br>Source: {escape(p['source'])}"
            + (f"<br><i>{escape(p['status'])}</i>" if p.get("status") else "")
            + "</li>"
            for p in packs
        )
        self.packs = QTextBrowser()
        self.packs.setHtml(f"<h3>Model packs</h3><ul>{rows or '<li>No packs found.</li>'}</ul>")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(header)
        layout.addWidget(self.packs, 1)
        layout.addWidget(buttons)
