"""How much a CPU-heavy ONNX job stalls the GUI event loop: through Atelier's worker vs on the GUI thread.

A 5 ms QTimer samples the event loop while line art is traced from a 4000x3000 picture, (a) submitted
through the real JobRunner (worker thread) and (b) run directly on the GUI thread, which is what a
tool without a worker does. Prints the max and p99 stall of each and the ratio. Goal: worker max <= 50 ms.
Run: QT_QPA_PLATFORM=offscreen .venv/bin/python bench/ui_stall.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "desktop"))

import numpy as np
from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer
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


def spin(app: QApplication, seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--width", type=int, default=4000)
    parser.add_argument("--height", type=int, default=3000)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv)
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
