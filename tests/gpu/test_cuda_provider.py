"""The engine tests on a real CUDA provider (onnxruntime-gpu). Skipped where no CUDA session loads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from atelier.core.cancel import CancelToken
from atelier.core.requests.lineart import LineArtRequest, LineArtResult
from atelier.core.settings import Settings
from atelier.engine.packs import read_manifest
from atelier.engine.runner import Engine
from atelier.engine.sessions import PoolConfig, SessionPool
from tests.onnx_builders import scale_model, write_pack

CUDA = "CUDAExecutionProvider"


def _cuda_loads() -> bool:
    if CUDA not in ort.get_available_providers():
        return False
    import tempfile

    import onnx

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "m.onnx"
        onnx.save(scale_model(), str(path))
        try:
            session = ort.InferenceSession(str(path), providers=[CUDA])
        except Exception:
            return False
        return session.get_providers()[0] == CUDA


pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not _cuda_loads(), reason="no CUDA provider loads here")]


def test_pool_runs_on_cuda_without_fallback(tmp_path: Path) -> None:
    pack = read_manifest(write_pack(tmp_path / "tiny", scale_model(2.0)))
    pool = SessionPool(config=lambda: PoolConfig(device=CUDA))
    (out,), device = pool.run(pack, "model", {"x": np.ones((4, 4), np.float32)}, CancelToken())
    assert device.provider == CUDA and not device.fell_back
    assert np.allclose(out, 2.0)


def test_lineart_on_cuda_matches_cpu() -> None:
    picture = np.random.default_rng(0).integers(0, 255, (128, 128, 3), dtype=np.uint8)
    gpu = Engine(Settings(device=CUDA)).run_to_end(LineArtRequest(image=picture))
    cpu = Engine(Settings(device="cpu")).run_to_end(LineArtRequest(image=picture))
    assert isinstance(gpu, LineArtResult) and isinstance(cpu, LineArtResult)
    assert gpu.device.provider == CUDA
    assert np.abs(gpu.lines.astype(int) - cpu.lines.astype(int)).max() <= 1
