"""Reading ONNX nodes, for the export's graph rewrites."""

from __future__ import annotations

from typing import Any


def attributes(node: Any) -> dict[str, Any]:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def is_plain_3x3(conv: Any) -> bool:
    """A Conv with an explicit 3x3 kernel, padding 1, stride 1, no dilation, no groups."""
    found = attributes(conv)
    return (
        list(found.get("kernel_shape", [])) == [3, 3]
        and list(found.get("pads", [0, 0, 0, 0])) == [1, 1, 1, 1]
        and list(found.get("strides", [1, 1])) == [1, 1]
        and list(found.get("dilations", [1, 1])) == [1, 1]
        and found.get("group", 1) == 1
        and found.get("auto_pad", b"NOTSET") == b"NOTSET"
    )
