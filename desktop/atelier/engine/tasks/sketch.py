"""Images from a sketch with a Stable-Diffusion-family ONNX pack (kind `diffusion`) or a plain ONNX folder."""

from __future__ import annotations

import hashlib
import os
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

import atelier
from atelier.core.errors import AtelierError, OutOfMemoryError, PackError, PackNotFoundError
from atelier.core.progress import Progress
from atelier.core.requests import DeviceInfo
from atelier.core.requests.sketch import SketchRequest, SketchResult
from atelier.engine.diffusion.pipeline import (
    REQUIRED,
    ROLES,
    StableDiffusionPipeline,
    TensorSpec,
    latent_preview,
    numpy_noise,
    to_uint8,
)
from atelier.engine.diffusion.schedulers import CLASS_NAMES
from atelier.engine.doctor import smoke_test
from atelier.engine.packs import MANIFEST_NAMES, HashCache, Pack, PackFile, read_manifest
from atelier.engine.providers import ORT_ERRORS
from atelier.engine.runner import Engine, TaskContext, TaskGenerator, task
from atelier.engine.sessions import SessionPool

KIND = "diffusion"
LAYOUT = "text_encoder/model.onnx, unet/model.onnx, vae_decoder/model.onnx, tokenizer/, scheduler/"
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
    missing = [role for role in REQUIRED if not (folder / role / "model.onnx").is_file()]
    if missing or not (folder / "tokenizer").is_dir():
        raise PackError(
            f"{folder} is not a Stable Diffusion ONNX folder "
            f"(missing: {', '.join(missing) or 'tokenizer/'}). "
            f"Expected: {LAYOUT}."
        )
    cache = HashCache()
    files = []
    try:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            relative = path.relative_to(folder).as_posix()
            if relative.split("/")[0] in (*ROLES, "tokenizer", "scheduler"):
                files.append(PackFile(relative, cache.sha256(path), path.stat().st_size))
    finally:
        cache.flush()
    components = {role: f"{role}/model.onnx" for role in ROLES if (folder / role / "model.onnx").is_file()}
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
        return outputs


def available_memory_bytes() -> int | None:
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def estimated_bytes(width: int, height: int, guided: bool, weights: int = 0) -> int:
    """A rough peak: the weights not yet loaded, plus SD's self-attention matrix at 1/8 resolution
    (8 heads, float32), which dominates at large sizes, plus a working margin."""
    tokens = (width // 8) * (height // 8)
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


def check_fits(request: SketchRequest, on_cpu: bool, weights: int = 0) -> None:
    free = available_memory_bytes()
    if not on_cpu or free is None:
        return
    guided = request.guidance > 1.0
    if estimated_bytes(request.width, request.height, guided, weights) <= free:
        return
    side = max(64, min(request.width, request.height))
    while side > 64 and estimated_bytes(side, side, guided, weights) > free:
        side -= 64
    raise OutOfMemoryError(
        f"{request.width}x{request.height} needs more memory than is free "
        f"({free / 2**30:.1f} GB); {side}x{side} should fit.",
        "Choose a smaller size, or close other programs.",
    )


PREVIEW_ERRORS: tuple[type[BaseException], ...] = (AtelierError, *ORT_ERRORS)


def preview_decoder(context: TaskContext) -> Callable[[np.ndarray], np.ndarray]:
    """Latents -> preview: TAESD (a tiny decoder) when a `taesd` pack is installed, else a linear map."""
    packs = context.catalog.of_kind("taesd")
    if not packs:
        return latent_preview
    pack = packs[0]

    def decode(latents: np.ndarray) -> np.ndarray:
        try:
            name = context.pool.session(pack, "decoder").session.get_inputs()[0].name
            outputs, _ = context.pool.run(pack, "decoder", {name: latents.astype(np.float32)}, context.cancel)
        except PREVIEW_ERRORS:
            context.cancel.raise_if_cancelled()
            return latent_preview(latents)  # a preview is never worth failing the job for
        return to_uint8(outputs[0])

    return decode


@task(SketchRequest)
def run_sketch(request: SketchRequest, context: TaskContext) -> TaskGenerator:
    pack = resolve_pack(context, request.pack_id)
    previous = _last_pack.get(context.pool)
    if previous and previous != pack.id:
        context.pool.unload_pack(previous)  # a pipeline is gigabytes: free the old one first
    _last_pack[context.pool] = pack.id
    yield Progress(0, 1, f"Loading {pack.name}")
    models = PoolModels(context, pack)
    pipeline = StableDiffusionPipeline(pack.folder, models)
    preview = preview_decoder(context)
    device = context.pool.session(pack, "unet").device  # loads (and verifies) the UNet
    loaded = {s.key[1] for s in context.pool.loaded() if s.key[0] == pack.id}
    not_loaded = unloaded_bytes(pack, set(ROLES) - loaded)
    check_fits(request, device.provider == "CPUExecutionProvider", not_loaded)
    if request.control is not None and not models.has("controlnet"):
        raise PackError(f"Pack '{pack.name}' has no controlnet/ folder; use image to image instead.")
    # Image to image skips the first (1 - strength) of the schedule, as diffusers does.
    steps_per_image = (
        min(int(request.steps * request.strength), request.steps) if request.image is not None else request.steps
    )
    total = max(1, steps_per_image) * request.count
    images, seeds = [], []
    for number in range(request.count):
        seed = (request.seed + number) % 2**32
        generator = pipeline.generate(
            request.prompt, request.negative, request.width, request.height, request.steps, request.guidance,
            numpy_noise(seed), request.scheduler, request.image, request.strength if request.image is not None
            else 1.0, request.control, request.control_scale, request.mask,
        )  # fmt: skip
        while True:
            try:
                step = next(generator)
            except StopIteration as stop:
                images.append(stop.value)
                break
            done = number * max(1, steps_per_image) + step.index
            yield Progress(done, total, f"Image {number + 1}/{request.count}, step {step.index}/{step.total}",
                           preview=preview(step.latents))  # fmt: skip
        seeds.append(seed)
    scheduler = request.scheduler or CLASS_NAMES.get(str(pipeline.scheduler_config.get("_class_name")), "euler")
    device_info = models.device or device
    parameters = {
        "prompt": request.prompt,
        "negative": request.negative,
        "seed": request.seed,
        "seeds": seeds,
        "steps": request.steps,
        "scheduler": scheduler,
        "guidance": request.guidance,
        "strength": request.strength,
        "mode": request.mode + ("+controlnet" if request.control is not None else ""),
        "width": request.width,
        "height": request.height,
        "pack_id": pack.id,
        "pack_name": pack.name,
        "licence": pack.licence,
        "device": device_info.provider,
        "app_version": atelier.__version__,
    }
    return SketchResult(images=tuple(images), seeds=tuple(seeds), parameters=parameters, device=device_info)


@smoke_test(KIND)
def diffusion_smoke(engine: Engine, pack: Pack) -> str:
    """`atelier doctor`: one 64x64 step through every component, which is all a pipeline needs to prove."""
    result = engine.run_to_end(SketchRequest(prompt="a test", pack_id=pack.id, width=64, height=64, steps=1,
                                             guidance=1.0, origin="doctor"))  # fmt: skip
    return result.device.provider
