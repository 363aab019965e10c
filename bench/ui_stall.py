"""How much a CPU-heavy ONNX job stalls the GUI event loop: through Atelier's worker vs on the GUI thread.

A 5 ms QTimer samples the event loop while line art is traced from a 4000x3000 picture, (a) submitted
through the real JobRunner (worker thread) and (b) run directly on the GUI thread, which is what a
tool without a worker does. Prints the max and p99 stall of each and the ratio. Goal: worker max <= 50 ms.

`--case history`: four finished jobs with a 1024x1024 picture each are handed to the real MainWindow (as the
worker's results arrive, through JobQueue.notify_finished on the GUI thread) and written into a project's
history by its background writer, against the same four written on the GUI thread (what the window did
before the writer: ProjectHistory.add + prune in the job's handler). Prints the GUI-thread time of the
hand-off, the max event-loop stall until the History tab lists all four, and the ratio.
Run: QT_QPA_PLATFORM=offscreen .venv/bin/python bench/ui_stall.py [--runs 3] [--case lineart|history]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "desktop"))

import numpy as np
from PySide6.QtCore import QCoreApplication, QElapsedTimer, QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from atelier.core.jobs import JobQueue, JobState
from atelier.core.requests.lineart import LineArtRequest
from atelier.core.settings import Settings
from atelier.engine.runner import Engine
from atelier.ui.worker import JobRunner

TICK_MS = 5


class StallSampler:
    def __init__(self) -> None:
        self.clock = QElapsedTimer()
        self.gaps: list[float] = []
        self.timer = QTimer()
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.gaps.clear()
        self.clock.start()
        self.last = self.clock.nsecsElapsed()
        self.timer.start()

    def _tick(self) -> None:
        now = self.clock.nsecsElapsed()
        self.gaps.append((now - self.last) / 1e6 - TICK_MS)
        self.last = now

    def stop(self) -> tuple[float, float]:
        self.timer.stop()
        self._tick()  # the gap up to now counts too (a blocked loop has no ticks at all)
        gaps = np.maximum(np.array(self.gaps), 0.0)
        return float(gaps.max()), float(np.percentile(gaps, 99))


def spin(app: QCoreApplication, seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents)


def history_case(app: QCoreApplication, runs: int, results: int, side: int) -> None:
    from atelier.core.requests.sketch import SketchRequest, SketchResult
    from atelier.ui.main_window import HISTORY_MAX_BYTES, HISTORY_MAX_COUNT, MainWindow

    rng = np.random.default_rng(0)
    # Noise is the worst case for PNG encoding; a generated picture compresses to about half of it.
    batches = [
        [
            SketchResult(images=(rng.integers(0, 256, (side, side, 3), dtype=np.uint8),), seeds=(i,))
            for i in range(results)
        ]
        for _ in range(runs)
    ]
    request = SketchRequest(prompt="a lighthouse at dusk", width=side, height=side)
    window = MainWindow(Settings(threads=1))
    window.show()
    spin(app, 0.5)
    history = window.context.session.history
    sampler = StallSampler()
    writer_stats, gui_stats = [], []
    for batch in batches:
        # (a) Atelier: the results reach the window as the worker delivers them; the writer thread keeps them.
        jobs = [window.queue.enqueue(request)[0] for _ in batch]
        listed = len(history.entries()) + len(batch)
        sampler.start()
        started = time.perf_counter()
        for job, result in zip(jobs, batch, strict=True):
            window.queue.notify_finished(job.id, result)
        handoff = time.perf_counter() - started
        while window.history.list.count() < listed or window.history_writer.pending():
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents)
        landed = time.perf_counter() - started
        writer_stats.append((handoff, *sampler.stop(), landed))
        spin(app, 0.05)
        # (b) the same results written on the GUI thread, as the window did before its history writer.
        sampler.start()
        started = time.perf_counter()
        for result in batch:
            history.add(request, result, created=time.time(), seconds=1.0)
            history.prune(HISTORY_MAX_COUNT, HISTORY_MAX_BYTES)
        handoff = time.perf_counter() - started
        spin(app, 0.02)
        gui_stats.append((handoff, *sampler.stop(), handoff))
        spin(app, 0.05)
    window.close()
    writer = np.median(np.array(writer_stats), axis=0)
    gui = np.median(np.array(gui_stats), axis=0)
    print(f"hand-off: {results} results of one {side}x{side} RGB picture each, {runs} runs (medians)")
    print(
        f"atelier history writer: GUI thread {writer[0] * 1e3:7.1f} ms, max stall {writer[1]:7.1f} ms, "
        f"all listed after {writer[3]:.2f} s"
    )
    print(f"history.add on GUI thread: GUI thread {gui[0] * 1e3:7.1f} ms, max stall {gui[1]:7.1f} ms")
    print(f"ratio (writer / GUI thread) max stall: {writer[1] / max(gui[1], 1e-9):.3f}")
    print(f"goal max stall <= 50 ms: {'met' if writer[1] <= 50 else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--width", type=int, default=4000)
    parser.add_argument("--height", type=int, default=3000)
    parser.add_argument("--case", choices=("lineart", "history"), default="lineart")
    parser.add_argument("--results", type=int, default=4, help="history case: results handed over at once")
    parser.add_argument("--side", type=int, default=1024, help="history case: each result's picture side")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv)
    if args.case == "history":
        with tempfile.TemporaryDirectory(prefix="atelier-bench-") as folder:
            # A project of its own: nothing is written into the user's session or settings.
            os.environ["ATELIER_DATA_DIR"] = str(Path(folder) / "data")
            os.environ["ATELIER_CONFIG_DIR"] = str(Path(folder) / "config")
            history_case(app, args.runs, args.results, args.side)
        return
    rng = np.random.default_rng(0)
    picture = rng.integers(0, 255, (args.height, args.width, 3), dtype=np.uint8)
    request = LineArtRequest(image=picture)
    settings = Settings()
    queue = JobQueue()
    runner = JobRunner(queue, settings)
    direct_engine = Engine(settings)
    direct_engine.run_to_end(request)  # warm both sessions
    sampler = StallSampler()
    worker_stats, direct_stats, seconds = [], [], []
    for _ in range(args.runs):
        sampler.start()
        started = time.perf_counter()
        job = runner.submit(request)
        while job.state not in (JobState.FINISHED, JobState.FAILED):
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents)
        seconds.append(time.perf_counter() - started)
        worker_stats.append(sampler.stop())
        spin(app, 0.05)
        sampler.start()
        spin(app, 0.02)
        direct_engine.run_to_end(request)  # the GUI thread is busy: no timer can fire
        spin(app, 0.02)
        direct_stats.append(sampler.stop())
    runner.shutdown()
    worker_max = max(s[0] for s in worker_stats)
    worker_p99 = float(np.median([s[1] for s in worker_stats]))
    direct_max = max(s[0] for s in direct_stats)
    direct_p99 = float(np.median([s[1] for s in direct_stats]))
    print(f"job: line art {args.width}x{args.height}, {np.median(seconds):.2f} s per run, {args.runs} runs")
    print(f"atelier worker thread : max stall {worker_max:7.1f} ms, p99 {worker_p99:7.1f} ms")
    print(f"same job on GUI thread: max stall {direct_max:7.1f} ms, p99 {direct_p99:7.1f} ms")
    print(f"ratio (worker / GUI thread) max stall: {worker_max / max(direct_max, 1e-9):.3f}")
    print(f"goal max stall <= 50 ms: {'met' if worker_max <= 50 else 'NOT met'}")


if __name__ == "__main__":
    main()
