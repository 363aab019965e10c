"""What every panel is given: a way to submit jobs, the queue (history), settings, shared documents.

Panels see the runner only through `JobSubmitter`, so they never import the engine. With a `LicenceGate`,
every job passes it on its way to the runner (panels and widgets alike): the first use of a pack asks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMainWindow, QWidget

from atelier.core.documents.lyric import LyricDocument
from atelier.core.documents.palette import PaletteDocument
from atelier.core.jobs import Job, JobQueue, JobState
from atelier.core.pack_consent import PACK_KIND_OF_REQUEST, ConsentStore, pack_for_request, pack_key
from atelier.core.project import Project
from atelier.core.requests import Request
from atelier.core.settings import Settings


class JobSubmitter(Protocol):
    def submit(self, request: Request) -> Job: ...

    def cancel(self, job_id: int) -> bool: ...

    def pack_summaries(self) -> list[dict[str, str]]: ...


DECLINED = "not started: the pack's licence was not accepted"


def declined_job(request: Request) -> Job:
    """What `submit` returns for a job the user declined: already over, never queued, not in the history."""
    now = time.time()
    return Job(request, state=JobState.CANCELLED, created=now, ended=now, error=DECLINED)


class LicenceGate:
    """Asks before the first use of each pack (its licence and source, Accept or Cancel); an acceptance is
    remembered per pack hash in the data folder. One question per user action: after Cancel, the other jobs
    the same click submits (a batch of variations) are declined without asking again, the next click asks
    again, and live requests (one per stroke, `supersedes`) for that pack are declined quietly from then on."""

    def __init__(
        self,
        store: ConsentStore | None = None,
        ask: Callable[[dict[str, Any], QWidget | None], bool] | None = None,
    ) -> None:
        self.store = store or ConsentStore()
        self.ask = ask or _ask_with_dialog
        self._declined: set[str] = set()
        self._declined_now: set[str] = set()  # emptied when control returns to the event loop
        self._asking = False

    def allows(self, request: Request, summaries: Callable[[], list[dict[str, Any]]]) -> bool:
        if request.kind not in PACK_KIND_OF_REQUEST:
            return True  # no pack to ask about: skip listing them (rhymes, analysis run on every keystroke)
        summary = pack_for_request(request, summaries())
        if summary is None or self.store.is_accepted(summary):
            return True
        key = pack_key(summary)
        if self._asking or key in self._declined_now or (key in self._declined and request.supersedes):
            return False  # a live stroke while the question is open, or the rest of a batch the user said no to
        self._asking = True
        try:
            accepted = self.ask(summary, _main_window())
        finally:
            self._asking = False
        if accepted:
            self.store.accept(summary)
            self._declined.discard(key)
        else:
            self._declined.add(key)
            if not self._declined_now:
                QTimer.singleShot(0, self._declined_now.clear)
            self._declined_now.add(key)
        return accepted


def _main_window() -> QWidget | None:
    """The window the question belongs to (not another dialog, which may be closing)."""
    window = QApplication.activeWindow()
    return window if isinstance(window, QMainWindow) else None


def _ask_with_dialog(summary: dict[str, Any], parent: QWidget | None) -> bool:
    from atelier.ui.dialogs.pack_licence_dialog import ask_licence

    return ask_licence(summary, parent)


class LicensedSubmitter:
    """The runner as panels see it when a gate is set: a job whose pack is not accepted is not submitted."""

    def __init__(self, runner: JobSubmitter, gate: LicenceGate) -> None:
        self.runner = runner
        self.gate = gate

    def submit(self, request: Request) -> Job:
        if not self.gate.allows(request, self.runner.pack_summaries):
            return declined_job(request)
        return self.runner.submit(request)

    def cancel(self, job_id: int) -> bool:
        return self.runner.cancel(job_id)

    def pack_summaries(self) -> list[dict[str, str]]:
        return self.runner.pack_summaries()

    def __getattr__(self, name: str) -> Any:  # the runner's other methods (devices, providers) pass through
        return getattr(self.runner, name)


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
    # The window passes one; without it (tests, tools) jobs go straight to the runner.
    licence_gate: LicenceGate | None = None

    def __post_init__(self) -> None:
        if self.licence_gate is not None and not isinstance(self.runner, LicensedSubmitter):
            self.runner = LicensedSubmitter(self.runner, self.licence_gate)
