"""Records inside the PNGs Atelier writes: A1111 `parameters` text, the `atelier` JSON and IPTC XMP.

Writing a PNG export happens in this order, all in `save_png` (the one PNG writer; exports, the CLI and
the content-credentials code go through it):

1. records: the `atelier` JSON and A1111 `parameters` text and the XMP packet (AI disclosure) are built
   from the parameters (`build_record`), with no absolute path of the user's files in them;
2. watermark: the `watermark` hook changes the pixels before they are encoded (nothing is written yet);
3. encoding: Pillow writes the PNG, with the records as text chunks, to a temporary file beside the target;
4. signing: the `sign` hook signs the finished temporary file (a C2PA manifest covers every byte
   before it), then the file is renamed over the target, so no unsigned or half file ever appears.

`metadata=False` (the CLI's --no-metadata, "Export without metadata" in the window) skips 1 and 4: the
pixels only (a watermark the user turned on is in the pixels, so it stays).
"""

from __future__ import annotations

import hashlib
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import numpy as np
from PIL import Image, PngImagePlugin

from atelier import __version__
from atelier.core.atomic_files import atomic_output

JSON_KEY = "atelier"
XMP_KEY = "XML:com.adobe.xmp"  # the iTXt keyword the XMP specification gives for PNG
APP_NAME = "Atelier"
# IPTC digital source types (https://cv.iptc.org/newscodes/digitalsourcetype/).
TRAINED = "trainedAlgorithmicMedia"  # made by a model from a prompt alone
COMPOSITE = "compositeWithTrainedAlgorithmicMedia"  # a model's work over or mixed with the user's own
ALGORITHMIC = "algorithmicMedia"  # made by an algorithm without a trained model (harmony rules, k-means)
SOURCE_TYPE_URI = "http://cv.iptc.org/newscodes/digitalsourcetype/"
AI_TYPES = (TRAINED, COMPOSITE)
SOURCE_TYPES = (*AI_TYPES, ALGORITHMIC)

NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "Iptc4xmpExt": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/",
}
for _prefix, _uri in NS.items():
    ET.register_namespace(_prefix, _uri)

# Text the user wrote is kept as written even when it looks like a path ("/imagine a lighthouse").
_FREE_TEXT = frozenset({"prompt", "negative", "text", "line", "title", "lyrics"})
MAX_XMP_CHARS = 1_000_000  # a packet Atelier writes is a few kB; a larger one is not read


def app_label(version: str = "") -> str:
    return f"{APP_NAME} {version or __version__}"


def now_iso() -> str:
    """The time a record is made, UTC to the second (ISO 8601, what XMP dates are)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


# -- keeping the user's paths out --------------------------------------------------------------
def is_absolute_path(text: str) -> bool:
    """A POSIX, home-relative or Windows absolute path (as seen on any system: records travel)."""
    if not text or "\n" in text:
        return False
    return (
        (text.startswith("/") and len(text) > 1)
        or text.startswith("~/")
        or PureWindowsPath(text).is_absolute()
        or text.startswith("\\\\")
    )


def path_name(text: str) -> str:
    """The last part of a path (a folder pack's folder name), for either kind of separator."""
    return (PureWindowsPath(text).name if "\\" in text else PurePosixPath(text).name) or "folder"


def strip_paths(value: Any, key: str = "") -> Any:
    """`value` with every absolute path replaced by its last part (prompts and lyrics kept as written)."""
    if isinstance(value, dict):
        return {k: strip_paths(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strip_paths(v, key) for v in value]
    if isinstance(value, str) and key not in _FREE_TEXT and is_absolute_path(value):
        return path_name(value)
    return value


# -- what made it ------------------------------------------------------------------------------
MAIN_COMPONENTS = ("unet", "model", "decoder", "transformer")  # the file that is "the model" of a pack


def pack_record(pack: Any) -> dict[str, Any]:
    """id, name, version, licence and the main model file's sha256 of an engine Pack (duck-typed: core
    cannot import the engine). A folder pack's id is its absolute path: its folder name stands instead,
    and the hash says which model it was."""
    files = {f.path: f.sha256 for f in getattr(pack, "files", ())}
    components = getattr(pack, "components", {}) or {}
    main = next((components[role] for role in MAIN_COMPONENTS if role in components), None)
    if main is None:
        main = next((p for p in (f"{r}/model.onnx" for r in MAIN_COMPONENTS) if p in files), None)
    if main is None:  # the largest .onnx file is the model
        sizes = {f.path: f.size for f in getattr(pack, "files", ()) if str(f.path).endswith(".onnx")}
        main = max(sizes, key=lambda p: sizes[p]) if sizes else None
    record = {
        "id": strip_paths(str(pack.id), "id"),
        "name": str(getattr(pack, "name", "") or ""),
        "version": str(getattr(pack, "version", "") or ""),
        "licence": str(getattr(pack, "licence", "") or ""),
        "file": main or "",
        "sha256": files.get(main, "") if main else "",
    }
    return {k: v for k, v in record.items() if v}


def pixels_sha256(image: np.ndarray) -> str:
    """A picture's identity independent of its file: shape, then the raw pixels."""
    array = np.ascontiguousarray(image)
    digest = hashlib.sha256(repr((array.shape, str(array.dtype))).encode())
    digest.update(array.tobytes())
    return digest.hexdigest()


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def source_record(role: str, *, image: np.ndarray | None = None, path: str | Path | None = None) -> dict[str, Any]:
    """An input the model worked from (img2img picture, ControlNet lines, inpaint mask, line art to
    colour): its role and a hash, of the file when there is one (anyone can check it), else of the pixels."""
    if path is not None:
        return {"role": role, "sha256": file_sha256(path), "of": "file"}
    if image is None:
        raise ValueError("source_record needs an image or a path")
    return {"role": role, "sha256": pixels_sha256(image), "of": "pixels"}


def _task_of(params: dict[str, Any]) -> str:
    if params.get("task"):
        return str(params["task"])
    kind = str(params.get("kind") or "")
    if kind and kind != "sketch":
        return kind
    mode = str(params.get("mode") or "")
    if mode.startswith(("txt2img", "img2img", "inpaint")) or kind == "sketch":
        return "sketch"
    return mode or kind


def digital_source_type(params: dict[str, Any]) -> str | None:
    """trainedAlgorithmicMedia for text to image alone; anything drawn over or from the user's picture
    (img2img, ControlNet, inpaint, colorize, line art, accepted results) is a composite."""
    explicit = params.get("ai")
    if explicit in SOURCE_TYPES:
        return str(explicit)
    if params.get("mode") == "txt2img" and not params.get("sources"):
        return TRAINED
    return COMPOSITE if _task_of(params) else None


def is_atelier_record(params: dict[str, Any]) -> bool:
    """Parameters Atelier's engine made (they name the app version) or a record already built."""
    return bool(params.get("app_version") or params.get("generator"))


def build_record(params: dict[str, Any]) -> dict[str, Any]:
    """The record written into a file: the parameters, without absolute paths, plus what made it
    (generator, task, pack with its hash when known) and the IPTC digital source type.

    Deterministic and idempotent (no clock: a date is kept when the parameters carry one), so a
    project's history and an export of the same result hold the same record."""
    record = strip_paths(dict(params))
    if not is_atelier_record(record):
        return record
    record.setdefault("generator", app_label(str(record.get("app_version") or "")))
    task = _task_of(record)
    if task:
        record.setdefault("task", task)
    ai = digital_source_type(record)
    if ai:
        record["ai"] = ai
    if not isinstance(record.get("pack"), dict) and (record.get("pack_id") or record.get("pack_name")):
        pack = {
            "id": record.get("pack_id", ""),
            "name": record.get("pack_name", ""),
            "version": record.get("pack_version", ""),
            "licence": record.get("licence", ""),
            "sha256": record.get("pack_sha256", ""),
        }
        record["pack"] = {k: str(v) for k, v in pack.items() if v}
    return record


# -- PNG text chunks ---------------------------------------------------------------------------
def a1111_parameters(params: dict[str, Any]) -> str:
    """The text A1111-style readers parse: prompt, negative, then 'Key: value' pairs."""
    lines = [str(params.get("prompt", ""))]
    if params.get("negative"):
        lines.append(f"Negative prompt: {params['negative']}")
    width, height = params.get("width"), params.get("height")
    pack: dict[str, Any] = params["pack"] if isinstance(params.get("pack"), dict) else {}
    pairs = [
        ("Steps", params.get("steps")),
        ("Sampler", params.get("scheduler")),
        ("CFG scale", params.get("guidance")),
        ("Seed", params.get("seed")),
        ("Size", f"{width}x{height}" if width and height else None),  # a traced result has no size of its own
        ("Denoising strength", params.get("strength") if params.get("mode") != "txt2img" else None),
        ("ControlNet weight", params.get("control_scale") if "controlnet" in str(params.get("mode", "")) else None),
        ("Palette", " ".join(params["palette"]) if params.get("palette") else None),
        ("Model", params.get("pack_id") or pack.get("id")),
        ("Model hash", str(pack.get("sha256", ""))[:10] or None),
        ("Version", f"Atelier {params.get('app_version', '')}".strip()),
    ]
    lines.append(", ".join(f"{key}: {value}" for key, value in pairs if value not in (None, "")))
    return "\n".join(lines)


def xmp_packet(record: dict[str, Any], date: str = "") -> str:
    """An XMP packet with the IPTC AI disclosure (DigitalSourceType, and the IPTC 2025.1 AI system and
    prompt fields), xmp:CreatorTool and the dates. Built with ElementTree, so every value is escaped."""
    description = ET.Element(f"{{{NS['rdf']}}}Description", {f"{{{NS['rdf']}}}about": ""})

    def add(prefix: str, name: str, value: Any) -> None:
        if value not in (None, ""):
            ET.SubElement(description, f"{{{NS[prefix]}}}{name}").text = str(value)

    pack: dict[str, Any] = record["pack"] if isinstance(record.get("pack"), dict) else {}
    add("xmp", "CreatorTool", record.get("generator") or app_label())
    add("xmp", "CreateDate", record.get("date") or date)
    add("xmp", "MetadataDate", date or record.get("date"))
    ai = record.get("ai")
    if ai in SOURCE_TYPES:
        add("Iptc4xmpExt", "DigitalSourceType", SOURCE_TYPE_URI + str(ai))
    if pack:
        add("Iptc4xmpExt", "AISystemUsed", pack.get("name") or pack.get("id"))
        add("Iptc4xmpExt", "AISystemVersionUsed", pack.get("version"))
    add("Iptc4xmpExt", "AIPromptInformation", record.get("prompt"))
    if ai in AI_TYPES:
        alt = ET.SubElement(ET.SubElement(description, f"{{{NS['dc']}}}description"), f"{{{NS['rdf']}}}Alt")
        item = ET.SubElement(alt, f"{{{NS['rdf']}}}li", {"{http://www.w3.org/XML/1998/namespace}lang": "x-default"})
        item.text = f"Made with {record.get('generator') or app_label()} ({ai})"
    rdf = ET.Element(f"{{{NS['rdf']}}}RDF")
    rdf.append(description)
    meta = ET.Element(f"{{{NS['x']}}}xmpmeta")
    meta.append(rdf)
    body = ET.tostring(meta, encoding="unicode")
    return f'<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n{body}\n<?xpacket end="w"?>'


def parse_xmp(text: str) -> dict[str, Any]:
    """The fields `xmp_packet` writes, read from any XMP packet with the standard XML parser (expat
    refuses entity expansion attacks since 2.4.1, which Python 3.11 ships). {} when it is no XMP."""
    if not text or len(text) > MAX_XMP_CHARS:
        return {}
    body = re.sub(r"<\?xpacket[^>]*\?>", "", text).strip()
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return {}
    found: dict[str, Any] = {}
    short = {uri: prefix for prefix, uri in NS.items()}
    for element in root.iter():
        if not isinstance(element.tag, str) or "}" not in element.tag:
            continue
        uri, name = element.tag[1:].split("}", 1)
        prefix = short.get(uri)
        if prefix in ("xmp", "Iptc4xmpExt") and element.text and element.text.strip():
            found[f"{prefix}:{name}"] = element.text.strip()
        for attribute, value in element.attrib.items():  # the compact form other tools write
            if attribute.startswith("{"):
                a_uri, a_name = attribute[1:].split("}", 1)
                if short.get(a_uri) in ("xmp", "Iptc4xmpExt"):
                    found[f"{short[a_uri]}:{a_name}"] = value
    source = found.get("Iptc4xmpExt:DigitalSourceType", "")
    if source:
        found["ai"] = source.rsplit("/", 1)[-1]
    return found


def png_info(params: dict[str, Any], date: str = "") -> PngImagePlugin.PngInfo:
    """The text chunks for `params`: A1111 `parameters`, the `atelier` JSON record and, for Atelier's
    own records, the XMP packet (uncompressed iTXt, as the XMP specification asks)."""
    record = build_record(params)
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", a1111_parameters(record))
    info.add_text(JSON_KEY, json.dumps(record, sort_keys=True, default=str))
    if is_atelier_record(record):
        info.add_itxt(XMP_KEY, xmp_packet(record, date or now_iso()), zip=False)
    return info


Watermark = Callable[[np.ndarray], np.ndarray]
Signer = Callable[[Path, dict[str, Any]], None]


def save_png(
    path: str | Path,
    image: np.ndarray,
    params: dict[str, Any] | None = None,
    *,
    metadata: bool = True,
    watermark: Watermark | None = None,
    sign: Signer | None = None,
) -> dict[str, Any] | None:
    """Write `image` (a PNG unless the name says otherwise) atomically with its records: a full disk or
    a kill leaves any earlier file whole. Returns the record written (None without one).

    Hooks, in order (see the module docstring): records, `watermark(pixels) -> pixels` before encoding,
    `sign(temporary_png_path, record)` on the finished file before it takes the target's name (that
    path has no suffix: the format is PNG). `metadata=False` writes no record and does not sign."""
    target = Path(path)
    kind = Image.registered_extensions().get(target.suffix.lower(), "PNG")  # the temporary name has no suffix
    record: dict[str, Any] | None = None
    if metadata and params:
        filled = dict(params)
        if is_atelier_record(filled) and not (filled.get("width") and filled.get("height")):
            filled["height"], filled["width"] = int(image.shape[0]), int(image.shape[1])
        record = build_record(filled)
    pixels = watermark(image) if watermark is not None else image
    with atomic_output(target) as tmp:
        info = png_info(record) if record and kind == "PNG" else None
        Image.fromarray(pixels).save(tmp, format=kind, pnginfo=info)
        if sign is not None and metadata and kind == "PNG":
            sign(tmp, record or {})
    return record


def read_png_text(path: str | Path) -> dict[str, str]:
    """The text chunks of an image file (no pixels decoded), or {} for a file that is no readable image."""
    try:
        with Image.open(path) as image:
            info = dict(getattr(image, "info", {}) or {})
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return {}
    return {str(k): str(v) for k, v in info.items() if isinstance(v, str)}


def read_parameters(path: str | Path) -> dict[str, Any] | None:
    """The JSON parameters Atelier wrote into a PNG, or None (also for a file that is no readable image:
    the text chunks are read without decoding pixels, and a decompression bomb is just not ours)."""
    return json_record(read_png_text(path).get(JSON_KEY))


def json_record(text: str | None) -> dict[str, Any] | None:
    """A record kept as JSON text (a PNG chunk, a MIDI Text event, a WAV comment), or None when the text
    is missing, not JSON or not an object."""
    if not text:
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None
