"""The GGUF's own Q4_1 and Q8_0 blocks run in onnxruntime without re-quantizing
(models/smollm2/exact_q4_1.py): one matrix against numpy's dequantized reference, and a whole tiny
Llama, built by onnxruntime-genai's builder and rewritten, against its float32 forward pass."""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

gguf = pytest.importorskip("gguf")
ort = pytest.importorskip("onnxruntime")

REPO = Path(__file__).resolve().parents[2]
Q4_1 = gguf.GGMLQuantizationType.Q4_1
Q8_0 = gguf.GGMLQuantizationType.Q8_0


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


exact = _load("exact_q4_1_under_test", REPO / "models" / "smollm2" / "exact_q4_1.py")


def gguf_like(rows: int, cols: int, kind: gguf.GGMLQuantizationType, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Raw GGUF bytes of a random matrix (quantized by the gguf package as llama.cpp does) and the
    gguf package's own dequantization of them: the numpy reference."""
    rng = np.random.default_rng(seed)
    weights = (rng.standard_normal((rows, cols)) * 0.05 + rng.standard_normal((rows, 1)) * 0.02).astype(np.float32)
    raw = gguf.quants.quantize(weights, kind)
    return raw, gguf.quants.dequantize(raw, kind).reshape(rows, cols).astype(np.float32)


def run(model: object, a: np.ndarray) -> np.ndarray:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])  # type: ignore[attr-defined]
    return session.run(None, {"A": a})[0]


def test_blocks_read_back_exactly_as_gguf_dequantizes_them() -> None:
    raw, reference = gguf_like(48, 96, Q4_1, seed=0)
    matrix = exact.read_q4_1(raw, 48, 96)
    assert matrix.codes.shape == (48, 3, 32) and matrix.codes.max() <= 15
    assert np.array_equal(matrix.dense(), reference)
    raw8, reference8 = gguf_like(40, 64, Q8_0, seed=1)
    assert np.array_equal(exact.read_q8_0(raw8, 40, 64).dense(), reference8)


@pytest.mark.parametrize(("rows", "cols"), [(64, 96), (576, 1536)])
def test_matmul_nbits_plus_correction_is_q4_1(rows: int, cols: int) -> None:
    raw, reference = gguf_like(rows, cols, Q4_1, seed=rows)
    matrix = exact.read_q4_1(raw, rows, cols)
    a = np.random.default_rng(7).standard_normal((2, 3, cols)).astype(np.float32)
    wanted = a.astype(np.float64) @ reference.T.astype(np.float64)
    scale = np.abs(wanted).max()
    # Float32 activations: the same numbers as the F32 weights, to float rounding.
    assert np.abs(run(exact.matmul_model(matrix, accuracy_level=0), a) - wanted).max() / scale < 1e-5
    # int8 activations per 32-wide block (what llama.cpp's Q8_1 dot products do): close, not equal.
    assert np.abs(run(exact.matmul_model(matrix, accuracy_level=4), a) - wanted).max() / scale < 2e-2
    # Without the correction the minimums are lost: the branch is what makes it Q4_1.
    no_minimum = exact.Q41Matrix(matrix.codes, matrix.d, -8.0 * matrix.d)
    assert np.abs(run(exact.matmul_model(no_minimum, accuracy_level=0), a) - wanted).max() / scale > 0.05


def test_q8_0_is_an_exact_8_bit_matmul() -> None:
    raw, reference = gguf_like(96, 64, Q8_0, seed=3)
    a = np.random.default_rng(8).standard_normal((1, 2, 64)).astype(np.float32)
    wanted = a.astype(np.float64) @ reference.T.astype(np.float64)
    got = run(exact.matmul_model(exact.read_q8_0(raw, 96, 64), accuracy_level=0), a)
    assert np.abs(got - wanted).max() / np.abs(wanted).max() < 1e-5


def test_unpermute_undoes_llama_cpp_rotary_permutation() -> None:
    rows, heads = 48, 3
    hf = np.arange(rows * 4).reshape(rows, 4)
    # convert_hf_to_gguf's permute for Q and K
    in_gguf = hf.reshape(heads, 2, rows // heads // 2, 4).swapaxes(1, 2).reshape(rows, 4)
    assert not np.array_equal(in_gguf, hf)
    assert np.array_equal(in_gguf[exact.unpermute_rows(rows, heads)], hf)


# ---------------------------------------------------------------------------------------------
# A whole tiny Llama with tied embeddings: HF weights are the dequantized blocks, the GGUF holds
# the blocks themselves (Q and K permuted as llama.cpp stores them).

TINY = {"hidden": 64, "intermediate": 128, "layers": 2, "heads": 4, "kv_heads": 2}
RECIPE = "tiny-q4_1-3"
IDS = [5, 17, 42, 8, 99, 3, 64, 120, 7, 250]
LINEARS = {
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}


def _llama_cpp_permute(raw: np.ndarray, heads: int) -> np.ndarray:
    rows = raw.shape[0]
    return raw.reshape(heads, 2, rows // heads // 2, *raw.shape[1:]).swapaxes(1, 2).reshape(raw.shape)


def build_tiny_q4_1(cache_root: Path) -> Path:
    """The rewritten genai folder, with reference_logits.npy (the float32 model's logits for IDS, from
    transformers); cached by the rewrite's source and this recipe."""
    import onnxruntime_genai

    source = (REPO / "models" / "smollm2" / "exact_q4_1.py").read_bytes()
    key = hashlib.sha256(source + f"{RECIPE}|{onnxruntime_genai.__version__}".encode()).hexdigest()[:12]
    root = cache_root / "test-builds" / f"tiny-q4_1-{key}"
    if (root / "pack" / "reference_logits.npy").is_file():
        return root / "pack"
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    sys.path.insert(0, str(REPO / "tests"))
    from llm_builders import _tokenizer, recipe_module

    shutil.rmtree(root, ignore_errors=True)
    hf = root / "hf"
    hf.mkdir(parents=True)
    vocab = _tokenizer(hf)
    vocab += -vocab % 32  # Q8_0 needs whole blocks; spare ids are never fed
    torch.manual_seed(0)
    torch.set_num_threads(1)
    config = transformers.LlamaConfig(
        vocab_size=vocab,
        hidden_size=TINY["hidden"],
        intermediate_size=TINY["intermediate"],
        num_hidden_layers=TINY["layers"],
        num_attention_heads=TINY["heads"],
        num_key_value_heads=TINY["kv_heads"],
        max_position_embeddings=256,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=2,
        tie_word_embeddings=True,
        initializer_range=0.2,  # big enough weights that a mis-placed block shows in the logits
    )
    config.architectures = ["LlamaForCausalLM"]
    model = transformers.LlamaForCausalLM(config).eval()
    writer = gguf.GGUFWriter(str(root / "tiny.gguf"), "llama")

    def quantized(weight: torch.Tensor, kind: gguf.GGMLQuantizationType) -> np.ndarray:
        raw = gguf.quants.quantize(weight.detach().numpy().astype(np.float32), kind)
        weight.data = torch.from_numpy(gguf.quants.dequantize(raw, kind).reshape(weight.shape).astype(np.float32))
        return raw

    with torch.no_grad():
        embed = model.model.embed_tokens.weight
        writer.add_tensor("token_embd.weight", quantized(embed, Q8_0), raw_dtype=Q8_0)
        for index, layer in enumerate(model.model.layers):
            for attribute, short in LINEARS.items():
                module = layer.get_submodule(attribute)
                raw = quantized(module.weight, Q4_1)
                if short in ("attn_q", "attn_k"):
                    raw = _llama_cpp_permute(raw, TINY["heads"] if short == "attn_q" else TINY["kv_heads"])
                writer.add_tensor(f"blk.{index}.{short}.weight", raw, raw_dtype=Q4_1)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    model.save_pretrained(hf, safe_serialization=True)
    with torch.no_grad():
        reference = model(torch.tensor([IDS])).logits[0].numpy()
    work = root / "work"
    recipe_module().run_builder(hf, hf, root / "built", work, "int4")
    shutil.rmtree(work, ignore_errors=True)
    report = exact.rewrite_folder(root / "built", root / "tiny.gguf", accuracy_level=0)
    assert report.q4_1 == TINY["layers"] * 4 and report.q8_0 == 1  # qkv, o, gate+up, down; lm_head
    assert report.max_weight_error == 0.0
    np.save(root / "built" / "reference_logits.npy", reference)
    shutil.rmtree(hf)
    (root / "built").rename(root / "pack")
    return root / "pack"


@pytest.fixture(scope="module")
def tiny_q4_1() -> Path:
    from atelier.core.settings import cache_dir

    return build_tiny_q4_1(cache_dir())


def logits_of(folder: Path, ids: list[int], accuracy_level: int) -> np.ndarray:
    import onnx

    model = onnx.load(str(folder / "model.onnx"))
    for node in model.graph.node:
        for attribute in node.attribute:
            if node.op_type == "MatMulNBits" and attribute.name == "accuracy_level":
                attribute.i = accuracy_level
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    feeds = {"input_ids": np.array([ids], np.int64), "attention_mask": np.ones((1, len(ids)), np.int64)}
    for spec in session.get_inputs():
        if spec.name.startswith("past_key_values"):
            feeds[spec.name] = np.zeros((1, TINY["kv_heads"], 0, TINY["hidden"] // TINY["heads"]), np.float32)
    return session.run(["logits"], feeds)[0][0]


def test_rewritten_graph_has_no_zero_points_and_one_correction_per_matrix(tiny_q4_1: Path) -> None:
    import onnx

    graph = onnx.load(str(tiny_q4_1 / "model.onnx"), load_external_data=False).graph
    nbits = [n for n in graph.node if n.op_type == "MatMulNBits"]
    assert all(len(n.input) == 3 for n in nbits)  # A, B, scales: no zero points
    bits = sorted(next(a.i for a in n.attribute if a.name == "bits") for n in nbits)
    assert bits == [4] * 4 * TINY["layers"] + [8]  # qkv, o, gate+up (fused), down; the output layer
    block_sums = [n for n in graph.node if n.name.startswith("/exact_q4_1/blocksum/")]
    assert len(block_sums) == 4 * TINY["layers"]  # one per activation: qkv, o, gate+up, down
    assert sum(n.name.endswith("/AddMinimum") for n in graph.node) == 4 * TINY["layers"]
    assert sum(n.op_type == "Split" and "gate_up_proj" in n.name for n in graph.node) == TINY["layers"]
    gather = next(n for n in graph.node if n.op_type == "GatherBlockQuantized")
    assert len(gather.input) == 3 and next(a.i for a in gather.attribute if a.name == "bits") == 8


def test_whole_model_matches_the_float32_forward_pass(tiny_q4_1: Path) -> None:
    wanted = np.load(tiny_q4_1 / "reference_logits.npy")
    scale = np.abs(wanted).max()
    assert scale > 1.0  # weights large enough that a wrong block would show
    exact_logits = logits_of(tiny_q4_1, IDS, accuracy_level=0)
    assert np.abs(exact_logits - wanted).max() / scale < 1e-4
    int8_activations = logits_of(tiny_q4_1, IDS, accuracy_level=4)
    assert np.abs(int8_activations - wanted).max() / scale < 5e-2
    assert (int8_activations.argmax(-1) == wanted.argmax(-1)).mean() >= 0.8
