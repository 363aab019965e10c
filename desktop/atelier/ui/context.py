"""What every panel is given: a way to submit jobs, the queue (history), settings, shared documents.

Panels see the runner only through `JobSubmitter`, so they never import the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from atelier.core.documents.lyric import LyricDocument
from atelier.core.documents.palette import PaletteDocument
from atelier.core.jobs import Job, JobQueue
from atelier.core.project import Project
from atelier.core.requests import Request
from atelier.core.settings import Settings


class JobSubmitter(Protocol):
    def submit(self, request: Request) -> Job: ...

    def cancel(self, job_id: int) -> bool: ...

    def pack_summaries(self) -> list[dict[str, str]]: ...


@dataclass
class AppContext:
    runner: JobSubmitter
    queue: JobQueue
    settings: Settings
    session: Project  # the current project (the untitled one is the autosaved session)
    palette: PaletteDocument = field(
        default_factory=lambda: PaletteDocument(["#1b2a41", "#324a5f", "#c9a227", "#e8dab2", "#b23a48"])
    )
    lyric: LyricDocument = field(default_factory=LyricDocument)
    # The Sketch panel's picture (RGBA), for panels that use it (the palette from the sketch);
    # set by the main window once the Sketch panel exists.
    sketch_picture: Callable[[], np.ndarray | None] = field(default=lambda: None)
