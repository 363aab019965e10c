"""Rewrite "nearest 2x upsample, then 3x3 convolution" as four 2x2 convolutions on the small image.

Stable Diffusion's UNet and VAE decoder upsample with `F.interpolate(scale_factor=2, mode="nearest")`
followed by a 3x3 convolution. Every output pixel of that convolution sees only 2x2 distinct source
pixels (each source pixel is repeated 2x2), so the same result comes from four 2x2 convolutions (one
per output phase) on the image before upsampling, interleaved with DepthToSpace: 4 taps per output
pixel instead of 9, 2.25x less arithmetic for these layers, which are about a quarter of the VAE
decoder's. The sums of weights are exact in real arithmetic; in float32 outputs differ by rounding only.

onnxruntime has no such fusion (nor does the exporter), so it is done here on the exported graph.

For output row 2a+p of the upsampled convolution, kernel rows ky = 0, 1, 2 read source rows
a + floor((p + ky - 1) / 2):  p = 0 reads rows a-1 (ky 0) and a (ky 1 and 2);
p = 1 reads rows a (ky 0 and 1) and a+1 (ky 2). Columns likewise. Zero padding of the upsampled
image is zero padding of the source, so the borders match too.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from atelier_build.diffusion.onnx_nodes import attributes as node_attributes
from atelier_build.diffusion.onnx_nodes import is_plain_3x3

# Which kernel rows (or columns) each of the two source taps sums, for output phase 0 and 1.
_TAPS = {0: ((0,), (1, 2)), 1: ((0, 1), (2,))}
# ONNX pads for a 2x2 kernel per phase: phase 0 reaches one pixel back, phase 1 one pixel forward.
_PAD_BEGIN = {0: 1, 1: 0}


def phase_kernels(weight: np.ndarray) -> dict[tuple[int, int], np.ndarray]:
    """The four (Cout, Cin, 2, 2) kernels equivalent to `weight` (Cout, Cin, 3, 3) after a 2x nearest upsample."""
    kernels = {}
    for p in (0, 1):
        rows = np.stack([weight[:, :, list(taps), :].sum(2) for taps in _TAPS[p]], 2)  # (Cout, Cin, 2, 3)
        for q in (0, 1):
            kernels[(p, q)] = np.stack([rows[:, :, :, list(taps)].sum(3) for taps in _TAPS[q]], 3)
    return kernels


def _constant(model: Any, name: str, producers: dict[str, Any]) -> np.ndarray | None:
    from onnx import numpy_helper

    for initializer in model.graph.initializer:
        if initializer.name == name:
            return numpy_helper.to_array(initializer)
    node = producers.get(name)
    if node is not None and node.op_type == "Constant":
        for attribute in node.attribute:
            if attribute.name == "value":
                return numpy_helper.to_array(attribute.t)
    return None


def _is_nearest_2x(resize: Any, model: Any, producers: dict[str, Any]) -> bool:
    """Resize as torch exports `interpolate(scale_factor=2, mode="nearest")`: source pixel floor(i / 2)."""
    attributes = node_attributes(resize)
    if attributes.get("mode", b"nearest") != b"nearest":
        return False
    if attributes.get("coordinate_transformation_mode", b"half_pixel") != b"asymmetric":
        return False
    if attributes.get("nearest_mode", b"round_prefer_floor") != b"floor":
        return False
    if len(resize.input) < 3 or not resize.input[2] or (len(resize.input) > 3 and resize.input[3]):
        return False
    scales = _constant(model, resize.input[2], producers)
    return scales is not None and scales.tolist() == [1.0, 1.0, 2.0, 2.0]


def rewrite_upsample_convs(model: Any) -> int:
    """Rewrite every nearest-2x Resize feeding only a plain 3x3 Conv with float32 weights; returns how many."""
    import onnx
    from onnx import helper, numpy_helper

    graph = model.graph
    producers = {output: node for node in graph.node for output in node.output}
    consumers: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    initializers = {i.name: i for i in graph.initializer}
    rewritten = 0
    for conv in list(graph.node):
        if conv.op_type != "Conv" or not is_plain_3x3(conv):
            continue
        resize = producers.get(conv.input[0])
        if resize is None or resize.op_type != "Resize" or len(consumers.get(resize.output[0], [])) != 1:
            continue
        if not _is_nearest_2x(resize, model, producers):
            continue
        weight = initializers.get(conv.input[1])
        if weight is None or weight.data_type != onnx.TensorProto.FLOAT:
            continue
        # float64 sums, rounded once: the result differs from the 3x3 form by float32 rounding only.
        kernels = phase_kernels(numpy_helper.to_array(weight).astype(np.float64))
        bias = [conv.input[2]] if len(conv.input) > 2 and conv.input[2] else []
        base = conv.name or conv.output[0]
        phases = []
        new_nodes = []
        for (p, q), kernel in kernels.items():
            name = f"{base}/subpixel_{p}{q}"
            graph.initializer.append(numpy_helper.from_array(kernel.astype(np.float32), f"{name}/weight"))
            pads = [_PAD_BEGIN[p], _PAD_BEGIN[q], 1 - _PAD_BEGIN[p], 1 - _PAD_BEGIN[q]]
            new_nodes.append(
                helper.make_node(
                    "Conv",
                    [resize.input[0], f"{name}/weight", *bias],
                    [f"{name}/out"],
                    name=name,
                    kernel_shape=[2, 2],
                    pads=pads,
                )
            )
            phases.append(f"{name}/out")
        # Phase-major channels (p, q, c) are DepthToSpace's DCR order: out[c, 2a+p, 2b+q].
        new_nodes.append(helper.make_node("Concat", phases, [f"{base}/subpixel_phases"], axis=1))
        new_nodes.append(
            helper.make_node("DepthToSpace", [f"{base}/subpixel_phases"], list(conv.output), blocksize=2, mode="DCR")
        )
        index = list(graph.node).index(conv)
        graph.node.remove(conv)
        graph.node.remove(resize)
        for offset, node in enumerate(new_nodes):
            graph.node.insert(index - 1 + offset, node)
        if len(consumers.get(conv.input[1], [])) == 1:
            graph.initializer.remove(weight)
        # The scales constant fed only this Resize; left behind, onnxruntime warns about it at every load.
        scales = producers.get(resize.input[2])
        if scales is not None and scales.op_type == "Constant" and len(consumers[resize.input[2]]) == 1:
            graph.node.remove(scales)
        rewritten += 1
    return rewritten
