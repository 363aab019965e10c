"""The app with a render server in Settings: the real JobRunner and window against the real server (Ray).

Heavy jobs run there with progress, streamed tokens and cancel as locally; light ones stay here; a refused
token or a server that is not there makes jobs run here, and the status bar says why.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from atelier.core.jobs import Job, JobQueue, JobState
from atelier.core.requests.lyrics import LyricRequest
from atelier.core.requests.palette import PaletteFromTextRequest
from atelier.core.requests.sketch import SketchRequest
from atelier.core.settings import Settings
from atelier.remote.client import RemoteDeviceInfo
from atelier.server.launch import port_is_free
from atelier.ui.worker import JobRunner
from tests.server.conftest import LOCALHOST, ServerUnderTest

pytestmark = [pytest.mark.server, pytest.mark.enable_socket, pytest.mark.allow_hosts(LOCALHOST)]


def remote_settings(server: ServerUnderTest, **changes: Any) -> Settings:
    values: dict[str, Any] = {
        "threads": 1,
        "render_server": server.url,
        "render_server_token_file": str(server.token_file),
        "render_server_fingerprint": server.fingerprint,
    }
    return Settings(**{**values, **changes})


def lyric() -> LyricRequest:
    return LyricRequest(prompt="paper boats", mode="poem", lines=3, max_tokens=40, seed=4, pack_id="tiny-llama")


@pytest.fixture
def runner(qtbot, render_server: ServerUnderTest) -> Iterator[tuple[JobRunner, list[object]]]:
    runner = JobRunner(JobQueue(), remote_settings(render_server))
    statuses: list[object] = []
    runner.server_status.connect(statuses.append)
    yield runner, statuses
    runner.shutdown()


def wait_done(qtbot, *jobs: Job, timeout_ms: int = 60000) -> None:
    qtbot.waitUntil(lambda: all(job.state.done for job in jobs), timeout=timeout_ms)


def test_heavy_jobs_run_on_the_server_and_light_ones_here(qtbot, runner, render_server: ServerUnderTest) -> None:
    job_runner, statuses = runner
    qtbot.waitUntil(lambda: bool(statuses), timeout=10000)
    assert isinstance(statuses[0], RemoteDeviceInfo) and statuses[0].host, statuses
    previews: list[object] = []
    job_runner.queue.job_changed.connect(lambda job: previews.append(job.progress.preview) if job.progress else None)
    heavy = job_runner.submit(lyric())
    light = job_runner.submit(PaletteFromTextRequest(text="stormy sea", count=3, seed=1))
    wait_done(qtbot, heavy, light)
    assert heavy.state is JobState.FINISHED and light.state is JobState.FINISHED, (heavy.error, light.error)
    assert heavy.result is not None and isinstance(heavy.result.device, RemoteDeviceInfo)
    assert heavy.result.device.label == f"CPU on {heavy.result.device.host}"
    assert any(isinstance(p, str) for p in previews), "the lyric's tokens streamed into the job's progress"
    assert light.result is not None and not isinstance(light.result.device, RemoteDeviceInfo)


def test_cancel_from_the_app_stops_the_server_job_within_a_second(qtbot, runner, render_server) -> None:
    job_runner, _ = runner
    folder = str(render_server.sketch_folder)
    long = job_runner.submit(SketchRequest(prompt="a lighthouse", pack_id=folder, width=256, height=256, steps=150))
    qtbot.waitUntil(lambda: long.progress is not None and long.progress.step >= 1, timeout=90000)
    began = time.monotonic()
    job_runner.cancel(long.id)
    wait_done(qtbot, long, timeout_ms=5000)
    assert long.state is JobState.CANCELLED
    assert time.monotonic() - began < 1.0
    # The replica is free again: the next job runs there at once.
    began = time.monotonic()
    short = job_runner.submit(SketchRequest(prompt="a boat", pack_id=folder, width=64, height=64, steps=2))
    wait_done(qtbot, short)
    assert short.state is JobState.FINISHED and isinstance(short.result.device, RemoteDeviceInfo)
    assert time.monotonic() - began < 15


@pytest.mark.parametrize("problem", ["refused", "unreachable"])
def test_without_the_server_jobs_run_here_and_the_status_says_why(
    qtbot, render_server: ServerUnderTest, tmp_path: Path, problem: str
) -> None:
    if problem == "refused":
        token = tmp_path / "token"
        token.write_text("a-token-the-server-never-made\n")
        settings = remote_settings(render_server, render_server_token_file=str(token))
        expected = "refused the access token"
    else:
        port = next(p for p in range(19765, 19865) if port_is_free("127.0.0.1", p))
        settings = remote_settings(render_server, render_server=f"https://127.0.0.1:{port}")
        expected = "Cannot reach"
    job_runner = JobRunner(JobQueue(), settings)
    statuses: list[object] = []
    job_runner.server_status.connect(statuses.append)
    try:
        qtbot.waitUntil(lambda: bool(statuses), timeout=10000)
        assert isinstance(statuses[0], str) and expected in statuses[0], statuses
        job = job_runner.submit(lyric())
        wait_done(qtbot, job)
        assert job.state is JobState.FINISHED and job.result is not None, job.error
        assert not isinstance(job.result.device, RemoteDeviceInfo)
        notices = [s for s in statuses[1:] if isinstance(s, str)]
        assert notices and expected in notices[0] and "runs on this computer" in notices[0], statuses
    finally:
        job_runner.shutdown()


def test_the_window_shows_the_servers_device(qtbot, render_server: ServerUnderTest, isolated_dirs: Path) -> None:
    from atelier.ui.main_window import MainWindow

    window = MainWindow(remote_settings(render_server))
    qtbot.addWidget(window)
    window.show()
    try:
        qtbot.waitUntil(window.server_label.isVisible, timeout=10000)
        host = window.runner.heavy.remote.server_host if window.runner.heavy.remote else ""
        assert host and window.server_label.text() == f"Render server: {host}"
        assert "CPU on" in window.server_label.toolTip()
        assert f"on {host}" in window.device_label.text()
        job = window.runner.submit(lyric())
        wait_done(qtbot, job)
        assert job.state is JobState.FINISHED, job.error
        qtbot.waitUntil(lambda: window.jobs.tree.topLevelItemCount() > 0, timeout=5000)
        rows = [window.jobs.tree.topLevelItem(i) for i in range(window.jobs.tree.topLevelItemCount())]
        assert any(row is not None and row.text(3) == f"CPU on {host}" for row in rows)
        assert window.device_label.text() == f"Device: CPU on {host}"
    finally:
        window.close()
    assert all(thread.isFinished() for thread in window.runner.threads())
