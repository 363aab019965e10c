"""The export's Winograd rewrite: plain 3x3 Convs become F(4x4, 3x3) transforms around a grouped 1x1 Conv.

Each graph here is built with onnx.helper and run with onnxruntime before and after the rewrite, and
against a plain-numpy convolution.
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from atelier_build.diffusion.winograd_conv import A_T, B_T, G, eligible, folded_extra_bytes, rewrite_winograd_convs


def conv_model(
    channels: int = 64,
    out_channels: int = 64,
    *,
    bias: bool = True,
    kernel: int = 3,
    stride: int = 1,
    group: int = 1,
    pad: int = 1,
    seed: int = 0,
) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)
    weight = rng.standard_normal((out_channels, channels // group, kernel, kernel)) / np.sqrt(9 * channels)
    initializers = [numpy_helper.from_array(weight.astype(np.float32), "w")]
    inputs = ["x", "w"]
    if bias:
        initializers.append(numpy_helper.from_array(rng.standard_normal(out_channels).astype(np.float32), "b"))
        inputs.append("b")
    conv = helper.make_node(
        "Conv", inputs, ["y"], kernel_shape=[kernel, kernel], pads=[pad] * 4, strides=[stride] * 2, group=group
    )
    graph = helper.make_graph(
        [conv],
        "conv",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", channels, "h", "w"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", out_channels, "h2", "w2"])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    return model


def run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return session.run(["y"], {"x": x})[0]


def reference(x: np.ndarray, model: onnx.ModelProto) -> np.ndarray:
    """3x3 convolution with padding 1, in plain numpy (float64)."""
    weights = {i.name: numpy_helper.to_array(i).astype(np.float64) for i in model.graph.initializer}
    weight, bias = weights["w"], weights.get("b", np.zeros(weights["w"].shape[0]))
    padded = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (1, 1), (1, 1)))
    h, w = x.shape[2:]
    out = np.zeros((x.shape[0], weight.shape[0], h, w))
    for ky in range(3):
        for kx in range(3):
            out += np.einsum("nchw,oc->nohw", padded[:, :, ky : ky + h, kx : kx + w], weight[:, :, ky, kx])
    return out + bias[None, :, None, None]


def test_transform_tables_compute_a_3_tap_correlation_exactly() -> None:
    """A^T [(G g) * (B^T d)] is the 4 outputs of correlating 6 inputs with 3 taps (float64, any values)."""
    rng = np.random.default_rng(0)
    for _ in range(20):
        d, g = rng.standard_normal(6), rng.standard_normal(3)
        direct = np.array([d[i : i + 3] @ g for i in range(4)])
        assert np.allclose(A_T @ ((G @ g) * (B_T @ d)), direct, atol=1e-12)


@pytest.mark.parametrize("shape", [(1, 64, 8, 8), (2, 64, 5, 7), (1, 64, 1, 1), (1, 64, 4, 13), (2, 64, 9, 3)], ids=str)
def test_rewritten_graph_gives_the_same_image(shape: tuple[int, ...]) -> None:
    model = conv_model(out_channels=96)
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    before = run(model, x)
    assert rewrite_winograd_convs(model) == 1
    onnx.checker.check_model(model)
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    kernels = {tuple(helper.get_attribute_value(a)) for n in convs for a in n.attribute if a.name == "kernel_shape"}
    assert kernels == {(6, 1), (1, 6), (1, 1)}  # the row/column transforms and the 36 grouped products
    after = run(model, x)
    assert after.shape == before.shape == (shape[0], 96, shape[2], shape[3])
    scale = np.abs(before).max()
    assert np.abs(after - before).max() < 1e-5 * scale
    assert np.abs(after - reference(x, model)).max() < 1e-5 * scale


def test_conv_without_bias_is_rewritten_too() -> None:
    model = conv_model(bias=False)
    x = np.random.default_rng(2).standard_normal((1, 64, 6, 10)).astype(np.float32)
    assert rewrite_winograd_convs(model) == 1
    after = run(model, x)
    assert np.abs(after - reference(x, model)).max() < 1e-5 * np.abs(after).max()


def test_two_convs_in_a_row_keep_the_graph_in_order() -> None:
    first = conv_model()
    second = conv_model(seed=1)
    for initializer in second.graph.initializer:
        initializer.name += "2"
        first.graph.initializer.append(initializer)
    first.graph.node[0].output[0] = "mid"
    first.graph.node.append(helper.make_node("Conv", ["mid", "w2", "b2"], ["y"], kernel_shape=[3, 3], pads=[1] * 4))
    x = np.random.default_rng(3).standard_normal((1, 64, 7, 7)).astype(np.float32)
    before = run(first, x)
    assert rewrite_winograd_convs(first) == 2
    onnx.checker.check_model(first)  # topologically sorted, no duplicate names
    assert np.abs(run(first, x) - before).max() < 1e-5 * np.abs(before).max()


@pytest.mark.parametrize(
    "options",
    [{"stride": 2}, {"group": 2}, {"kernel": 1, "pad": 0}, {"pad": 0}, {"channels": 32}, {"out_channels": 16}],
    ids=["stride-2", "grouped", "1x1", "unpadded", "few-input-channels", "few-output-channels"],
)
def test_convolutions_the_rewrite_does_not_cover_are_left_alone(options: dict) -> None:
    model = conv_model(**options)
    x = np.random.default_rng(4).standard_normal((1, options.get("channels", 64), 8, 8)).astype(np.float32)
    before = run(model, x)
    assert rewrite_winograd_convs(model) == 0
    assert [n.op_type for n in model.graph.node] == ["Conv"]
    assert np.array_equal(run(model, x), before)


def test_float16_weights_and_the_widest_layers_are_left_alone() -> None:
    model = conv_model()
    weight = model.graph.initializer[0]
    weight.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(weight).astype(np.float16), "w"))
    assert rewrite_winograd_convs(model) == 0
    # 1280-channel layers (SD's deepest) would take 4x their weights' memory for little gain.
    assert eligible([640, 1280, 3, 3]) and not eligible([1280, 1280, 3, 3]) and not eligible([64, 64, 1, 1])


def test_folded_kernels_are_counted_as_extra_memory() -> None:
    model = conv_model(out_channels=96)
    assert folded_extra_bytes(model) == 0
    rewrite_winograd_convs(model)
    assert folded_extra_bytes(model) == 3 * 96 * 64 * 9 * 4  # U is 36/9 = 4x the float32 weight
