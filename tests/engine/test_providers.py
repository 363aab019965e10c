"""Provider choice and fallback. GPUs cannot run here, so GPU providers are simulated by sessions that
fail the way onnxruntime fails (its own exception types), wrapped around real CPU sessions."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from atelier.core.cancel import CancelToken
from atelier.core.errors import CancelledError, DeviceError
from atelier.engine.offline_runtime import ort
from atelier.engine.packs import read_manifest
from atelier.engine.providers import CPU, DegradedProviders, choose_providers, open_session
from atelier.engine.sessions import PoolConfig, SessionPool
from tests.onnx_builders import scale_model, write_pack

CUDA = "CUDAExecutionProvider"
DML = "DmlExecutionProvider"
OrtFail = ort.capi.onnxruntime_pybind11_state.Fail


class SimulatedGpuSession:
    """A real CPU session that claims a GPU provider and, like a broken driver, fails mid-run."""

    def __init__(self, real: ort.InferenceSession, provider: str, fail_runs: bool) -> None:
        self._real = real
        self._provider = provider
        self._fail = fail_runs

    def get_providers(self) -> list[str]:
        return [self._provider, CPU]

    def get_inputs(self) -> Any:
        return self._real.get_inputs()

    def run(self, outputs: Any, feeds: Any, options: Any = None) -> Any:
        if self._fail:
            raise OrtFail(
                "[ONNXRuntimeError] : 1 : FAIL : CUDA error cudaErrorLaunchFailure: unspecified launch failure"
            )
        return self._real.run(outputs, feeds, options)


def make_factory(gpu_behaviour: dict[str, str]):
    """gpu_behaviour: provider -> 'refuse' (creation fails), 'ignore' (silently CPU), 'fail' (fails mid-run), 'ok'."""

    def factory(path: str, options: ort.SessionOptions, providers: list[Any]) -> Any:
        name = providers[0][0]
        real = ort.InferenceSession(path, sess_options=options, providers=[CPU])
        behaviour = gpu_behaviour.get(name)
        if behaviour == "refuse":
            raise OrtFail(f"{name} could not be created: libcudart.so.12: cannot open shared object file")
        if behaviour == "ignore" or behaviour is None:
            return real
        return SimulatedGpuSession(real, name, fail_runs=behaviour == "fail")

    return factory


@pytest.fixture
def pack(tmp_path: Path):
    return read_manifest(write_pack(tmp_path / "tiny", scale_model(2.0)))


def test_choose_orders_by_speed_and_respects_cpu_preference() -> None:
    available = [CPU, "OpenVINOExecutionProvider", CUDA, "AzureExecutionProvider"]
    candidates, skipped = choose_providers("auto", available)
    assert candidates == [CUDA, "OpenVINOExecutionProvider", CPU] and skipped == []
    assert choose_providers("cpu", available)[0] == [CPU]


def test_preferring_a_missing_provider_says_why() -> None:
    candidates, skipped = choose_providers(CUDA, [CPU])
    assert candidates == [CPU]
    assert "not in this onnxruntime build" in skipped[0]


def test_real_onnxruntime_with_missing_provider_reports_cpu(pack) -> None:
    pool = SessionPool(config=lambda: PoolConfig(device=CUDA, threads=1))
    (out,), device = pool.run(pack, "model", {"x": np.ones((2, 3), np.float32)}, CancelToken())
    assert np.allclose(out, 2.0)
    assert device.provider == CPU and device.fell_back
    assert "GPU (CUDA)" in device.describe()


def test_creation_failure_tries_next_provider_and_records_reason(pack) -> None:
    factory = make_factory({CUDA: "refuse", DML: "ok"})
    opened = open_session(str(pack.component_path("model")), [CUDA, DML, CPU], 1, factory=factory)
    assert opened.device.provider == DML
    assert "libcudart" in opened.device.fallbacks[0]


def test_silently_ignored_gpu_is_reported_not_hidden(pack) -> None:
    opened = open_session(str(pack.component_path("model")), [CUDA, CPU], 1, factory=make_factory({CUDA: "ignore"}))
    assert opened.device.provider == CPU
    assert "did not enable it" in opened.device.fallbacks[0]


def test_run_failure_on_gpu_retries_on_cpu_and_degrades(pack) -> None:
    degraded = DegradedProviders()
    pool = SessionPool(
        config=lambda: PoolConfig(device="auto", threads=1),
        available=lambda: [CUDA, CPU],
        factory=make_factory({CUDA: "fail"}),
        degraded=degraded,
    )
    (out,), device = pool.run(pack, "model", {"x": np.full((1, 4), 3.0, np.float32)}, CancelToken())
    assert np.allclose(out, 6.0)
    assert device.provider == CPU
    assert any("failed during the run" in f and "cudaErrorLaunchFailure" in f for f in device.fallbacks)
    assert CUDA in degraded.all()
    # The next session is not even tried on CUDA, and says why.
    pool.unload_all()
    (_,), again = pool.run(pack, "model", {"x": np.ones((1, 4), np.float32)}, CancelToken())
    assert again.provider == CPU
    assert any("disabled after an earlier failure" in f for f in again.fallbacks)


def test_no_provider_at_all_is_a_clear_error(pack) -> None:
    def refuse_all(path: str, options: ort.SessionOptions, providers: list[Any]) -> Any:
        raise OrtFail("no memory")

    with pytest.raises(DeviceError, match="No execution provider could load"):
        open_session(str(pack.component_path("model")), [CPU], 1, factory=refuse_all)


def test_pool_unloads_least_recently_used_beyond_budget(tmp_path: Path) -> None:
    packs = [read_manifest(write_pack(tmp_path / f"p{i}", scale_model(float(i)), pack_id=f"p{i}")) for i in range(3)]
    size = packs[0].component_path("model").stat().st_size + (packs[0].folder / "pack.json").stat().st_size
    pool = SessionPool(config=lambda: PoolConfig(threads=1, memory_budget_bytes=int(size * 2.5)))
    for pack in packs:
        pool.session(pack, "model")
    assert [s.key[0] for s in pool.loaded()] == ["p1", "p2"]
    pool.unload_pack("p1")
    assert [s.key[0] for s in pool.loaded()] == ["p2"]


def test_cancel_stops_a_run_in_flight(tmp_path: Path) -> None:
    pack = read_manifest(write_pack(tmp_path / "slow", scale_model(1.0, slow_repeats=600), pack_id="slow"))
    pool = SessionPool(config=lambda: PoolConfig(threads=1))
    pool.session(pack, "model")
    x = np.ones((512, 512), np.float32)
    started = time.perf_counter()
    pool.run(pack, "model", {"x": x}, CancelToken())
    full_run = time.perf_counter() - started
    token = CancelToken()
    timer = threading.Timer(full_run * 0.1, token.cancel, args=("cancelled by the test",))
    timer.start()
    started = time.perf_counter()
    with pytest.raises(CancelledError):
        pool.run(pack, "model", {"x": x}, token)
    assert time.perf_counter() - started < full_run * 0.8
    timer.join()


def test_a_packs_thread_cap_is_bounded_by_the_machine(tmp_path: Path) -> None:
    """A manifest's max_threads (at most 64) never starts more threads than the machine has cores."""
    import json
    import os

    from atelier.engine.packs import write_manifest

    folder = write_pack(tmp_path / "capped", scale_model(), pack_id="capped")
    meta = {k: v for k, v in json.loads((folder / "pack.json").read_text()).items() if k != "files"}
    cores = os.cpu_count() or 1
    for cap, settings_threads, expected in ((64, 0, min(64, cores)), (1, 0, 1), (64, 1, 1), (2, 8, 2)):
        write_manifest(folder, {**meta, "max_threads": cap}, ["model.onnx"])
        pool = SessionPool(config=lambda t=settings_threads: PoolConfig(threads=t))
        session = pool.session(read_manifest(folder), "model").session
        assert session.get_session_options().intra_op_num_threads == expected, (cap, settings_threads)


def test_the_reason_of_a_cpp_error_survives_its_source_location() -> None:
    from atelier.engine.providers import first_line

    error = RuntimeError(
        "/src/onnxruntime/core/providers/cuda/cuda_call.cc:129 std::conditional_t<THRW, void, onnxruntime::common::"
        "Status> onnxruntime::CudaCall(ERRTYPE, const char*, const char*, SUCCTYPE, const char*, const char*, int) "
        "CUDA failure 100: no CUDA-capable device is detected ; GPU=0 ; hostname=x\nsecond line"
    )
    assert first_line(error) == "CUDA failure 100: no CUDA-capable device is detected ; GPU=0 ; hostname=x"
    assert first_line(OrtFail("[ONNXRuntimeError] : 1 : FAIL : bad")) == "[ONNXRuntimeError] : 1 : FAIL : bad"
    assert first_line(ValueError()) == "ValueError"
