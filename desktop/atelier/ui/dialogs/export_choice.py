"""The export file dialog every panel uses: each file type is offered twice, with Atelier's records
(what made the file, AI disclosure) and "without metadata", so leaving them out is an explicit choice."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QWidget

WITHOUT = ", without metadata"


def export_filters(kinds: list[tuple[str, str]]) -> list[str]:
    """Name filters for (label, "*.ext ...") pairs: each with records first, then each without."""
    with_records = [f"{label} ({patterns})" for label, patterns in kinds]
    return with_records + [f"{label}{WITHOUT} ({patterns})" for label, patterns in kinds]


def read_choice(name: str, chosen_filter: str) -> tuple[Path, bool]:
    """(the path, with the filter's extension when the name has none; whether to write records)."""
    path = Path(name)
    if not path.suffix:
        found = re.search(r"\*(\.[A-Za-z0-9]+)", chosen_filter)
        if found:
            path = path.with_suffix(found.group(1))
    return path, WITHOUT not in chosen_filter


def ask_export_path(
    parent: QWidget | None, title: str, suggested: str, kinds: list[tuple[str, str]]
) -> tuple[Path, bool] | None:
    """Ask where to export and whether with records: (path, metadata) or None when cancelled."""
    name, chosen = QFileDialog.getSaveFileName(parent, title, suggested, ";;".join(export_filters(kinds)))
    if not name:
        return None
    return read_choice(name, chosen)
