"""Build the line-art pack: a fixed-weight ONNX graph (no training, no downloaded weights).

Grey -> Gaussian blur -> Sobel gradient magnitude -> ink with a gain set by `sensitivity`.
Run: python models/lineart/build_lineart.py  (needs the `onnx` package; writes lineart.onnx + pack.json)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = Path(__file__).resolve().parent


def gaussian_kernel(size: int = 5, sigma: float = 1.0) -> np.ndarray:
    axis = np.arange(size) - size // 2
    g = np.exp(-(axis**2) / (2 * sigma**2))
    kernel = np.outer(g, g)
    return (kernel / kernel.sum()).astype(np.float32)


def build_model() -> onnx.ModelProto:
    grey = np.array([0.299, 0.587, 0.114], np.float32).reshape(1, 3, 1, 1)
    blur = gaussian_kernel().reshape(1, 1, 5, 5)
    sobel_x = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32) / 4
    sobel = np.stack([sobel_x, sobel_x.T]).reshape(2, 1, 3, 3)
    initializers = [
        numpy_helper.from_array(grey, "w_grey"),
        numpy_helper.from_array(blur, "w_blur"),
        numpy_helper.from_array(sobel, "w_sobel"),
        numpy_helper.from_array(np.array([0, 0, 3, 3, 0, 0, 3, 3], np.int64), "pads"),
        numpy_helper.from_array(np.array([2.0], np.float32), "gain_min"),
        numpy_helper.from_array(np.array([28.0], np.float32), "gain_span"),
        numpy_helper.from_array(np.array(0.0, np.float32), "zero"),
        numpy_helper.from_array(np.array(1.0, np.float32), "one"),
        numpy_helper.from_array(np.array([1], np.int64), "axis1"),
    ]
    nodes = [
        helper.make_node("Conv", ["image", "w_grey"], ["grey"]),
        # Reflect padding so the picture's border is not drawn as a line.
        helper.make_node("Pad", ["grey", "pads"], ["padded"], mode="reflect"),
        helper.make_node("Conv", ["padded", "w_blur"], ["blurred"]),
        helper.make_node("Conv", ["blurred", "w_sobel"], ["grad"]),
        helper.make_node("Mul", ["grad", "grad"], ["grad2"]),
        helper.make_node("ReduceSum", ["grad2", "axis1"], ["mag2"], keepdims=1),
        helper.make_node("Sqrt", ["mag2"], ["mag"]),
        helper.make_node("Mul", ["sensitivity", "gain_span"], ["gain_extra"]),
        helper.make_node("Add", ["gain_extra", "gain_min"], ["gain"]),
        helper.make_node("Mul", ["mag", "gain"], ["ink_raw"]),
        helper.make_node("Clip", ["ink_raw", "zero", "one"], ["ink"]),
        helper.make_node("Sub", ["one", "ink"], ["lines"]),
    ]
    graph = helper.make_graph(
        nodes,
        "atelier_lineart",
        [
            helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, "height", "width"]),
            helper.make_tensor_value_info("sensitivity", TensorProto.FLOAT, [1]),
        ],
        [helper.make_tensor_value_info("lines", TensorProto.FLOAT, [1, 1, "height", "width"])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="atelier")
    model.ir_version = 8  # readable by onnxruntime >= 1.14
    onnx.checker.check_model(model)
    return model


def main(out_dir: Path = HERE) -> Path:
    sys.path.insert(0, str(HERE.parents[1] / "desktop"))
    from atelier.engine.packs import write_manifest

    out_dir.mkdir(parents=True, exist_ok=True)
    onnx.save(build_model(), str(out_dir / "lineart.onnx"))
    meta = {
        "id": "atelier-lineart",
        "name": "Line art (edge tracer)",
        "kind": "lineart",
        "version": "1",
        "licence": "MIT",
        "source": "Built by models/lineart/build_lineart.py from fixed Gaussian and Sobel kernels; no trained weights.",
        "providers": ["CUDAExecutionProvider", "DmlExecutionProvider", "CoreMLExecutionProvider"],
        "components": {"model": "lineart.onnx"},
    }
    return write_manifest(out_dir, meta, ["lineart.onnx"])


if __name__ == "__main__":
    print(main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE))
