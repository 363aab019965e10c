"""The render server under test: one local Ray instance and the Serve app with tiny packs, per test session."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# Only the loopback address: Ray's processes and the server talk over it, nothing else is reachable.
LOCALHOST = ["127.0.0.1", "::1", "localhost"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "server: starts a local Ray instance and the render server once per session (about 40-60 s)"
    )


@dataclass(frozen=True)
class ServerUnderTest:
    url: str
    token: str
    token_file: Path
    fingerprint: str
    sketch_folder: Path  # a tiny diffusion pack (ONNX folder) the server and this process both read
    running: object  # atelier.server.launch.RunningServer


def descendants(pid: int) -> set[int]:
    """Every process below `pid` (Ray's GCS, raylet and workers for a Ray this process started), from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pids: set[int]) -> set[int]:
    """The ones still running (a zombie waiting for its parent counts as ended)."""
    running = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            running.add(pid)
    return running


def _tiny_sketch_pack(found: list[Path]) -> None:
    from tests.diffusion_builders import tiny_onnx_folder

    found.append(tiny_onnx_folder("optimum")[0])


@pytest.fixture(scope="session")
def render_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerUnderTest]:
    pytest.importorskip("ray.serve")
    from atelier.core.settings import Settings
    from atelier.server.launch import LaunchOptions, port_is_free, start_server

    pytest.importorskip("torch")  # the tiny packs are built (once, cached) with the build extra
    pytest.importorskip("diffusers")
    from atelier.core.settings import cache_dir
    from tests.llm_builders import build_tiny_llama

    llama = build_tiny_llama(cache_dir())
    # The diffusion pack is only read by the jobs, not at start-up: it is made (mostly waiting on imports)
    # while Ray starts, which is mostly waiting too.
    sketch_found: list[Path] = []
    sketch_builder = threading.Thread(target=_tiny_sketch_pack, args=(sketch_found,), name="tiny-sd-builder")
    sketch_builder.start()
    # The replicas read ATELIER_MODELS when their Engine is made; the server forwards it to every Ray worker.
    previous = os.environ.get("ATELIER_MODELS")
    os.environ["ATELIER_MODELS"] = str(llama)
    folder = tmp_path_factory.mktemp("server")
    port = next(p for p in range(18765, 18865) if port_is_free("127.0.0.1", p))
    options = LaunchOptions(
        host="127.0.0.1",
        port=port,
        token_file=str(folder / "token"),
        replicas=1,
        cpus_per_replica=1.0,
        queue_per_replica=1,  # one job running and one waiting; a third gets 503
        num_cpus=2,
        object_store_mb=100,
    )
    try:
        running = start_server(options, Settings())
    finally:
        sketch_builder.join()
    assert sketch_found, "building the tiny diffusion pack failed (see the log above)"
    sketch = sketch_found[0]
    try:
        yield ServerUnderTest(
            url=f"https://127.0.0.1:{port}",
            token=running.token,
            token_file=running.token_file,
            fingerprint=running.tls.fingerprint,
            sketch_folder=sketch,
            running=running,
        )
    finally:
        started = descendants(os.getpid())
        seconds = running.stop()
        if previous is None:
            os.environ.pop("ATELIER_MODELS", None)
        else:
            os.environ["ATELIER_MODELS"] = previous
        assert seconds < 10.0, f"the server took {seconds:.1f}s to stop"
        assert port_is_free("127.0.0.1", port), "the server's port is still taken after it stopped"
        deadline = time.monotonic() + 5
        while alive(started) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert started and not alive(started), f"processes left after the server stopped: {alive(started)}"
