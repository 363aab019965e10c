"""Tiny random-weight Stable Diffusion XL pipelines built locally with diffusers (no download), exported to ONNX.

Two CLIP text encoders (the second with a projection: SDXL's pooled `text_embeds`), a UNet with
`addition_embed_type="text_time"` and SDXL's VAE scaling factor. Exports are cached under cache_dir()
keyed by a hash of this file, the exporter's sources and the settings.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path
from typing import Any

from tests.diffusion_builders import write_tiny_clip_tokenizer

BUILDER_VERSION = "1"
PROJECTION = 16  # text_encoder_2's projection_dim: the pooled embedding's width
TIME_EMBED = 8  # addition_time_embed_dim


def _tokenizer(pad: str | None) -> Any:
    from transformers import CLIPTokenizer

    folder = Path(tempfile.mkdtemp(prefix="tiny-clip-"))
    write_tiny_clip_tokenizer(folder)
    extra = {"pad_token": pad} if pad else {}
    tokenizer = CLIPTokenizer.from_pretrained(str(folder), model_max_length=77, **extra)
    shutil.rmtree(folder)
    return tokenizer


def tiny_sdxl_pipeline(
    scheduler: str = "euler", seed: int = 0, inpaint: bool = False, controlnet: bool = False, size: str = "tiny"
) -> tuple[Any, Any]:
    """(diffusers StableDiffusionXLPipeline, ControlNetModel or None) with random weights.

    `size="small"`: SDXL's block types and transformer depths, narrower (the CPU bench); `size="full"`:
    SDXL 1.0's configurations with random weights (the GPU bench).
    """
    import torch
    from diffusers import (
        AutoencoderKL,
        ControlNetModel,
        EulerAncestralDiscreteScheduler,
        EulerDiscreteScheduler,
        StableDiffusionXLPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    torch.manual_seed(seed)
    tokenizer = _tokenizer(None)
    tokenizer_2 = _tokenizer("!")  # SDXL's second tokenizer pads with "!", not the end token

    def text_config(tok: Any, hidden: int, layers: int, heads: int = 2, projection: int = PROJECTION,
                    act: str = "gelu") -> CLIPTextConfig:  # fmt: skip
        return CLIPTextConfig(
            vocab_size=len(tok),
            hidden_size=hidden,
            intermediate_size=hidden * 4 if size == "full" else hidden * 2,
            num_attention_heads=heads,
            num_hidden_layers=layers,
            max_position_embeddings=77,
            projection_dim=projection,
            hidden_act=act,
            bos_token_id=tok.bos_token_id,
            eos_token_id=tok.eos_token_id,
            pad_token_id=tok.pad_token_id,
        )

    time_embed = TIME_EMBED
    vae_layers = 1
    if size == "tiny":
        # Different widths, as in SDXL (768 and 1280): diffusers' single-file loader tells the two
        # encoders apart by their width.
        config_1, config_2 = text_config(tokenizer, 16, 3), text_config(tokenizer_2, 24, 3)
        unet_args: dict[str, Any] = dict(
            block_out_channels=(16, 32),
            layers_per_block=1,
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
            transformer_layers_per_block=(1, 2),
            attention_head_dim=(2, 4),
            norm_num_groups=8,
            sample_size=8,
        )
        vae_channels: tuple[int, ...] = (8, 8, 8, 8)
        vae_groups = 4
    elif size == "small":  # SDXL's layout (no attention at full resolution, deeper transformers lower down)
        config_1 = text_config(tokenizer, 256, 4, heads=4, projection=256)
        config_2 = text_config(tokenizer_2, 512, 4, heads=8, projection=512)
        unet_args = dict(
            block_out_channels=(128, 256, 512),
            layers_per_block=2,
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
            transformer_layers_per_block=(1, 2, 4),
            attention_head_dim=(4, 8, 16),
            norm_num_groups=32,
            sample_size=32,
        )
        vae_channels, vae_groups = (64, 128, 256, 256), 32
    else:  # SDXL 1.0's own configurations (CLIP ViT-L and OpenCLIP bigG; 2.6 B UNet parameters)
        config_1 = text_config(tokenizer, 768, 12, heads=12, projection=768, act="quick_gelu")
        config_2 = text_config(tokenizer_2, 1280, 32, heads=20, projection=1280)
        unet_args = dict(
            block_out_channels=(320, 640, 1280),
            layers_per_block=2,
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
            transformer_layers_per_block=(1, 2, 10),
            attention_head_dim=(5, 10, 20),
            norm_num_groups=32,
            sample_size=128,
        )
        vae_channels, vae_groups, vae_layers, time_embed = (128, 256, 512, 512), 32, 2, 256
    text_encoder = CLIPTextModel(config_1)
    text_encoder_2 = CLIPTextModelWithProjection(config_2)
    unet = UNet2DConditionModel(
        **unet_args,
        in_channels=9 if inpaint else 4,
        out_channels=4,
        cross_attention_dim=config_1.hidden_size + config_2.hidden_size,
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=time_embed,
        projection_class_embeddings_input_dim=6 * time_embed + config_2.projection_dim,
    )
    vae = AutoencoderKL(
        block_out_channels=vae_channels,
        in_channels=3,
        out_channels=3,
        latent_channels=4,
        norm_num_groups=vae_groups,
        layers_per_block=vae_layers,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        sample_size=1024 if size == "full" else 64,
        scaling_factor=0.13025,
        force_upcast=True,
    )
    base = {
        "beta_start": 0.00085,
        "beta_end": 0.012,
        "beta_schedule": "scaled_linear",
        "steps_offset": 1,
        "timestep_spacing": "leading",
        "interpolation_type": "linear",
    }
    classes = {"euler": EulerDiscreteScheduler, "euler_a": EulerAncestralDiscreteScheduler}
    pipe = StableDiffusionXLPipeline(
        vae=vae,
        text_encoder=text_encoder,
        text_encoder_2=text_encoder_2,
        tokenizer=tokenizer,
        tokenizer_2=tokenizer_2,
        unet=unet,
        scheduler=classes[scheduler].from_config(base),
        add_watermarker=False,
    )
    pipe.set_progress_bar_config(disable=True)
    net = None
    if controlnet:
        net = ControlNetModel.from_unet(unet, conditioning_embedding_out_channels=(8, 8, 8, 8))
        torch.nn.init.normal_(net.controlnet_cond_embedding.conv_out.weight, std=0.05)  # zero-init otherwise
        for block in [*net.controlnet_down_blocks, net.controlnet_mid_block]:
            torch.nn.init.normal_(block.weight, std=0.05)
    return pipe, net


def tiny_sdxl_folder(
    convention: str = "atelier",
    scheduler: str = "euler",
    inpaint: bool = False,
    controlnet: bool = False,
    fp16: bool = False,
) -> tuple[Path, Any, Any]:
    """(ONNX folder, the diffusers pipeline, controlnet) for the tiny SDXL model, cached on disk."""
    import torch

    from atelier.core.settings import cache_dir
    from atelier_build.diffusion.export import exporter_fingerprint
    from atelier_build.diffusion.export_sdxl import export_sdxl_pipeline

    torch.set_num_threads(1)
    pipe, net = tiny_sdxl_pipeline(scheduler, inpaint=inpaint, controlnet=controlnet)
    key = hashlib.sha256(
        Path(__file__).read_bytes()
        + exporter_fingerprint()
        + f"{BUILDER_VERSION}|{convention}|{inpaint}|{controlnet}|{fp16}".encode()
        + torch.__version__.encode()
    ).hexdigest()[:20]
    folder = cache_dir() / "tiny-sdxl" / key
    if not (folder / "done").exists():
        if folder.exists():
            shutil.rmtree(folder)
        export_sdxl_pipeline(pipe, folder, convention, fp16=fp16, controlnet=net)
        (folder / "done").write_text("ok")
    # The weights do not depend on the scheduler (same seed), so one export serves every scheduler.
    pipe.scheduler.save_config(str(folder / "scheduler"))
    return folder, pipe, net


def original_sdxl_checkpoint(pipe: Any) -> dict[str, Any]:
    """The pipeline's weights as one original-layout (Stability's "single file") SDXL state dict.

    The inverse of diffusers' single-file conversion: UNet and VAE as for SD 1.x plus the UNet's
    `label_emb` (the text_time embedding), CLIP ViT-L under conditioner.embedders.0.transformer and
    the OpenCLIP encoder under conditioner.embedders.1.model (q, k, v joined into in_proj).
    """
    from diffusers.loaders.single_file_utils import DIFFUSERS_TO_LDM_MAPPING

    from tests.diffusion_builders import _unet_key_to_ldm, _vae_key_to_ldm

    config = pipe.unet.config
    up_attention = {i for i, kind in enumerate(config.up_block_types) if "CrossAttn" in kind}
    state: dict[str, Any] = {}
    for key, value in pipe.unet.state_dict().items():
        if key.startswith("add_embedding.linear_"):
            ldm = f"label_emb.0.{0 if '_1.' in key else 2}.{key.rsplit('.', 1)[1]}"
        else:
            ldm = _unet_key_to_ldm(key, config.layers_per_block, up_attention)
        state["model.diffusion_model." + ldm] = value.contiguous()
    up_blocks = len(pipe.vae.config.up_block_types)
    for key, value in pipe.vae.state_dict().items():
        state["first_stage_model." + _vae_key_to_ldm(key, up_blocks)] = value.contiguous()
    for key, value in pipe.text_encoder.state_dict().items():
        name = key if key.startswith("text_model.") else "text_model." + key
        state["conditioner.embedders.0.transformer." + name] = value.contiguous()
    prefix = "conditioner.embedders.1.model."
    layers = {v: k for k, v in DIFFUSERS_TO_LDM_MAPPING["openclip"]["layers"].items()}
    inverse = {diffusers: ldm for ldm, diffusers in layers.items()}
    fragments = [(new, old) for new, old in DIFFUSERS_TO_LDM_MAPPING["openclip"]["transformer"].items()
                 if not new.startswith("transformer.")]  # fmt: skip
    weights = {k if k.startswith(("text_model.", "text_projection")) else "text_model." + k: v
               for k, v in pipe.text_encoder_2.state_dict().items()}  # fmt: skip
    joined: dict[str, dict[str, Any]] = {}
    for key, value in weights.items():
        if key in inverse:
            state[prefix + inverse[key]] = value.T.contiguous() if key == "text_projection.weight" else value
            continue
        if not key.startswith("text_model.encoder.layers."):
            continue  # position_ids and other buffers
        ldm = key
        for new, old in fragments:
            ldm = ldm.replace(new, old)
        for part in ("q_proj", "k_proj", "v_proj"):
            if f".{part}." in ldm:
                base, kind = ldm.split(f".{part}.")
                joined.setdefault(f"{base}.in_proj_{kind}", {})[part] = value
                break
        else:
            state[prefix + "transformer." + ldm] = value.contiguous()
    for name, parts in joined.items():
        state[prefix + "transformer." + name] = torch_cat([parts["q_proj"], parts["k_proj"], parts["v_proj"]])
    return state


def torch_cat(values: list[Any]) -> Any:
    import torch

    return torch.cat(values, 0).contiguous()
