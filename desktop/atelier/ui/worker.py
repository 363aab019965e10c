"""Background workers: the one place the UI calls the engine, never on the GUI thread.

Two lanes, each one thread: HEAVY (images, text, melodies: one at a time per device) and LIGHT
(palettes, rhymes, analysis: milliseconds, so they never wait behind a long generation).
Progress and results are delivered to the main thread through queued Qt signals and applied to
the JobQueue there, so the history and panels update in order. With a render server in Settings the
heavy lane sends its jobs there (same progress, previews and cancel) and runs them here when the
server cannot take them, saying why.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
import traceback
from collections.abc import Callable, Generator
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal

from atelier.core.cancel import CancelToken
from atelier.core.errors import AtelierError, CancelledError
from atelier.core.jobs import Job, JobQueue
from atelier.core.progress import Progress
from atelier.core.requests import DeviceInfo, Lane, Request, Result
from atelier.core.settings import Settings
from atelier.engine.first_use_packs import pending_summaries
from atelier.engine.providers import choose_providers
from atelier.engine.runner import Engine
from atelier.remote.client import CONNECTION_ERRORS, RenderServerClient, read_token

log = logging.getLogger(__name__)
_STOP = object()
# Lanes still inside a step when the window closed: a step that cannot see a cancel (one long native
# call) runs on. Qt aborts the whole process when a running QThread is destroyed, which closing the
# window or leaving Python would do, so they are held here and waited for at exit.
_STILL_RUNNING: set[QThread] = set()
EXIT_WAIT_MS = 120_000


@atexit.register
def _wait_for_lanes_still_running() -> None:
    for thread in list(_STILL_RUNNING):
        if not thread.wait(EXIT_WAIT_MS):
            log.error("Lane %s is still running %d s after Atelier closed.", thread.objectName(), EXIT_WAIT_MS // 1000)


class LaneThread(QThread):
    """Runs jobs of one lane in order.

    Events go into one thread-safe outbox shared by both lanes and only a parameterless `wake`
    signal crosses threads, so the GUI thread applies events in the order they happened and no
    Python object depends on Qt's cross-thread argument marshalling.
    """

    wake = Signal()

    def __init__(
        self,
        lane: Lane,
        engine: Engine,
        outbox: queue.SimpleQueue[tuple[str, int, Any]],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.lane = lane
        self.engine = engine
        self.outbox = outbox
        self.setObjectName(f"atelier-{lane.value}-lane")
        self._jobs: queue.Queue[object] = queue.Queue()

    def put(self, job: Job) -> None:
        self._jobs.put(job)

    def stop(self) -> None:
        self._jobs.put(_STOP)

    def _post(self, event: str, job_id: int, payload: Any = None) -> None:
        self.outbox.put((event, job_id, payload))
        self.wake.emit()

    def run(self) -> None:
        # Python sees a QThread as an anonymous "Dummy" thread; name it for logs and tests.
        threading.current_thread().name = self.objectName()
        while True:
            item = self._jobs.get()
            if item is _STOP:
                return
            assert isinstance(item, Job)
            self._run_job(item.id, item.request, item.cancel_token)

    def _run_job(self, job_id: int, request: Request, cancel: CancelToken) -> None:
        if cancel.cancelled:
            self._post("cancelled", job_id)
            return
        self._post("started", job_id)
        generator = self.engine.run(request, cancel)
        try:
            while True:
                self._post("progress", job_id, next(generator))
        except StopIteration as stop:
            self._post("finished", job_id, stop.value)
        except CancelledError:
            self._post("cancelled", job_id)
        # BaseException too: a library's sys.exit() (SystemExit) or a stray KeyboardInterrupt escaping a
        # QThread's run() aborts the whole process, and the user's unsaved work with it.
        except BaseException as exc:
            if cancel.cancelled:
                # A run stopped mid-way often fails on its way out (a terminated session, a killed build);
                # the user asked it to stop, so that is what it did, not an error to show them.
                log.info("Job %s raised after it was cancelled: %s", job_id, _describe(exc))
                self._post("cancelled", job_id)
            elif isinstance(exc, AtelierError):
                self._post("failed", job_id, exc)
            else:  # a bug or an unexpected runtime error fails this job only
                log.error("Job %s failed:\n%s", job_id, traceback.format_exc())
                error = AtelierError(f"Unexpected error: {_describe(exc)}", "Details are in the log.")
                self._post("failed", job_id, error)


# After the server failed to take a job, the next jobs run here without trying it again for this long
# (a machine that is off costs each try the connect timeout).
SERVER_RETRY_S = 30.0


class HeavyLaneEngine:
    """The heavy lane's engine: the render server's client when Settings names one and it takes the job,
    otherwise this computer's Engine. Both have the same `run(request, cancel)`; `notice` tells the window
    (through the lane's outbox) which one runs jobs and why."""

    def __init__(self, local: Engine) -> None:
        self.local = local
        self.remote: RenderServerClient | None = None
        self.problem = ""  # why the configured server is not used, "" when it is (or none is configured)
        self.notice: Callable[[object], None] = lambda _message: None
        self._skip_until = 0.0

    def configure(self, settings: Settings) -> None:
        self.remote, self.problem, self._skip_until = None, "", 0.0
        if not settings.render_server.strip():
            return
        try:
            token = read_token(settings.render_server_token_file)
            self.remote = RenderServerClient(settings.render_server, token, settings.render_server_fingerprint)
        except AtelierError as exc:
            self.problem = f"Render server not used: {exc.user_message()}"

    def check(self) -> object:
        """Ask the server where its jobs run (network: call off the GUI thread). A RemoteDeviceInfo, or why not."""
        if self.remote is None:
            return self.problem
        try:
            device = self.remote.device()
        except AtelierError as exc:
            return f"Render server not used: {exc.user_message()} Jobs run on this computer."
        return device

    def run(self, request: Request, cancel: CancelToken) -> Generator[Progress, None, Result]:
        remote = self.remote
        if remote is not None and time.monotonic() >= self._skip_until:
            generator = remote.run(request, cancel)
            try:
                first = next(generator)
            except StopIteration as stop:
                return stop.value
            except CONNECTION_ERRORS as exc:
                # Nothing ran there: the job runs here instead, and the status bar says why.
                self._skip_until = time.monotonic() + SERVER_RETRY_S
                self.notice(f"Render server not used: {exc.user_message()} This job runs on this computer.")
            else:
                yield first
                return (yield from generator)
        return (yield from self.local.run(request, cancel))


def _describe(exc: BaseException) -> str:
    """The error's text for a message; an exception whose str() itself fails still gets a name."""
    try:
        text = str(exc)
    except Exception:  # a broken __str__ must not take the lane down with it
        text = ""
    return text or type(exc).__name__


class JobRunner(QObject):
    """Submits requests to the JobQueue and runs them on the lane threads."""

    device_changed = Signal(object)  # DeviceInfo of the last job that ran a model
    # The render server: its RemoteDeviceInfo once it answered, or a line saying why jobs run here instead.
    server_status = Signal(object)

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
        # Heavy jobs may go to a render server; light ones always run here (milliseconds, no round trip).
        self.heavy = HeavyLaneEngine(self.engine)
        self._lanes: dict[Lane, LaneThread] = {}
        self._outbox: queue.SimpleQueue[tuple[str, int, Any]] = queue.SimpleQueue()
        self._checks: list[threading.Thread] = []
        for lane in Lane:
            engine: Any = self.heavy if lane is Lane.HEAVY else self.engine
            thread = LaneThread(lane, engine, self._outbox, self)
            # A bound method of this QObject (which lives on the GUI thread) makes the connection
            # queued, so the JobQueue is only ever changed on the GUI thread.
            thread.wake.connect(self._drain)
            thread.start()
            self._lanes[lane] = thread
        heavy_lane = self._lanes[Lane.HEAVY]
        self.heavy.notice = lambda message: heavy_lane._post("server", 0, message)
        self._configure_server(settings)

    def _configure_server(self, settings: Settings) -> None:
        self.heavy.configure(settings)
        heavy_lane = self._lanes[Lane.HEAVY]
        if self.heavy.remote is None:
            if self.heavy.problem:  # through the outbox: the window connects to server_status after this
                heavy_lane._post("server", 0, f"{self.heavy.problem} Jobs run on this computer.")
            return
        heavy = self.heavy
        # The first answer (or the reason there is none) comes back through the outbox like any event.
        check = threading.Thread(
            target=lambda: heavy_lane._post("server", 0, heavy.check()), name="atelier-server-check", daemon=True
        )
        self._checks = [t for t in self._checks if t.is_alive()] + [check]
        check.start()

    def submit(self, request: Request) -> Job:
        job, _superseded = self.queue.enqueue(request)
        self._lanes[request.lane].put(job)
        return job

    def cancel(self, job_id: int) -> bool:
        return self.queue.cancel(job_id)

    def _drain(self) -> None:
        """Apply every event the lanes have posted, in order (one wake may carry several)."""
        while True:
            try:
                event, job_id, payload = self._outbox.get_nowait()
            except queue.Empty:
                return
            if event == "started":
                self.queue.notify_started(job_id)
            elif event == "progress":
                self.queue.notify_progress(job_id, payload)
            elif event == "finished":
                self._on_finished(job_id, payload)
            elif event == "failed":
                self.queue.notify_failed(job_id, payload)
            elif event == "cancelled":
                self.queue.notify_cancelled(job_id)
            elif event == "server":
                self.server_status.emit(payload)

    def _on_finished(self, job_id: int, result: Result) -> None:
        device: DeviceInfo = result.device
        notice = "; ".join(device.fallbacks) if device.fell_back else ""
        self.queue.notify_finished(job_id, result, notice)
        if device.provider != "none":
            self.device_changed.emit(device)

    def update_settings(self, settings: Settings) -> None:
        self.engine.update_settings(settings)
        self._configure_server(settings)

    def planned_device(self) -> DeviceInfo:
        """Where the next model would run, before any has (confirmed by each job's own DeviceInfo)."""
        pool = self.engine.pool
        candidates, skipped = choose_providers(self.engine.settings.device, pool.available(), pool.degraded)
        return DeviceInfo(provider=candidates[0], requested=tuple(candidates), fallbacks=tuple(skipped))

    def pack_summaries(self) -> list[dict[str, str]]:
        """What the About dialog lists: every pack with its licence and source, including the ones
        converted on first use that do not exist yet."""
        installed = [
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
        return installed + pending_summaries(self.engine.catalog)

    def broken_packs(self) -> list[tuple[str, str]]:
        """Packs discovery set aside, as (folder, why): About lists them so a bad pack is never silent."""
        return [(str(b.folder), b.message) for b in self.engine.catalog.broken]

    def available_providers(self) -> list[str]:
        """Execution providers onnxruntime can load on this machine (Settings marks the others)."""
        return list(self.engine.pool.available())

    def threads(self) -> list[QThread]:
        return list(self._lanes.values())

    def shutdown(self, timeout_ms: int = 10000) -> None:
        """Cancel everything, stop the lanes and wait for them, so no thread outlives the window."""
        self._drain()  # a lane may have started a job whose "started" is still in the outbox: it is running, not queued
        for job in self.queue.active():
            self.queue.cancel(job.id, reason="cancelled because Atelier is closing")
        for thread in self._lanes.values():
            thread.stop()
        for check in self._checks:
            check.join(5.0)  # a server check waits at most its connect timeout
        for thread in self._lanes.values():
            if not thread.wait(timeout_ms):
                log.warning(
                    "Lane %s is still in a step after %d ms; it ends before Atelier exits.",
                    thread.objectName(),
                    timeout_ms,
                )
                thread.setParent(None)  # so deleting this runner (and the window) does not destroy it running
                _STILL_RUNNING.add(thread)
        self._drain()  # apply the last events (e.g. "cancelled") so the history is final
