"""Which pipeline class runs a diffusion folder (SD 1.x/2.x or SDXL), read from the folder's contents."""

from __future__ import annotations

from pathlib import Path

from atelier.engine.diffusion.pipeline import REQUIRED, ModelRunner, StableDiffusionPipeline, read_json
from atelier.engine.diffusion.sdxl import SDXL_REQUIRED, SDXL_ROLES, StableDiffusionXLPipeline

# Every component role of either family, and the folders a pack's files may live in.
ALL_ROLES = SDXL_ROLES
PACK_FOLDERS = (*ALL_ROLES, "tokenizer", "tokenizer_2", "scheduler")
LAYOUT = (
    "text_encoder/model.onnx, unet/model.onnx, vae_decoder/model.onnx, tokenizer/, scheduler/ "
    "(SDXL: also text_encoder_2/model.onnx and tokenizer_2/)"
)


def is_sdxl_folder(folder: Path) -> bool:
    """SDXL has a second text encoder; a UNet config with text_time embeddings says so too."""
    if (folder / "text_encoder_2" / "model.onnx").is_file():
        return True
    return read_json(folder / "unet" / "config.json").get("addition_embed_type") == "text_time"


def missing_parts(folder: Path) -> list[str]:
    """What a folder lacks to run as its family (empty: it can run)."""
    if is_sdxl_folder(folder):
        missing = [f"{role}/model.onnx" for role in SDXL_REQUIRED if not (folder / role / "model.onnx").is_file()]
        if not (folder / "tokenizer_2").is_dir():
            missing.append("tokenizer_2/")
        if (folder / "text_encoder" / "model.onnx").is_file() and not (folder / "tokenizer").is_dir():
            missing.append("tokenizer/")
        return missing
    missing = [f"{role}/model.onnx" for role in REQUIRED if not (folder / role / "model.onnx").is_file()]
    return missing + ([] if (folder / "tokenizer").is_dir() else ["tokenizer/"])


def pipeline_for(folder: Path, models: ModelRunner) -> StableDiffusionPipeline:
    """The pipeline for this folder: SDXL when it has a second text encoder, else SD 1.x/2.x.

    Both have the same `generate()` generator and a `native_size` (width, height) attribute.
    """
    if is_sdxl_folder(folder) or models.has("text_encoder_2"):
        return StableDiffusionXLPipeline(folder, models)
    return StableDiffusionPipeline(folder, models)
