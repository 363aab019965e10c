"""Palette checks: WCAG contrast matrix with badges, a roles preview, and colour-blind simulation."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from atelier.core.color.checks import (
    CVD_KINDS,
    confusable_pairs,
    contrast_badge,
    contrast_matrix,
    roles_for,
    simulate,
    suggest_roles,
)
from atelier.ui.widgets.swatch_strip import ink_for

BADGE_COLOURS = {"AAA": "#1a7f37", "AA": "#2f81f7", "AA Large": "#9a6700", "Fail": "#cf222e"}


class ContrastMatrixWidget(QTableWidget):
    """Every pair as text-on-background: the ratio and its WCAG badge, the cell painted in those colours."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.setToolTip("Rows: text colour. Columns: background. AA needs 4.5:1, AAA 7:1, large text 3:1.")

    def set_colors(self, colors: list[str]) -> None:
        matrix = contrast_matrix(colors) if colors else []
        self.setRowCount(len(colors))
        self.setColumnCount(len(colors))
        self.setHorizontalHeaderLabels(colors)
        self.setVerticalHeaderLabels(colors)
        bold = QFont()
        bold.setBold(True)
        marked = QFont(bold)
        marked.setItalic(True)
        for row, text in enumerate(colors):
            for column, background in enumerate(colors):
                ink, font = text, bold
                if row == column:
                    item, ink = QTableWidgetItem("—"), ink_for(background)
                else:
                    ratio = matrix[row][column]
                    badge = contrast_badge(ratio)
                    tip = f"{text} on {background}: {ratio:.2f}:1, {badge}"
                    if badge == "Fail":
                        # Painted in its own text colour a failing pair is unreadable (1.0:1 is invisible):
                        # the figure is written in black or white, in italics, so the verdict still reads.
                        ink, font = ink_for(background), marked
                        tip += f". Written in {'black' if ink == '#000000' else 'white'} here: {text} would not show."
                    item = QTableWidgetItem(f"{ratio:.1f}:1 {badge}")
                    item.setToolTip(tip)
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                item.setBackground(QColor(background))
                item.setForeground(QColor(ink))
                item.setFont(font)
                self.setItem(row, column, item)


def _chip(color: str, text: str = "", size: int = 44) -> QLabel:
    chip = QLabel(text)
    chip.setFixedSize(size, size)
    chip.setAlignment(Qt.AlignmentFlag.AlignCenter)
    chip.setStyleSheet(f"background:{color}; color:{ink_for(color)}; border-radius:6px; font-size:10px;")
    chip.setToolTip(color)
    return chip


class RolesWidget(QWidget):
    """Background, text and accent chosen from the palette (suggested, changeable), with a live sample."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.colors: list[str] = []
        self.background = QComboBox()
        self.text = QComboBox()
        self.accent = QComboBox()
        for combo in (self.background, self.text, self.accent):
            combo.currentIndexChanged.connect(self._refresh)
        form = QFormLayout()
        form.addRow("Background", self.background)
        form.addRow("Text", self.text)
        form.addRow("Accent", self.accent)
        self.sample = QFrame()
        self.sample.setMinimumHeight(110)
        self.sample_title = QLabel("Headline in the accent")
        self.sample_body = QLabel("Body text on the background. Is it easy to read?")
        self.sample_body.setWordWrap(True)
        sample_layout = QVBoxLayout(self.sample)
        sample_layout.addWidget(self.sample_title)
        sample_layout.addWidget(self.sample_body)
        sample_layout.addStretch(1)
        self.verdict = QLabel()
        self.verdict.setObjectName("roles-verdict")
        self.verdict.setWordWrap(True)
        layout = QHBoxLayout(self)
        left = QVBoxLayout()
        left.addLayout(form)
        left.addWidget(self.verdict)
        left.addStretch(1)
        layout.addLayout(left, 1)
        layout.addWidget(self.sample, 2)
        self._updating = False

    def set_colors(self, colors: list[str]) -> None:
        self.colors = list(colors)
        self._updating = True
        try:
            for combo in (self.background, self.text, self.accent):
                combo.clear()
                for color in colors:
                    combo.addItem(color)
                    combo.setItemData(combo.count() - 1, QColor(color), Qt.ItemDataRole.DecorationRole)
            if len(colors) >= 2:
                roles = suggest_roles(colors)
                self.background.setCurrentText(roles.background)
                self.text.setCurrentText(roles.text)
                self.accent.setCurrentText(roles.accent)
        finally:
            self._updating = False
        self._refresh()

    def _refresh(self) -> None:
        if self._updating or len(self.colors) < 2:
            return
        roles = roles_for(
            self.colors, self.background.currentText(), self.text.currentText(), self.accent.currentText()
        )
        self.sample.setStyleSheet(f"background:{roles.background}; border-radius:8px;")
        self.sample_title.setStyleSheet(f"color:{roles.accent}; font-size:20px; font-weight:600;")
        self.sample_body.setStyleSheet(f"color:{roles.text}; font-size:14px;")
        lines = [
            f"Text on background: {roles.text_contrast:.2f}:1 ({contrast_badge(roles.text_contrast)})",
            f"Accent on background: {roles.accent_contrast:.2f}:1 "
            f"({contrast_badge(roles.accent_contrast, large_text=True)} for large text)",
        ]
        warnings = roles.warnings
        lines += [f"⚠ {w}" for w in warnings]
        self.verdict.setText("\n".join(lines))
        self.verdict.setStyleSheet(f"color:{'#cf222e' if warnings else 'palette(text)'};")

    @property
    def warnings(self) -> list[str]:
        if len(self.colors) < 2:
            return []
        return roles_for(
            self.colors, self.background.currentText(), self.text.currentText(), self.accent.currentText()
        ).warnings


class ColourBlindWidget(QWidget):
    """The palette as seen with protanopia, deuteranopia (Machado 2009) and tritanopia (Brettel 1997)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        outer = QVBoxLayout(self)
        self.rows = QVBoxLayout()
        self.rows.setSpacing(6)
        outer.addLayout(self.rows)
        outer.addStretch(1)
        self.warnings: list[str] = []
        self._widgets: list[QWidget] = []

    def set_colors(self, colors: list[str], names: list[str] | None = None) -> None:
        for widget in self._widgets:
            self.rows.removeWidget(widget)
            widget.hide()
            widget.deleteLater()
        self._widgets = []
        self.warnings = []
        labels = names or colors
        for label, _name, _method in (("normal vision", "", ""), *CVD_KINDS):
            row = QWidget()
            line = QHBoxLayout(row)
            line.setContentsMargins(0, 0, 0, 0)
            title = QLabel(label.capitalize())
            title.setFixedWidth(110)
            line.addWidget(title)
            shown = colors if label == "normal vision" else simulate(colors, label)
            for color in shown:
                line.addWidget(_chip(color))
            note = QLabel()
            if label != "normal vision":
                pairs = confusable_pairs(colors, label)
                if pairs:
                    text = ", ".join(f"{labels[i]} / {labels[j]}" for i, j, _ in pairs)
                    warning = f"{label.capitalize()}: hard to tell apart: {text}"
                    self.warnings.append(warning)
                    note.setText("⚠ " + text)
                    note.setStyleSheet("color:#cf222e;")
                    note.setToolTip(warning)
                else:
                    note.setText("✓ all distinguishable")
                    note.setStyleSheet("color:#1a7f37;")
            line.addWidget(note, 1)
            self.rows.addWidget(row)
            self._widgets.append(row)
