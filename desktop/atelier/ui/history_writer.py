"""Writes finished jobs into their project's history on one background thread, in the order they ended."""

from __future__ import annotations

import concurrent.futures
import logging
from dataclasses import dataclass, field

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Signal

from atelier.core.history import HistoryEntry
from atelier.core.project import Project
from atelier.core.requests import Request, Result

log = logging.getLogger(__name__)


@dataclass(eq=False)
class PendingWrite:
    """One result on its way into `project`'s history (what the History tab shows as "saving…")."""

    project: Project
    number: int
    kind: str
    summary: str
    future: concurrent.futures.Future[None] = field(default_factory=concurrent.futures.Future, repr=False)


class HistoryWriter(QObject):
    """A queue of history writes run by one thread, so they land in order and the window never waits
    for PNG encoding or fsync. Its signals arrive on the GUI thread."""

    pending_changed = Signal()  # a write was queued or ended: the "saving…" rows change
    written = Signal(object, object)  # (Project, HistoryEntry)
    failed = Signal(object, object, bool)  # (PendingWrite, Exception, first of a run of failures)
    # Emitted by the writer thread; the connection to this GUI-thread object makes Qt queue it.
    _ended = Signal(object, object)  # (PendingWrite, HistoryEntry | Exception)

    def __init__(self, max_count: int, max_bytes: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.max_count = max_count
        self.max_bytes = max_bytes
        # One worker: the stdlib executor's queue is first in, first out, which is the order kept.
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="atelier-history")
        self._pending: list[PendingWrite] = []
        self._failing = False
        self._closed = False
        self._ended.connect(self._on_ended)

    def add(
        self, project: Project, request: Request, result: Result, *, created: float, seconds: float, number: int
    ) -> PendingWrite:
        """Queue one result for `project`'s history; returns at once (the write is done on the writer thread)."""
        if self._closed:
            raise RuntimeError("the history writer is closed")
        pending = PendingWrite(project, number, request.kind, request.summary())
        pending.future = self._executor.submit(self._write, pending, request, result, created, seconds)
        self._pending.append(pending)
        self.pending_changed.emit()
        return pending

    def pending(self, project: Project | None = None) -> list[PendingWrite]:
        """Writes not yet ended (for `project` only when given), oldest first."""
        return [p for p in self._pending if not p.future.done() and (project is None or p.project is project)]

    def wait(self, project: Project | None = None, timeout: float | None = None) -> bool:
        """Block until the writes queued so far (for `project`) have ended, at most `timeout` seconds;
        True when they all did. Their signals are delivered before this returns."""
        futures = [p.future for p in self.pending(project)]
        if not futures:
            return True
        _done, not_done = concurrent.futures.wait(futures, timeout)
        # The ended writes' queued signals, now rather than at the next turn of the event loop, so a
        # failure is told and the "saving…" rows go before the caller switches projects or quits.
        QCoreApplication.sendPostedEvents(self, QEvent.Type.MetaCall)
        return not not_done

    def close(self, timeout: float | None = None) -> list[PendingWrite]:
        """Finish the queued writes (at most `timeout` seconds) and stop the thread; returns the writes
        given up (queued ones are dropped; one already being written still finishes into a hidden folder
        and is renamed into place, or is left as a temporary folder that the next prune removes)."""
        finished = self.wait(timeout=timeout)
        self._closed = True
        left = self.pending()
        self._executor.shutdown(wait=finished, cancel_futures=True)
        return left

    # -- the writer thread ---------------------------------------------------------------------
    def _write(self, pending: PendingWrite, request: Request, result: Result, created: float, seconds: float) -> None:
        history = pending.project.history
        outcome: HistoryEntry | Exception
        try:
            outcome = history.add(request, result, created=created, seconds=seconds, number=pending.number)
        except Exception as exc:  # any failure is the artist's to hear of; the next write goes on
            outcome = exc
        else:
            try:
                history.prune(self.max_count, self.max_bytes)
            except Exception:  # the entry is kept; pruning tries again after the next one
                log.warning("The history of %s could not be pruned", pending.project.folder, exc_info=True)
        self._ended.emit(pending, outcome)

    # -- back on the GUI thread ----------------------------------------------------------------
    def _on_ended(self, pending: PendingWrite, outcome: object) -> None:
        if pending in self._pending:
            self._pending.remove(pending)
        if isinstance(outcome, Exception):
            first = not self._failing
            self._failing = True
            self.failed.emit(pending, outcome, first)
        else:
            self._failing = False
            self.written.emit(pending.project, outcome)
        self.pending_changed.emit()
