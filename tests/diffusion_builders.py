"""Tiny random-weight Stable Diffusion pipelines built locally with diffusers (no download), exported to ONNX.

Exports are cached under cache_dir() keyed by a hash of this file and the settings, so the suite only
pays for torch.onnx.export once per machine.
"""

from __future__ import annotations

import hashlib
import json
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
) -> tuple[Any, Any]:
    """(diffusers pipeline, controlnet or None) with tiny random weights; SD-like shapes, VAE factor 8."""
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
        block_out_channels=(16, 32),
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
        block_out_channels=(8, 8, 8, 8),
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
) -> tuple[Path, Any, Any]:
    """(folder in the ONNX layout, the diffusers pipeline, controlnet) for the tiny model, cached on disk."""
    import torch

    from atelier.core.settings import cache_dir
    from atelier.engine.diffusion.export import export_pipeline

    torch.set_num_threads(1)
    pipe, net = tiny_pipeline(controlnet, scheduler, lcm_distilled=lcm_distilled, inpaint=inpaint)
    key = hashlib.sha256(
        Path(__file__).read_bytes()
        + Path(export_pipeline.__code__.co_filename).read_bytes()
        + f"{BUILDER_VERSION}|{convention}|{controlnet}|{lcm_distilled}|{inpaint}".encode()
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
