"""Atelier's ONNX Stable Diffusion pipeline against diffusers' PyTorch pipeline, timed in one run.

An SD-1.5-sized pipeline (same UNet, VAE and CLIP text encoder configs as SD 1.5) with random
weights is built locally, exported once to ONNX (cached under Atelier's cache folder) and run at
256x256 for 4 steps with classifier-free guidance by both, with the same thread count (default 2)
and the same initial noise. Prints both wall times and the ratio (Atelier / diffusers; lower is better).

    python bench/sketch_vs_diffusers.py            # SD-1.5 size (export takes minutes, ~10 GB RAM)
    python bench/sketch_vs_diffusers.py --quick    # a small config, for a smoke run
    python bench/sketch_vs_diffusers.py --sdxl     # a small SDXL (two text encoders, text_time UNet)
    python bench/sketch_vs_diffusers.py --cuda     # fp16 on CUDA: SD-1.5-sized, then SDXL-sized (1024x1024)

--sdxl on the CPU: SDXL's UNet layout (no attention at full resolution, 1/2/4 transformer layers) at
128/256/512 channels, text encoders of 256 and 512 wide, 4 steps, guidance 5. With --cuda, --sdxl or
--sd picks one family (default: both, one after the other).

Needs the `build` extra (torch, diffusers, transformers) for the peer and the export.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "desktop"))
MODEL_VERSION = "2"


def build_sdxl_pipeline(full: bool):  # type: ignore[no-untyped-def]
    """A random-weight SDXL: small for the CPU, or SDXL 1.0's own configurations (GPU)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.sdxl_builders import tiny_sdxl_pipeline

    pipe, _ = tiny_sdxl_pipeline(size="full" if full else "small")
    return pipe


def build_pipeline(quick: bool):  # type: ignore[no-untyped-def]
    import torch
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.diffusion_builders import write_tiny_clip_tokenizer

    torch.manual_seed(0)
    if quick:
        unet = UNet2DConditionModel(
            block_out_channels=(64, 128),
            layers_per_block=1,
            cross_attention_dim=64,
            attention_head_dim=8,
            down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
            up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        )
        vae = AutoencoderKL(
            block_out_channels=(32, 32, 32, 32),
            norm_num_groups=32,
            down_block_types=("DownEncoderBlock2D",) * 4,
            up_block_types=("UpDecoderBlock2D",) * 4,
            latent_channels=4,
        )
        text = CLIPTextConfig(hidden_size=64, intermediate_size=128, num_attention_heads=4, num_hidden_layers=2)
    else:  # the SD 1.5 configurations
        unet = UNet2DConditionModel(
            block_out_channels=(320, 640, 1280, 1280),
            layers_per_block=2,
            cross_attention_dim=768,
            attention_head_dim=8,
            sample_size=64,
        )
        vae = AutoencoderKL(
            block_out_channels=(128, 256, 512, 512),
            layers_per_block=2,
            latent_channels=4,
            down_block_types=("DownEncoderBlock2D",) * 4,
            up_block_types=("UpDecoderBlock2D",) * 4,
            sample_size=512,
        )
        text = CLIPTextConfig(hidden_size=768, intermediate_size=3072, num_attention_heads=12, num_hidden_layers=12)
    import tempfile

    folder = Path(tempfile.mkdtemp())
    write_tiny_clip_tokenizer(folder)
    tokenizer = CLIPTokenizer.from_pretrained(str(folder), model_max_length=77)
    shutil.rmtree(folder)
    text.vocab_size = len(tokenizer)
    text.max_position_embeddings = 77
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        steps_offset=1,
        timestep_spacing="leading",
    )
    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=CLIPTextModel(text),
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


class OrtModels:
    def __init__(self, folder: Path, threads: int, providers: list[str]) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.sessions = {
            role: ort.InferenceSession(str(folder / role / "model.onnx"), options, providers=providers)
            for role in ("text_encoder", "text_encoder_2", "unet", "vae_encoder", "vae_decoder")
            if (folder / role / "model.onnx").is_file()
        }
        for role, session in self.sessions.items():
            # onnxruntime falls back to the CPU silently; a CUDA figure must come from CUDA.
            if session.get_providers()[0] != providers[0]:
                raise SystemExit(
                    f"{role} runs on {session.get_providers()[0]}, not {providers[0]}: install onnxruntime-gpu "
                    "(in place of onnxruntime) for --cuda."
                )

    def has(self, role: str) -> bool:
        return role in self.sessions

    def inputs(self, role: str):  # type: ignore[no-untyped-def]
        from atelier.engine.diffusion.pipeline import TensorSpec

        return [TensorSpec(i.name, i.type, tuple(i.shape)) for i in self.sessions[role].get_inputs()]

    def outputs(self, role: str):  # type: ignore[no-untyped-def]
        from atelier.engine.diffusion.pipeline import TensorSpec

        return [TensorSpec(o.name, o.type, tuple(o.shape)) for o in self.sessions[role].get_outputs()]

    def run(self, role: str, feeds: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        return list(self.sessions[role].run(None, dict(feeds)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a small model instead of SD-1.5 size")
    parser.add_argument("--sdxl", action="store_true", help="an SDXL pipeline (small on the CPU, full size on CUDA)")
    parser.add_argument("--sd", action="store_true", help="with --cuda: the SD-1.5-sized run only")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--size", type=int, default=0, help="pixels (default 256 on the CPU; 512 / 1024 on CUDA)")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2, help="timed rounds of both (after a warm-up)")
    parser.add_argument("--cuda", action="store_true", help="fp16 on CUDA for both")
    parser.add_argument("--export-only", action="store_true", help="build and cache the export only")
    args = parser.parse_args()
    families = ["sdxl" if args.sdxl else "sd"]
    if args.cuda and not args.sd and not args.sdxl:
        families = ["sd", "sdxl"]  # the GPU check: both sizes in one run
    for family in families:
        bench(family, args)
    return 0


def bench(family: str, args: argparse.Namespace) -> None:
    import torch

    from atelier.core.settings import cache_dir
    from atelier.engine.diffusion.factory import pipeline_for
    from atelier_build.diffusion.export import export_pipeline, exporter_fingerprint
    from atelier_build.diffusion.export_sdxl import export_sdxl_pipeline

    torch.set_num_threads(args.threads)
    sdxl = family == "sdxl"
    size = args.size or (256 if not args.cuda else 1024 if sdxl else 512)
    guidance = 5.0 if sdxl else 7.5
    pipe = build_sdxl_pipeline(full=args.cuda) if sdxl else build_pipeline(args.quick)
    # Keyed by the model configs' version (bump MODEL_VERSION when a builder changes) and the exporter.
    exporter = exporter_fingerprint()
    builders = (Path(__file__).resolve().parents[1] / "tests" / "sdxl_builders.py").read_bytes() if sdxl else b""
    key = hashlib.sha256(
        exporter + builders + f"{MODEL_VERSION}|{family}|{args.quick}|{args.cuda}|{torch.__version__}".encode()
    ).hexdigest()[:16]
    folder = cache_dir() / f"bench-{family}" / key
    if not (folder / "done").exists():
        print(f"exporting to {folder} (once) ...", flush=True)
        shutil.rmtree(folder, ignore_errors=True)
        if sdxl:
            export_sdxl_pipeline(pipe, folder, "atelier", fp16=args.cuda)
        else:
            export_pipeline(pipe, folder, "optimum", fp16=args.cuda)
        (folder / "done").write_text("ok")
    if args.export_only:
        print(f"exported: {folder}")
        return
    providers = ["CUDAExecutionProvider", "CPUExecutionProvider"] if args.cuda else ["CPUExecutionProvider"]
    ours = pipeline_for(folder, OrtModels(folder, args.threads, providers))
    if args.cuda:
        pipe = pipe.to("cuda", torch.float16)

    def run_ours(seed: int) -> np.ndarray:
        generator = torch.Generator().manual_seed(seed)
        noise = lambda shape: torch.randn(shape, generator=generator).numpy()  # noqa: E731
        steps = ours.generate("a lighthouse at dusk", "", size, size, args.steps, guidance, noise)
        while True:
            try:
                next(steps)
            except StopIteration as stop:
                return np.asarray(stop.value)

    def run_theirs(seed: int) -> np.ndarray:
        with torch.inference_mode():
            images = pipe(
                "a lighthouse at dusk",
                height=size,
                width=size,
                num_inference_steps=args.steps,
                guidance_scale=guidance,
                # A CPU generator on both sides (diffusers moves the noise to the GPU): the same noise,
                # so the pictures can be compared.
                generator=torch.Generator().manual_seed(seed),
                output_type="np",
            ).images
        if args.cuda:
            torch.cuda.synchronize()
        return np.asarray((images[0] * 255).round(), np.uint8)

    # Interleaved (ours, theirs, ours, ...) after one warm-up each, so a machine whose speed drifts
    # (shared or throttled cores) slows both sides alike; the best of each is reported.
    run_ours(0)  # warm-up: session creation, allocator, kernels
    run_theirs(0)

    def clock(function) -> tuple[float, np.ndarray]:  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        image = function(1)
        return time.perf_counter() - start, image

    ours_s, theirs_s = [], []
    for _ in range(args.repeats):
        seconds, a = clock(run_ours)
        ours_s.append(seconds)
        seconds, b = clock(run_theirs)
        theirs_s.append(seconds)
    atelier_s, diffusers_s = min(ours_s), min(theirs_s)
    difference = np.abs(a.astype(int) - b.astype(int))
    if sdxl:
        config = "SDXL-1.0-sized (random weights)" if args.cuda else "small SDXL (random weights)"
    else:
        config = "quick" if args.quick else "SD-1.5-sized (random weights)"
    result = {
        "config": config,
        "size": size,
        "steps": args.steps,
        "guidance": guidance,
        "threads": args.threads,
        "device": "cuda fp16" if args.cuda else "cpu fp32",
        "atelier_onnx_s": round(atelier_s, 3),
        "diffusers_torch_s": round(diffusers_s, 3),
        "ratio": round(atelier_s / diffusers_s, 3),
        "ratios_per_round": [round(x / y, 3) for x, y in zip(ours_s, theirs_s, strict=True)],
        "atelier_runs_s": [round(x, 2) for x in ours_s],
        "diffusers_runs_s": [round(x, 2) for x in theirs_s],
        # The quality side of the trade, on the same noise: 0-1 is parity (float32 on the CPU).
        "max_pixel_difference": int(difference.max()),
        "mean_pixel_difference": round(float(difference.mean()), 3),
    }
    print(json.dumps(result, indent=1))
    ratio = atelier_s / diffusers_s
    print(f"{config}: Atelier ONNX {atelier_s:.2f}s vs diffusers PyTorch {diffusers_s:.2f}s: ratio {ratio:.2f}x")


if __name__ == "__main__":
    raise SystemExit(main())
