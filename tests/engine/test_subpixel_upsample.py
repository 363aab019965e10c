"""The export's upsample rewrite: nearest-2x Resize + 3x3 Conv becomes four 2x2 Convs + DepthToSpace.

Each graph here is built with onnx.helper and run with onnxruntime before and after the rewrite.
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from atelier_build.diffusion.subpixel_upsample import phase_kernels, rewrite_upsample_convs


def upsample_conv_model(
    channels: int = 3,
    out_channels: int = 5,
    *,
    mode: str = "nearest",
    transform: str = "asymmetric",
    bias: bool = True,
    second_consumer: bool = False,
    seed: int = 0,
) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)
    weight = rng.standard_normal((out_channels, channels, 3, 3)).astype(np.float32)
    initializers = [numpy_helper.from_array(weight, "w")]
    conv_inputs = ["up", "w"]
    if bias:
        initializers.append(numpy_helper.from_array(rng.standard_normal(out_channels).astype(np.float32), "b"))
        conv_inputs.append("b")
    nodes = [
        helper.make_node("Constant", [], ["scales"], value=numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32))),
        helper.make_node(
            "Resize",
            ["x", "", "scales"],
            ["up"],
            mode=mode,
            coordinate_transformation_mode=transform,
            nearest_mode="floor",
        ),
        helper.make_node("Conv", conv_inputs, ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
    ]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", out_channels, "h2", "w2"])]
    if second_consumer:
        nodes.append(helper.make_node("Relu", ["up"], ["z"]))
        outputs.append(helper.make_tensor_value_info("z", TensorProto.FLOAT, ["n", channels, "h2", "w2"]))
    graph = helper.make_graph(
        nodes,
        "upsample_conv",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", channels, "h", "w"])],
        outputs,
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    return model


def run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(["y"], {"x": x})[0]


def reference(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """3x3 convolution (padding 1) of the nearest-2x upsampled image, in plain numpy."""
    up = np.pad(x.repeat(2, 2).repeat(2, 3), ((0, 0), (0, 0), (1, 1), (1, 1)))
    h, w = x.shape[2] * 2, x.shape[3] * 2
    out = np.zeros((x.shape[0], weight.shape[0], h, w))
    for ky in range(3):
        for kx in range(3):
            out += np.einsum("nchw,oc->nohw", up[:, :, ky : ky + h, kx : kx + w], weight[:, :, ky, kx])
    return out + bias[None, :, None, None]


@pytest.mark.parametrize("shape", [(1, 3, 4, 4), (2, 3, 5, 7), (1, 3, 1, 1)])
def test_rewritten_graph_gives_the_same_image_with_no_resize_left(shape: tuple[int, ...]) -> None:
    model = upsample_conv_model()
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    before = run(model, x)
    assert rewrite_upsample_convs(model) == 1
    onnx.checker.check_model(model)
    ops = [node.op_type for node in model.graph.node]
    assert "Resize" not in ops and ops.count("Conv") == 4 and "DepthToSpace" in ops
    assert "Constant" not in ops  # Resize's scales went with it (onnxruntime warns about unused ones)
    after = run(model, x)
    assert after.shape == before.shape == (shape[0], 5, shape[2] * 2, shape[3] * 2)
    assert np.abs(after - before).max() < 1e-5
    weights = {i.name: numpy_helper.to_array(i) for i in upsample_conv_model().graph.initializer}
    assert np.abs(after - reference(x, weights["w"], weights["b"])).max() < 1e-4


def test_conv_without_bias_is_rewritten_too() -> None:
    model = upsample_conv_model(bias=False)
    x = np.random.default_rng(2).standard_normal((1, 3, 6, 3)).astype(np.float32)
    before = run(model, x)
    assert rewrite_upsample_convs(model) == 1
    assert np.abs(run(model, x) - before).max() < 1e-5


@pytest.mark.parametrize(
    "options",
    [{"mode": "linear"}, {"transform": "half_pixel", "mode": "linear"}, {"second_consumer": True}],
    ids=["bilinear", "half-pixel-bilinear", "upsampled-image-used-elsewhere"],
)
def test_graphs_the_rewrite_does_not_cover_are_left_alone(options: dict) -> None:
    model = upsample_conv_model(**options)
    x = np.random.default_rng(3).standard_normal((1, 3, 4, 4)).astype(np.float32)
    before = run(model, x)
    assert rewrite_upsample_convs(model) == 0
    assert [node.op_type for node in model.graph.node].count("Resize") == 1
    assert np.array_equal(run(model, x), before)


def test_phase_kernels_sum_the_taps_that_read_the_same_source_pixel() -> None:
    weight = np.arange(9, dtype=np.float64).reshape(1, 1, 3, 3)  # rows 0-2, 3-5, 6-8
    kernels = phase_kernels(weight)
    # Phase (0, 0): rows {0} and {1, 2}, columns {0} and {1, 2}.
    assert kernels[(0, 0)][0, 0].tolist() == [[0, 1 + 2], [3 + 6, 4 + 5 + 7 + 8]]
    # Phase (1, 1): rows {0, 1} and {2}, columns {0, 1} and {2}.
    assert kernels[(1, 1)][0, 0].tolist() == [[0 + 1 + 3 + 4, 2 + 5], [6 + 7, 8]]
    assert all(k.sum() == weight.sum() for k in kernels.values())


def test_exported_pipelines_have_their_upsamplers_rewritten() -> None:
    """The export applies the rewrite to the UNet and VAE decoder (the parity tests then compare those
    exports with diffusers' PyTorch pipeline to 1/255)."""
    pytest.importorskip("diffusers")
    from tests.diffusion_builders import tiny_onnx_folder

    folder, _, _ = tiny_onnx_folder()
    for role, upsamplers in (("unet", 1), ("vae_decoder", 3)):
        ops = [node.op_type for node in onnx.load(str(folder / role / "model.onnx")).graph.node]
        assert "Resize" not in ops, role
        assert ops.count("DepthToSpace") == upsamplers, role
