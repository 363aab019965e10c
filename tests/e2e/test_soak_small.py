"""A small soak through the real JobRunner (bench/soak.py's own driver): about 30 mixed jobs of every kind,
some cancelled while they wait and some while they run; every job ends, none fails, no thread is left.
And a job that writes a file, stopped at any moment: `atelier lineart --out` interrupted (Ctrl-C), terminated
or killed at random times and just as its output appears leaves that file absent or whole, never half."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from atelier.core.jobs import JobQueue, JobState
from atelier.core.settings import Settings, cache_dir
from atelier.ui.worker import JobRunner

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def soak() -> ModuleType:
    spec = importlib.util.spec_from_file_location("atelier_bench_soak", REPO / "bench" / "soak.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tiny_packs() -> tuple[Path, Path]:
    """(tiny diffusion folder, tiny Llama pack folder): both built by the tests' builders, cached."""
    pytest.importorskip("torch")
    pytest.importorskip("diffusers")
    from tests.diffusion_builders import tiny_onnx_folder
    from tests.llm_builders import build_tiny_llama

    return tiny_onnx_folder("optimum")[0], build_tiny_llama(cache_dir())


@pytest.mark.slow
def test_thirty_mixed_jobs_with_random_cancels_all_end_and_leave_no_thread(
    qtbot, soak: ModuleType, tiny_packs: tuple[Path, Path], isolated_dirs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sketch_folder, llama_folder = tiny_packs
    monkeypatch.setenv("ATELIER_MODELS", str(llama_folder))  # read when the engine is made, below
    rng = np.random.default_rng(5)
    inputs = soak.SoakInputs(soak.synthetic_picture(128, rng), soak.synthetic_drawing(128), sketch_folder, "tiny-llama")
    assert set(inputs.kinds()) == set(soak.KINDS)
    requests = soak.plan_requests(inputs, 30, rng)
    python_before, native_before = set(threading.enumerate()), soak.native_threads()
    runner = JobRunner(JobQueue(), Settings(threads=1))
    lanes = soak.lane_thread_ids(native_before)
    config = soak.SoakConfig(jobs=30, seed=5, in_flight=6, cancel_queued=0.25, cancel_running=0.25, warmup=10)
    config.stuck_after_s = 30
    result = soak.run_soak(runner, requests, config)
    shutdown = soak.shut_down(runner, lanes, python_before, native_before)

    stuck = [f"#{r.id} {r.kind} {r.state.value}" for r in result.stuck]
    assert not stuck, f"jobs not ended {config.stuck_after_s} s after the last submit: {stuck}"
    failed = [f"{r.kind}: {r.error}" for r in result.records if r.state is JobState.FAILED]
    assert not failed, failed
    assert {r.kind for r in result.records} == set(soak.KINDS)
    for record in result.records:  # each end is whole: a result exactly when finished
        assert record.had_result == (record.state is JobState.FINISHED), record
    asked = [r.cancelled_in for r in result.records if r.cancelled_in]
    assert "queued" in asked and "running" in asked, asked  # both kinds of cancel really happened
    assert sum(r.state is JobState.CANCELLED for r in result.records) >= 3
    # A cancel asked while the job waited ends it at once, and the lane never runs it to the end.
    for record in result.records:
        if record.cancelled_in == "queued":
            assert record.state is JobState.CANCELLED and not record.had_result
    assert shutdown.lanes_left == [] and shutdown.python_left == []


def run_lineart(picture: Path, out: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "desktop")}
    command = [sys.executable, "-m", "atelier", "lineart", "--image", str(picture), "--out", str(out)]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def whole_or_absent(out: Path, size: tuple[int, int]) -> str:
    """'' when `out` is absent or a complete PNG of `size`; else what is wrong with it."""
    from PIL import Image

    if not out.exists():
        return ""
    try:
        with Image.open(out) as image:
            image.load()  # decodes every row: a truncated file raises here
            return "" if image.size == size else f"size {image.size}, not {size}"
    except (OSError, SyntaxError) as exc:
        return f"{out.stat().st_size} bytes, unreadable: {exc}"


@pytest.mark.slow
def test_lineart_out_stopped_at_any_moment_is_absent_or_whole(soak: ModuleType, tmp_path: Path, isolated_dirs) -> None:
    from PIL import Image

    size = (2400, 1800)  # big enough that writing the PNG takes a while (the moment that matters)
    picture = tmp_path / "picture.png"
    Image.fromarray(soak.synthetic_picture(2400, np.random.default_rng(1))[: size[1]]).save(picture)
    began = time.monotonic()
    reference = run_lineart(picture, tmp_path / "reference.png")
    assert reference.wait(120) == 0, reference.stderr.read() if reference.stderr else ""
    full_run = time.monotonic() - began
    rng = np.random.default_rng(7)
    problems: list[str] = []
    tries = 0
    stops = (signal.SIGKILL, signal.SIGINT, signal.SIGTERM)  # a crash, Ctrl-C (the CLI's cancel), a shutdown
    for index, (how, when) in enumerate([(sig, "appears") for sig in stops] + [(sig, "random") for sig in stops]):
        out = tmp_path / f"lines-{index}.png"
        process = run_lineart(picture, out)
        if when == "appears":  # the moment the file shows up is when a direct write is half done
            deadline = time.monotonic() + 120
            while not out.exists() and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.0005)
        else:
            time.sleep(float(rng.uniform(0.3, 1.0)) * full_run)
        process.send_signal(how)
        process.wait(60)
        tries += 1
        problem = whole_or_absent(out, size)
        if problem:
            problems.append(f"{signal.Signals(how).name} when the output {when}: {out.name} {problem}")
    assert tries == 6 and not problems, problems


def test_the_history_memory_budget_counts_image_results(qtbot, soak: ModuleType, isolated_dirs: Path) -> None:
    """The soak's memory stays flat only because the history is bounded; its byte budget must see the
    pictures a result holds, or a long session of big colorings grows without limit."""
    from atelier.core.requests.colorize import ColorizeRequest

    drawing = soak.synthetic_drawing(512)
    budget = 2_500_000  # three 512x512 RGB pictures (786 kB each) fit, a fourth does not
    runner = JobRunner(JobQueue(max_bytes=budget), Settings(threads=1))
    try:
        jobs = [
            runner.submit(ColorizeRequest(lines=drawing, palette=("#aa3311", "#33aa11", "#1133aa"))) for _ in range(5)
        ]
        qtbot.waitUntil(lambda: all(job.state.done for job in jobs), timeout=60_000)
        assert all(job.state is JobState.FINISHED for job in jobs), [job.error for job in jobs]
        held = sum(image.nbytes for job in runner.queue if job.result is not None for image in job.result.images)
        assert held <= budget, f"the history holds {held} bytes of pictures, over its {budget}-byte budget"
    finally:
        runner.shutdown()
