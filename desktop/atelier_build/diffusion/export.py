"""Export a diffusers Stable Diffusion pipeline to the ONNX folder layout (needs the `build` extra: torch).

SDXL pipelines go through export_sdxl.py; `import_diffusers` picks the exporter by the pipeline.

Used by `atelier models import-diffusers` and by the tests' tiny packs; never by the runtime path.
Two input conventions are supported because real exports differ and the runtime must read both:
"optimum" (int32 token ids, int64 timestep of shape [1]) and "legacy" (int64 ids, float scalar timestep).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

CONVENTIONS = ("optimum", "legacy")


class _TextEncoder(torch.nn.Module):
    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids.to(torch.int64), return_dict=False)[0]


class _UNet(torch.nn.Module):
    def __init__(self, model: Any, residuals: int, time_cond: bool) -> None:
        super().__init__()
        self.model = model
        self.residuals = residuals
        self.time_cond = time_cond

    def forward(self, sample, timestep, hidden, *extra):
        kwargs: dict[str, Any] = {}
        if self.time_cond:  # LCM-distilled UNets embed the guidance scale
            kwargs["timestep_cond"], extra = extra[0], extra[1:]
        if self.residuals:
            kwargs["down_block_additional_residuals"] = list(extra[:-1])
            kwargs["mid_block_additional_residual"] = extra[-1]
        return self.model(sample, timestep, hidden, return_dict=False, **kwargs)[0]


class _ControlNet(torch.nn.Module):
    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model

    def forward(self, sample, timestep, hidden, controlnet_cond, conditioning_scale):
        down, mid = self.model(
            sample,
            timestep,
            hidden,
            controlnet_cond=controlnet_cond,
            conditioning_scale=conditioning_scale,
            return_dict=False,
        )
        return (*down, mid)


class _VaeEncoder(torch.nn.Module):
    def __init__(self, vae: Any) -> None:
        super().__init__()
        self.vae = vae

    def forward(self, sample: torch.Tensor) -> torch.Tensor:
        moments = self.vae.encoder(sample)
        if self.vae.quant_conv is not None:
            moments = self.vae.quant_conv(moments)
        return moments  # mean and log-variance, like optimum's `latent_parameters`


class _VaeDecoder(torch.nn.Module):
    def __init__(self, vae: Any) -> None:
        super().__init__()
        self.vae = vae

    def forward(self, latent_sample: torch.Tensor) -> torch.Tensor:
        return self.vae.decode(latent_sample, return_dict=False)[0]


def _export(
    module: torch.nn.Module,
    args: tuple,
    path: Path,
    inputs: list[str],
    outputs: list[str],
    axes: dict[str, dict[int, str]],
    rewrite_upsamplers: bool = False,
    winograd: bool = False,
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(
            module,
            args,
            str(path),
            input_names=inputs,
            output_names=outputs,
            dynamic_axes=axes,
            opset_version=17,
            do_constant_folding=True,
            dynamo=False,
        )
    import onnx

    from atelier_build.diffusion.subpixel_upsample import rewrite_upsample_convs
    from atelier_build.diffusion.winograd_conv import rewrite_winograd_convs

    # Past 2 GB (an SD 1.5 UNet) torch writes one external file per tensor; gather them into one
    # `model.onnx.data` so a pack lists two files, not hundreds. One load and save does both that and
    # the graph rewrites.
    scattered = [p for p in path.parent.iterdir() if p != path]
    if not scattered and not rewrite_upsamplers and not winograd:
        return
    model = onnx.load(str(path))  # reads the external tensors too
    if rewrite_upsamplers:
        rewrite_upsample_convs(model)
    if winograd:  # after the upsample rewrite, which takes the 3x3 convolutions behind upsamples
        rewrite_winograd_convs(model)
    for stale in scattered:
        stale.unlink()
    _save_over(model, path, external=bool(scattered))


def _save_over(model: Any, path: Path, external: bool) -> None:
    """Write `model` over `path`, with its tensors in one `model.onnx.data` beside it when `external`."""
    import onnx

    (path.parent / "model.onnx.data").unlink(missing_ok=True)
    onnx.save(
        model,
        str(path),
        save_as_external_data=external,
        location="model.onnx.data",
        all_tensors_to_one_file=True,
    )


def _resize_constants_to_fp32(model: Any) -> None:
    """ONNX requires Resize's roi and scales in float32, but the float16 converter also converts the
    Constant nodes that torch's export feeds them from (it keeps only initializers in float32), and
    onnxruntime then refuses the whole UNet. Put those constants back to float32."""
    import onnx
    from onnx import numpy_helper

    consumers: dict[str, list[tuple[Any, int]]] = {}
    for node in model.graph.node:
        for index, name in enumerate(node.input):
            consumers.setdefault(name, []).append((node, index))
    for node in model.graph.node:
        if node.op_type != "Constant" or len(node.output) != 1:
            continue
        uses = consumers.get(node.output[0], [])
        if not uses or any(user.op_type != "Resize" or index not in (1, 2) for user, index in uses):
            continue
        for attribute in node.attribute:
            if attribute.name == "value" and attribute.t.data_type == onnx.TensorProto.FLOAT16:
                values = numpy_helper.to_array(attribute.t).astype(np.float32)
                attribute.t.CopyFrom(numpy_helper.from_array(values, attribute.t.name))


def exporter_fingerprint() -> bytes:
    """The exporter's own source files, for keying caches of exported packs."""
    from atelier_build.diffusion import export_sdxl, onnx_nodes, subpixel_upsample, winograd_conv

    files = (__file__, subpixel_upsample.__file__, winograd_conv.__file__, onnx_nodes.__file__, export_sdxl.__file__)
    return b"".join(Path(str(f)).read_bytes() for f in files)


def _to_fp16(path: Path) -> None:
    """Weights in float16 with float32 inputs/outputs, so the same pipeline code drives it (GPU packs)."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = onnx.load(str(path))
    converted = convert_float_to_float16(model, keep_io_types=True, disable_shape_infer=True)
    _resize_constants_to_fp32(converted)
    _save_over(converted, path, external=(path.parent / "model.onnx.data").exists())


def export_pipeline(
    pipe: Any, out: Path, convention: str = "optimum", fp16: bool = False, controlnet: Any = None
) -> list[str]:
    """Write `out/` in the diffusers/optimum ONNX layout; returns the files written (relative paths)."""
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {CONVENTIONS}")
    ids_dtype = torch.int32 if convention == "optimum" else torch.int64
    vae, unet, text_encoder = (
        pipe.vae.float().eval(),
        pipe.unet.float().eval(),
        pipe.text_encoder.float().eval(),
    )
    length = pipe.tokenizer.model_max_length
    hidden = text_encoder.config.hidden_size
    scale = 2 ** (len(vae.config.block_out_channels) - 1)
    latent = 8
    sample = torch.randn(2, unet.config.in_channels, latent, latent)
    if convention == "optimum":
        timestep = torch.tensor([999], dtype=torch.int64)
        timestep_axes: dict[int, str] = {0: "steps"}
    else:
        timestep = torch.tensor(999.0)
        timestep_axes = {}
    states = torch.randn(2, length, unet.config.cross_attention_dim)
    batch_hw = {0: "batch", 2: "height", 3: "width"}
    # Winograd convolutions for float32 (CPU) packs only: their transforms need float32 precision.
    winograd = not fp16

    _export(
        _TextEncoder(text_encoder),
        (torch.zeros(1, length, dtype=ids_dtype),),
        out / "text_encoder/model.onnx",
        ["input_ids"],
        ["last_hidden_state"],
        {"input_ids": {0: "batch"}},
    )
    del hidden
    residual_names: list[str] = []
    if controlnet is not None:
        controlnet = controlnet.float().eval()
        cond = torch.rand(2, 3, latent * scale, latent * scale)
        with torch.no_grad():
            down, mid = controlnet(sample, timestep, states, controlnet_cond=cond, return_dict=False)
        residual_names = [f"down_block_additional_residual_{i}" for i in range(len(down))]
        residual_names.append("mid_block_additional_residual")
        outputs = [f"down_block_res_sample_{i}" for i in range(len(down))] + ["mid_block_res_sample"]
        _export(
            _ControlNet(controlnet),
            (sample, timestep, states, cond, torch.tensor(1.0)),
            out / "controlnet/model.onnx",
            ["sample", "timestep", "encoder_hidden_states", "controlnet_cond", "conditioning_scale"],
            outputs,
            {
                "sample": batch_hw,
                "timestep": timestep_axes,
                "encoder_hidden_states": {0: "batch"},
                "controlnet_cond": {0: "batch", 2: "image_height", 3: "image_width"},
                **{name: batch_hw for name in outputs},
            },
            winograd=winograd,
        )
        extra: tuple[torch.Tensor, ...] = (*down, mid)
    else:
        extra = ()
    cond_dim = unet.config.time_cond_proj_dim
    cond_inputs = ["timestep_cond"] if cond_dim else []
    cond_args = (torch.randn(2, cond_dim),) if cond_dim else ()
    _export(
        _UNet(unet, len(residual_names), bool(cond_dim)),
        (sample, timestep, states, *cond_args, *extra),
        out / "unet/model.onnx",
        ["sample", "timestep", "encoder_hidden_states", *cond_inputs, *residual_names],
        ["out_sample"],
        {
            "sample": batch_hw,
            "timestep": timestep_axes,
            "encoder_hidden_states": {0: "batch"},
            "out_sample": batch_hw,
            **{name: {0: "batch"} for name in cond_inputs},
            **{name: batch_hw for name in residual_names},
        },
        rewrite_upsamplers=True,
        winograd=winograd,
    )
    image = torch.randn(1, 3, latent * scale, latent * scale)
    _export(
        _VaeEncoder(vae),
        (image,),
        out / "vae_encoder/model.onnx",
        ["sample"],
        ["latent_parameters"],
        {"sample": batch_hw, "latent_parameters": batch_hw},
        winograd=winograd,
    )
    _export(
        _VaeDecoder(vae),
        (torch.randn(1, vae.config.latent_channels, latent, latent),),
        out / "vae_decoder/model.onnx",
        ["latent_sample"],
        ["sample"],
        {"latent_sample": batch_hw, "sample": batch_hw},
        rewrite_upsamplers=True,
        winograd=winograd,
    )
    if fp16:
        for role in ("text_encoder", "unet", "vae_encoder", "vae_decoder", "controlnet"):
            if (out / role / "model.onnx").exists():
                _to_fp16(out / role / "model.onnx")

    for role, config in (
        ("vae_encoder", vae.config),
        ("vae_decoder", vae.config),
        ("unet", unet.config),
        ("text_encoder", None),
    ):
        if config is not None:
            (out / role / "config.json").write_text(json.dumps(dict(config), indent=1, default=str) + "\n")
    pipe.tokenizer.save_pretrained(str(out / "tokenizer"))
    pipe.scheduler.save_config(str(out / "scheduler"))
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())


def runtime_memory(out: Path, components: dict[str, str]) -> dict[str, int]:
    """Bytes each component takes once loaded: its files plus the Winograd kernels onnxruntime folds
    at load (the Sketch task's "will it fit" check reads this from the manifest)."""
    import onnx

    from atelier_build.diffusion.winograd_conv import folded_extra_bytes

    memory = {}
    for role, relative in components.items():
        path = out / relative
        files = sum(p.stat().st_size for p in path.parent.iterdir() if p.name.startswith("model.onnx"))
        memory[role] = files + folded_extra_bytes(onnx.load(str(path), load_external_data=False))
    return memory


def numpy_config(config: Any) -> dict[str, Any]:
    return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in dict(config).items()}


def copy_license(source: Path, out: Path) -> str | None:
    for name in ("LICENSE", "LICENSE.md", "license.txt"):
        if (source / name).is_file():
            shutil.copy(source / name, out / name)
            return name
    return None


def _pipeline_class(folder: Path | None) -> Any:
    """StableDiffusionXLPipeline when the folder's model_index.json names an SDXL class, else SD's."""
    from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline

    index: dict[str, Any] = {}
    if folder is not None and (folder / "model_index.json").is_file():
        index = json.loads((folder / "model_index.json").read_text(encoding="utf-8"))
    sdxl = str(index.get("_class_name", "")).startswith("StableDiffusionXL") or "text_encoder_2" in index
    return StableDiffusionXLPipeline if sdxl else StableDiffusionPipeline


def load_diffusers(source: Path, config: Path | None = None) -> Any:
    """A diffusers SD or SDXL pipeline from a local folder or a single .safetensors checkpoint (never pickles).

    The family comes from the folder's (or --config folder's) model_index.json. Nothing may be fetched:
    every load is local_files_only, a single file must come with a local config folder, and
    HF_HUB_OFFLINE is set for a process that has not imported huggingface_hub yet (the import-diffusers
    command), where it also covers anything a library looks up on its own.
    """
    os.environ["HF_HUB_OFFLINE"] = "1"
    if source.is_file():
        if source.suffix != ".safetensors":
            raise ValueError("Only .safetensors checkpoints are accepted (pickled .ckpt files can run code).")
        if config is None:
            # diffusers would otherwise look the configs up on the Hugging Face Hub.
            raise ValueError(
                "A single .safetensors checkpoint needs --config FOLDER: a local diffusers folder of the same "
                "model family (model_index.json, unet/, vae/, text_encoder/ (and text_encoder_2/ for SDXL) with "
                "their config.json, tokenizer/ (and tokenizer_2/), scheduler/); its weights are not needed."
            )
        pipeline = _pipeline_class(config)
        return pipeline.from_single_file(str(source), config=str(config), local_files_only=True)
    pipeline = _pipeline_class(source)
    if pipeline.__name__ == "StableDiffusionXLPipeline":
        return pipeline.from_pretrained(str(source), local_files_only=True, use_safetensors=True, add_watermarker=False)
    return pipeline.from_pretrained(
        str(source),
        local_files_only=True,
        use_safetensors=True,
        safety_checker=None,
        requires_safety_checker=False,
    )


def import_diffusers(
    source: Path,
    out: Path,
    pack_id: str,
    licence: str,
    fp16: bool = False,
    controlnet: Path | None = None,
    config: Path | None = None,
) -> Path:
    """Convert a local diffusers checkpoint into an Atelier `diffusion` pack with a manifest of sha256s."""
    from atelier.engine.packs import write_manifest

    torch.set_num_threads(max(1, torch.get_num_threads()))
    pipe = load_diffusers(source, config)
    net = None
    if controlnet is not None:
        from diffusers import ControlNetModel

        net = ControlNetModel.from_pretrained(str(controlnet), local_files_only=True, use_safetensors=True)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} already exists and is not empty; choose another --out or remove it.")
    out.mkdir(parents=True, exist_ok=True)
    from atelier_build.diffusion.export_sdxl import export_sdxl_pipeline, is_sdxl

    if is_sdxl(pipe):
        files = export_sdxl_pipeline(pipe, out, "atelier", fp16=fp16, controlnet=net)
    else:
        files = export_pipeline(pipe, out, "optimum", fp16=fp16, controlnet=net)
    licence_file = copy_license(source if source.is_dir() else source.parent, out)
    if licence_file:
        files.append(licence_file)
    components = {
        role: f"{role}/model.onnx"
        for role in ("text_encoder", "text_encoder_2", "unet", "vae_encoder", "vae_decoder", "controlnet")
        if (out / role / "model.onnx").exists()
    }
    meta = {
        "memory_bytes": runtime_memory(out, components),
        "id": pack_id,
        "name": pack_id,
        "kind": "diffusion",
        "version": "1",
        "licence": licence,
        # The folder's name only: a pack's manifest (and every image's metadata that names it) must not
        # carry the absolute path of the user's files.
        "source": f"converted from {Path(source).name} by atelier models import-diffusers"
        + (" (fp16)" if fp16 else ""),
        "providers": ["CUDAExecutionProvider", "DmlExecutionProvider"] if fp16 else [],
        "components": components,
    }
    return write_manifest(out, meta, files)
