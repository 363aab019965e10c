"""About: the version and every model pack with its licence and source."""

from __future__ import annotations

from html import escape

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QTextBrowser, QVBoxLayout, QWidget

from atelier import __version__


class AboutDialog(QDialog):
    def __init__(
        self,
        packs: list[dict[str, str]],
        parent: QWidget | None = None,
        broken: list[tuple[str, str]] | None = None,
    ) -> None:
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
        set_aside = "".join(f"<li><code>{escape(folder)}</code><br>{escape(why)}</li>" for folder, why in broken or [])
        if set_aside:
            set_aside = (
                "<h3>Packs set aside</h3><p>These folders look like packs but cannot be used; "
                f"<code>atelier models verify</code> says more.</p><ul>{set_aside}</ul>"
            )
        self.packs.setHtml(f"<h3>Model packs</h3><ul>{rows or '<li>No packs found.</li>'}</ul>{set_aside}")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(header)
        layout.addWidget(self.packs, 1)
        layout.addWidget(buttons)
