"""Tiny random-weight Stable Diffusion pipelines built locally with diffusers (no download), exported to ONNX.

Exports are cached under cache_dir() keyed by a hash of this file and the settings, so the suite only
pays for torch.onnx.export once per machine.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

BUILDER_VERSION = "3"


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP byte -> printable character table (the base alphabet of a byte-level BPE)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs], strict=True))


def write_tiny_clip_tokenizer(folder: Path) -> None:
    """vocab.json + merges.txt for a small but real CLIP BPE: every byte, a few merges, the specials."""
    folder.mkdir(parents=True, exist_ok=True)
    alphabet = list(bytes_to_unicode().values())
    merges = [
        ("l", "o"),
        ("lo", "w</w>"),
        ("h", "o"),
        ("c", "a"),
        ("ca", "t</w>"),
        ("s", "k"),
        ("e", "t"),
        ("sk", "et"),
        ("d", "o"),
        ("do", "g</w>"),
        ("t", "h"),
        ("th", "e</w>"),
    ]
    tokens = alphabet + [c + "</w>" for c in alphabet] + ["".join(m) for m in merges]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    vocab = {token: index for index, token in enumerate(dict.fromkeys(tokens))}
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (folder / "merges.txt").write_text(
        "#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n", encoding="utf-8"
    )


def tiny_pipeline(
    controlnet: bool = False,
    scheduler: str = "euler",
    seed: int = 0,
    lcm_distilled: bool = False,
    inpaint: bool = False,
    wide: bool = False,
) -> tuple[Any, Any]:
    """(diffusers pipeline, controlnet or None) with tiny random weights; SD-like shapes, VAE factor 8.

    `wide`: 64 channels in the UNet and VAE, enough for the export's Winograd rewrite to take their
    3x3 convolutions (the narrow default keeps the other tests fast).
    """
    import tempfile

    import torch
    from diffusers import (
        AutoencoderKL,
        ControlNetModel,
        DDIMScheduler,
        EulerAncestralDiscreteScheduler,
        EulerDiscreteScheduler,
        LCMScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(seed)
    unet_args: dict[str, Any] = dict(
        block_out_channels=(64, 64) if wide else (16, 32),
        layers_per_block=1,
        sample_size=8,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=16,
        norm_num_groups=8,
        attention_head_dim=4,
    )
    if lcm_distilled:  # the guidance scale enters as an embedding (LCM-Dreamshaper style)
        unet_args["time_cond_proj_dim"] = 8
    if inpaint:  # latents + mask + masked-image latents
        unet_args["in_channels"] = 9
    unet = UNet2DConditionModel(**unet_args)
    vae = AutoencoderKL(
        block_out_channels=(64,) * 4 if wide else (8, 8, 8, 8),
        in_channels=3,
        out_channels=3,
        latent_channels=4,
        norm_num_groups=4,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        sample_size=64,
    )
    folder = Path(tempfile.mkdtemp(prefix="tiny-clip-"))
    write_tiny_clip_tokenizer(folder)
    tokenizer = CLIPTokenizer.from_pretrained(str(folder), model_max_length=77)
    shutil.rmtree(folder)
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=len(tokenizer),
            hidden_size=16,
            intermediate_size=24,
            num_attention_heads=2,
            num_hidden_layers=2,
            max_position_embeddings=77,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )
    )
    base = {
        "beta_start": 0.00085,
        "beta_end": 0.012,
        "beta_schedule": "scaled_linear",
        "steps_offset": 1,
        "timestep_spacing": "leading",
        "set_alpha_to_one": False,
        "clip_sample": False,
    }
    classes = {
        "euler": EulerDiscreteScheduler,
        "euler_a": EulerAncestralDiscreteScheduler,
        "ddim": DDIMScheduler,
        "lcm": LCMScheduler,
    }
    sched = classes[scheduler].from_config(base)
    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=sched,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    net = None
    if controlnet:
        net = ControlNetModel(
            block_out_channels=(16, 32),
            layers_per_block=1,
            in_channels=4,
            norm_num_groups=8,
            attention_head_dim=4,
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
            cross_attention_dim=16,
            conditioning_embedding_out_channels=(8, 8, 8, 8),
        )
        torch.nn.init.normal_(net.controlnet_cond_embedding.conv_out.weight, std=0.05)  # zero-init otherwise
        for block in [*net.controlnet_down_blocks, net.controlnet_mid_block]:
            torch.nn.init.normal_(block.weight, std=0.05)
    pipe.set_progress_bar_config(disable=True)
    return pipe, net


def tiny_onnx_folder(
    convention: str = "optimum",
    controlnet: bool = False,
    scheduler: str = "euler",
    lcm_distilled: bool = False,
    inpaint: bool = False,
    wide: bool = False,
) -> tuple[Path, Any, Any]:
    """(folder in the ONNX layout, the diffusers pipeline, controlnet) for the tiny model, cached on disk."""
    import torch

    from atelier.core.settings import cache_dir
    from atelier_build.diffusion.export import export_pipeline, exporter_fingerprint

    torch.set_num_threads(1)
    pipe, net = tiny_pipeline(controlnet, scheduler, lcm_distilled=lcm_distilled, inpaint=inpaint, wide=wide)
    key = hashlib.sha256(
        Path(__file__).read_bytes()
        + exporter_fingerprint()
        + f"{BUILDER_VERSION}|{convention}|{controlnet}|{lcm_distilled}|{inpaint}|{wide}".encode()
        + torch.__version__.encode()
    ).hexdigest()[:20]
    folder = cache_dir() / "tiny-sd" / key
    if not (folder / "done").exists():
        if folder.exists():
            shutil.rmtree(folder)
        export_pipeline(pipe, folder, convention, controlnet=net)
        if convention == "legacy":  # older exports ship vocab.json + merges.txt: exercise the conversion
            (folder / "tokenizer" / "tokenizer.json").unlink()
            write_tiny_clip_tokenizer(folder / "tokenizer")
        (folder / "done").write_text("ok")
    # The weights do not depend on the scheduler (same seed), so one export serves every scheduler.
    pipe.scheduler.save_config(str(folder / "scheduler"))
    return folder, pipe, net


def _rename(key: str, pairs: tuple[tuple[str, str], ...]) -> str:
    for old, new in pairs:
        key = key.replace(old, new)
    return key


UNET_RESNET_TO_LDM = (
    ("norm1", "in_layers.0"),
    ("conv1", "in_layers.2"),
    ("norm2", "out_layers.0"),
    ("conv2", "out_layers.3"),
    ("time_emb_proj", "emb_layers.1"),
    ("conv_shortcut", "skip_connection"),
)
VAE_ATTENTION_TO_LDM = (
    ("group_norm.", "norm."),
    ("to_q.", "q."),
    ("to_k.", "k."),
    ("to_v.", "v."),
    ("to_out.0.", "proj_out."),
)


def _unet_key_to_ldm(key: str, layers: int, up_attention_blocks: set[int]) -> str:
    """One diffusers UNet key in the original (LDM) layout: input/middle/output blocks."""
    from diffusers.loaders.single_file_utils import DIFFUSERS_TO_LDM_MAPPING

    top = DIFFUSERS_TO_LDM_MAPPING["unet"]["layers"]
    if key in top:
        return top[key]
    if m := re.match(r"down_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.*)", key):
        block, kind, j, rest = int(m[1]), m[2], int(m[3]), m[4]
        index = block * (layers + 1) + j + 1
        if kind == "resnets":
            return f"input_blocks.{index}.0.{_rename(rest, UNET_RESNET_TO_LDM)}"
        return f"input_blocks.{index}.1.{rest}"
    if m := re.match(r"down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.*)", key):
        return f"input_blocks.{(int(m[1]) + 1) * (layers + 1)}.0.op.{m[2]}"
    if m := re.match(r"mid_block\.(resnets|attentions)\.(\d+)\.(.*)", key):
        if m[1] == "resnets":
            return f"middle_block.{2 * int(m[2])}.{_rename(m[3], UNET_RESNET_TO_LDM)}"
        return f"middle_block.1.{m[3]}"
    if m := re.match(r"up_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.*)", key):
        block, kind, j, rest = int(m[1]), m[2], int(m[3]), m[4]
        index = block * (layers + 1) + j
        if kind == "resnets":
            return f"output_blocks.{index}.0.{_rename(rest, UNET_RESNET_TO_LDM)}"
        return f"output_blocks.{index}.1.{rest}"
    if m := re.match(r"up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.*)", key):
        block = int(m[1])
        slot = 2 if block in up_attention_blocks else 1
        return f"output_blocks.{block * (layers + 1) + layers}.{slot}.conv.{m[2]}"
    raise KeyError(f"no LDM name for UNet key {key}")


def _vae_key_to_ldm(key: str, up_blocks: int) -> str:
    from diffusers.loaders.single_file_utils import DIFFUSERS_TO_LDM_MAPPING

    top = DIFFUSERS_TO_LDM_MAPPING["vae"]
    if key in top:
        return top[key]
    shortcut = (("conv_shortcut", "nin_shortcut"),)
    if m := re.match(r"encoder\.down_blocks\.(\d+)\.resnets\.(\d+)\.(.*)", key):
        return f"encoder.down.{m[1]}.block.{m[2]}.{_rename(m[3], shortcut)}"
    if m := re.match(r"encoder\.down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.*)", key):
        return f"encoder.down.{m[1]}.downsample.conv.{m[2]}"
    if m := re.match(r"decoder\.up_blocks\.(\d+)\.resnets\.(\d+)\.(.*)", key):
        return f"decoder.up.{up_blocks - 1 - int(m[1])}.block.{m[2]}.{_rename(m[3], shortcut)}"
    if m := re.match(r"decoder\.up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.*)", key):
        return f"decoder.up.{up_blocks - 1 - int(m[1])}.upsample.conv.{m[2]}"
    if m := re.match(r"(encoder|decoder)\.mid_block\.resnets\.(\d+)\.(.*)", key):
        return f"{m[1]}.mid.block_{int(m[2]) + 1}.{_rename(m[3], shortcut)}"
    if m := re.match(r"(encoder|decoder)\.mid_block\.attentions\.0\.(.*)", key):
        return f"{m[1]}.mid.attn_1.{_rename(m[2], VAE_ATTENTION_TO_LDM)}"
    raise KeyError(f"no LDM name for VAE key {key}")


def original_sd_checkpoint(pipe: Any) -> dict[str, Any]:
    """The pipeline's weights as one original-layout (LDM, "single file") SD 1.x state dict.

    The inverse of diffusers' own single-file conversion (`diffusers.loaders.single_file_utils`), so a
    test can make the kind of .safetensors file artists download, without downloading one.
    """
    unet_config = pipe.unet.config
    up_attention = {i for i, kind in enumerate(unet_config.up_block_types) if "CrossAttn" in kind}
    state: dict[str, Any] = {}
    for key, value in pipe.unet.state_dict().items():
        ldm = _unet_key_to_ldm(key, unet_config.layers_per_block, up_attention)
        state["model.diffusion_model." + ldm] = value.contiguous()
    up_blocks = len(pipe.vae.config.up_block_types)
    for key, value in pipe.vae.state_dict().items():
        state["first_stage_model." + _vae_key_to_ldm(key, up_blocks)] = value.contiguous()
    for key, value in pipe.text_encoder.state_dict().items():
        # Original checkpoints name the CLIP weights text_model.*; newer transformers drop that level.
        name = key if key.startswith("text_model.") else "text_model." + key
        state["cond_stage_model.transformer." + name] = value.contiguous()
    return state
