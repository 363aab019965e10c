"""Holds a worker's "finished" report on its lane thread: the job has done its last step and has its
result, but the main thread has not heard yet, so a cancel made meanwhile arrives after the last step
(the race a user wins by pressing Stop or Cancel as a job ends)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from atelier.ui.worker import LaneThread

HOLD_LIMIT_S = 30  # bounded, so a test that forgets to release cannot hang a lane (and the suite)


class HeldFinishes:
    """Holds every finished job whose result is one of `kinds` (result types) until the test releases it."""

    def __init__(self) -> None:
        self.kinds: tuple[type, ...] = ()
        self._arrived: queue.Queue[tuple[int, threading.Event]] = queue.Queue()
        self._all: list[threading.Event] = []
        self._open = False
        self.last_progress: dict[int, Any] = {}  # job id -> the last Progress its lane reported

    @classmethod
    @contextmanager
    def installed(cls, monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldFinishes]:
        held = cls()
        post = LaneThread._post

        def holding(lane: LaneThread, event: str, job_id: int, payload: Any = None) -> None:
            if event == "progress":
                held.last_progress[job_id] = payload
            if event == "finished" and isinstance(payload, held.kinds) and not held._open:
                release = threading.Event()
                held._all.append(release)
                held._arrived.put((job_id, release))
                release.wait(HOLD_LIMIT_S)
            post(lane, event, job_id, payload)

        monkeypatch.setattr(LaneThread, "_post", holding)
        try:
            yield held
        finally:
            held._open = True
            for release in held._all:
                release.set()

    def all_reported(self, job: Any) -> bool:
        """Whether the main thread has applied every progress report the job's lane made."""
        return job.progress is self.last_progress.get(job.id)

    def next(self, qtbot: Any, timeout_ms: int = 60000) -> tuple[int, threading.Event]:
        """The next held job's id and the event that lets its report go on; Qt's events keep running
        meanwhile (the look-ups that start on a timer need them)."""
        qtbot.waitUntil(lambda: not self._arrived.empty(), timeout=timeout_ms)
        return self._arrived.get_nowait()
