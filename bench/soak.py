"""Soak: mixed jobs with random cancels through the real JobRunner; throughput, RSS, threads, stuck jobs.

Pushes --jobs (200) requests of seven kinds (palette from text and from a picture, lyrics with the tiny test
Llama or the real SmolLM2 pack, sketch with a tiny diffusion pack, colorize, line art, melody) through
Atelier's JobRunner and JobQueue on a Qt event loop, at most --in-flight at a time, cancelling some while
they wait in line and some while they run. Reports jobs/s per kind (and the same requests run directly with
Engine.run_to_end on one thread, what the CLI does, as the peer: the ratio is what the worker costs), RSS
after warm-up and at the end, Python and native thread counts (/proc/self/task), stuck jobs (not done 60 s
after the last submit) and threads left after shutdown. Goal: RSS growth after warm-up < 5 %, 0 stuck jobs,
0 leaked threads. Prints a table and writes JSON.

The history keeps the last --history results by design (the app's default is 200); it is 50 here, the
warm-up length, so the jobs after warm-up measure what is NOT given back, not results kept on purpose
(the bytes the history holds are printed at both points).
Run: QT_QPA_PLATFORM=offscreen .venv/bin/python bench/soak.py [--jobs 200] [--lyrics tiny|smollm2]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
sys.path.insert(0, str(REPO / "desktop"))

import numpy as np  # noqa: E402
from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer  # noqa: E402

from atelier.core.jobs import Job, JobQueue, JobState  # noqa: E402
from atelier.core.requests import Request  # noqa: E402
from atelier.core.requests.colorize import ColorizeRequest  # noqa: E402
from atelier.core.requests.lineart import LineArtRequest  # noqa: E402
from atelier.core.requests.lyrics import LyricRequest  # noqa: E402
from atelier.core.requests.melody import MelodyRequest  # noqa: E402
from atelier.core.requests.palette import PaletteFromImageRequest, PaletteFromTextRequest  # noqa: E402
from atelier.core.requests.sketch import SketchRequest  # noqa: E402
from atelier.core.settings import Settings  # noqa: E402
from atelier.ui.worker import JobRunner  # noqa: E402

KINDS = ("palette-text", "palette-image", "lyrics", "sketch", "colorize", "lineart", "melody")
SMOLLM2_PACK_ID = "smollm2-135m-instruct"
MOODS = (
    "stormy sea at dusk",
    "autumn forest after rain",
    "neon city night",
    "quiet snowy morning",
    "desert sunset heat",
    "lavender field in june",
    "rusty harbour cranes",
    "candle-lit jazz bar",
)
THEMES = ("rain on the window", "leaving home", "summer road trip", "an old photograph", "the last train")
LYRICS = (
    "rain on the window\nand the city lights",
    "I walk alone under the neon light\nthe river runs to the sea tonight",
    "hold me close before the morning comes\n\ndance with me until the night is done",
    "paper boats on a silver stream\ncarry away my summer dream",
)


@dataclass(frozen=True)
class SoakInputs:
    """What the requests are made from: pictures in memory and the packs the two model kinds use."""

    picture: np.ndarray  # HxWx3 uint8 (palette from image, line art)
    drawing: np.ndarray  # HxW uint8 line drawing, 0 = ink (colorize)
    sketch_folder: Path | None  # a tiny diffusion pack (ONNX folder); None leaves sketches out
    lyric_pack: str  # pack id of the lyric writer; "" leaves lyrics out

    def kinds(self) -> tuple[str, ...]:
        left_out = {"sketch"} if self.sketch_folder is None else set()
        left_out |= {"lyrics"} if not self.lyric_pack else set()
        return tuple(kind for kind in KINDS if kind not in left_out)


def synthetic_picture(size: int, rng: np.random.Generator) -> np.ndarray:
    """Soft colour fields with hard-edged shapes: edges for line art, clusters for palettes."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    picture = np.stack([x, y, 1 - x * y], axis=-1) * 200 + 30
    for _ in range(12):
        cx, cy, r = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.05, 0.2)
        inside = (x - cx) ** 2 + (y - cy) ** 2 < r * r
        picture[inside] = rng.integers(0, 256, 3)
    return picture.clip(0, 255).astype(np.uint8)


def synthetic_drawing(size: int) -> np.ndarray:
    """Closed regions (rings crossed by a grid) drawn in 2-pixel ink, as a colorize input."""
    y, x = np.mgrid[0:size, 0:size]
    drawing = np.full((size, size), 255, np.uint8)
    radius = np.hypot(x - size / 2, y - size / 2)
    for ring in range(size // 10, size // 2, size // 10):
        drawing[np.abs(radius - ring) < 1.0] = 0
    drawing[(x % (size // 4)) < 2] = 0
    drawing[(y % (size // 3)) < 2] = 0
    return drawing


def make_request(kind: str, rng: np.random.Generator, inputs: SoakInputs) -> Request:
    """One request of `kind`, its settings drawn at random (so no two jobs are the same)."""
    seed = int(rng.integers(0, 2**31 - 1))
    if kind == "palette-text":
        return PaletteFromTextRequest(text=str(rng.choice(MOODS)), count=int(rng.integers(3, 9)), seed=seed)
    if kind == "palette-image":
        return PaletteFromImageRequest(image=inputs.picture, count=int(rng.integers(3, 9)), seed=seed)
    if kind == "lyrics":
        tokens = 96 if inputs.lyric_pack == SMOLLM2_PACK_ID else 48
        prompt = str(rng.choice(THEMES))
        sections = ("Verse", "Chorus")
        return LyricRequest(
            prompt=prompt,
            sections=sections,
            lines_per_section=2,
            max_tokens=tokens,
            seed=seed,
            pack_id=inputs.lyric_pack,
        )
    if kind == "sketch":
        assert inputs.sketch_folder is not None
        return SketchRequest(
            prompt=str(rng.choice(MOODS)), pack_id=str(inputs.sketch_folder), width=64, height=64, steps=2, seed=seed
        )
    if kind == "colorize":
        colours = tuple(f"#{int(c):06x}" for c in rng.integers(0, 0xFFFFFF, int(rng.integers(3, 7))))
        return ColorizeRequest(lines=inputs.drawing, palette=colours, seed=seed)
    if kind == "lineart":
        return LineArtRequest(image=inputs.picture, sensitivity=float(rng.uniform(0.2, 0.8)))
    if kind == "melody":
        return MelodyRequest(lyrics=str(rng.choice(LYRICS)), seed=seed, tempo=float(rng.integers(70, 140)))
    raise ValueError(f"unknown kind {kind}")


# -- measuring the process ---------------------------------------------------------------------
def rss_mb() -> float:
    """Resident memory of this process now (VmRSS), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def native_threads() -> dict[int, str]:
    """This process's threads as the kernel lists them, id -> name (a QThread is named after its
    objectName; a thread a library starts from a lane inherits the lane's name)."""
    names = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            names[int(task.name)] = (task / "comm").read_text().strip()
        except OSError:  # ended while we looked
            continue
    return names


@dataclass
class Snapshot:
    rss_mb: float
    python_threads: int
    native_threads: int
    history_mb: float = 0.0

    @classmethod
    def take(cls, queue: JobQueue | None = None) -> Snapshot:
        gc.collect()
        history = queue.memory_bytes() / 1e6 if queue is not None else 0.0
        return cls(rss_mb(), threading.active_count(), len(native_threads()), history)


# -- the run -----------------------------------------------------------------------------------
@dataclass
class SoakConfig:
    jobs: int = 200
    seed: int = 0
    in_flight: int = 8  # jobs submitted and not ended, at most (a user queueing work ahead)
    cancel_queued: float = 0.10  # share of jobs cancelled while they wait in line
    cancel_running: float = 0.15  # share cancelled a moment after they start
    running_cancel_s: float = 0.05  # that moment: uniform in [0, this] after the start is seen
    warmup: int = 50  # jobs ended before the warm-up snapshot
    stuck_after_s: float = 60.0
    history: int = 50  # JobQueue.max_jobs


@dataclass
class JobRecord:
    """One submitted job. The Job itself is dropped when it ends, so the run keeps no results alive:
    what the history keeps (bounded by its max_jobs) is then all that should stay."""

    kind: str
    plan: str  # "", "queued" or "running": when the run means to cancel it
    job: Job | None  # while it has not ended
    id: int = 0
    cancel_at: float | None = None
    cancelled_in: str = ""  # the job's state when cancel was asked ("finished" etc. when too late)
    state: JobState = JobState.QUEUED
    seconds: float | None = None  # started to ended, as the GUI thread saw it
    engine_seconds: float | None = None  # inside the engine (Result.seconds)
    error: str = ""
    had_result: bool = False

    def close(self) -> None:
        """Copy what the report needs from the job and let go of it."""
        job = self.job
        assert job is not None
        self.id, self.state, self.seconds, self.error = job.id, job.state, job.seconds, job.error
        self.had_result = job.result is not None
        self.engine_seconds = job.result.seconds if job.result is not None else None
        if job.state.done:
            self.job = None


@dataclass
class SoakResult:
    config: SoakConfig
    records: list[JobRecord]
    baseline: Snapshot
    warm: Snapshot
    end: Snapshot
    seconds: float
    stuck: list[JobRecord]
    rss_series: list[tuple[int, float]] = field(default_factory=list)  # (jobs ended, RSS MB)


def run_soak(runner: JobRunner, requests: list[tuple[str, Request]], config: SoakConfig) -> SoakResult:
    """Submit `requests` through `runner` on a Qt event loop, cancel as planned, wait for every end."""
    rng = np.random.default_rng(config.seed + 1)
    queue = runner.queue
    app = QCoreApplication.instance()
    assert app is not None, "a QCoreApplication (or QApplication) must exist"
    baseline = Snapshot.take()
    records: list[JobRecord] = []
    pending = list(requests)
    active: list[JobRecord] = []
    ended = 0
    warm: Snapshot | None = None
    series: list[tuple[int, float]] = []
    last_submit = time.monotonic()
    started = time.monotonic()
    loop = QEventLoop()

    def cancel(record: JobRecord) -> None:
        assert record.job is not None
        record.cancelled_in = record.job.state.value
        runner.cancel(record.job.id)

    def tick() -> None:
        nonlocal ended, warm, last_submit
        now = time.monotonic()
        while pending and len(active) < config.in_flight:
            kind, request = pending.pop(0)
            draw = rng.uniform()
            plan = "queued" if draw < config.cancel_queued else ""
            plan = "running" if config.cancel_queued <= draw < config.cancel_queued + config.cancel_running else plan
            record = JobRecord(kind, plan, runner.submit(request))
            if plan == "queued":  # a moment later, while it most likely still waits behind others
                record.cancel_at = now + rng.uniform(0, config.running_cancel_s)
            records.append(record)
            active.append(record)
            last_submit = now
        for record in list(active):
            job = record.job
            assert job is not None
            if record.plan == "running" and record.cancel_at is None and job.state is JobState.RUNNING:
                record.cancel_at = now + rng.uniform(0, config.running_cancel_s)
            if record.cancel_at is not None and not record.cancelled_in and now >= record.cancel_at:
                cancel(record)
            if job.state.done:
                record.close()
                active.remove(record)
                ended += 1
                if ended % 10 == 0:
                    series.append((ended, rss_mb()))
                if ended == config.warmup:
                    warm = Snapshot.take(queue)
        if not pending and (not active or now - last_submit > config.stuck_after_s):
            loop.quit()

    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(tick)
    timer.start()
    loop.exec()
    timer.stop()
    seconds = time.monotonic() - started
    end = Snapshot.take(queue)
    for record in active:
        record.close()
    stuck = [record for record in records if not record.state.done]
    return SoakResult(config, records, baseline, warm or end, end, seconds, stuck, series)


def run_direct(runner: JobRunner, requests: list[tuple[str, Request]], per_kind: int) -> dict[str, float]:
    """The peer: the same requests run one after another with Engine.run_to_end on this thread (what the
    CLI does), with the worker's warm engine. Returns jobs/s per kind."""
    times: dict[str, list[float]] = {}
    for kind, request in requests:
        spent = times.setdefault(kind, [])
        if len(spent) >= per_kind:
            continue
        began = time.perf_counter()
        runner.engine.run_to_end(request)
        spent.append(time.perf_counter() - began)
    return {kind: len(spent) / sum(spent) for kind, spent in times.items() if spent}


def lane_thread_ids(native_before: dict[int, str]) -> set[int]:
    """Kernel ids of the lanes a new JobRunner started, read right after it starts them. By id, not by
    name: a library pool started from a lane (tokenizers' threads) carries the lane's name for ever."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        lanes = {t for t, name in native_threads().items() if t not in native_before and name.startswith("atelier-")}
        if len(lanes) == 2:
            return lanes
        time.sleep(0.01)
    raise RuntimeError("the two lane threads did not start")


@dataclass
class Shutdown:
    seconds: float
    lanes_left: list[int]  # kernel ids of lane threads still alive
    python_left: list[str]  # Python threads started during the run and still alive
    kept: dict[int, str]  # native threads started during the run that live on (library pools)
    after: Snapshot  # after shutdown, with the model sessions unloaded

    @property
    def leaked(self) -> int:
        return len(self.lanes_left) + len(self.python_left)


def shut_down(
    runner: JobRunner, lanes: set[int], python_before: set[threading.Thread], native_before: dict[int, str]
) -> Shutdown:
    """Stop the lanes as closing the window does, then unload every model so native counts compare."""
    from atelier.engine.genai import LANGUAGE_MODELS

    began = time.perf_counter()
    runner.shutdown()
    seconds = time.perf_counter() - began
    runner.engine.pool.unload_all()
    LANGUAGE_MODELS.unload()
    deadline = time.monotonic() + 5  # a finished QThread's kernel thread may still be on its way out
    while time.monotonic() < deadline and lanes & set(native_threads()):
        time.sleep(0.01)
    native = native_threads()
    python = [
        t.name
        for t in threading.enumerate()
        if t not in python_before and t.is_alive() and not isinstance(t, threading._DummyThread)
    ]
    kept = {tid: name for tid, name in native.items() if tid not in native_before and tid not in lanes}
    return Shutdown(seconds, sorted(lanes & set(native)), python, kept, Snapshot.take())


# -- the report --------------------------------------------------------------------------------
def per_kind(result: SoakResult, direct: dict[str, float]) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    after_warmup = result.records[result.config.warmup :]
    for kind in dict.fromkeys(record.kind for record in result.records):
        records = [r for r in result.records if r.kind == kind]
        states = [r.state for r in records]
        # Speed is measured after warm-up: a kind's first job loads its model, which the peer's runs
        # (on the warm engine) never pay.
        measured = [r for r in records if r in after_warmup]
        finished = [r for r in measured if r.state is JobState.FINISHED]
        run_seconds = [r.seconds for r in finished if r.seconds is not None]
        engine_seconds = [r.engine_seconds for r in finished if r.engine_seconds is not None]
        rate = len(run_seconds) / sum(run_seconds) if run_seconds and sum(run_seconds) > 0 else 0.0
        rows[kind] = {
            "submitted": len(records),
            "finished": states.count(JobState.FINISHED),
            "cancelled": states.count(JobState.CANCELLED),
            "failed": states.count(JobState.FAILED),
            "stuck": sum(not s.done for s in states),
            "cancel_asked_queued": sum(r.cancelled_in == "queued" for r in records),
            "cancel_asked_running": sum(r.cancelled_in == "running" for r in records),
            "cancel_too_late": sum(r.cancelled_in in ("finished", "failed", "cancelled") for r in records),
            # Started to ended as the GUI thread saw it, and inside the engine (the worker's own share is
            # the difference: event delivery, and the other lane competing for the same cores).
            "median_run_s": statistics.median(run_seconds) if run_seconds else None,
            "median_engine_s": statistics.median(engine_seconds) if engine_seconds else None,
            "jobs_per_s": rate,
            "direct_jobs_per_s": direct.get(kind),
            "ratio_worker_to_direct": rate / direct[kind] if direct.get(kind) else None,
            "errors": sorted({r.error for r in records if r.state is JobState.FAILED}),
        }
    return rows


def print_report(result: SoakResult, kinds: dict[str, dict[str, Any]], shutdown: Shutdown) -> dict[str, Any]:
    header = f"{'kind':14} {'sent':>4} {'done':>4} {'canc':>4} {'fail':>4} {'stuck':>5} {'c.q':>4} {'c.r':>4}"
    header += f" {'late':>4} {'run s':>7} {'eng s':>7} {'jobs/s':>8} {'direct':>8} {'ratio':>6}"
    print(header)
    for kind, row in kinds.items():
        direct = row["direct_jobs_per_s"]
        ratio = row["ratio_worker_to_direct"]
        median = row["median_run_s"]
        engine = row["median_engine_s"]
        print(
            f"{kind:14} {row['submitted']:4d} {row['finished']:4d} {row['cancelled']:4d} {row['failed']:4d}"
            f" {row['stuck']:5d} {row['cancel_asked_queued']:4d} {row['cancel_asked_running']:4d}"
            f" {row['cancel_too_late']:4d} {median if median is not None else float('nan'):7.3f}"
            f" {engine if engine is not None else float('nan'):7.3f}"
            f" {row['jobs_per_s']:8.1f} {direct or float('nan'):8.1f} {ratio or float('nan'):6.2f}"
        )
        for error in row["errors"]:
            print(f"    failed: {error}")
    ended = sum(r.state.done for r in result.records)
    print("(c.q / c.r: cancels asked while queued / running; late: asked after it ended;")
    print(" run s / eng s: median seconds, started to ended as the GUI saw it / inside the engine;")
    print(" run s, eng s, jobs/s: jobs after warm-up only; ratio: jobs/s through the worker / direct)")
    print(f"all kinds: {ended} jobs ended in {result.seconds:.1f} s = {ended / result.seconds:.1f} jobs/s")
    growth = (result.end.rss_mb - result.warm.rss_mb) / result.warm.rss_mb * 100
    print(
        f"RSS: start {result.baseline.rss_mb:.0f} MB, after warm-up ({result.config.warmup} jobs) "
        f"{result.warm.rss_mb:.0f} MB, end {result.end.rss_mb:.0f} MB: growth {growth:+.2f} % "
        f"(history holds {result.warm.history_mb:.1f} MB then {result.end.history_mb:.1f} MB)"
    )
    for name, snap in (
        ("start", result.baseline),
        ("warm-up", result.warm),
        ("end", result.end),
        ("shut down", shutdown.after),
    ):
        print(f"threads at {name:9}: {snap.python_threads} Python, {snap.native_threads} native")
    print(
        f"shutdown took {shutdown.seconds:.2f} s; lane threads left {shutdown.lanes_left}, "
        f"Python threads left {shutdown.python_left}"
    )
    print(f"native threads started during the run that live on (library pools, once per process): {shutdown.kept}")
    stuck = [f"#{r.id} {r.kind} {r.state.value}" for r in result.stuck]
    print(f"stuck jobs (not ended {result.config.stuck_after_s:.0f} s after the last submit): {len(stuck)} {stuck}")
    goals = {
        "rss_growth_under_5_percent": growth < 5,
        "no_stuck_jobs": not stuck,
        # Lanes gone, no Python thread left, and no native thread added per job after warm-up.
        "no_leaked_threads": shutdown.leaked == 0 and result.end.native_threads <= result.warm.native_threads,
    }
    print("goals: " + ", ".join(f"{k} {'met' if v else 'NOT met'}" for k, v in goals.items()))
    return {
        "config": vars(result.config),
        "kinds": kinds,
        "seconds": result.seconds,
        "jobs_per_s": ended / result.seconds,
        "rss_mb": {"start": result.baseline.rss_mb, "warm": result.warm.rss_mb, "end": result.end.rss_mb},
        "rss_growth_percent": growth,
        "rss_series": result.rss_series,
        "history_mb": {"warm": result.warm.history_mb, "end": result.end.history_mb},
        "threads": {
            name: {"python": snap.python_threads, "native": snap.native_threads}
            for name, snap in (
                ("start", result.baseline),
                ("warm", result.warm),
                ("end", result.end),
                ("shut_down", shutdown.after),
            )
        },
        "shutdown_seconds": shutdown.seconds,
        "lane_threads_left": shutdown.lanes_left,
        "python_threads_left": shutdown.python_left,
        "native_threads_kept": shutdown.kept,
        "stuck": stuck,
        "goals": goals,
    }


# -- packs -------------------------------------------------------------------------------------
def build_in_child(code: str) -> Path:
    """Run a tests/ builder in a child process and return the folder it prints: the builders import torch,
    which the app never does, so it must not sit in the memory measured here."""
    preamble = f"import sys; sys.path[:0] = [{str(REPO)!r}, {str(REPO / 'desktop')!r}]\n"
    done = subprocess.run([sys.executable, "-c", preamble + code], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"soak: building a test pack failed:\n{done.stderr[-2000:]}")
    return Path(done.stdout.strip().splitlines()[-1])


def prepare_inputs(lyrics: str, size: int, rng: np.random.Generator) -> SoakInputs:
    sketch = build_in_child(
        "from tests.diffusion_builders import tiny_onnx_folder; print(tiny_onnx_folder('optimum')[0])"
    )
    if lyrics == "tiny":
        folder = build_in_child(
            "from atelier.core.settings import cache_dir; from tests.llm_builders import build_tiny_llama; "
            "print(build_tiny_llama(cache_dir()))"
        )
        # The engine reads ATELIER_MODELS when it is made (after this), so the tiny pack is found.
        os.environ["ATELIER_MODELS"] = os.pathsep.join(
            filter(None, [os.environ.get("ATELIER_MODELS", ""), str(folder)])
        )
        pack = "tiny-llama"
    else:
        pack = SMOLLM2_PACK_ID  # converted on first use (cached) by the lyric task itself
    return SoakInputs(synthetic_picture(size, rng), synthetic_drawing(size), sketch, pack)


def plan_requests(inputs: SoakInputs, jobs: int, rng: np.random.Generator) -> list[tuple[str, Request]]:
    kinds = inputs.kinds()
    return [(kind, make_request(kind, rng, inputs)) for kind in (str(k) for k in rng.choice(kinds, size=jobs))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--lyrics", choices=("tiny", "smollm2"), default="tiny", help="the test Llama or SmolLM2")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=512, help="side of the pictures, pixels")
    parser.add_argument("--in-flight", type=int, default=8)
    parser.add_argument("--history", type=int, default=50, help="JobQueue.max_jobs (results kept by design)")
    parser.add_argument("--warmup", type=int, default=50, help="jobs ended before the warm-up snapshot")
    parser.add_argument("--direct", type=int, default=10, help="requests per kind run directly (the peer)")
    parser.add_argument("--json", default=str(Path(tempfile.gettempdir()) / "atelier-soak.json"))
    args = parser.parse_args()
    # Converted packs are shared with the test suite's cache (conversions are expensive); nothing the user
    # made is read or written.
    os.environ.setdefault("ATELIER_CACHE_DIR", str(Path.home() / ".cache" / "atelier-tests"))
    scratch = Path(tempfile.mkdtemp(prefix="atelier-soak-"))
    os.environ.setdefault("ATELIER_CONFIG_DIR", str(scratch / "config"))
    os.environ.setdefault("ATELIER_DATA_DIR", str(scratch / "data"))
    rng = np.random.default_rng(args.seed)
    inputs = prepare_inputs(args.lyrics, args.size, rng)
    requests = plan_requests(inputs, args.jobs, rng)
    app = QCoreApplication.instance() or QCoreApplication(sys.argv)
    python_before, native_before = set(threading.enumerate()), native_threads()
    config = SoakConfig(
        jobs=args.jobs, seed=args.seed, in_flight=args.in_flight, warmup=args.warmup, history=args.history
    )
    runner = JobRunner(JobQueue(max_jobs=args.history), Settings())
    lanes = lane_thread_ids(native_before)
    result = run_soak(runner, requests, config)
    direct = run_direct(runner, requests, args.direct)
    shutdown = shut_down(runner, lanes, python_before, native_before)
    print(f"soak: {args.jobs} jobs, lyrics {inputs.lyric_pack}, pictures {args.size}x{args.size}")
    print(f"CPU: {cpu_name()}, {os.cpu_count()} cores")
    report = print_report(result, per_kind(result, direct), shutdown)
    report["lyric_pack"] = inputs.lyric_pack
    report["cpu"] = cpu_name()
    Path(args.json).write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    print(f"JSON: {args.json}")
    del app
    return 0 if report["goals"]["no_stuck_jobs"] and report["goals"]["no_leaked_threads"] else 1


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


if __name__ == "__main__":
    sys.exit(main())
