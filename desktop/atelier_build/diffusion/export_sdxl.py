"""Export a diffusers Stable Diffusion XL pipeline to the ONNX folder layout (build extra: torch).

Two conventions, because the runtime must read both:
"atelier" is what `atelier models import-diffusers` writes: int32 token ids, a float timestep of shape
[1], each text encoder giving only what SDXL reads (the penultimate hidden state, named as optimum
names it, and the pooled `text_embeds`), Winograd and sub-pixel rewrites for float32 packs.
"optimum" reproduces `optimum-cli export onnx` for SDXL (optimum's `get_diffusion_models_for_export`
and its UNet/CLIP configs): int64 ids, a float scalar timestep, every hidden state as
`hidden_states.0..N` beside `last_hidden_state` and `pooler_output`/`text_embeds`, the UNet's inputs
in optimum's order (sample, timestep, encoder_hidden_states, [timestep_cond], text_embeds, time_ids).
optimum itself cannot share this environment (it pins transformers < 4.58), so this is an emulation.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from atelier_build.diffusion.export import _export, _to_fp16

SDXL_CONVENTIONS = ("atelier", "optimum")


def is_sdxl(pipe: Any) -> bool:
    return getattr(pipe, "text_encoder_2", None) is not None or getattr(pipe, "tokenizer_2", None) is not None


class _TextEncoder(torch.nn.Module):
    """CLIP with hidden states: the penultimate one (and pooled) or optimum's full list."""

    def __init__(self, model: Any, full: bool, pooled: bool) -> None:
        super().__init__()
        self.model = model
        self.full = full
        self.pooled = pooled

    def forward(self, input_ids: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.model(input_ids.to(torch.int64), output_hidden_states=True, return_dict=True)
        hidden = tuple(out.hidden_states)
        first = out.text_embeds if hasattr(out, "text_embeds") else out.pooler_output
        if self.full:
            if hasattr(out, "text_embeds"):
                return (out.text_embeds, out.last_hidden_state, *hidden)
            return (out.last_hidden_state, out.pooler_output, *hidden)
        return (first, hidden[-2]) if self.pooled else (hidden[-2],)


class _UNet(torch.nn.Module):
    """The SDXL UNet with its added conditions as plain inputs, in the order `names` gives."""

    def __init__(self, model: Any, names: list[str], residuals: int) -> None:
        super().__init__()
        self.model = model
        self.names = names
        self.residuals = residuals

    def forward(self, sample, timestep, hidden, *rest):
        named = dict(zip(self.names, rest[: len(self.names)], strict=True))
        extra = rest[len(self.names) :]
        kwargs: dict[str, Any] = {
            "added_cond_kwargs": {"text_embeds": named["text_embeds"], "time_ids": named["time_ids"]}
        }
        if "timestep_cond" in named:
            kwargs["timestep_cond"] = named["timestep_cond"]
        if self.residuals:
            kwargs["down_block_additional_residuals"] = list(extra[:-1])
            kwargs["mid_block_additional_residual"] = extra[-1]
        return self.model(sample, timestep, hidden, return_dict=False, **kwargs)[0]


class _ControlNet(torch.nn.Module):
    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model

    def forward(self, sample, timestep, hidden, text_embeds, time_ids, controlnet_cond, conditioning_scale):
        down, mid = self.model(
            sample,
            timestep,
            hidden,
            controlnet_cond=controlnet_cond,
            conditioning_scale=conditioning_scale,
            added_cond_kwargs={"text_embeds": text_embeds, "time_ids": time_ids},
            return_dict=False,
        )
        return (*down, mid)


class _VaeEncoder(torch.nn.Module):
    def __init__(self, vae: Any) -> None:
        super().__init__()
        self.vae = vae

    def forward(self, sample: torch.Tensor) -> torch.Tensor:
        return self.vae.encode(sample).latent_dist.parameters  # mean and log-variance (`latent_parameters`)


class _VaeDecoder(torch.nn.Module):
    def __init__(self, vae: Any) -> None:
        super().__init__()
        self.vae = vae

    def forward(self, latent_sample: torch.Tensor) -> torch.Tensor:
        return self.vae.decode(latent_sample, return_dict=False)[0]


def _text_encoder(model: Any, path: Path, convention: str, pooled: bool, length: int) -> None:
    layers = int(model.config.num_hidden_layers)
    full = convention == "optimum"
    if full:
        first = ["text_embeds", "last_hidden_state"] if pooled else ["last_hidden_state", "pooler_output"]
        outputs = first + [f"hidden_states.{i}" for i in range(layers + 1)]
        ids = torch.zeros(1, length, dtype=torch.int64)
        ids_axes = {0: "batch_size", 1: "sequence_length"}
    else:
        outputs = (["text_embeds"] if pooled else []) + [f"hidden_states.{layers - 1}"]
        ids = torch.zeros(1, length, dtype=torch.int32)
        ids_axes = {0: "batch_size"}
    axes: dict[str, dict[int, str]] = {"input_ids": ids_axes}
    for name in outputs:
        axes[name] = (
            {0: "batch_size"} if name in ("text_embeds", "pooler_output") else {0: "batch_size", 1: "sequence_length"}
        )
    _export(_TextEncoder(model, full, pooled), (ids,), path, ["input_ids"], outputs, axes)
    (path.parent / "config.json").write_text(json.dumps(model.config.to_dict(), indent=1, default=str) + "\n")


def export_sdxl_pipeline(
    pipe: Any, out: Path, convention: str = "atelier", fp16: bool = False, controlnet: Any = None
) -> list[str]:
    """Write `out/` in the SDXL ONNX layout; returns the files written (relative paths)."""
    if convention not in SDXL_CONVENTIONS:
        raise ValueError(f"convention must be one of {SDXL_CONVENTIONS}")
    optimum = convention == "optimum"
    vae, unet = pipe.vae.float().eval(), pipe.unet.float().eval()
    text_encoder = pipe.text_encoder.float().eval() if pipe.text_encoder is not None else None
    text_encoder_2 = pipe.text_encoder_2.float().eval()
    length = pipe.tokenizer_2.model_max_length
    scale = 2 ** (len(vae.config.block_out_channels) - 1)
    latent = 8
    winograd = not fp16 and not optimum
    rewrites = not optimum  # optimum exports the graphs as traced

    if text_encoder is not None:
        _text_encoder(text_encoder, out / "text_encoder/model.onnx", convention, False, length)
    _text_encoder(text_encoder_2, out / "text_encoder_2/model.onnx", convention, True, length)

    sample = torch.randn(2, unet.config.in_channels, latent, latent)
    states = torch.randn(2, length, unet.config.cross_attention_dim)
    pooled = torch.randn(2, text_encoder_2.config.projection_dim)
    time_ids = torch.tensor([[64.0, 64.0, 0.0, 0.0, 64.0, 64.0]] * 2)
    if getattr(pipe.config, "requires_aesthetics_score", False):
        time_ids = time_ids[:, :5]
    if optimum:
        timestep = torch.tensor(999.0)
        timestep_axes: dict[int, str] = {}
    else:
        timestep = torch.tensor([999.0])
        timestep_axes = {0: "steps"}
    batch_hw = {0: "batch_size", 2: "height", 3: "width"}
    condition = {"text_embeds": pooled, "time_ids": time_ids}

    residual_names: list[str] = []
    extra: tuple[torch.Tensor, ...] = ()
    if controlnet is not None:
        controlnet = controlnet.float().eval()
        cond = torch.rand(2, 3, latent * scale, latent * scale)
        with torch.no_grad():
            down, mid = controlnet(
                sample, timestep, states, controlnet_cond=cond, added_cond_kwargs=condition, return_dict=False
            )
        residual_names = [f"down_block_additional_residual_{i}" for i in range(len(down))]
        residual_names.append("mid_block_additional_residual")
        outputs = [f"down_block_res_sample_{i}" for i in range(len(down))] + ["mid_block_res_sample"]
        _export(
            _ControlNet(controlnet),
            (sample, timestep, states, pooled, time_ids, cond, torch.tensor(1.0)),
            out / "controlnet/model.onnx",
            ["sample", "timestep", "encoder_hidden_states", "text_embeds", "time_ids", "controlnet_cond",
             "conditioning_scale"],
            outputs,
            {
                "sample": batch_hw,
                "timestep": timestep_axes,
                "encoder_hidden_states": {0: "batch_size"},
                "text_embeds": {0: "batch_size"},
                "time_ids": {0: "batch_size"},
                "controlnet_cond": {0: "batch_size", 2: "image_height", 3: "image_width"},
                **{name: batch_hw for name in outputs},
            },
            winograd=winograd,
        )  # fmt: skip
        extra = (*down, mid)

    cond_dim = unet.config.time_cond_proj_dim
    names = ["text_embeds", "time_ids"]
    if cond_dim:
        # optimum puts timestep_cond where the UNet's forward signature has it, before the added conditions.
        names = ["timestep_cond", *names] if optimum else [*names, "timestep_cond"]
        condition["timestep_cond"] = torch.randn(2, cond_dim)
    _export(
        _UNet(unet, names, len(residual_names)),
        (sample, timestep, states, *(condition[n] for n in names), *extra),
        out / "unet/model.onnx",
        ["sample", "timestep", "encoder_hidden_states", *names, *residual_names],
        ["out_sample"],
        {
            "sample": batch_hw,
            "timestep": timestep_axes,
            "encoder_hidden_states": {0: "batch_size", 1: "sequence_length"},
            "out_sample": batch_hw,
            **{name: {0: "batch_size"} for name in names},
            **{name: batch_hw for name in residual_names},
        },
        rewrite_upsamplers=rewrites,
        winograd=winograd,
    )
    image = torch.randn(1, 3, latent * scale, latent * scale)
    _export(
        _VaeEncoder(vae),
        (image,),
        out / "vae_encoder/model.onnx",
        ["sample"],
        ["latent_parameters"],
        {"sample": {0: "batch_size", 2: "sample_height", 3: "sample_width"}, "latent_parameters": batch_hw},
        winograd=winograd,
    )
    _export(
        _VaeDecoder(vae),
        (torch.randn(1, vae.config.latent_channels, latent, latent),),
        out / "vae_decoder/model.onnx",
        ["latent_sample"],
        ["sample"],
        {"latent_sample": {0: "batch_size", 2: "latent_height", 3: "latent_width"}, "sample": batch_hw},
        rewrite_upsamplers=rewrites,
        winograd=winograd,
    )
    if fp16:
        for role in ("text_encoder", "text_encoder_2", "unet", "vae_encoder", "vae_decoder", "controlnet"):
            if (out / role / "model.onnx").exists():
                _to_fp16(out / role / "model.onnx")

    for role, config in (("vae_encoder", vae.config), ("vae_decoder", vae.config), ("unet", unet.config)):
        (out / role / "config.json").write_text(json.dumps(dict(config), indent=1, default=str) + "\n")
    if controlnet is not None:
        (out / "controlnet/config.json").write_text(json.dumps(dict(controlnet.config), indent=1, default=str) + "\n")
    if pipe.tokenizer is not None:
        pipe.tokenizer.save_pretrained(str(out / "tokenizer"))
    pipe.tokenizer_2.save_pretrained(str(out / "tokenizer_2"))
    pipe.scheduler.save_config(str(out / "scheduler"))
    # optimum copies the pipeline's model_index.json: SDXL's force_zeros_for_empty_prompt lives there.
    index = {
        "_class_name": type(pipe).__name__,
        **{k: v for k, v in dict(pipe.config).items() if not k.startswith("_")},
    }
    (out / "model_index.json").write_text(json.dumps(index, indent=1, default=str) + "\n")
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
