"""The working session on disk: one JSON file of panel sections plus side files (e.g. the sketch PNG).

Written atomically, so a crash during autosave never loses the previous session.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from atelier.core.settings import data_dir


class SessionStore:
    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or data_dir() / "session"
        self.path = self.folder / "session.json"
        self._sections: dict[str, Any] = {}
        self.problem = ""
        if self.path.exists():
            try:
                loaded = json.loads(self.path.read_text(encoding="utf-8"))
                self._sections = loaded if isinstance(loaded, dict) else {}
            except (OSError, ValueError) as exc:
                # Keep the damaged file for the user; start with an empty session.
                self.problem = f"The saved session {self.path} could not be read ({exc}); it was kept as .bad."
                self.path.replace(self.path.with_suffix(".bad"))

    def section(self, name: str) -> dict[str, Any]:
        value = self._sections.get(name, {})
        return value if isinstance(value, dict) else {}

    def set_section(self, name: str, data: dict[str, Any]) -> None:
        self._sections[name] = data

    def side_file(self, name: str) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        return self.folder / name

    def save(self) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._sections, indent=1), encoding="utf-8")
        tmp.replace(self.path)
        return self.path
