"""An SDXL ONNX folder through the real engine: picked by the factory, run over the SessionPool, untouched."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from atelier.core.cancel import CancelToken
from atelier.core.requests.sketch import SketchRequest, SketchResult
from atelier.core.settings import Settings
from atelier.engine.diffusion.factory import pipeline_for
from atelier.engine.diffusion.pipeline import numpy_noise
from atelier.engine.runner import Engine

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")

from tests.engine.generators import drain  # noqa: E402
from tests.engine.test_sdxl_pipeline import OrtModels  # noqa: E402
from tests.engine.test_sketch_task import folder_digest  # noqa: E402
from tests.sdxl_builders import tiny_sdxl_folder  # noqa: E402


@pytest.mark.slow
def test_an_optimum_sdxl_folder_generates_through_the_engine_as_the_pipeline_does(tmp_path: Path) -> None:
    source, _, _ = tiny_sdxl_folder("optimum")
    folder = tmp_path / "sdxl-turbo-onnx"
    shutil.copytree(source, folder)
    (folder / "done").unlink()
    before = folder_digest(folder)
    engine = Engine(Settings(threads=1))
    request = SketchRequest(prompt="a cat", pack_id=str(folder), width=64, height=64, steps=2, guidance=0.0, seed=4)
    progress, result = drain(engine.run(request, CancelToken()))
    assert isinstance(result, SketchResult)
    assert result.parameters["pack_id"].startswith("folder:sdxl-turbo-onnx")
    assert any(p.preview is not None for p in progress)
    assert folder_digest(folder) == before  # nothing written inside the user's folder
    # The same picture as the SDXL pipeline run directly on plain sessions with the same seed.
    _, direct = drain(pipeline_for(folder, OrtModels(folder)).generate("a cat", "", 64, 64, 2, 0.0, numpy_noise(4)))
    assert np.array_equal(result.images[0], direct) and direct.std() > 1

    sketch = np.full((64, 64, 4), 255, np.uint8)
    sketch[20:40, 10:50, :3] = 0
    mask = np.zeros((64, 64), np.uint8)
    mask[:, 40:] = 255
    inpainted = engine.run_to_end(
        SketchRequest(prompt="a cat", pack_id=str(folder), width=64, height=64, steps=4, image=sketch, mask=mask,
                      strength=0.75, guidance=5.0)
    )  # fmt: skip
    assert np.array_equal(inpainted.images[0][:, :16], sketch[:, :16, :3])  # far from the mask: untouched
    assert not np.array_equal(inpainted.images[0][:, 48:], sketch[:, 48:, :3])
