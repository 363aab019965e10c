"""Rewrite plain 3x3 convolutions as Winograd F(4x4, 3x3) for onnxruntime's CPU kernels.

A 3x3 convolution computes each 4x4 block of outputs from a 6x6 block of inputs. Winograd's minimal
filtering (Lavin & Gray 2015) does that with 36 products per input/output channel pair instead of
144: transform each overlapping 6x6 input tile (V = B^T d B, additions only), multiply it point by
point with the transformed kernel (U = G g G^T) summed over input channels, and transform back
(Y = A^T M A). The channel sums are 36 independent matrix products, 4x less arithmetic than the
direct convolution; the transforms are cheap per pixel. onnxruntime's CPU convolution (MLAS) has no
Winograd path and the exporter makes none, so the graph is rewritten here, with ops whose CPU
kernels are fast:

- input transform: B^T d B is separable, so 6 depthwise convolutions down the rows (kernel 6x1,
  stride 4) then 6 across the columns of each (1x6, stride 4) give the 36 transformed planes;
- the 36 matrix products: one 1x1 convolution with group=36 over the planes (concatenated
  position-major), which onnxruntime runs in its blocked (NCHWc) layout like any convolution;
- output transform: a (16 x 36) MatMul over the position axis, then DepthToSpace to put each 4x4
  block in place, and a Slice back to the input size (the tiles cover sizes rounded up to 4).

The kernel transform U = G W G^T is written as MatMuls on the original weight, which onnxruntime's
constant folding evaluates once when the session loads: the pack's files keep their weights as
exported, and the folded U (4x the weight's size) replaces W in memory.

In float32 the outputs differ from the direct convolution by rounding (about 1e-5 relative, the
interpolation points 0, +-1, +-2 keep the transforms' entries small). The transforms' constants
need float32: the rewrite is for float32 graphs (CPU packs); float16 GPU packs keep their
convolutions, which GPU libraries already run with their own Winograd kernels.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from atelier_build.diffusion.onnx_nodes import is_plain_3x3

# F(4x4, 3x3) on the points 0, 1, -1, 2, -2 and infinity (Lavin & Gray 2015, section 4.1).
TILE_OUT = 4
TILE_IN = TILE_OUT + 2
B_T = np.array(
    [
        [4, 0, -5, 0, 1, 0],
        [0, -4, -4, 1, 1, 0],
        [0, 4, -4, -1, 1, 0],
        [0, -2, -1, 2, 1, 0],
        [0, 2, -1, -2, 1, 0],
        [0, 4, 0, -5, 0, 1],
    ],
    np.float64,
)
G = np.array(
    [
        [1 / 4, 0, 0],
        [-1 / 6, -1 / 6, -1 / 6],
        [-1 / 6, 1 / 6, -1 / 6],
        [1 / 24, 1 / 12, 1 / 6],
        [1 / 24, -1 / 12, 1 / 6],
        [0, 0, 1],
    ],
    np.float64,
)
A_T = np.array(
    [
        [1, 1, 1, 1, 1, 0],
        [0, 1, -1, 2, -2, 0],
        [0, 1, 1, 4, 4, 0],
        [0, 1, -1, 8, -8, 1],
    ],
    np.float64,
)
# Column 1 of A^T is all ones, so a bias added to the products at position (1, 1) reaches every output.
_BIAS_POSITION = 1 * TILE_IN + 1

# Which convolutions pay off (measured with onnxruntime 1.32, 2 threads, AVX2): with few channels
# the transforms cost more than the products save, and the folded U is 4x the weight's memory, so
# the 1280-channel layers of an SD UNet (1.2 GB of weights, 4x4 to 16x16 pixels) are left alone.
MIN_CHANNELS = 64
MAX_OUT_CHANNELS = 640


def eligible(weight_dims: list[int]) -> bool:
    """Whether a plain 3x3 convolution with this (Cout, Cin, 3, 3) weight is worth rewriting."""
    if len(weight_dims) != 4 or weight_dims[2:] != [3, 3]:
        return False
    out_channels, in_channels = weight_dims[0], weight_dims[1]
    return min(out_channels, in_channels) >= MIN_CHANNELS and out_channels <= MAX_OUT_CHANNELS


class _Builder:
    """Appends nodes and float32/int64 constants under one name prefix."""

    def __init__(self, graph: Any, prefix: str) -> None:
        self.graph = graph
        self.prefix = prefix
        self.nodes: list[Any] = []

    def const(self, name: str, value: np.ndarray) -> str:
        from onnx import numpy_helper

        full = f"{self.prefix}/const/{name}"
        self.graph.initializer.append(numpy_helper.from_array(value, full))
        return full

    def node(self, op: str, inputs: list[str], name: str, output: str | None = None, **attributes: Any) -> str:
        from onnx import helper

        out = output or f"{self.prefix}/{name}"
        self.nodes.append(helper.make_node(op, inputs, [out], name=f"{self.prefix}/{name}", **attributes))
        return out


def _ints(*values: int) -> np.ndarray:
    return np.array(values, np.int64)


def _depthwise(b: _Builder, x: str, channels: int, row: np.ndarray, axis: int, name: str) -> str:
    """One row of B^T as a depthwise convolution down (axis 2) or across (axis 3) every channel, stride 4."""
    shape = [channels, 1, TILE_IN, 1] if axis == 2 else [channels, 1, 1, TILE_IN]
    kernel = np.broadcast_to(row.astype(np.float32).reshape(shape[2:]), shape).copy()
    # Begin pad 1 (the 3x3's), end pad 4: then ceil(size / 4) tiles cover the image for any size.
    pads = [1, 0, TILE_OUT, 0] if axis == 2 else [0, 1, 0, TILE_OUT]
    return b.node(
        "Conv",
        [x, b.const(f"{name}/kernel", kernel)],
        name,
        group=channels,
        kernel_shape=shape[2:],
        strides=[TILE_OUT, 1] if axis == 2 else [1, TILE_OUT],
        pads=pads,
    )


def _kernel_transform(b: _Builder, weight: str, out_channels: int, in_channels: int) -> str:
    """U = G W G^T as one MatMul with G (x) G on the weight, laid out as a grouped 1x1 kernel (36*Cout, Cin, 1, 1).

    onnxruntime folds this when the session loads and keeps every folded result as a new tensor, so
    it is one product and one transpose (per-pair batched products took seconds per model).
    """
    taps = b.node("Reshape", [weight, b.const("w_taps", _ints(out_channels * in_channels, 9))], "w_taps")
    kron = np.kron(G, G).T.copy().astype(np.float32)  # (9 ij, 36 ab): U[ab] = sum_ij G[a,i] G[b,j] W[ij]
    products = b.node("MatMul", [taps, b.const("G_kron_G", kron)], "u_pairs")  # (K*C, 36)
    positions = b.node("Transpose", [products], "u_positions", perm=[1, 0])  # (36, K*C)
    return b.node("Reshape", [positions, b.const("u_kernel", _ints(-1, in_channels, 1, 1))], "u")


def _rewrite_one(graph: Any, conv: Any, out_channels: int, in_channels: int) -> list[Any]:
    b = _Builder(graph, f"{conv.name or conv.output[0]}/winograd")
    x = conv.input[0]
    planes = []
    for i in range(TILE_IN):
        rows = _depthwise(b, x, in_channels, B_T[i], 2, f"rows{i}")
        for j in range(TILE_IN):
            planes.append(_depthwise(b, rows, in_channels, B_T[j], 3, f"v{i}{j}"))
    transformed = b.node("Concat", planes, "v", axis=1)  # (N, 36*Cin, tiles_h, tiles_w), position-major
    products_inputs = [transformed, _kernel_transform(b, conv.input[1], out_channels, in_channels)]
    if len(conv.input) > 2 and conv.input[2]:
        # The bias joins the products at the position every output sums with weight 1.
        select = np.zeros((TILE_IN * TILE_IN, 1), np.float32)
        select[_BIAS_POSITION] = 1.0
        spread = b.node("Mul", [b.const("bias_select", select), conv.input[2]], "bias_spread")
        products_inputs.append(b.node("Reshape", [spread, b.const("bias_shape", _ints(-1))], "bias"))
    products = b.node("Conv", products_inputs, "m", group=TILE_IN * TILE_IN, kernel_shape=[1, 1])
    products_shape = b.node("Shape", [products], "m_shape")
    by_position = b.node("Reshape", [products, b.const("m_positions", _ints(0, TILE_IN * TILE_IN, -1))], "m3")
    a_both = np.einsum("ai,bj->abij", A_T, A_T).reshape(TILE_OUT * TILE_OUT, TILE_IN * TILE_IN)
    outputs = b.node("MatMul", [b.const("A_T_A", a_both.astype(np.float32)), by_position], "y3")
    batch = b.node("Slice", [products_shape, b.const("at0", _ints(0)), b.const("at1", _ints(1))], "batch")
    tiles = b.node("Slice", [products_shape, b.const("at2", _ints(2)), b.const("at4", _ints(4))], "tiles")
    phase_channels = b.const("phase_channels", _ints(TILE_OUT * TILE_OUT * out_channels))
    phases_shape = b.node("Concat", [batch, phase_channels, tiles], "phases_shape", axis=0)
    phases = b.node("Reshape", [outputs, phases_shape], "phases")
    # Position-major (dy, dx, c) channels are DepthToSpace's DCR order: out[c, 4a+dy, 4b+dx].
    tiled = b.node("DepthToSpace", [phases], "tiled", blocksize=TILE_OUT, mode="DCR")
    size = b.node(
        "Slice", [b.node("Shape", [x], "x_shape"), b.const("at2b", _ints(2)), b.const("at4b", _ints(4))], "size"
    )
    b.node("Slice", [tiled, b.const("zero2", _ints(0, 0)), size, b.const("hw", _ints(2, 3))], "crop", conv.output[0])
    return b.nodes


def rewrite_winograd_convs(model: Any) -> int:
    """Rewrite each eligible plain 3x3 Conv with a float32 weight initializer; returns how many.

    Reads only the weights' shapes, so a model loaded without its external data can be rewritten.
    """
    import onnx

    graph = model.graph
    weights = {i.name: i for i in graph.initializer}
    nodes: list[Any] = []
    rewritten = 0
    for node in graph.node:
        weight = weights.get(node.input[1]) if node.op_type == "Conv" and len(node.input) > 1 else None
        if (
            weight is None
            or weight.data_type != onnx.TensorProto.FLOAT
            or not eligible(list(weight.dims))
            or not is_plain_3x3(node)
        ):
            nodes.append(node)
            continue
        nodes.extend(_rewrite_one(graph, node, int(weight.dims[0]), int(weight.dims[1])))
        rewritten += 1
    if rewritten:  # the new nodes take the Conv's place, so the graph stays topologically sorted
        del graph.node[:]
        graph.node.extend(nodes)
    return rewritten


def folded_extra_bytes(model: Any) -> int:
    """Memory the loaded session takes beyond the file's weights: each rewritten weight W is replaced
    by its folded U, 36/9 = 4x its size. Reads only shapes (the model may be loaded without data)."""
    dims = {i.name: list(i.dims) for i in model.graph.initializer}
    extra = 0
    for node in model.graph.node:
        if node.op_type == "Reshape" and node.name.endswith("/winograd/w_taps") and node.input[0] in dims:
            extra += 3 * int(np.prod(dims[node.input[0]])) * 4  # float32
    return extra
