"""The Settings dialog, built from the Settings fields' own metadata (label, description, choices)."""

from __future__ import annotations

import dataclasses
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from atelier.core.errors import SettingsError
from atelier.core.settings import Settings

NOT_HERE = " (not available on this machine)"


class SettingsDialog(QDialog):
    def __init__(
        self, settings: Settings, parent: QWidget | None = None, available_providers: list[str] | None = None
    ) -> None:
        super().__init__(parent)
        # Device choices this machine's onnxruntime cannot load are marked, not hidden: settings may be
        # shared between machines, and choosing one still falls back (and says so) rather than failing.
        self._available = set(available_providers) if available_providers is not None else None
        self.setWindowTitle("Settings")
        self.setMinimumWidth(520)
        self._editors: dict[str, Any] = {}
        self._folder_lines: dict[str, QLineEdit] = {}
        form = QFormLayout()
        for f in Settings.field_info():
            editor = self._editor_for(f, getattr(settings, f.name))
            editor.setToolTip(f.metadata["description"])
            self._editors[f.name] = editor
            label = QLabel(f.metadata["label"])
            label.setToolTip(f.metadata["description"])
            form.addRow(label, editor)
        self.error = QLabel()
        self.error.setStyleSheet("color: #c0392b")
        self.error.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.result_settings: Settings | None = None

    def _editor_for(self, f: dataclasses.Field[Any], value: Any) -> QWidget:
        meta = f.metadata
        if meta.get("choices"):
            combo = QComboBox()
            for choice in meta["choices"]:
                missing = f.name == "device" and self._provider_missing(choice)
                combo.addItem(choice + (NOT_HERE if missing else ""), choice)
            combo.setCurrentIndex(max(0, combo.findData(str(value))))
            return combo
        if isinstance(value, bool):
            check = QCheckBox()
            check.setChecked(value)
            return check
        if isinstance(value, int):
            spin = QSpinBox()
            spin.setRange(meta.get("minimum", 0), meta.get("maximum", 1 << 30))
            spin.setValue(value)
            return spin
        line = QLineEdit(str(value))
        if meta.get("kind") in ("folder", "file"):
            holder = QWidget()
            row = QHBoxLayout(holder)
            row.setContentsMargins(0, 0, 0, 0)
            row.addWidget(line, 1)
            browse = QPushButton("Browse…")
            browse.clicked.connect(lambda: self._browse(line, meta["kind"]))
            row.addWidget(browse)
            self._folder_lines[f.name] = line
            return holder
        return line

    def _provider_missing(self, choice: str) -> bool:
        if self._available is None or choice in ("auto", "cpu"):
            return False
        return choice not in self._available

    def _browse(self, line: QLineEdit, kind: str) -> None:
        if kind == "file":
            chosen, _ = QFileDialog.getOpenFileName(self, "Choose file", line.text())
        else:
            chosen = QFileDialog.getExistingDirectory(self, "Choose folder", line.text())
        if chosen:
            line.setText(chosen)

    def values(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, editor in self._editors.items():
            if isinstance(editor, QComboBox):
                values[name] = editor.currentData()
            elif isinstance(editor, QCheckBox):
                values[name] = editor.isChecked()
            elif isinstance(editor, QSpinBox):
                values[name] = editor.value()
            elif isinstance(editor, QLineEdit):
                values[name] = editor.text()
            else:
                values[name] = self._folder_lines[name].text()
        return values

    def _accept(self) -> None:
        try:
            self.result_settings = Settings(**self.values()).validated()
        except SettingsError as exc:
            self.error.setText(exc.user_message())
            return
        self.accept()
