"""A GGUF's own Q4_1 and Q8_0 blocks as onnxruntime MatMulNBits weights, without re-quantizing them.

Q4_1 stores each block of 32 weights as codes q (0..15), a scale d and a minimum m: w = d*q + m.
MatMulNBits can hold the codes and scales, but its zero point is an integer (implicitly 8), and a
float zero point (-m/d) runs about 30x slower on the CPU. So each Q4_1 matrix becomes
    Y = A @ (d*(q - 8))^T  +  blocksum(A) @ (m + 8d)^T
the first term a MatMulNBits without zero points (the fast kernel), the second a small MatMul of
each 32-wide block's input sum (1 x K/32 by K/32 x N). Both terms are exact: nothing is rounded
again. Q8_0 (w = d*q, q signed) is a plain 8-bit MatMulNBits with codes q + 128 (its implicit zero
point is 128), and GatherBlockQuantized reads the same bytes for the tied embedding.

`rewrite_builder_model` replaces the weights of a graph made by onnxruntime-genai's builder (int4,
block 32) node by node; `tests/engine/test_q4_1_exact.py` checks the scheme against numpy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

BLOCK = 32
Q4_1_BLOCK_BYTES = 2 + 2 + BLOCK // 2  # d (f16), m (f16), 16 bytes of nibbles
Q8_0_BLOCK_BYTES = 2 + BLOCK  # d (f16), 32 signed bytes


@dataclass(frozen=True)
class Q41Matrix:
    """A [rows, cols] matrix in Q4_1 blocks along cols: codes [rows, cols/32, 32], d and m [rows, cols/32]."""

    codes: np.ndarray
    d: np.ndarray
    m: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return self.codes.shape[0], self.codes.shape[1] * BLOCK

    def dense(self) -> np.ndarray:
        """The float32 weights, computed as ggml does (d*q + m)."""
        rows, cols = self.shape
        return (self.d[..., None] * self.codes.astype(np.float32) + self.m[..., None]).reshape(rows, cols)

    def take_rows(self, order: np.ndarray) -> Q41Matrix:
        return Q41Matrix(self.codes[order], self.d[order], self.m[order])

    @staticmethod
    def stack(parts: list[Q41Matrix]) -> Q41Matrix:
        return Q41Matrix(
            np.concatenate([p.codes for p in parts]),
            np.concatenate([p.d for p in parts]),
            np.concatenate([p.m for p in parts]),
        )


@dataclass(frozen=True)
class Q80Matrix:
    """A [rows, cols] matrix in Q8_0 blocks along cols: signed codes [rows, cols/32, 32], d [rows, cols/32]."""

    codes: np.ndarray
    d: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return self.codes.shape[0], self.codes.shape[1] * BLOCK

    def dense(self) -> np.ndarray:
        rows, cols = self.shape
        return (self.d[..., None] * self.codes.astype(np.float32)).reshape(rows, cols)


def read_q4_1(raw: np.ndarray, rows: int, cols: int) -> Q41Matrix:
    """Q4_1 bytes as ggml lays them out (per block: d, m, then byte j holds element j in its low
    nibble and element j+16 in its high nibble)."""
    if cols % BLOCK:
        raise ValueError(f"Q4_1 rows must be a multiple of {BLOCK} wide (got {cols}).")
    blocks = np.ascontiguousarray(raw, dtype=np.uint8).reshape(rows, cols // BLOCK, Q4_1_BLOCK_BYTES)
    d = blocks[..., 0:2].copy().view(np.float16)[..., 0].astype(np.float32)
    m = blocks[..., 2:4].copy().view(np.float16)[..., 0].astype(np.float32)
    nibbles = blocks[..., 4:]
    codes = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=-1).astype(np.uint8)
    return Q41Matrix(codes, d, m)


def read_q8_0(raw: np.ndarray, rows: int, cols: int) -> Q80Matrix:
    if cols % BLOCK:
        raise ValueError(f"Q8_0 rows must be a multiple of {BLOCK} wide (got {cols}).")
    blocks = np.ascontiguousarray(raw, dtype=np.uint8).reshape(rows, cols // BLOCK, Q8_0_BLOCK_BYTES)
    d = blocks[..., 0:2].copy().view(np.float16)[..., 0].astype(np.float32)
    codes = blocks[..., 2:].copy().view(np.int8)
    return Q80Matrix(codes, d)


def pack_nibbles(codes: np.ndarray) -> np.ndarray:
    """MatMulNBits' 4-bit layout: per block of 32, byte i holds element 2i (low) and 2i+1 (high)."""
    return (codes[..., 0::2] | (codes[..., 1::2] << 4)).astype(np.uint8)


def nbits_q4_1(matrix: Q41Matrix) -> dict[str, np.ndarray]:
    """The MatMulNBits inputs (no zero points: 8 is implied) and the correction's [K/32, N] matrix."""
    return {
        "B": pack_nibbles(matrix.codes),
        "scales": matrix.d.astype(np.float32),
        "correction": np.ascontiguousarray((matrix.m + 8.0 * matrix.d).T.astype(np.float32)),
    }


def nbits_q8_0(matrix: Q80Matrix) -> dict[str, np.ndarray]:
    """8-bit MatMulNBits (and GatherBlockQuantized) inputs: unsigned codes q + 128 (128 is implied)."""
    return {"B": (matrix.codes.astype(np.int16) + 128).astype(np.uint8), "scales": matrix.d.astype(np.float32)}


def unpermute_rows(rows: int, heads: int) -> np.ndarray:
    """Row order that undoes llama.cpp's rotary permutation of Q and K (convert_hf_to_gguf's
    `permute`), the same reordering onnxruntime-genai's GGUF loader applies (`undo_permute`)."""
    return np.arange(rows).reshape(heads, rows // heads // 2, 2).swapaxes(1, 2).reshape(rows)


# ---------------------------------------------------------------------------------------------
# The builder graph, rewritten


@dataclass(frozen=True)
class LlamaShape:
    heads: int
    kv_heads: int


_WEIGHT_RE = re.compile(r"^model\.layers\.(\d+)\.(attn|mlp)\.(\w+)\.MatMul\.weight")
_GGUF_NAMES = {
    "q_proj": ("attn_q",),
    "k_proj": ("attn_k",),
    "v_proj": ("attn_v",),
    "qkv_proj": ("attn_q", "attn_k", "attn_v"),
    "o_proj": ("attn_output",),
    "gate_proj": ("ffn_gate",),
    "up_proj": ("ffn_up",),
    "down_proj": ("ffn_down",),
    "gate_up_proj": ("ffn_gate", "ffn_up"),  # fused here, see fuse_gate_up
}


class GGUFWeights:
    """The GGUF's quantized tensors by name, read as blocks (never dequantized)."""

    def __init__(self, path: Path) -> None:
        import gguf

        self._gguf = gguf
        self.reader = gguf.GGUFReader(str(path))
        self.tensors = {t.name: t for t in self.reader.tensors}

    def matrix(self, name: str) -> Q41Matrix | Q80Matrix:
        tensor = self.tensors[name]
        cols, rows = (int(n) for n in tensor.shape[:2])  # ggml lists the contiguous dimension first
        kind = self._gguf.GGMLQuantizationType
        if tensor.tensor_type == kind.Q4_1:
            return read_q4_1(tensor.data, rows, cols)
        if tensor.tensor_type == kind.Q8_0:
            return read_q8_0(tensor.data, rows, cols)
        raise ValueError(f"{name} is {tensor.tensor_type.name}; only Q4_1 and Q8_0 are run exactly.")

    def reference(self, name: str) -> np.ndarray:
        """The gguf package's own dequantization (the F32 file the builder reads is made from it)."""
        tensor = self.tensors[name]
        cols, rows = (int(n) for n in tensor.shape[:2])
        return self._gguf.quants.dequantize(tensor.data, tensor.tensor_type).reshape(rows, cols).astype(np.float32)

    def projection(self, layer: int, kind: str, shape: LlamaShape) -> Q41Matrix | Q80Matrix:
        """The GGUF blocks of a builder projection, rows in Hugging Face order (Q and K unpermuted)."""
        parts = []
        for short in _GGUF_NAMES[kind]:
            matrix = self.matrix(f"blk.{layer}.{short}.weight")
            if short in ("attn_q", "attn_k"):
                if not isinstance(matrix, Q41Matrix):
                    raise ValueError(f"blk.{layer}.{short}.weight is not Q4_1")
                heads = shape.heads if short == "attn_q" else shape.kv_heads
                matrix = matrix.take_rows(unpermute_rows(matrix.shape[0], heads))
            parts.append(matrix)
        if len(parts) == 1:
            return parts[0]
        if not all(isinstance(p, Q41Matrix) for p in parts):
            raise ValueError(f"layer {layer}: fused {kind} needs Q4_1 parts")
        return Q41Matrix.stack([p for p in parts if isinstance(p, Q41Matrix)])

    def reference_projection(self, layer: int, kind: str, shape: LlamaShape) -> np.ndarray:
        parts = []
        for short in _GGUF_NAMES[kind]:
            dense = self.reference(f"blk.{layer}.{short}.weight")
            if short in ("attn_q", "attn_k"):
                heads = shape.heads if short == "attn_q" else shape.kv_heads
                dense = dense[unpermute_rows(dense.shape[0], heads)]
            parts.append(dense)
        return np.concatenate(parts)

    def output_name(self) -> str:
        """The output layer's tensor; a model with tied embeddings has only token_embd."""
        return "output.weight" if "output.weight" in self.tensors else "token_embd.weight"

    def output_layer(self) -> Q41Matrix | Q80Matrix:
        return self.matrix(self.output_name())


@dataclass
class RewriteReport:
    """What the rewrite changed, and how far each matrix is from the F32 weights (0 means exact)."""

    q4_1: int = 0
    q8_0: int = 0
    max_weight_error: float = 0.0


def _tensor(name: str, array: np.ndarray) -> Any:
    from onnx import numpy_helper

    return numpy_helper.from_array(np.ascontiguousarray(array), name)


def _set_attribute(node: Any, name: str, value: int) -> None:
    for attribute in node.attribute:
        if attribute.name == name:
            attribute.i = value
            return
    from onnx import helper

    node.attribute.append(helper.make_attribute(name, value))


class GraphEdit:
    """Nodes and initializers of a graph being rewritten, in topological order."""

    def __init__(self) -> None:
        self.nodes: list[Any] = []
        self.initializers: dict[str, Any] = {}
        self._blocksums: dict[str, str] = {}

    def constant(self, name: str, array: np.ndarray) -> str:
        self.initializers[name] = _tensor(name, array)
        return name

    def blocksum(self, source: str, k: int) -> str:
        """Sum of each 32-wide block of `source` [..., K] -> [..., K/32]; one per activation (q/k/v,
        and gate/up, share their input). A MatMul with a 0/1 block selector [K, K/32] (one per K):
        one small op where Reshape + ReduceSum is two, and the ops around it are what the correction
        costs at 135M parameters."""
        from onnx import helper

        if source not in self._blocksums:
            selector = f"/exact_q4_1/block_selector/{k}"
            if selector not in self.initializers:
                blocks = np.kron(np.eye(k // BLOCK, dtype=np.float32), np.ones((BLOCK, 1), np.float32))
                self.constant(selector, blocks)
            base = f"/exact_q4_1/blocksum/{len(self._blocksums)}"
            self.nodes.append(helper.make_node("MatMul", [source, selector], [f"{base}/sum"], name=f"{base}/MatMul"))
            self._blocksums[source] = f"{base}/sum"
        return self._blocksums[source]

    def matmul(self, node: Any, matrix: Q41Matrix | Q80Matrix, accuracy_level: int) -> None:
        """Make `node` (a MatMulNBits: inputs A, B, scales[, zero points]) compute A @ matrix^T
        exactly, adding the Q4_1 correction after it."""
        from onnx import helper

        b_name, scale_name = node.input[1], node.input[2]
        del node.input[3:]  # no zero points: 8 (4-bit) or 128 (8-bit) is implied
        _set_attribute(node, "accuracy_level", accuracy_level)
        _set_attribute(node, "block_size", BLOCK)
        if isinstance(matrix, Q80Matrix):
            parts = nbits_q8_0(matrix)
            _set_attribute(node, "bits", 8)
            self.constant(b_name, parts["B"])
            self.constant(scale_name, parts["scales"])
            self.nodes.append(node)
            return
        parts = nbits_q4_1(matrix)
        _set_attribute(node, "bits", 4)
        self.constant(b_name, parts["B"])
        self.constant(scale_name, parts["scales"])
        correction = self.constant(f"{b_name}/q4_1_correction", parts["correction"])
        output = node.output[0]
        node.output[0] = f"{output}/without_minimum"
        self.nodes.append(node)
        total = self.blocksum(node.input[0], matrix.shape[1])
        base = node.name or output
        self.nodes.append(helper.make_node("MatMul", [total, correction], [f"{base}/minimum"], name=f"{base}/Minimum"))
        self.nodes.append(
            helper.make_node("Add", [node.output[0], f"{base}/minimum"], [output], name=f"{base}/AddMinimum")
        )

    def apply(self, graph: Any) -> None:
        """Replace the graph's nodes, its initializers by name, drop what no node reads any more and
        shapes recorded for tensors whose shape changed."""
        used = {name for node in self.nodes for name in node.input}
        nodes = [n for n in self.nodes if n.op_type != "Constant" or any(o in used for o in n.output)]
        merged = {init.name: init for init in graph.initializer}
        merged.update(self.initializers)
        del graph.initializer[:]
        graph.initializer.extend(init for name, init in merged.items() if name in used)
        del graph.node[:]
        graph.node.extend(nodes)
        reshaped = {n.output[0] for n in nodes if n.op_type == "Reshape"}
        kept_info = [info for info in graph.value_info if info.name not in reshaped]
        del graph.value_info[:]
        graph.value_info.extend(kept_info)


def matmul_model(matrix: Q41Matrix | Q80Matrix, accuracy_level: int = 4) -> Any:
    """A one-matrix ONNX model, Y[batch, seq, N] = A[batch, seq, K] @ matrix^T, built the way the
    pack is (tests compare it with numpy; bench-style timing of one layer)."""
    from onnx import TensorProto, helper

    n, k = matrix.shape
    edit = GraphEdit()
    node = helper.make_node("MatMulNBits", ["A", "B", "scales"], ["Y"], name="matmul", domain="com.microsoft", K=k, N=n)
    edit.matmul(node, matrix, accuracy_level)
    graph = helper.make_graph(
        [],
        "exact_q4_1",
        [helper.make_tensor_value_info("A", TensorProto.FLOAT, ["batch", "seq", k])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["batch", "seq", n])],
    )
    edit.apply(graph)
    return helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 21), helper.make_opsetid("com.microsoft", 1)], ir_version=10
    )


def fuse_gate_up(graph: Any) -> list[tuple[str, tuple[str, str], int]]:
    """Merge each layer's gate and up MatMulNBits (same input) into one gate_up_proj node, in place:
    one activation quantization, one kernel call and one correction instead of two (about 9% faster
    decoding here). Returns (fused node's name, (gate output, up output), N of each) for the Split."""
    by_name = {node.name: node for node in graph.node}
    fused = []
    dropped = set()
    for node in graph.node:
        if node.op_type != "MatMulNBits" or "/mlp/gate_proj/" not in node.name:
            continue
        up = by_name.get(node.name.replace("/gate_proj/", "/up_proj/"))
        if up is None or up.input[0] != node.input[0]:
            continue
        n_each = next(a.i for a in node.attribute if a.name == "N")
        outputs = (node.output[0], up.output[0])
        node.name = node.name.replace("/gate_proj/", "/gate_up_proj/")
        node.output[0] = node.output[0].replace("/gate_proj/", "/gate_up_proj/")
        node.input[1] = node.input[1].replace(".gate_proj.", ".gate_up_proj.")
        node.input[2] = node.input[2].replace(".gate_proj.", ".gate_up_proj.")
        del node.input[3:]
        _set_attribute(node, "N", 2 * n_each)
        dropped.add(up.name)
        fused.append((node.name, outputs, n_each))
    kept = [node for node in graph.node if node.name not in dropped]
    del graph.node[:]
    graph.node.extend(kept)
    return fused


def rewrite_builder_model(
    model: Any, weights: GGUFWeights, shape: LlamaShape, accuracy_level: int = 4, check: bool = True
) -> RewriteReport:
    """Point every MatMulNBits of an onnxruntime-genai int4 Llama graph (block 32) at the GGUF's own
    blocks, in place: Q4_1 projections get the correction branch, the Q8_0 output layer (and the
    tied embedding's GatherBlockQuantized) become 8-bit. With `check`, each matrix is compared with
    the gguf package's dequantized weights (the builder's own F32 input)."""
    from onnx import helper

    report = RewriteReport()
    edit = GraphEdit()
    output_codes: dict[str, np.ndarray] = {}
    # By name: protobuf copies the nodes when the graph's node list is rebuilt.
    splits = {name: (outputs, n_each) for name, outputs, n_each in fuse_gate_up(model.graph)}
    for node in model.graph.node:
        if node.op_type != "MatMulNBits":
            edit.nodes.append(node)
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if attrs.get("block_size") != BLOCK or attrs.get("bits") != 4:
            raise ValueError(f"{node.name}: expected a 4-bit, block-32 MatMulNBits from the builder")
        b_name = node.input[1]
        if b_name.startswith("lm_head."):
            matrix: Q41Matrix | Q80Matrix = weights.output_layer()
            reference = weights.reference(weights.output_name()) if check else None
        else:
            match = _WEIGHT_RE.match(b_name)
            if not match:
                raise ValueError(f"{node.name}: cannot tell which GGUF tensor {b_name} comes from")
            layer, kind = int(match[1]), match[3]
            matrix = weights.projection(layer, kind, shape)
            reference = weights.reference_projection(layer, kind, shape) if check else None
        if matrix.shape != (int(attrs["N"]), int(attrs["K"])):
            raise ValueError(f"{node.name}: GGUF matrix {matrix.shape} does not match N={attrs['N']}, K={attrs['K']}")
        if reference is not None:
            report.max_weight_error = max(report.max_weight_error, float(np.abs(matrix.dense() - reference).max()))
        result = node.output[0]  # the correction's Add writes it; the node's own output is renamed
        edit.matmul(node, matrix, accuracy_level)
        if node.name in splits:
            outputs, n_each = splits[node.name]
            sizes = edit.constant(f"{node.name}/split_sizes", np.array([n_each, n_each], np.int64))
            split = helper.make_node("Split", [result, sizes], list(outputs), name=f"{node.name}/Split", axis=-1)
            edit.nodes.append(split)
        if isinstance(matrix, Q80Matrix):
            output_codes[b_name] = nbits_q8_0(matrix)["B"]
            report.q8_0 += 1
        else:
            report.q4_1 += 1

    for node in edit.nodes:
        if node.op_type != "GatherBlockQuantized":
            continue
        # The builder ties the embedding to the output layer: Reshape(lm_head B) -> GatherBlockQuantized,
        # sharing its scales; with 8-bit codes the reshape is [vocab, hidden] bytes.
        producer = next((p for p in edit.nodes if node.input[0] in p.output), None)
        if producer is None or producer.op_type != "Reshape" or producer.input[0] not in output_codes:
            raise ValueError(f"{node.name}: the embedding is not tied to the output layer as expected")
        codes = output_codes[producer.input[0]]
        producer.input[1] = edit.constant(
            f"{producer.name}/q8_0_shape", np.array([codes.shape[0], codes.shape[1] * codes.shape[2]], np.int64)
        )
        del node.input[3:]
        _set_attribute(node, "bits", 8)
    edit.apply(model.graph)
    return report


def rewrite_folder(folder: Path, gguf_path: Path, accuracy_level: int = 4, check: bool = True) -> RewriteReport:
    """Rewrite `folder/model.onnx` (an onnxruntime-genai int4 build of the same GGUF) in place."""
    import json

    import onnx

    config = json.loads((folder / "genai_config.json").read_text(encoding="utf-8"))["model"]["decoder"]
    shape = LlamaShape(heads=int(config["num_attention_heads"]), kv_heads=int(config["num_key_value_heads"]))
    path = folder / "model.onnx"
    model = onnx.load(str(path), load_external_data=True)
    report = rewrite_builder_model(model, GGUFWeights(gguf_path), shape, accuracy_level, check)
    data = path.with_name(path.name + ".data")
    path.unlink()
    data.unlink(missing_ok=True)  # onnx appends to an existing data file
    onnx.save_model(
        model,
        str(path),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location=data.name,
        size_threshold=1024,
    )
    return report
