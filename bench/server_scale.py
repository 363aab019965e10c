"""Render server scaling: N concurrent clients x M jobs against 1 and 2 replicas, and the same jobs run here.

Each client sends its jobs one after another over HTTPS (RenderServerClient, as the app and the CLI do);
the jobs cycle through a palette from text, a short lyric (the tiny test Llama, or SmolLM2 with
--lyrics smollm2) and a small sketch on the tiny diffusion pack (128x128, 8 steps by default). For each
replica count it starts the real server (a local Ray instance), runs the clients, and stops it. The peer
is the same jobs run here one after another with Engine.run_to_end (what one desktop does without a
server). Prints jobs/s, p50/p95 latency (submit to result, queueing included), 503 answers, and the ratio
of each server's throughput to that peer; results are checked equal to the peer's (same seeds). The
machine may be shared: the load average is printed before and after each run.

Run: .venv/bin/python bench/server_scale.py [--clients 4] [--jobs 6] [--replicas 1 2] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "desktop"))
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

import numpy as np  # noqa: E402

from atelier.core.requests import Request, Result  # noqa: E402
from atelier.core.requests.lyrics import LyricRequest, LyricResult  # noqa: E402
from atelier.core.requests.palette import PaletteFromTextRequest, PaletteResult  # noqa: E402
from atelier.core.requests.sketch import SketchRequest, SketchResult  # noqa: E402
from atelier.core.settings import Settings  # noqa: E402

SMOLLM2_PACK_ID = "smollm2-135m-instruct"
MOODS = ("stormy sea at dusk", "autumn forest", "neon city night", "quiet snowy morning", "desert heat")
THEMES = ("rain on the window", "leaving home", "the last train", "an old photograph")


def build_in_child(code: str) -> Path:
    """A tests/ builder in a child process (they import torch, which neither side of the bench needs)."""
    preamble = f"import sys; sys.path[:0] = [{str(REPO)!r}, {str(REPO / 'desktop')!r}]\n"
    done = subprocess.run([sys.executable, "-c", preamble + code], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"server_scale: building a test pack failed:\n{done.stderr[-2000:]}")
    return Path(done.stdout.strip().splitlines()[-1])


def plan(
    clients: int, jobs: int, sketch_folder: Path, lyric_pack: str, size: int, steps: int, tokens: int
) -> list[list[Request]]:
    """Each client's jobs: the three kinds in turn, each job its own seed."""
    planned: list[list[Request]] = []
    for client in range(clients):
        mine: list[Request] = []
        for index in range(jobs):
            seed = client * 1000 + index
            kind = (client + index) % 3
            if kind == 0:
                mine.append(PaletteFromTextRequest(text=MOODS[seed % len(MOODS)], count=6, seed=seed))
            elif kind == 1:
                mine.append(
                    LyricRequest(
                        prompt=THEMES[seed % len(THEMES)],
                        mode="poem",
                        lines=3,
                        max_tokens=tokens,
                        seed=seed,
                        pack_id=lyric_pack,
                    )
                )
            else:
                mine.append(
                    SketchRequest(
                        prompt=MOODS[seed % len(MOODS)],
                        pack_id=str(sketch_folder),
                        width=size,
                        height=size,
                        steps=steps,
                        seed=seed,
                    )
                )
        planned.append(mine)
    return planned


def same(a: Result, b: Result) -> bool:
    if isinstance(a, PaletteResult) and isinstance(b, PaletteResult):
        return a.colors == b.colors
    if isinstance(a, LyricResult) and isinstance(b, LyricResult):
        return a.text == b.text
    if isinstance(a, SketchResult) and isinstance(b, SketchResult):
        return all(np.array_equal(x, y) for x, y in zip(a.images, b.images, strict=True))
    return False


def difference(a: Result, b: Result) -> str:
    """How a result differs from the one made here, for the report."""
    if isinstance(a, SketchResult) and isinstance(b, SketchResult):
        worst = max(int(np.abs(x.astype(np.int16) - y).max()) for x, y in zip(a.images, b.images, strict=True))
        return f"(sketch) differs by up to {worst}/255 a channel, seed {a.seeds}"
    return f"({a.kind}) differs"


@dataclass
class Run:
    name: str
    seconds: float
    latencies: list[float]
    busy_answers: int = 0
    results: dict[tuple[int, int], Result] = field(default_factory=dict)
    load_before: float = 0.0
    load_after: float = 0.0

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies, q))


def run_local(planned: list[list[Request]], settings: Settings) -> Run:
    from atelier.engine.runner import Engine

    engine = Engine(settings)
    for mine in planned:  # warm-up: load every model once, as a running server has
        engine.run_to_end(mine[0])
    load = os.getloadavg()[0]
    results: dict[tuple[int, int], Result] = {}
    latencies = []
    began = time.perf_counter()
    for client, mine in enumerate(planned):
        for index, request in enumerate(mine):
            start = time.perf_counter()
            results[client, index] = engine.run_to_end(request)
            latencies.append(time.perf_counter() - start)
    return Run("here, one after another", time.perf_counter() - began, latencies, 0, results, load, os.getloadavg()[0])


def run_server(planned: list[list[Request]], settings: Settings, replicas: int, scratch: Path) -> Run:
    from atelier.remote.client import RenderServerClient, ServerBusyError
    from atelier.server.launch import LaunchOptions, port_is_free, start_server

    port = next(p for p in range(28765, 28865) if port_is_free("127.0.0.1", p))
    clients = len(planned)
    options = LaunchOptions(
        port=port,
        token_file=str(scratch / "token"),
        replicas=replicas,
        cpus_per_replica=1.0,
        queue_per_replica=clients,
        num_cpus=max(2, replicas),
    )
    print(f"server_scale: starting the server with {replicas} replica(s)…", file=sys.stderr)
    server = start_server(options, settings)
    try:
        url = f"https://127.0.0.1:{port}"
        warm = RenderServerClient(url, server.token, server.tls.fingerprint)
        for _ in range(replicas):  # each replica loads its models once before the clock starts
            for mine in planned:
                warm.run_to_end(mine[0])
        results: dict[tuple[int, int], Result] = {}
        latencies: list[float] = []
        busy = [0]
        lock = threading.Lock()

        def client(number: int) -> None:
            remote = RenderServerClient(url, server.token, server.tls.fingerprint)
            for index, request in enumerate(planned[number]):
                start = time.perf_counter()
                while True:
                    try:
                        result = remote.run_to_end(request)
                        break
                    except ServerBusyError as exc:
                        with lock:
                            busy[0] += 1
                        time.sleep(exc.retry_after_s)
                with lock:
                    latencies.append(time.perf_counter() - start)
                    results[number, index] = result

        load = os.getloadavg()[0]
        threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - began
        name = f"server, {replicas} replica{'s' if replicas > 1 else ''}"
        return Run(name, seconds, latencies, busy[0], results, load, os.getloadavg()[0])
    finally:
        print(f"server_scale: stopped in {server.stop():.1f}s", file=sys.stderr)


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=6, help="jobs per client")
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime threads per run, here and per replica")
    parser.add_argument("--lyrics", choices=("tiny", "smollm2"), default="tiny")
    parser.add_argument("--tokens", type=int, default=96, help="lyric max tokens")
    parser.add_argument("--size", type=int, default=128, help="sketch width and height (tiny pack)")
    parser.add_argument("--steps", type=int, default=8, help="sketch steps")
    args = parser.parse_args()
    os.environ.setdefault("ATELIER_CACHE_DIR", str(Path.home() / ".cache" / "atelier-tests"))
    scratch = Path(tempfile.mkdtemp(prefix="atelier-server-scale-"))
    os.environ.setdefault("ATELIER_CONFIG_DIR", str(scratch / "config"))
    os.environ.setdefault("ATELIER_DATA_DIR", str(scratch / "data"))
    sketch = build_in_child("from tests.diffusion_builders import tiny_onnx_folder; print(tiny_onnx_folder()[0])")
    lyric_pack = SMOLLM2_PACK_ID
    if args.lyrics == "tiny":
        llama = build_in_child(
            "from atelier.core.settings import cache_dir; from tests.llm_builders import build_tiny_llama; "
            "print(build_tiny_llama(cache_dir()))"
        )
        os.environ["ATELIER_MODELS"] = str(llama)  # read by the Engine here and forwarded to every replica
        lyric_pack = "tiny-llama"
    settings = Settings(threads=args.threads)
    planned = plan(args.clients, args.jobs, sketch, lyric_pack, args.size, args.steps, args.tokens)
    local = run_local(planned, settings)
    runs = [run_server(planned, settings, replicas, scratch) for replicas in args.replicas]
    total = args.clients * args.jobs
    print(
        f"\nserver_scale: {args.clients} clients x {args.jobs} jobs = {total} (palette from text; lyric on "
        f"{lyric_pack}, {args.tokens} tokens; sketch {args.size}x{args.size}, {args.steps} steps)"
    )
    print(f"CPU: {cpu_name()}, {os.cpu_count()} cores; onnxruntime threads per run: {args.threads}")
    header = f"{'run':<26} {'jobs/s':>7} {'p50 s':>7} {'p95 s':>7} {'503s':>5} {'vs here':>8} {'same':>5} {'load':>11}"
    print(header)
    print("-" * len(header))
    differing: list[str] = []
    for run in [local, *runs]:
        ratio = run.throughput / local.throughput
        equal = sum(same(run.results[key], local.results[key]) for key in local.results)
        for key in sorted(local.results):
            if not same(run.results[key], local.results[key]):
                differing.append(
                    f"{run.name}: client {key[0]} job {key[1]} {difference(run.results[key], local.results[key])}"
                )
        print(
            f"{run.name:<26} {run.throughput:>7.2f} {run.percentile(50):>7.2f} {run.percentile(95):>7.2f} "
            f"{run.busy_answers:>5} {ratio:>7.2f}x {equal:>2}/{total:<2} {run.load_before:>5.1f}>{run.load_after:<5.1f}"
        )
    print(f"(median latency here: {statistics.median(local.latencies):.2f}s a job; 'load': 1-minute load average)")
    for line in differing:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
