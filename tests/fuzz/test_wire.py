"""The render server's wire format read from the other side: whatever a client sends the server, or a server
sends the desktop, decodes to a value of the declared types or a clear AtelierError, never another exception
and never an allocation the message did not pay for."""

from __future__ import annotations

import base64
import dataclasses
import json
import random
import struct
import typing
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atelier.core.errors import AtelierError, InvalidRequestError
from atelier.core.requests import DeviceInfo, Request, Result
from atelier.remote import wire
from tests.fuzz import inputs

DECODERS: dict[str, Any] = {
    "request": wire.decode_request,
    "result": wire.decode_result,
    "progress": wire.decode_progress,
    "error": wire.decode_error,
    "device": wire.decode_device,
}


def check_fields(obj: Any) -> None:
    hints = typing.get_type_hints(type(obj))
    for field in dataclasses.fields(obj):
        assert wire._has_type(getattr(obj, field.name), hints[field.name]), field.name


@settings(max_examples=1500, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_fuzz_any_message_decodes_to_its_types_or_a_clear_error(seed: int) -> None:
    reader, message = inputs.wire_message(random.Random(seed))
    try:
        decoded = DECODERS[reader](message)
    except AtelierError as exc:
        assert str(exc)
        return
    if isinstance(decoded, (Request, Result)):
        check_fields(decoded)
    if isinstance(decoded, Request):
        decoded.summary()
    if isinstance(decoded, DeviceInfo):
        assert all(isinstance(p, str) for p in (*decoded.requested, *decoded.fallbacks))


def _npy(header: str, data: bytes = b"") -> dict[str, str]:
    raw = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header) + 1) + header.encode() + b"\n" + data
    return {"npy": base64.b64encode(raw).decode("ascii")}


def test_an_npy_header_declaring_37_gb_is_refused_before_numpy_allocates_it() -> None:
    huge = _npy("{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000), }", bytes(16))
    with pytest.raises(wire.WireError, match="does not match the"):
        wire.decode_array(huge)  # np.load would try to allocate 37.3 GiB first (MemoryError, or the memory)
    with pytest.raises(wire.WireError):
        wire.decode_array(_npy("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", bytes(16)))
    with pytest.raises(wire.WireError):
        wire.decode_array(_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (", bytes(4)))  # TokenError
    good = wire.encode_array(np.arange(6, dtype=np.float32).reshape(2, 3))
    assert np.array_equal(wire.decode_array(good), np.arange(6, dtype=np.float32).reshape(2, 3))


def test_a_png_bomb_in_a_request_is_a_wire_error_not_pillows() -> None:
    bomb = base64.b64encode(inputs.png_declaring(20000, 20000, pixels=False)).decode("ascii")
    with pytest.raises(wire.WireError, match="refused"):
        wire.decode_request({"kind": "palette-image", "image": {"png": bomb, "shape": [20000, 20000]}})
    with pytest.raises(wire.WireError):
        wire.decode_array({"png": bomb, "shape": [1e400]})  # OverflowError on int(inf)


@pytest.mark.parametrize(
    ("field", "value"),
    [("prompt", {"a": 1}), ("seed", True), ("seed", "7"), ("temperature", [0.5]), ("sections", "Verse")],
)
def test_a_request_field_of_the_wrong_type_is_refused_naming_it(field: str, value: object) -> None:
    with pytest.raises(InvalidRequestError, match=f"wrong fields \\({field} is a"):
        wire.decode_request({"kind": "lyrics", "prompt": "rain", field: value})


def test_a_result_and_progress_of_the_wrong_shape_are_wire_errors() -> None:
    with pytest.raises(wire.WireError, match="seconds is a"):
        wire.decode_result({"kind": "sketch", "images": [], "seeds": [], "parameters": {}, "seconds": [1]})
    with pytest.raises(wire.WireError):
        wire.decode_progress({"step": 1e400, "total": 3})
    device = wire.decode_device({"provider": "CPUExecutionProvider", "requested": 5, "fallbacks": None})
    assert device == DeviceInfo("CPUExecutionProvider")


@pytest.mark.parametrize("depth", [600, 900])
def test_messages_nested_as_deep_as_json_allows_are_wire_errors(depth: int) -> None:
    nested = json.loads("[" * depth + "]" * depth)  # json.loads takes it; decoding recursed twice per level
    with pytest.raises(wire.WireError, match="levels deep"):
        wire.decode_request({"kind": "lyrics", "prompt": "x", "sections": nested})
    with pytest.raises(wire.WireError, match="levels deep"):
        wire.decode_result({"kind": "palette", "colors": nested, "names": [], "source": "x"})
    with pytest.raises(wire.WireError, match="levels deep"):
        wire.decode_progress({"step": 1, "total": 2, "preview": nested})


def test_the_wrong_type_is_named_as_declared() -> None:
    with pytest.raises(InvalidRequestError, match=r"sections is a str, not tuple\[str, \.\.\.\]"):
        wire.decode_request({"kind": "lyrics", "prompt": "x", "sections": "Verse"})
