"""Images from a sketch with a Stable-Diffusion-family ONNX pack (kind `diffusion`) or a plain ONNX folder."""

from __future__ import annotations

import hashlib
import math
import os
import weakref
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

import atelier
from atelier.core.errors import AtelierError, InvalidRequestError, OutOfMemoryError, PackError, PackNotFoundError
from atelier.core.progress import Progress
from atelier.core.provenance import now_iso, pack_record, source_record
from atelier.core.requests import DeviceInfo
from atelier.core.requests.sketch import MAX_SIDE, SketchRequest, SketchResult
from atelier.engine.diffusion.factory import ALL_ROLES, LAYOUT, PACK_FOLDERS, missing_parts, pipeline_for
from atelier.engine.diffusion.pipeline import (
    TensorSpec,
    latent_preview,
    numpy_noise,
    read_json,
    to_uint8,
)
from atelier.engine.diffusion.schedulers import CLASS_NAMES
from atelier.engine.diffusion.sdxl import StableDiffusionXLPipeline
from atelier.engine.doctor import smoke_test
from atelier.engine.imaging import (
    ContainBox,
    blend_tiles,
    feather_weight,
    mask_box,
    paste_feathered,
    resize,
    rgb_on_white,
    size_near_area,
    tile_starts,
)
from atelier.engine.packs import MANIFEST_NAMES, HashCache, Pack, PackFile, read_manifest
from atelier.engine.providers import ORT_ERRORS
from atelier.engine.runner import Engine, TaskContext, TaskGenerator, task
from atelier.engine.sessions import SessionPool

KIND = "diffusion"
# A second ControlNet sits beside the first in its own folder, named by what it reads; its residuals are
# added to the first's at every step (as diffusers' MultiControlNetModel does).
SECOND_CONTROL_PREFIX = "controlnet_"
LAYOUT_SECOND_CONTROL = "controlnet_<name>/model.onnx beside controlnet/ (e.g. controlnet_depth/, controlnet_pose/)"
_last_pack: weakref.WeakKeyDictionary[SessionPool, str] = weakref.WeakKeyDictionary()


def folder_pack(folder: Path) -> Pack:
    """A pack for a diffusers/optimum ONNX folder that has no Atelier manifest.

    Nothing is written inside the folder: the sha256 of each file is computed read-only (and cached in
    Atelier's cache), so the SessionPool's verification still refuses files that change under it.
    """
    folder = folder.resolve()
    if any(os.path.lexists(folder / name) for name in MANIFEST_NAMES):
        pack = read_manifest(folder)
        if pack.kind != KIND:
            raise PackError(
                f"{folder} holds a {pack.kind} pack ('{pack.id}'), not a Stable Diffusion pack.",
                f"Choose a folder with a {KIND} pack, or the ONNX folder of a Stable Diffusion model ({LAYOUT}).",
            )
        return pack
    missing = missing_parts(folder)
    if missing:
        raise PackError(
            f"{folder} is not a Stable Diffusion ONNX folder (missing: {', '.join(missing)}). Expected: {LAYOUT}."
        )
    cache = HashCache()
    files = []
    try:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            relative = path.relative_to(folder).as_posix()
            if _pipeline_part(relative.split("/")[0]):
                files.append(PackFile(relative, cache.sha256(path), path.stat().st_size))
    finally:
        cache.flush()
    roles = [*ALL_ROLES, *sorted(p.parent.name for p in folder.glob(SECOND_CONTROL_PREFIX + "*/model.onnx"))]
    components = {
        role: f"{role}/model.onnx" for role in dict.fromkeys(roles) if (folder / role / "model.onnx").is_file()
    }
    # Named by the folder's name and a hash of its path: the id goes into every picture's metadata,
    # which must not carry the absolute path of the user's files.
    digest = hashlib.sha256(str(folder).encode("utf-8")).hexdigest()[:8]
    return Pack(
        id=f"folder:{folder.name}-{digest}",
        name=folder.name,
        kind=KIND,
        version="",
        licence="see the model's own licence",
        source=str(folder),
        folder=folder,
        files=tuple(files),
        components=components,
    )


def _pipeline_part(top: str) -> bool:
    """Whether a top-level entry of an ONNX folder belongs to the pipeline (and is verified with it):
    its models, tokenizers (SDXL has two), scheduler and extra ControlNets, not the user's other files."""
    return top in PACK_FOLDERS or top.startswith(SECOND_CONTROL_PREFIX)


def resolve_pack(context: TaskContext, pack_id: str) -> Pack:
    if pack_id and (os.sep in pack_id or "/" in pack_id) and Path(pack_id).expanduser().is_dir():
        return folder_pack(Path(pack_id).expanduser())
    if not pack_id and not context.catalog.of_kind(KIND):
        raise PackNotFoundError(
            "No Stable Diffusion pack is installed.",
            "Pick an ONNX folder (Folder… in the Sketch panel, or --pack PATH), or convert a diffusers "
            "checkpoint with `atelier models import-diffusers PATH`.",
        )
    return context.pack_of_kind(KIND, pack_id)


class PoolModels:
    """The pipeline's view of a pack's sessions in the shared SessionPool (cancel reaches each run)."""

    def __init__(self, context: TaskContext, pack: Pack) -> None:
        self.context = context
        self.pack = pack
        self.device: DeviceInfo | None = None
        # (role, HxWx3 uint8 picture at the generation size, scale): a second ControlNet run beside the
        # first with the same latents, its residuals added to the first's (the pipeline sees one ControlNet).
        self.second_control: tuple[str, np.ndarray, float] | None = None

    def has(self, role: str) -> bool:
        return role in self.pack.components

    def inputs(self, role: str) -> list[TensorSpec]:
        session = self.context.pool.session(self.pack, role).session
        return [TensorSpec(i.name, i.type, tuple(i.shape)) for i in session.get_inputs()]

    def outputs(self, role: str) -> list[TensorSpec]:
        session = self.context.pool.session(self.pack, role).session
        return [TensorSpec(o.name, o.type, tuple(o.shape)) for o in session.get_outputs()]

    def run(self, role: str, feeds: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        outputs, device = self.context.pool.run(self.pack, role, feeds, self.context.cancel)
        self.device = device
        if role == "controlnet" and self.second_control is not None:
            second = self.context.pool.run(self.pack, self.second_control[0], self._second_feeds(feeds),
                                           self.context.cancel)[0]  # fmt: skip
            if len(second) != len(outputs):
                raise PackError(
                    f"{self.second_control[0]}/ gives {len(second)} residuals and controlnet/ {len(outputs)}: "
                    "both ControlNets must be made for the same UNet."
                )
            outputs = [a + b.astype(a.dtype) for a, b in zip(outputs, second, strict=True)]
        return outputs

    def _second_feeds(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The first ControlNet's feeds with the second picture and scale in place of the first's."""
        assert self.second_control is not None
        role, picture, scale = self.second_control
        specs = {spec.name: spec for spec in self.inputs(role)}
        out = {}
        for name, value in feeds.items():
            spec = specs.get(name)
            if spec is None:
                continue
            if "scale" in name:
                value = np.full(value.shape, scale, value.dtype)
            elif value.ndim == 4 and value.shape[1] == 3 and "cond" in name:
                pixels = resize(picture, (value.shape[3], value.shape[2])).astype(np.float32) / 255.0
                value = np.repeat(pixels.transpose(2, 0, 1)[None], value.shape[0], 0).astype(value.dtype)
            out[name] = value
        missing = sorted(set(specs) - set(out))
        if missing:
            raise PackError(
                f"{role}/ takes inputs controlnet/ does not ({', '.join(missing)}): not a matching ControlNet."
            )
        return out


def available_memory_bytes() -> int | None:
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def estimated_bytes(width: int, height: int, guided: bool, weights: int = 0, scale: int = 8) -> int:
    """A rough peak: the weights not yet loaded, plus the UNet's largest self-attention matrix (8 heads,
    float32; `scale` pixels per token: 8 for SD 1.x, 16 for SDXL), which dominates at large sizes, plus a
    working margin."""
    tokens = (width // scale) * (height // scale)
    batch = 2 if guided else 1
    return weights + batch * 8 * tokens * tokens * 4 + 512 * 2**20


def unloaded_bytes(pack: Pack, roles: set[str]) -> int:
    """Memory the roles not yet loaded will take: the manifest's `memory_bytes` where the import wrote
    it (the Winograd kernels onnxruntime folds at load are 4x their weights), else their files' sizes."""
    recorded = pack.extra.get("memory_bytes") or {}
    total = 0
    for role in roles:
        if isinstance(recorded.get(role), int):
            total += recorded[role]
        else:
            total += sum(f.size for f in pack.files if f.path.split("/")[0] == role)
    return total


def check_fits(
    request: SketchRequest, on_cpu: bool, weights: int = 0, size: tuple[int, int] | None = None, scale: int = 8
) -> None:
    """Refuse a generation of `size` (default: the request's) that cannot fit in the free memory."""
    width, height = size or (request.width, request.height)
    free = available_memory_bytes()
    if not on_cpu or free is None:
        return
    guided = request.guidance > 1.0
    if estimated_bytes(width, height, guided, weights, scale) <= free:
        return
    side = max(64, min(width, height))
    while side > 64 and estimated_bytes(side, side, guided, weights, scale) > free:
        side -= 64
    raise OutOfMemoryError(
        f"{width}x{height} needs more memory than is free ({free / 2**30:.1f} GB); {side}x{side} should fit.",
        "Choose a smaller size, or close other programs.",
    )


PREVIEW_ERRORS: tuple[type[BaseException], ...] = (AtelierError, *ORT_ERRORS)


def preview_decoder(context: TaskContext, pipeline: Any = None) -> Callable[[np.ndarray], np.ndarray]:
    """Latents -> preview: TAESD (a tiny decoder) when a `taesd` pack is installed and decodes this
    family's latents (SD 1.x only), else the pipeline's linear map for its latent space."""
    fallback: Callable[[np.ndarray], np.ndarray] = pipeline.preview if pipeline is not None else latent_preview
    packs = context.catalog.of_kind("taesd")
    if not packs or isinstance(pipeline, StableDiffusionXLPipeline):
        return fallback
    pack = packs[0]

    def decode(latents: np.ndarray) -> np.ndarray:
        try:
            name = context.pool.session(pack, "decoder").session.get_inputs()[0].name
            outputs, _ = context.pool.run(pack, "decoder", {name: latents.astype(np.float32)}, context.cancel)
        except PREVIEW_ERRORS:
            context.cancel.raise_if_cancelled()
            return fallback(latents)  # a preview is never worth failing the job for
        return to_uint8(outputs[0])

    return decode


def make_pipeline(folder: Path, models: PoolModels) -> Any:
    """The pipeline for the folder's model family (SD 1.x/2.x or SDXL), as the diffusion factory reads it."""
    return pipeline_for(folder, models)


def native_size(pipeline: Any, folder: Path) -> tuple[int, int]:
    """The size the pack's UNet was trained at: the pipeline's own word, else unet/config.json's
    sample_size in pixels, else SD 1.x's 512 x 512."""
    size = getattr(pipeline, "native_size", None)
    if isinstance(size, tuple) and len(size) == 2 and all(isinstance(v, int) and v > 0 for v in size):
        return size
    sample = read_json(folder / "unet" / "config.json").get("sample_size")
    scale = int(getattr(pipeline, "vae_scale", 8))
    if isinstance(sample, int) and not isinstance(sample, bool) and sample > 0:
        return sample * scale, sample * scale
    if isinstance(sample, list) and len(sample) == 2 and all(isinstance(v, int) and v > 0 for v in sample):
        return sample[1] * scale, sample[0] * scale
    return 512, 512


@dataclass
class OpenPipeline:
    pack: Pack
    models: PoolModels
    pipeline: Any
    device: DeviceInfo
    native: tuple[int, int]
    not_loaded: int  # bytes the roles not yet loaded will take


def open_pipeline(context: TaskContext, pack_id: str) -> Generator[Progress, None, OpenPipeline]:
    """The pack's pipeline over the shared SessionPool (the previous pack's sessions are freed first)."""
    pack = resolve_pack(context, pack_id)
    previous = _last_pack.get(context.pool)
    if previous and previous != pack.id:
        context.pool.unload_pack(previous)  # a pipeline is gigabytes: free the old one first
    _last_pack[context.pool] = pack.id
    yield Progress(0, 1, f"Loading {pack.name}")
    models = PoolModels(context, pack)
    pipeline = make_pipeline(pack.folder, models)
    device = context.pool.session(pack, "unet").device  # loads (and verifies) the UNet
    loaded = {s.key[1] for s in context.pool.loaded() if s.key[0] == pack.id}
    not_loaded = unloaded_bytes(pack, set(pack.components) - loaded)
    return OpenPipeline(pack, models, pipeline, device, native_size(pipeline, pack.folder), not_loaded)


def second_control_role(pack: Pack, name: str) -> str:
    """The pack folder's controlnet_<name>/ for a second control input (see LAYOUT_SECOND_CONTROL)."""
    extra = sorted(role for role in pack.components if role.startswith(SECOND_CONTROL_PREFIX))
    if name:
        role = SECOND_CONTROL_PREFIX + name
        if role in extra:
            return role
    elif len(extra) == 1:
        return extra[0]
    have = ", ".join(role + "/" for role in extra) or "none"
    raise PackError(
        f"Pack '{pack.name}' has no {SECOND_CONTROL_PREFIX}{name or '<name>'}/ folder for a second control input "
        f"(it has: {have}).",
        f"Add a second ControlNet as {LAYOUT_SECOND_CONTROL}, or leave the second control input empty.",
    )


def _control_pixels(control: np.ndarray) -> np.ndarray:
    """A control picture (grey, RGB or RGBA) as HxWx3 uint8 on white, as the pipeline reads the first one."""
    if control.ndim == 2:
        return np.repeat(control[..., None], 3, axis=2)
    return rgb_on_white(control)


@dataclass(frozen=True)
class Frame:
    """What one generation covers: the whole output, or for inpaint the mask's box plus padding; the
    pictures mapped into the generation size with their aspect kept (padded, never stretched)."""

    size: tuple[int, int]  # the frame's size in output pixels
    generation: tuple[int, int]
    box: tuple[int, int, int, int] | None  # (left, top, right, bottom) in the output, for inpaint
    image: np.ndarray | None
    control: np.ndarray | None
    second_control: np.ndarray | None
    mask: np.ndarray | None

    def to_output(self, generated: np.ndarray) -> np.ndarray:
        return ContainBox.of(self.size, self.generation).from_target(generated)


def inpaint_feather(canvas: tuple[int, ...]) -> int:
    """The feather (output pixels) of a pasted inpaint: soft enough to hide the edge, small on small canvases."""
    return max(2, min(16, min(canvas) // 32))


def plan_frame(request: SketchRequest, native: tuple[int, int]) -> Frame:
    """Where and at which size to generate (see Frame)."""
    out = request.output_size()
    box = None
    image, mask, control, second = request.image, request.mask, request.control, request.second_control
    if mask is not None and image is not None:
        feather = inpaint_feather((mask.shape[1], mask.shape[0]))
        # Padding gives the model the surroundings to match, and the feather room inside the box.
        padding = max(3 * feather, 32)
        box = mask_box(mask, padding)
        if box is None:
            raise InvalidRequestError("The inpaint mask is empty: paint the region to regenerate first.")
        left, top, right, bottom = box
        crop = (slice(top, bottom), slice(left, right))
        # Control maps drawn on the same canvas are cut to the same box.
        if control is not None and control.shape[:2] == mask.shape[:2]:
            control = control[crop]
        if second is not None and second.shape[:2] == mask.shape[:2]:
            second = second[crop]
        image, mask = image[crop], mask[crop]
        out = (right - left, bottom - top)
    area = request.width * request.height if request.width else native[0] * native[1]
    if out is None:
        generation = (request.width, request.height) if request.width else native
        out = generation
    elif request.width and box is None:
        generation = (request.width, request.height)
    else:
        generation = size_near_area(out[0], out[1], area, 64, MAX_SIDE)

    def mapped(picture: np.ndarray | None, resample: Image.Resampling = Image.Resampling.LANCZOS) -> np.ndarray | None:
        if picture is None:
            return None
        return ContainBox.of((picture.shape[1], picture.shape[0]), generation).to_target(picture, resample)

    return Frame(
        size=out,
        generation=generation,
        box=box,
        image=mapped(image if image is None else rgb_on_white(image)),
        control=mapped(control if control is None else _control_pixels(control)),
        second_control=mapped(second if second is None else _control_pixels(second)),
        mask=mapped(mask, Image.Resampling.NEAREST),
    )


DETAIL_THRESHOLD = 1.5  # results over 1.5x the generation's side get the tiled detail pass, smaller ones Lanczos
DETAIL_STRENGTH = 0.3


def detail_steps(steps: int, strength: float) -> int:
    return max(1, min(int(steps * strength), steps))


def needs_detail(request: SketchRequest, frame: Frame) -> bool:
    scale = max(frame.size[0] / frame.generation[0], frame.size[1] / frame.generation[1])
    return request.detail_upscale and scale >= DETAIL_THRESHOLD


@task(SketchRequest)
def run_sketch(request: SketchRequest, context: TaskContext) -> TaskGenerator:
    opened = yield from open_pipeline(context, request.pack_id)
    pack, models, pipeline = opened.pack, opened.models, opened.pipeline
    preview = preview_decoder(context, pipeline)
    frame = plan_frame(request, opened.native)
    on_cpu = opened.device.provider == "CPUExecutionProvider"
    check_fits(request, on_cpu, opened.not_loaded, frame.generation, getattr(pipeline, "attention_scale", 8))
    if request.control is not None and not models.has("controlnet"):
        raise PackError(f"Pack '{pack.name}' has no controlnet/ folder; use image to image instead.")
    models.second_control = None
    if request.second_control is not None:
        assert frame.second_control is not None
        role = second_control_role(pack, request.second_control_name)
        models.second_control = (role, frame.second_control, request.second_control_scale)
    # Image to image skips the first (1 - strength) of the schedule, as diffusers does.
    steps_per_image = detail_steps(request.steps, request.strength) if request.image is not None else request.steps
    detail = needs_detail(request, frame)
    tiles = 0
    if detail:
        tile = max(opened.native)
        upscaled_size = frame.size
        tiles = len(tile_starts(upscaled_size[0], tile, TILE_OVERLAP)) * len(
            tile_starts(upscaled_size[1], tile, TILE_OVERLAP)
        )
    per_tile = detail_steps(request.steps, DETAIL_STRENGTH)
    per_image = steps_per_image + tiles * per_tile
    total = max(1, per_image) * request.count
    images, seeds = [], []
    width, height = frame.generation
    for number in range(request.count):
        seed = (request.seed + number) % 2**32
        generator = pipeline.generate(
            request.prompt, request.negative, width, height, request.steps, request.guidance,
            numpy_noise(seed), request.scheduler, frame.image, request.strength if request.image is not None
            else 1.0, frame.control, request.control_scale, frame.mask,
        )  # fmt: skip
        base = number * max(1, per_image)
        while True:
            try:
                step = next(generator)
            except StopIteration as stop:
                generated = stop.value
                break
            message = f"Image {number + 1}/{request.count}, step {step.index}/{step.total}"
            yield Progress(base + step.index, total, message, preview=preview(step.latents))
        picture = frame.to_output(generated)
        if detail:
            start = base + steps_per_image

            def report(index: int, step: int, start: int = start, number: int = number) -> Progress:
                return Progress(start + index * per_tile + step, total,
                                f"Image {number + 1}/{request.count}: detail, tile {index + 1}/{tiles}")  # fmt: skip

            def redraw(tile_pixels: np.ndarray, index: int, seed: int = seed) -> Generator[Progress, None, np.ndarray]:
                return redraw_tile(
                    pipeline, tile_pixels, index, request.prompt, request.negative, request.steps,
                    request.guidance, DETAIL_STRENGTH, seed, request.scheduler, max(opened.native), report,
                )  # fmt: skip

            picture = yield from blend_tiles(picture, max(opened.native), TILE_OVERLAP, redraw)
        if frame.box is not None:
            assert request.image is not None and request.mask is not None
            left, top, right, bottom = frame.box
            weight = feather_weight(request.mask[top:bottom, left:right], inpaint_feather(request.mask.shape[1::-1]))
            picture = paste_feathered(rgb_on_white(request.image), picture, weight, frame.box)
        images.append(picture)
        seeds.append(seed)
    scheduler = request.scheduler or CLASS_NAMES.get(str(pipeline.scheduler_config.get("_class_name")), "euler")
    device_info = models.device or opened.device
    out_height, out_width = images[0].shape[:2]
    parameters: dict[str, Any] = {
        "prompt": request.prompt,
        "negative": request.negative,
        "seed": request.seed,
        "seeds": seeds,
        "steps": request.steps,
        "scheduler": scheduler,
        "guidance": request.guidance,
        "strength": request.strength,
        "mode": request.mode + ("+controlnet" if request.control is not None else ""),
        "width": width,
        "height": height,
        "output_width": out_width,
        "output_height": out_height,
        "pack_id": pack.id,
        "pack_name": pack.name,
        "licence": pack.licence,
        "device": device_info.provider,
        "app_version": atelier.__version__,
        "pack": pack_record(pack),  # name, version, licence and the main model's hash: never a folder path
        "date": now_iso(),
    }
    # What the model worked from, by hash (the pictures stay the artist's; the record can be checked).
    sources = [("image", request.image), ("control", request.control), ("mask", request.mask)]
    parameters["sources"] = [source_record(role, image=array) for role, array in sources if array is not None]
    if request.control is not None:
        parameters["control_scale"] = request.control_scale
    if models.second_control is not None:
        parameters["second_control"] = {"controlnet": models.second_control[0], "scale": request.second_control_scale}
    if frame.box is not None:
        parameters["inpaint_box"] = list(frame.box)
    if detail:
        parameters["upscale"] = {
            "method": "lanczos+tiled img2img",
            "from": [width, height],
            "to": [out_width, out_height],
            "tile": max(opened.native),
            "overlap": TILE_OVERLAP,
            "strength": DETAIL_STRENGTH,
            "steps": detail_steps(request.steps, DETAIL_STRENGTH),
        }
    models.second_control = None
    return SketchResult(images=tuple(images), seeds=tuple(seeds), parameters=parameters, device=device_info)


TILE_OVERLAP = 64


def redraw_tile(
    pipeline: Any,
    tile: np.ndarray,
    index: int,
    prompt: str,
    negative: str,
    steps: int,
    guidance: float,
    strength: float,
    seed: int,
    scheduler: str,
    side: int,
    report: Callable[[int, int], Progress],
) -> Generator[Progress, None, np.ndarray]:
    """One tile of a detail pass: img2img at low strength on the tile, at a size the UNet takes (the
    tile's own, rounded up to multiples of 64, and back), with noise from the seed and the tile's place."""
    height, width = tile.shape[:2]
    # img2img runs int(steps * strength) steps: at least one, however few steps a low strength was given.
    steps = max(steps, math.ceil(1 / strength - 1e-9))
    size = (min(side, -(-width // 64) * 64), min(side, -(-height // 64) * 64))
    source = resize(tile, size)
    generator = pipeline.generate(
        prompt, negative, size[0], size[1], steps, guidance, numpy_noise((seed + 7919 * (index + 1)) % 2**32),
        scheduler, source, strength,
    )  # fmt: skip
    while True:
        try:
            step = next(generator)
        except StopIteration as stop:
            redrawn: np.ndarray = stop.value
            break
        yield report(index, step.index)  # also a cancel point at every step
    return resize(redrawn, (width, height))


@smoke_test(KIND)
def diffusion_smoke(engine: Engine, pack: Pack) -> str:
    """`atelier doctor`: one 64x64 step through every component, which is all a pipeline needs to prove."""
    result = engine.run_to_end(SketchRequest(prompt="a test", pack_id=pack.id, width=64, height=64, steps=1,
                                             guidance=1.0, origin="doctor"))  # fmt: skip
    return result.device.provider
