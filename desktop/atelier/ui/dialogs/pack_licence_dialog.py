"""Before a pack's first use: its licence and source, with Accept or Cancel (non-commercial and unknown marked)."""

from __future__ import annotations

from html import escape
from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFrame, QLabel, QVBoxLayout, QWidget

from atelier.core.pack_consent import licence_class, licence_label, licence_meaning, needs_attention

# Dark text set with the light background, so the warning stays readable under a dark theme too.
WARNING_STYLE = (
    "QFrame#licence-box { background: #fff3cd; border: 2px solid #d9822b; border-radius: 6px; }"
    " QFrame#licence-box QLabel { color: #3d2c00; }"
)
PLAIN_STYLE = "QFrame#licence-box { border: 1px solid palette(mid); border-radius: 6px; }"


class PackLicenceDialog(QDialog):
    """Accept (remembered for this pack) or Cancel (the job is not started)."""

    def __init__(self, summary: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pack-licence")
        self.summary = summary
        licence = str(summary.get("licence") or "")
        name = str(summary.get("name") or summary.get("id") or "this model")
        self.setWindowTitle(f"Licence of {name}")
        self.setMinimumWidth(520)
        intro = QLabel(
            f"<p>This is the first time you use <b>{escape(name)}</b> (<code>{escape(str(summary.get('id', '')))}"
            "</code>). It runs on this computer; its licence decides what you may do with what it makes.</p>"
        )
        intro.setWordWrap(True)
        self.attention = needs_attention(licence)
        self.licence_box = QFrame()
        self.licence_box.setObjectName("licence-box")
        self.licence_box.setStyleSheet(WARNING_STYLE if self.attention else PLAIN_STYLE)
        self.licence_label = QLabel(
            f"<p><b>Licence: {escape(licence_label(licence))}</b></p><p>{escape(licence_meaning(licence))}</p>"
        )
        self.licence_label.setWordWrap(True)
        self.source_label = QLabel(f"<p><b>Source:</b> {escape(str(summary.get('source') or 'not stated'))}</p>")
        self.source_label.setWordWrap(True)
        self.source_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box_layout = QVBoxLayout(self.licence_box)
        box_layout.addWidget(self.licence_label)
        box_layout.addWidget(self.source_label)
        after = QLabel("Accepting is remembered for this pack; a changed pack or licence asks again.")
        after.setWordWrap(True)
        self.buttons = QDialogButtonBox()
        self.accept_button = self.buttons.addButton("Accept and use", QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        # Nothing is accepted by a stray Enter: Cancel is the default button.
        self.cancel_button.setDefault(True)
        self.accept_button.setAutoDefault(False)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.licence_box)
        layout.addWidget(after)
        layout.addStretch(1)  # any spare height goes above the buttons, not between the sentences
        layout.addWidget(self.buttons)

    def sizeHint(self) -> QSize:
        """Opened at its minimum width and only as tall as its wrapped text is there: Qt's own hint is the
        height of a much narrower dialog, which left a hole of empty lines above the buttons."""
        width = max(self.minimumWidth(), super().sizeHint().width())
        return QSize(width, self.heightForWidth(width))

    @property
    def licence_kind(self) -> str:
        return licence_class(str(self.summary.get("licence") or ""))


ATTENTION_COLOUR = "#b35c00"  # dark orange: readable on light and dark list backgrounds


def mark_licence_item(combo: QComboBox, index: int, licence: str) -> None:
    """Mark a pack chooser's row whose licence needs attention (non-commercial or unknown): a warning
    colour, the licence's meaning as its tooltip. Open and use-restricted licences keep the plain look."""
    combo.setItemData(index, licence_meaning(licence), Qt.ItemDataRole.ToolTipRole)
    if needs_attention(licence):
        combo.setItemData(index, QBrush(QColor(ATTENTION_COLOUR)), Qt.ItemDataRole.ForegroundRole)


def pack_item_text(name: str, licence: str) -> str:
    """A chooser row: the pack's name and its licence, with "non-commercial" / "licence unknown" spelled out."""
    return f"{name} ({licence_label(licence)})"


def ask_licence(summary: dict[str, Any], parent: QWidget | None = None) -> bool:
    """Show the dialog modally; True when the user accepted."""
    dialog = PackLicenceDialog(summary, parent)
    try:
        return dialog.exec() == QDialog.DialogCode.Accepted
    finally:
        dialog.deleteLater()
