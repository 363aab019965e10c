"""The sketch task end to end: a plain ONNX folder or a pack, variations, previews, provenance, cancel; canvas
shapes, masked inpaint, a second ControlNet; Trace line art on a drawing."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from atelier.core.cancel import CancelToken
from atelier.core.errors import CancelledError, InvalidRequestError, PackError
from atelier.core.requests.lineart import LineArtRequest, LineArtResult
from atelier.core.requests.sketch import SketchRequest, SketchResult
from atelier.core.settings import Settings
from atelier.engine.runner import Engine
from tests.engine.generators import drain

REPO = Path(__file__).resolve().parents[2]


def folder_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        digest.update(str(path.relative_to(folder)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def tiny_folder() -> Path:
    pytest.importorskip("torch")
    pytest.importorskip("diffusers")
    from tests.diffusion_builders import tiny_onnx_folder

    folder, _, _ = tiny_onnx_folder("optimum", controlnet=True)
    return folder


def test_request_validates_what_the_user_can_fix() -> None:
    with pytest.raises(InvalidRequestError, match="multiples of 64"):
        SketchRequest(prompt="x", width=500)
    with pytest.raises(InvalidRequestError, match="mask"):
        SketchRequest(prompt="x", mask=np.zeros((64, 64), np.uint8))
    with pytest.raises(InvalidRequestError, match="scheduler"):
        SketchRequest(prompt="x", scheduler="pndm")


@pytest.mark.slow
def test_plain_folder_generates_variations_without_writing_inside(tiny_folder: Path, tmp_path: Path) -> None:
    folder = tmp_path / "user-pack"
    shutil.copytree(tiny_folder, folder)
    (folder / "done").unlink()
    before = folder_digest(folder)
    engine = Engine(Settings(threads=1))
    request = SketchRequest(prompt="a cat", pack_id=str(folder), width=64, height=64, steps=3, seed=4, count=2)
    progress, result = drain(engine.run(request, CancelToken()))
    assert isinstance(result, SketchResult)
    assert len(result.images) == 2 and result.seeds == (4, 5)
    assert result.images[0].shape == (64, 64, 3) and not np.array_equal(result.images[0], result.images[1])
    assert any(p.preview is not None and p.preview.shape == (8, 8, 3) for p in progress)
    assert result.parameters["scheduler"] == "euler" and result.parameters["pack_id"].startswith("folder:")
    assert result.device.provider == "CPUExecutionProvider"
    assert folder_digest(folder) == before  # nothing written inside the user's folder

    again = engine.run_to_end(request)
    assert np.array_equal(again.images[0], result.images[0])  # same seed, same image

    sketch = np.full((64, 64, 4), 255, np.uint8)
    sketch[20:40, 10:50, :3] = 0
    img2img = engine.run_to_end(
        SketchRequest(prompt="a cat", pack_id=str(folder), width=64, height=64, steps=4, image=sketch, strength=0.5)
    )
    controlled = engine.run_to_end(
        SketchRequest(prompt="a cat", pack_id=str(folder), width=64, height=64, steps=2, control=sketch)
    )
    mask = np.zeros((64, 64), np.uint8)
    mask[:, 32:] = 255
    inpainted = engine.run_to_end(
        SketchRequest(
            prompt="a cat",
            pack_id=str(folder),
            width=64,
            height=64,
            steps=4,
            image=sketch,
            mask=mask,
            strength=1.0,
        )
    )
    for output in (img2img, controlled, inpainted):
        assert output.images[0].shape == (64, 64, 3)
    # Outside the (feathered) mask the sketch is kept exactly.
    assert np.array_equal(inpainted.images[0][:, :16], sketch[:, :16, :3])
    assert not np.array_equal(inpainted.images[0][:, 48:], sketch[:, 48:, :3])


@pytest.mark.slow
def test_manifest_pack_switch_unloads_the_previous_pipeline(tiny_folder: Path, tmp_path: Path) -> None:
    from atelier.engine.packs import write_manifest

    root = tmp_path / "models"
    for name in ("sd-a", "sd-b"):
        pack = root / name
        shutil.copytree(tiny_folder, pack)
        files = [p.relative_to(pack).as_posix() for p in pack.rglob("*") if p.is_file() and p.name != "done"]
        roles = ("text_encoder", "unet", "vae_encoder", "vae_decoder", "controlnet")
        write_manifest(
            pack,
            {
                "id": name,
                "name": name,
                "kind": "diffusion",
                "licence": "MIT",
                "source": "test",
                "components": {r: f"{r}/model.onnx" for r in roles},
            },
            files,
        )
    engine = Engine(Settings(threads=1, models_folder=str(root)))
    engine.run_to_end(SketchRequest(prompt="x", pack_id="sd-a", width=64, height=64, steps=1))
    assert {s.key[0] for s in engine.pool.loaded()} == {"sd-a"}
    result = engine.run_to_end(SketchRequest(prompt="x", pack_id="sd-b", width=64, height=64, steps=1))
    assert {s.key[0] for s in engine.pool.loaded()} == {"sd-b"}
    assert result.parameters["licence"] == "MIT"
    from atelier.engine.doctor import doctor_report

    report = {entry["id"]: entry for entry in doctor_report(engine)["packs"]}
    assert report["sd-a"]["verified"] and report["sd-a"]["device"] == "CPUExecutionProvider", report["sd-a"]


@pytest.mark.slow
def test_cancel_stops_within_a_step(tiny_folder: Path) -> None:
    engine = Engine(Settings(threads=1))
    cancel = CancelToken()
    generator = engine.run(SketchRequest(prompt="x", pack_id=str(tiny_folder), width=64, height=64, steps=20), cancel)
    next(generator)  # loading
    next(generator)  # first step done
    cancel.cancel()
    with pytest.raises(CancelledError):
        next(generator)


def test_folder_that_is_not_a_pipeline_says_what_is_expected(tmp_path: Path) -> None:
    (tmp_path / "unet").mkdir()
    with pytest.raises(PackError, match="text_encoder"):
        Engine(Settings(threads=1)).run_to_end(SketchRequest(prompt="x", pack_id=str(tmp_path)))


def test_runtime_path_imports_neither_torch_nor_diffusers() -> None:
    code = (
        "import sys, numpy as np\n"
        "from atelier.engine.runner import Engine\n"
        "from atelier.engine.diffusion import pipeline, schedulers, tokenizer\n"
        "import atelier.engine.tasks.sketch, atelier.cli.sketch, atelier.ui.panels.sketch\n"
        "s = schedulers.make_scheduler({}, 'lcm'); s.set_timesteps(4)\n"
        "bad = [m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "desktop"), "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "", f"runtime imported {out.stdout.strip()}"


@pytest.mark.slow
def test_cli_writes_pngs_with_provenance(tiny_folder: Path, tmp_path: Path) -> None:
    from atelier.core.provenance import read_parameters

    env = {**os.environ, "PYTHONPATH": str(REPO / "desktop")}
    out = tmp_path / "out.png"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "atelier",
            "sketch",
            "--accept-licence",  # a folder's licence is unknown: asked once, accepted here
            "--pack",
            str(tiny_folder),
            "--prompt",
            "a lighthouse",
            "--width",
            "64",
            "--height",
            "64",
            "--steps",
            "2",
            "--seed",
            "9",
            "--count",
            "2",
            "--out",
            str(out),
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["seeds"] == [9, 10]
    first = Path(summary["out"][0])
    params = read_parameters(first)
    assert params is not None and params["prompt"] == "a lighthouse" and params["seed"] == 9
    from PIL import Image

    with Image.open(first) as image:
        assert "Steps: 2" in image.info["parameters"] and "Seed: 9" in image.info["parameters"]
    failed = subprocess.run(
        [
            sys.executable,
            "-m",
            "atelier",
            "sketch",
            "--accept-licence",
            "--pack",
            str(tmp_path),
            "--prompt",
            "x",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    errors = [line for line in failed.stderr.splitlines() if not line.startswith("note:")]  # the licence note
    assert failed.returncode == 1 and len(errors) == 1 and "Expected" in errors[0]


def test_a_size_that_will_not_fit_is_refused_with_one_that_does(monkeypatch: pytest.MonkeyPatch) -> None:
    from atelier.core.errors import OutOfMemoryError
    from atelier.engine.tasks import sketch as sketch_task

    # The real limit cannot be reached safely in a test: pretend 3 GB are free.
    monkeypatch.setattr(sketch_task, "available_memory_bytes", lambda: 3 * 2**30)
    sketch_task.check_fits(SketchRequest(prompt="x", width=512, height=512), on_cpu=True)
    with pytest.raises(OutOfMemoryError, match=r"2048x2048 needs more memory .* \d+x\d+ should fit") as error:
        sketch_task.check_fits(SketchRequest(prompt="x", width=2048, height=2048), on_cpu=True)
    side = int(str(error.value).split(";")[1].split("x")[0])
    assert 512 <= side < 2048
    sketch_task.check_fits(SketchRequest(prompt="x", width=side, height=side), on_cpu=True)
    sketch_task.check_fits(SketchRequest(prompt="x", width=2048, height=2048), on_cpu=False)  # GPU: unknown


@pytest.mark.slow
def test_taesd_pack_gives_full_size_previews(tiny_folder: Path, tmp_path: Path) -> None:
    import torch
    from diffusers import AutoencoderTiny

    from atelier.engine.packs import write_manifest
    from atelier_build.diffusion.export import _export, _VaeDecoder

    torch.manual_seed(0)
    taesd = AutoencoderTiny(encoder_block_out_channels=(8,) * 4, decoder_block_out_channels=(8,) * 4,
                            num_encoder_blocks=(1,) * 4, num_decoder_blocks=(1,) * 4).eval()  # fmt: skip
    pack = tmp_path / "models" / "taesd"
    axes = {"latent_sample": {0: "batch", 2: "height", 3: "width"}, "sample": {0: "batch", 2: "h", 3: "w"}}
    _export(_VaeDecoder(taesd), (torch.randn(1, 4, 8, 8),), pack / "decoder/model.onnx", ["latent_sample"],
            ["sample"], axes)  # fmt: skip
    meta = {"id": "taesd", "name": "TAESD", "kind": "taesd", "licence": "MIT", "source": "test",
            "components": {"decoder": "decoder/model.onnx"}}  # fmt: skip
    write_manifest(pack, meta, ["decoder/model.onnx"])
    engine = Engine(Settings(threads=1, models_folder=str(tmp_path / "models")))
    generator = engine.run(
        SketchRequest(prompt="x", pack_id=str(tiny_folder), width=64, height=64, steps=2), CancelToken()
    )
    previews = []
    while True:
        try:
            progress = next(generator)
        except StopIteration:
            break
        if progress.preview is not None:
            previews.append(progress.preview)
    assert previews and all(p.shape == (64, 64, 3) for p in previews)


def test_no_pack_says_how_to_get_one(tmp_path: Path) -> None:
    from atelier.core.errors import PackNotFoundError

    engine = Engine(Settings(threads=1, models_folder=str(tmp_path)))
    with pytest.raises(PackNotFoundError) as error:
        engine.run_to_end(SketchRequest(prompt="x"))
    assert "import-diffusers" in error.value.user_message()


@pytest.mark.slow
def test_nine_channel_inpainting_unet_is_used_as_such(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from tests.diffusion_builders import tiny_onnx_folder

    folder, _, _ = tiny_onnx_folder("legacy", inpaint=True)
    engine = Engine(Settings(threads=1))
    sketch = np.full((64, 64, 3), 255, np.uint8)
    sketch[:, :20] = 40
    mask = np.zeros((64, 64), np.uint8)
    mask[:, 40:] = 255
    inpainted = engine.run_to_end(
        SketchRequest(prompt="x", pack_id=str(folder), width=64, height=64, steps=3, image=sketch, mask=mask,
                      strength=1.0)
    )  # fmt: skip
    assert np.array_equal(inpainted.images[0][:, :24], sketch[:, :24])
    assert not np.array_equal(inpainted.images[0][:, 48:], sketch[:, 48:])
    whole = engine.run_to_end(SketchRequest(prompt="x", pack_id=str(folder), width=64, height=64, steps=2))
    assert whole.images[0].shape == (64, 64, 3)


def test_memory_not_yet_loaded_counts_the_manifests_runtime_sizes(tmp_path: Path) -> None:
    """Winograd packs take more memory than their files once loaded; the import records it."""
    from atelier.engine.packs import Pack, PackFile
    from atelier.engine.tasks.sketch import unloaded_bytes

    files = (
        PackFile("unet/model.onnx", "0" * 64, 1000),
        PackFile("vae_decoder/model.onnx", "0" * 64, 200),
        PackFile("vae_encoder/model.onnx", "0" * 64, 100),
    )
    plain = Pack("p", "p", "diffusion", "1", "MIT", "", tmp_path, files)
    assert unloaded_bytes(plain, {"vae_decoder", "vae_encoder"}) == 300
    recorded = Pack(
        "p", "p", "diffusion", "1", "MIT", "", tmp_path, files, extra={"memory_bytes": {"vae_decoder": 800}}
    )
    assert unloaded_bytes(recorded, {"vae_decoder", "vae_encoder"}) == 900  # encoder falls back to its file


def circle_canvas(width: int, height: int, centre: tuple[int, int], radius: int) -> np.ndarray:
    ys, xs = np.mgrid[0:height, 0:width]
    canvas = np.full((height, width, 4), 255, np.uint8)
    canvas[(xs - centre[0]) ** 2 + (ys - centre[1]) ** 2 <= radius**2, :3] = 0
    return canvas


def ink_box(image: np.ndarray) -> tuple[float, float, float, float]:
    """(centre x, centre y, width, height) of the dark pixels, in the picture's own pixels."""
    ink = image[..., :3].mean(axis=2) < 128
    ys, xs = np.nonzero(ink)
    return (xs.min() + xs.max()) / 2, (ys.min() + ys.max()) / 2, xs.max() - xs.min() + 1, ys.max() - ys.min() + 1


@pytest.mark.parametrize(("canvas", "native"), [((1920, 1080), (512, 512)), ((832, 1216), (1024, 1024)),
                                                ((700, 300), (512, 512))])  # fmt: skip
def test_a_circle_stays_round_on_the_way_in_and_back(canvas: tuple[int, int], native: tuple[int, int]) -> None:
    """The picture reaches the model at the canvas's shape (sides multiples of 64 near the native area)
    and the result comes back at the canvas's size: a circle stays round, and where it was, within 2%."""
    from atelier.engine.tasks.sketch import plan_frame

    width, height = canvas
    centre, radius = (width * 2 // 3, height // 3), min(width, height) // 5
    sketch = circle_canvas(width, height, centre, radius)
    frame = plan_frame(SketchRequest(prompt="x", width=0, height=0, image=sketch), native)
    gen_w, gen_h = frame.generation
    assert gen_w % 64 == 0 and gen_h % 64 == 0
    assert abs(gen_w * gen_h / (native[0] * native[1]) - 1) < 0.15
    assert frame.image is not None and frame.image.shape == (gen_h, gen_w, 3)
    _, _, seen_w, seen_h = ink_box(frame.image)
    assert abs(seen_w / seen_h - 1) < 0.02, (seen_w, seen_h)  # what the model sees is round
    back = frame.to_output(frame.image)  # as if the model gave the picture back unchanged
    assert back.shape == (height, width, 3)
    x, y, w, h = ink_box(back)
    assert abs(w / h - 1) < 0.02, (w, h)
    assert abs(x - centre[0]) < 0.02 * width and abs(y - centre[1]) < 0.02 * height
    assert abs(w / (2 * radius + 1) - 1) < 0.02


@pytest.mark.slow
def test_generation_runs_at_the_canvas_shape_and_comes_back_at_its_size(tiny_folder: Path) -> None:
    engine = Engine(Settings(threads=1))
    sketch = circle_canvas(200, 100, (100, 50), 30)
    result = engine.run_to_end(
        SketchRequest(prompt="x", pack_id=str(tiny_folder), width=0, height=0, steps=2, image=sketch, strength=0.5,
                      detail_upscale=False)
    )  # fmt: skip
    assert result.images[0].shape == (100, 200, 3)
    # The tiny UNet is trained at 64 x 64: the picture's 2:1 shape at about 64 x 64 pixels is 128 x 64.
    assert (result.parameters["width"], result.parameters["height"]) == (128, 64)
    assert (result.parameters["output_width"], result.parameters["output_height"]) == (200, 100)
    assert "upscale" not in result.parameters
    text = engine.run_to_end(
        SketchRequest(prompt="x", pack_id=str(tiny_folder), width=0, height=0, steps=2, out_width=300, out_height=150)
    )
    assert text.images[0].shape == (150, 300, 3)
    record = text.parameters["upscale"]  # over 1.5x the generation: Lanczos, then the tiled detail pass
    assert record["method"] == "lanczos+tiled img2img" and record["from"] == [128, 64] and record["to"] == [300, 150]


@pytest.mark.slow
def test_inpaint_works_on_the_masks_box_and_leaves_the_rest_bit_for_bit(tiny_folder: Path) -> None:
    from atelier.engine.tasks.sketch import inpaint_feather

    rng = np.random.default_rng(0)
    picture = (rng.random((240, 320, 3)) * 255).astype(np.uint8)  # every pixel its own value
    mask = np.zeros((240, 320), np.uint8)
    mask[150:170, 220:250] = 255
    engine = Engine(Settings(threads=1))
    result = engine.run_to_end(
        SketchRequest(prompt="x", pack_id=str(tiny_folder), width=0, height=0, steps=4, image=picture, mask=mask,
                      strength=1.0)
    )  # fmt: skip
    out = result.images[0]
    assert out.shape == picture.shape
    left, top, right, bottom = result.parameters["inpaint_box"]
    assert left <= 220 and top <= 150 and right >= 250 and bottom >= 170
    assert (right - left) * (bottom - top) < 0.25 * 320 * 240  # the box, not the whole picture
    # The box's generation is at the pack's native area (64 x 64 for the tiny pack), at the box's shape.
    assert result.parameters["width"] * result.parameters["height"] <= 2 * 64 * 64
    feather = inpaint_feather((320, 240))
    outside = np.ones((240, 320), bool)
    outside[150 - 2 * feather : 170 + 2 * feather, 220 - 2 * feather : 250 + 2 * feather] = False
    assert np.array_equal(out[outside], picture[outside])  # bit for bit beyond the mask and its feather
    assert not np.array_equal(out[150:170, 220:250], picture[150:170, 220:250])  # the mask was regenerated
    changed = np.any(out != picture, axis=2)
    ys, xs = np.nonzero(changed)
    assert ys.min() >= top and ys.max() < bottom and xs.min() >= left and xs.max() < right


@pytest.mark.slow
def test_a_second_controlnet_adds_its_residuals_to_the_first(tiny_folder: Path, tmp_path: Path) -> None:
    folder = tmp_path / "two-controls"
    shutil.copytree(tiny_folder, folder)
    shutil.copytree(folder / "controlnet", folder / "controlnet_depth")
    lines = np.full((64, 64, 3), 255, np.uint8)
    lines[20:24, :] = 0
    depth = np.tile(np.linspace(0, 255, 64, dtype=np.uint8)[None, :, None], (64, 1, 3))
    engine = Engine(Settings(threads=1))

    def run(**extra: object) -> SketchResult:
        request = SketchRequest(prompt="x", pack_id=str(folder), width=64, height=64, steps=2, control=lines,
                                control_scale=0.8, **extra)  # type: ignore[arg-type]  # fmt: skip
        result = engine.run_to_end(request)
        assert isinstance(result, SketchResult)
        return result

    one = run()
    silent = run(second_control=depth, second_control_name="depth", second_control_scale=0.0)
    both = run(second_control=depth, second_control_scale=1.5)  # the only controlnet_*/ is chosen
    assert np.array_equal(silent.images[0], one.images[0])  # at strength 0 the second adds nothing
    assert not np.array_equal(both.images[0], one.images[0])
    assert both.parameters["second_control"] == {"controlnet": "controlnet_depth", "scale": 1.5}
    assert both.parameters["control_scale"] == 0.8
    with pytest.raises(PackError, match="controlnet_pose"):
        run(second_control=depth, second_control_name="pose")
    with pytest.raises(InvalidRequestError, match="between 0 and 2"):
        SketchRequest(prompt="x", control=lines, control_scale=2.5)


def ink_runs(row: np.ndarray) -> int:
    """How many separate stretches of ink (< 128) a line of pixels crosses."""
    ink = (row < 128).astype(np.int8)
    return int(np.count_nonzero(np.diff(np.concatenate([[0], ink, [0]])) == 1))


def drawn_stroke(size: int = 256, width: int = 8) -> np.ndarray:
    """A line drawing: one dark, anti-aliased pen stroke (a gentle curve) on white paper, RGBA."""
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    centre = size / 2 + 20 * np.sin(xs / size * np.pi)  # the stroke's middle at each x
    cover = np.clip(width / 2 + 0.5 - np.abs(ys - centre), 0, 1)
    picture = np.full((size, size, 4), 255, np.uint8)
    picture[..., :3] = np.clip(255 - cover[..., None] * 230 + 0.5, 0, 255).astype(np.uint8)
    return picture


@pytest.mark.parametrize("sensitivity", [0.2, 0.5, 0.9])
def test_a_drawn_stroke_is_traced_as_one_line_not_two(sensitivity: float) -> None:
    engine = Engine(Settings(threads=1))
    picture = drawn_stroke()
    result = engine.run_to_end(LineArtRequest(image=picture, sensitivity=sensitivity))
    assert isinstance(result, LineArtResult)
    for x in (20, 128, 230):  # across the stroke: one line where it was drawn
        column = result.lines[:, x]
        assert ink_runs(column) == 1, (x, ink_runs(column))
        drawn = np.flatnonzero(picture[:, x, 0] < 128)
        traced = np.flatnonzero(column < 128)
        assert traced.min() >= drawn.min() - 2 and traced.max() <= drawn.max() + 2
    # The edge tracer alone outlines both sides of the stroke: the check above tells them apart.
    photo_like = picture.copy()
    photo_like[:128, :, :3] = (photo_like[:128, :, :3] * 0.4).astype(np.uint8)  # half of it dark: not paper
    edges = engine.run_to_end(LineArtRequest(image=photo_like, sensitivity=sensitivity))
    assert isinstance(edges, LineArtResult)
    assert ink_runs(edges.lines[140:, 128]) == 2  # the stroke's lower part, below the dark half


def test_sdxl_memory_estimate_counts_its_coarser_attention() -> None:
    """SDXL attends from 1/16 resolution: at 1024² its peak is ~1.5 GB, not the ~16.5 GB that 1/8 gives."""
    from atelier.engine.tasks import sketch as sketch_task

    sd = sketch_task.estimated_bytes(1024, 1024, guided=True)
    sdxl = sketch_task.estimated_bytes(1024, 1024, guided=True, scale=16)
    assert sdxl < 2 * 2**30 < 16 * 2**30 < sd, (sdxl, sd)
