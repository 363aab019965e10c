"""Upscale: tiles cross-faded without seams, memory bounded by the tile, the task with and without a pack, the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tracemalloc
from collections.abc import Generator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from atelier.core.errors import InvalidRequestError
from atelier.core.requests.upscale import UpscaleRequest, UpscaleResult
from atelier.core.settings import Settings
from atelier.engine.imaging import blend_tiles, tile_starts
from atelier.engine.runner import Engine

REPO = Path(__file__).resolve().parents[2]


def drain(generator: Generator[object, None, np.ndarray]) -> np.ndarray:
    while True:
        try:
            next(generator)
        except StopIteration as stop:
            return stop.value


def gradient(width: int, height: int) -> np.ndarray:
    """A smooth picture: neighbouring pixels differ by at most a couple of levels."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    rgb = np.stack([xs / width * 200 + 20, ys / height * 200 + 20, (xs + ys) / (width + height) * 200 + 20], axis=2)
    return np.clip(rgb + 0.5, 0, 255).astype(np.uint8)


def shifted_per_tile(pixels: np.ndarray, index: int) -> Generator[None, None, np.ndarray]:
    """A redraw that, like img2img at low strength, keeps the picture but shifts each tile's colours a
    little differently: without cross-fading, every tile edge becomes a visible step."""
    yield None
    offset = (index % 3) * 12 - 12  # -12, 0, +12
    return np.clip(pixels.astype(np.int16) + offset, 0, 255).astype(np.uint8)


def seam_and_inside_steps(image: np.ndarray, tile: int, overlap: int) -> tuple[int, int]:
    """The largest step between horizontal neighbours across the tile edges, and inside the tiles."""
    width = image.shape[1]
    starts = tile_starts(width, tile, overlap)
    seams = set()
    for i, start in enumerate(starts):
        seams.add(start)  # where a tile begins ...
        if i + 1 < len(starts):
            seams.add(min(width, start + tile))  # ... and where one ends, inside the next
    seams.discard(0)
    seams.discard(width)
    steps = np.abs(np.diff(image.astype(np.int16), axis=1)).max(axis=(0, 2))  # step between x and x+1
    across = max(int(steps[x - 1]) for x in seams)
    inside = int(np.delete(steps, [x - 1 for x in seams]).max())
    return across, inside


def test_cross_faded_tiles_leave_no_seam_and_hard_tiles_would() -> None:
    image = gradient(700, 300)
    blended = drain(blend_tiles(image, 256, 64, shifted_per_tile))
    across, inside = seam_and_inside_steps(blended, 256, 64)
    assert across <= inside, (across, inside)
    # The same tiles pasted over one another without the fade show each tile's shift as a step at the
    # tile edges: the measure above sees seams when there are some.
    hard = image.copy()
    index = 0
    for y0 in tile_starts(300, 256, 64):
        for x0 in tile_starts(700, 256, 64):
            hard[y0 : y0 + 256, x0 : x0 + 256] = drain(shifted_per_tile(image[y0 : y0 + 256, x0 : x0 + 256], index))
            index += 1
    hard_across, hard_inside = seam_and_inside_steps(hard, 256, 64)
    assert hard_across > hard_inside + 8, (hard_across, hard_inside)


def test_an_unchanged_redraw_gives_the_picture_back_exactly() -> None:
    image = (np.random.default_rng(3).random((333, 517, 3)) * 255).astype(np.uint8)

    def same(pixels: np.ndarray, index: int) -> Generator[None, None, np.ndarray]:
        yield None
        return pixels

    assert np.array_equal(drain(blend_tiles(image, 128, 48, same)), image)


def test_memory_is_bounded_by_the_tile_not_the_picture() -> None:
    image = gradient(2048, 2048)  # 12 MB as uint8; a float32 accumulator for all of it would be 64 MB
    sizes = []

    def same(pixels: np.ndarray, index: int) -> Generator[None, None, np.ndarray]:
        sizes.append(pixels.shape[:2])
        yield None
        return pixels

    tracemalloc.start()
    try:
        drain(blend_tiles(image, 256, 64, same))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert max(max(size) for size in sizes) <= 256
    output = 2048 * 2048 * 3
    # The output itself, plus one band of tile rows in float32 (256 x 2048 x 16 bytes = 8 MB) and its copies.
    assert peak < output + 32 * 2**20, peak / 2**20


def test_request_refuses_what_cannot_be_done() -> None:
    picture = np.zeros((64, 64, 3), np.uint8)
    with pytest.raises(InvalidRequestError, match="Scale"):
        UpscaleRequest(image=picture, scale=1.0)
    with pytest.raises(InvalidRequestError, match="tile"):
        UpscaleRequest(image=picture, tile=100)
    with pytest.raises(InvalidRequestError, match="16000x16000") as error:
        UpscaleRequest(image=np.zeros((4000, 4000, 3), np.uint8), scale=4.0)
    assert "smaller scale" in error.value.user_message()


def test_without_a_pack_it_is_lanczos_only_and_says_so(tmp_path: Path) -> None:
    picture = (np.random.default_rng(1).random((40, 60, 3)) * 255).astype(np.uint8)
    engine = Engine(Settings(threads=1, models_folder=str(tmp_path)))
    result = engine.run_to_end(UpscaleRequest(image=picture, scale=2.0))
    assert isinstance(result, UpscaleResult)
    expected = np.asarray(Image.fromarray(picture).resize((120, 80), Image.Resampling.LANCZOS))
    assert np.array_equal(result.image, expected)
    assert "Lanczos only" in result.note and "no Stable Diffusion pack" in result.note
    assert result.parameters["upscale"]["method"] == "lanczos" and result.parameters["upscale"]["to"] == [120, 80]


@pytest.fixture(scope="module")
def tiny_folder() -> Path:
    pytest.importorskip("torch")
    pytest.importorskip("diffusers")
    from tests.diffusion_builders import tiny_onnx_folder

    folder, _, _ = tiny_onnx_folder("optimum", controlnet=True)
    return folder


@pytest.mark.slow
def test_detail_pass_runs_the_pack_tile_by_tile(tiny_folder: Path) -> None:
    picture = gradient(80, 48)
    engine = Engine(Settings(threads=1))
    request = UpscaleRequest(image=picture, scale=2.0, pack_id=str(tiny_folder), prompt="a cat", steps=4, strength=0.5)
    result = engine.run_to_end(request)
    assert isinstance(result, UpscaleResult)
    assert result.image.shape == (96, 160, 3) and result.note == ""
    record = result.parameters["upscale"]
    # The tiny pack's UNet is trained at 64 x 64: tiles of 64 with a 32-pixel cross-fade cover 160 x 96.
    assert record["method"] == "lanczos+tiled img2img" and record["tile"] == 64
    assert record["tiles"] == len(tile_starts(160, 64, 64)) * len(tile_starts(96, 64, 64))
    assert record["upscale_pack_id"].startswith("folder:")
    assert result.device.provider == "CPUExecutionProvider"
    lanczos = np.asarray(Image.fromarray(picture).resize((160, 96), Image.Resampling.LANCZOS))
    assert not np.array_equal(result.image, lanczos)  # the pack redrew the tiles
    assert np.array_equal(engine.run_to_end(request).image, result.image)  # same seed, same picture


@pytest.mark.slow
def test_cli_writes_the_upscale_into_the_png(tiny_folder: Path, tmp_path: Path) -> None:
    from atelier.core.provenance import read_parameters, save_png

    source = tmp_path / "in.png"
    save_png(source, gradient(64, 64), {"prompt": "a lighthouse", "seed": 5})
    env = {**os.environ, "PYTHONPATH": str(REPO / "desktop")}
    out = tmp_path / "out.png"
    command = [sys.executable, "-m", "atelier", "upscale", "--image", str(source), "--scale", "2", "--out", str(out)]
    done = subprocess.run([*command, "--pack", str(tiny_folder), "--accept-licence", "--steps", "2", "--json"],
                          capture_output=True, text=True, env=env, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["size"] == [128, 128] and summary["upscale"]["method"] == "lanczos+tiled img2img"
    params = read_parameters(out)
    assert params is not None and params["prompt"] == "a lighthouse" and params["seed"] == 5
    assert params["upscale"]["from"] == [64, 64] and params["upscale"]["to"] == [128, 128]
    plain = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert plain.returncode == 0, plain.stderr
    assert "Lanczos only" in plain.stdout
    params = read_parameters(out)
    assert params is not None and params["upscale"]["method"] == "lanczos"
