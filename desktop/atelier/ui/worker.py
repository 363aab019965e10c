"""Background workers: the one place the UI calls the engine, never on the GUI thread.

Two lanes, each one thread: HEAVY (images, text, melodies: one at a time per device) and LIGHT
(palettes, rhymes, analysis: milliseconds, so they never wait behind a long generation).
Progress and results are delivered to the main thread through queued Qt signals and applied to
the JobQueue there, so the history and panels update in order.
"""

from __future__ import annotations

import logging
import queue
import traceback
from collections.abc import Callable

from PySide6.QtCore import QObject, QThread, Signal

from atelier.core.cancel import CancelToken
from atelier.core.errors import AtelierError, CancelledError
from atelier.core.jobs import Job, JobQueue, JobState
from atelier.core.progress import Progress
from atelier.core.requests import DeviceInfo, Lane, Request, Result
from atelier.core.settings import Settings
from atelier.engine.providers import choose_providers
from atelier.engine.runner import Engine

log = logging.getLogger(__name__)
_STOP = object()


class LaneThread(QThread):
    """Runs jobs of one lane in order. Signals are emitted from this thread and queued to the GUI."""

    job_started = Signal(int)
    job_progress = Signal(int, object)
    job_finished = Signal(int, object)
    job_failed = Signal(int, object)
    job_cancelled = Signal(int)

    def __init__(self, lane: Lane, engine: Engine, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.lane = lane
        self.engine = engine
        self.setObjectName(f"atelier-{lane.value}-lane")
        self._jobs: queue.Queue[object] = queue.Queue()

    def put(self, job: Job) -> None:
        self._jobs.put(job)

    def stop(self) -> None:
        self._jobs.put(_STOP)

    def run(self) -> None:
        while True:
            item = self._jobs.get()
            if item is _STOP:
                return
            assert isinstance(item, Job)
            self._run_job(item.id, item.request, item.cancel_token)

    def _run_job(self, job_id: int, request: Request, cancel: CancelToken) -> None:
        if cancel.cancelled:
            self.job_cancelled.emit(job_id)
            return
        self.job_started.emit(job_id)
        generator = self.engine.run(request, cancel)
        try:
            while True:
                progress = next(generator)
                self.job_progress.emit(job_id, progress)
        except StopIteration as stop:
            self.job_finished.emit(job_id, stop.value)
        except CancelledError:
            self.job_cancelled.emit(job_id)
        except AtelierError as exc:
            self.job_failed.emit(job_id, exc)
        except Exception as exc:  # a bug or an unexpected runtime error must not kill the lane
            log.error("Job %s failed:\n%s", job_id, traceback.format_exc())
            self.job_failed.emit(job_id, AtelierError(f"Unexpected error: {exc}", "Details are in the log."))


class JobRunner(QObject):
    """Submits requests to the JobQueue and runs them on the lane threads."""

    device_changed = Signal(object)  # DeviceInfo of the last job that ran a model

    def __init__(
        self,
        job_queue: JobQueue,
        settings: Settings,
        parent: QObject | None = None,
        engine_factory: Callable[[Settings], Engine] = Engine,
    ) -> None:
        super().__init__(parent)
        self.queue = job_queue
        self.engine = engine_factory(settings)
        self._lanes: dict[Lane, LaneThread] = {}
        for lane in Lane:
            thread = LaneThread(lane, self.engine, self)
            # Bound methods of this QObject (which lives on the GUI thread) make the connections
            # queued, so the JobQueue is only ever changed on the GUI thread.
            thread.job_started.connect(self._on_started)
            thread.job_progress.connect(self._on_progress)
            thread.job_finished.connect(self._on_finished)
            thread.job_failed.connect(self._on_failed)
            thread.job_cancelled.connect(self._on_cancelled)
            thread.start()
            self._lanes[lane] = thread

    def submit(self, request: Request) -> Job:
        job, _superseded = self.queue.enqueue(request)
        self._lanes[request.lane].put(job)
        return job

    def cancel(self, job_id: int) -> bool:
        return self.queue.cancel(job_id)

    def _on_started(self, job_id: int) -> None:
        self.queue.notify_started(job_id)

    def _on_progress(self, job_id: int, progress: Progress) -> None:
        self.queue.notify_progress(job_id, progress)

    def _on_failed(self, job_id: int, error: AtelierError) -> None:
        self.queue.notify_failed(job_id, error)

    def _on_cancelled(self, job_id: int) -> None:
        self.queue.notify_cancelled(job_id)

    def _on_finished(self, job_id: int, result: Result) -> None:
        device: DeviceInfo = result.device
        notice = "; ".join(device.fallbacks) if device.fell_back else ""
        self.queue.notify_finished(job_id, result, notice)
        if device.provider != "none":
            self.device_changed.emit(device)

    def update_settings(self, settings: Settings) -> None:
        self.engine.update_settings(settings)

    def planned_device(self) -> DeviceInfo:
        """Where the next model would run, before any has (confirmed by each job's own DeviceInfo)."""
        pool = self.engine.pool
        candidates, skipped = choose_providers(self.engine.settings.device, pool.available(), pool.degraded)
        return DeviceInfo(provider=candidates[0], requested=tuple(candidates), fallbacks=tuple(skipped))

    def pack_summaries(self) -> list[dict[str, str]]:
        """What the About dialog lists: every pack with its licence and source."""
        return [
            {
                "id": p.id,
                "name": p.name,
                "kind": p.kind,
                "licence": p.licence,
                "source": p.source,
                "folder": str(p.folder),
            }
            for p in self.engine.catalog.packs.values()
        ]

    def threads(self) -> list[QThread]:
        return list(self._lanes.values())

    def shutdown(self, timeout_ms: int = 10000) -> None:
        """Cancel everything, stop the lanes and wait for them, so no thread outlives the window."""
        for job in self.queue.active():
            self.queue.cancel(job.id, reason="cancelled because Atelier is closing")
        for thread in self._lanes.values():
            thread.stop()
        for thread in self._lanes.values():
            thread.wait(timeout_ms)

    def is_idle(self) -> bool:
        return not any(job.state in (JobState.QUEUED, JobState.RUNNING) for job in self.queue)
