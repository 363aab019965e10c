"""Tiny real ONNX models and packs built inside tests (onnx.helper), so engine tests need no download."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def scale_model(factor: float = 2.0, slow_repeats: int = 0) -> onnx.ModelProto:
    """y = x * factor; with slow_repeats > 0 a chain of MatMuls makes each run take a while."""
    nodes = [helper.make_node("Mul", ["x", "factor"], ["scaled"])]
    inits = [numpy_helper.from_array(np.array(factor, np.float32), "factor")]
    last = "scaled"
    if slow_repeats:
        inits.append(numpy_helper.from_array(np.eye(512, dtype=np.float32), "eye"))
        for i in range(slow_repeats):
            nodes.append(helper.make_node("MatMul", [last, "eye"], [f"m{i}"]))
            last = f"m{i}"
    nodes.append(helper.make_node("Identity", [last], ["y"]))
    shape = [None, 512] if slow_repeats else [None, None]
    graph = helper.make_graph(
        nodes,
        "scale",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def write_pack(
    folder: Path, model: onnx.ModelProto, pack_id: str = "tiny", kind: str = "tiny", external: bool = False
) -> Path:
    """A pack folder with model.onnx and a manifest holding real sha256s."""
    from atelier.engine.packs import write_manifest

    folder.mkdir(parents=True, exist_ok=True)
    files = ["model.onnx"]
    if external:
        onnx.save(
            model,
            str(folder / "model.onnx"),
            save_as_external_data=True,
            all_tensors_to_one_file=True,
            location="model.data",
            size_threshold=0,
        )
        files.append("model.data")
    else:
        onnx.save(model, str(folder / "model.onnx"))
    meta = {
        "id": pack_id,
        "name": pack_id,
        "kind": kind,
        "version": "1",
        "licence": "MIT",
        "source": "built by the test",
        "components": {"model": "model.onnx"},
    }
    write_manifest(folder, meta, files)
    return folder
