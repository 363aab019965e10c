"""The render server's wire format: requests, progress, results and errors as plain JSON, pictures as PNG.

It mirrors how the project history stores a job (core/history.py: an array is a PNG with its shape, a
melody its `to_dict`), in memory and base64 instead of files, so nothing that crosses the network is
ever unpickled. Both the server and the desktop client use it; it imports no web or Ray library.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import enum
import io
import math
import tokenize
import types
import typing
from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.lib import format as npy_format
from PIL import Image

import atelier.core.errors as errors_module
from atelier.core.errors import AtelierError, InvalidRequestError
from atelier.core.picture_io import MAX_DECODE_PIXELS
from atelier.core.progress import Progress
from atelier.core.requests import DeviceInfo, Request, Result
from atelier.core.requests.colorize import ColorizeRequest  # noqa: F401  (each import registers its kinds)
from atelier.core.requests.lineart import LineArtRequest  # noqa: F401
from atelier.core.requests.lyrics import LyricRequest  # noqa: F401
from atelier.core.requests.melody import ImportedTune, Melody
from atelier.core.requests.palette import PaletteFromTextRequest  # noqa: F401
from atelier.core.requests.sketch import SketchRequest  # noqa: F401

WIRE_VERSION = 1
# A request body holds at most a few canvas-sized pictures as PNG; anything far larger is refused unread.
MAX_BODY_BYTES = 256 * 1024 * 1024
# A message nests a few levels (a result's parameters, a melody's notes); decoding recurses twice per level,
# so 600 nested lists (which json.loads accepts) overflowed the stack. Deeper messages are refused first.
MAX_DEPTH = 32


def _too_deep(value: Any) -> bool:
    stack = [(value, 0)]
    while stack:  # iterative: no depth of message can overflow this check itself
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth >= MAX_DEPTH:
                return True
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return False


class WireError(AtelierError):
    """A message from the other side could not be read (a different Atelier version, or not Atelier)."""

    hint = "Use the same Atelier version on the server and on this computer."


def _subclasses(base: type[Any]) -> Iterator[type[Any]]:
    for sub in base.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _types_by_kind(base: type[Any]) -> dict[str, type[Any]]:
    # As the history does: Atelier's own types are defined first, so a later reuse of a kind never hides them.
    found: dict[str, type[Any]] = {}
    for cls in _subclasses(base):
        kind = getattr(cls, "kind", None)
        if dataclasses.is_dataclass(cls) and isinstance(kind, str):
            found.setdefault(kind, cls)
    return found


# -- values ------------------------------------------------------------------------------------
def _png_mode(array: np.ndarray) -> bool:
    if array.dtype != np.uint8 or array.ndim not in (2, 3) or 0 in array.shape:
        return False
    return array.ndim == 2 or array.shape[2] in (1, 2, 3, 4)


def encode_array(array: np.ndarray) -> dict[str, Any]:
    """An 8-bit picture as PNG bytes (lossless); any other array in numpy's own format, never pickled."""
    buffer = io.BytesIO()
    if _png_mode(array):
        picture = array[:, :, 0] if array.ndim == 3 and array.shape[2] == 1 else array
        # compress_level 1: pictures travel once over a LAN, where speed beats a few percent of size
        Image.fromarray(np.ascontiguousarray(picture)).save(buffer, format="PNG", compress_level=1)
        return {"png": base64.b64encode(buffer.getvalue()).decode("ascii"), "shape": list(array.shape)}
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return {"npy": base64.b64encode(buffer.getvalue()).decode("ascii")}


def _npy_array(data: bytes) -> np.ndarray:
    """An .npy array, its header checked first: np.load allocates the shape the header declares before
    reading the data, so a 100-byte message declaring 100000x100000 floats would ask for 37 GB."""
    stream = io.BytesIO(data)
    version = npy_format.read_magic(stream)
    header = npy_format.read_array_header_1_0 if version == (1, 0) else npy_format.read_array_header_2_0
    shape, _, dtype = header(stream)
    count = math.prod(shape)
    if dtype.hasobject or count * dtype.itemsize != len(data) - stream.tell():
        raise WireError(f"An array of {shape} {dtype} does not match the {len(data):,} bytes it came in.")
    return np.load(io.BytesIO(data), allow_pickle=False)


def decode_array(value: dict[str, Any]) -> np.ndarray:
    try:
        if "png" in value:
            data = base64.b64decode(value["png"], validate=True)
            shape = tuple(int(n) for n in value["shape"])
            with Image.open(io.BytesIO(data)) as image:
                if image.format != "PNG" or image.width * image.height > MAX_DECODE_PIXELS:
                    raise WireError(f"A picture of {image.width}x{image.height} ({image.format}) was refused.")
                array = np.asarray(image)
            return np.ascontiguousarray(array.reshape(shape))
        return _npy_array(base64.b64decode(value["npy"], validate=True))
    # Pillow refuses a bomb with its own error (not an OSError); numpy reads a header with the tokenizer.
    except (Image.DecompressionBombError, tokenize.TokenError, SyntaxError) as exc:
        raise WireError(f"A picture in the message was refused ({exc}).") from exc
    except (KeyError, TypeError, ValueError, OverflowError, OSError, binascii.Error) as exc:
        raise WireError(f"A picture in the message could not be read ({exc}).") from exc


def encode_value(value: Any) -> Any:
    """Plain JSON for one field: arrays become PNG (or .npy) text, melodies their dicts, tuples lists."""
    if isinstance(value, np.ndarray):
        return encode_array(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Melody):
        return {"melody": value.to_dict()}
    if isinstance(value, ImportedTune):
        return {"tune": value.to_dict()}
    if isinstance(value, DeviceInfo):
        return {"provider": value.provider, "requested": list(value.requested), "fallbacks": list(value.fallbacks)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (tuple, list)):
        return [encode_value(item) for item in value]
    if isinstance(value, dict):
        return {str(key): encode_value(item) for key, item in value.items()}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise InvalidRequestError(
        f"A {type(value).__name__} cannot be sent to the render server.", "Run this job on this computer."
    )


def decode_value(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(decode_value(item) for item in value)
    if not isinstance(value, dict):
        return value
    keys = set(value)
    if keys == {"png", "shape"} or keys == {"npy"}:
        return decode_array(value)
    if keys == {"melody"}:
        return Melody.from_dict(value["melody"])
    if keys == {"tune"}:
        return ImportedTune.from_dict(value["tune"])
    return value  # a plain dict (provenance parameters), kept as JSON gave it, as the history does


def _fields(obj: Any) -> dict[str, Any]:
    encoded: dict[str, Any] = {"kind": obj.kind}
    for f in dataclasses.fields(obj):
        encoded[f.name] = encode_value(getattr(obj, f.name))
    return encoded


def _has_type(value: Any, hint: Any) -> bool:
    """Whether a decoded value has a field's declared type. The shapes used by the request and result
    classes only (a class, X | None, tuple[X, ...], tuple[X, Y], dict[...], Any): a dependency such as
    pydantic would come with the server extra, and the desktop client decodes the server's results too."""
    if hint is Any:
        return True
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        return any(_has_type(value, arg) for arg in args)
    if origin is tuple:
        if not isinstance(value, tuple):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_has_type(item, args[0]) for item in value)
        return len(value) == len(args) and all(_has_type(item, arg) for item, arg in zip(value, args, strict=True))
    if origin is dict:
        return isinstance(value, dict)
    if hint is type(None):
        return value is None
    if hint in (int, float) and isinstance(value, bool):
        return False  # JSON true is not a seed or a strength
    if hint is float:
        return isinstance(value, (int, float))
    return isinstance(value, hint)


def _rebuild(cls: type[Any], data: dict[str, Any]) -> Any:
    kwargs = {}
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name in data:
            value = data[f.name]
            kwargs[f.name] = decode_device(value) if f.name == "device" else decode_value(value)
            if not _has_type(kwargs[f.name], hints[f.name]):
                shown = type(kwargs[f.name]).__name__
                wanted = hints[f.name].__name__ if isinstance(hints[f.name], type) else str(hints[f.name])
                raise TypeError(f"{f.name} is a {shown}, not {wanted}")
    return cls(**kwargs)


# -- requests and results ----------------------------------------------------------------------
def encode_request(request: Request) -> dict[str, Any]:
    return _fields(request)


def decode_request(data: Any) -> Request:
    """The request a client sent, checked by its own type as if made here (bad values raise InvalidRequestError)."""
    if not isinstance(data, dict) or not isinstance(data.get("kind"), str):
        raise WireError("The request is not an Atelier request (no 'kind').")
    if _too_deep(data):
        raise WireError(f"The request nests lists or objects more than {MAX_DEPTH} levels deep.")
    cls = _types_by_kind(Request).get(data["kind"])
    if cls is None:
        raise InvalidRequestError(f"The server does not know '{data['kind']}' jobs.", "Update Atelier on the server.")
    unknown = sorted(set(data) - {"kind"} - {f.name for f in dataclasses.fields(cls)})
    if unknown:  # never dropped quietly: the job would not be the one the user asked for
        raise InvalidRequestError(
            f"The '{data['kind']}' request has wrong fields ({', '.join(unknown)}).",
            "Use the same Atelier version on the server and on this computer.",
        )
    try:
        request = _rebuild(cls, data)
    except (TypeError, ValueError, OverflowError) as exc:  # a melody dict of the wrong shape, a huge number
        raise InvalidRequestError(f"The '{data['kind']}' request has wrong fields ({exc}).") from exc
    assert isinstance(request, Request)
    return request


def encode_result(result: Result) -> dict[str, Any]:
    return _fields(result)


def decode_result(data: Any) -> Result:
    if not isinstance(data, dict) or not isinstance(data.get("kind"), str):
        raise WireError("The server's result is not an Atelier result.")
    if _too_deep(data):
        raise WireError(f"The server's result nests lists or objects more than {MAX_DEPTH} levels deep.")
    cls = _types_by_kind(Result).get(data["kind"])
    if cls is None:
        raise WireError(f"The server sent a '{data['kind']}' result, which this Atelier cannot read.")
    try:
        result = _rebuild(cls, data)
    except (TypeError, ValueError, OverflowError) as exc:
        raise WireError(f"The server's '{data['kind']}' result could not be read ({exc}).") from exc
    assert isinstance(result, Result)
    return result


def decode_device(value: Any) -> DeviceInfo:
    if isinstance(value, DeviceInfo):
        return value
    if not isinstance(value, dict):
        return DeviceInfo(provider="none")

    def texts(items: Any) -> tuple[str, ...]:
        return tuple(str(item) for item in items) if isinstance(items, (list, tuple)) else ()

    return DeviceInfo(
        provider=str(value.get("provider", "none")),
        requested=texts(value.get("requested", ())),
        fallbacks=texts(value.get("fallbacks", ())),
    )


def encode_progress(progress: Progress) -> dict[str, Any]:
    encoded: dict[str, Any] = {"step": progress.step, "total": progress.total, "message": progress.message}
    if progress.preview is not None:
        encoded["preview"] = encode_value(progress.preview)
    return encoded


def decode_progress(data: dict[str, Any]) -> Progress:
    if _too_deep(data):
        raise WireError(f"A progress report from the server nests more than {MAX_DEPTH} levels deep.")
    try:
        return Progress(
            step=int(data["step"]),
            total=int(data["total"]),
            message=str(data.get("message", "")),
            preview=decode_value(data.get("preview")),
        )
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise WireError(f"A progress report from the server could not be read ({exc}).") from exc


# -- errors ------------------------------------------------------------------------------------
def encode_error(exc: BaseException) -> dict[str, Any]:
    """An error for the client: its type in the core error tree, message and hint; other errors say only
    that something failed (their text may name server paths, which the log keeps)."""
    if isinstance(exc, AtelierError):
        return {"type": type(exc).__name__, "message": str(exc), "hint": exc.hint}
    return {
        "type": "AtelierError",
        "message": "The job failed on the server.",
        "hint": "Details are in the server's log.",
    }


def decode_error(data: Any) -> AtelierError:
    if not isinstance(data, dict):
        return AtelierError("The job failed on the server.")
    name = str(data.get("type", ""))
    cls = getattr(errors_module, name, None)
    if not (isinstance(cls, type) and issubclass(cls, AtelierError)):
        cls = AtelierError
    return cls(str(data.get("message", "The job failed on the server.")), str(data.get("hint", "")) or None)
