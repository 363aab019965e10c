"""The autosaved session under its old name: `SessionStore(folder)` is the untitled project at `folder`.

Kept so callers move to `atelier.core.project.Project` one at a time; new code uses `Project.untitled()`.
"""

from __future__ import annotations

from pathlib import Path

from atelier.core.history import MidiWriter
from atelier.core.project import Project, migrate_session, untitled_folder


class SessionStore(Project):
    def __init__(self, folder: Path | None = None, *, midi_writer: MidiWriter | None = None) -> None:
        folder = Path(folder) if folder is not None else untitled_folder()
        problem = migrate_session(folder)
        super().__init__(folder, untitled=True, midi_writer=midi_writer)
        self.problem = problem or self.problem
