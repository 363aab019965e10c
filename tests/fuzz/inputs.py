"""Hostile inputs for every reader of outside data, built from a seeded random source.

Shared by the hypothesis tests in tests/fuzz (a seed drawn by hypothesis picks the input) and by
bench/fuzz.py (100,000+ seeds), so a failing seed from either reproduces in both.
"""

from __future__ import annotations

import io
import json
import random
import struct
import zlib
from collections.abc import Callable

import numpy as np
from PIL import Image

# Pillow modes with a format that stores them as they are (so the reader sees that mode).
MODE_FORMATS: tuple[tuple[str, str], ...] = (
    ("1", "PNG"),
    ("1", "BMP"),
    ("L", "PNG"),
    ("L", "JPEG"),
    ("P", "PNG"),
    ("P", "GIF"),
    ("I", "TIFF"),
    ("F", "TIFF"),
    ("I;16", "PNG"),
    ("I;16", "TIFF"),
    ("I;16B", "TIFF"),
    ("LA", "PNG"),
    ("PA", "TIFF"),
    ("RGB", "PNG"),
    ("RGB", "JPEG"),
    ("RGB", "WEBP"),
    ("RGB", "BMP"),
    ("RGB", "TIFF"),
    ("RGB", "PPM"),
    ("RGB", "TGA"),
    ("RGB", "PCX"),
    ("RGBA", "PNG"),
    ("RGBA", "WEBP"),
    ("RGBA", "TIFF"),
    ("RGBA", "ICO"),
    ("RGBX", "TIFF"),
    ("CMYK", "JPEG"),
    ("CMYK", "TIFF"),
    ("YCbCr", "TIFF"),
    ("LAB", "TIFF"),
)


# -- pictures ---------------------------------------------------------------------------------
def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png_declaring(width: int, height: int, pixels: bool = True) -> bytes:
    """An 8-bit grey PNG of `width` x `height` black pixels, compressed row by row without holding the
    picture (13000x13000 makes the 164 KB file of the issue), or with `pixels=False` a header whose
    pixel data is a few garbage bytes (a decoder that starts would fail; a size check first would not)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    if pixels:
        compressor = zlib.compressobj(9)
        row = bytes(width + 1)
        parts = [compressor.compress(row) for _ in range(height)]
        data = b"".join(parts) + compressor.flush()
    else:
        data = b"\x78\x9c\x01\x02"
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")


def broken_png() -> bytes:
    """A PNG whose pixel chunk claims 0 bytes, so the next 'chunk' is pixel data: Pillow raises
    SyntaxError('broken PNG file'), which is not an OSError."""
    good = picture_file("RGB", "PNG", 10, 12, random.Random(5))
    at = good.index(b"IDAT") - 4
    return good[:at] + b"\x00\x00\x00\x00" + good[at + 4 :]


def picture_array(mode: str, width: int, height: int, rng: random.Random) -> Image.Image:
    """A picture of that mode with varied content (gradients and noise, so no format compresses it away)."""
    generator = np.random.default_rng(rng.randrange(2**32))
    if mode in ("I;16", "I;16B"):
        values = generator.integers(0, 65536, (height, width), dtype=np.uint16)
        if mode == "I;16B":  # Pillow's convert to I;16B clips to 255, so the bytes are written directly
            return Image.frombytes("I;16B", (width, height), values.astype(">u2").tobytes())
        return Image.fromarray(values)
    if mode == "I":
        return Image.fromarray(generator.integers(0, 65536, (height, width)).astype(np.int32))
    if mode == "F":
        return Image.fromarray(generator.random((height, width), np.float32))
    rgb = Image.fromarray(generator.integers(0, 256, (height, width, 3), dtype=np.uint8))
    if mode == "PA":
        return rgb.convert("P").convert("PA")
    if mode == "LAB":
        return Image.merge("LAB", [Image.fromarray(generator.integers(0, 256, (height, width), dtype=np.uint8))] * 3)
    if mode in ("RGBA", "LA"):
        alpha = Image.fromarray(generator.integers(0, 256, (height, width), dtype=np.uint8))
        image = rgb.convert(mode)
        image.putalpha(alpha)
        return image
    return rgb.convert(mode)


def picture_file(mode: str, fmt: str, width: int, height: int, rng: random.Random) -> bytes:
    buffer = io.BytesIO()
    image = picture_array(mode, width, height, rng)
    options: dict[str, object] = {}
    if fmt == "TIFF":
        options["compression"] = rng.choice(["raw", "tiff_lzw", "tiff_adobe_deflate", "packbits"])
    if fmt == "ICO":
        options["sizes"] = [(min(width, 256), min(height, 256))]
    if fmt in ("JPEG", "PNG", "WEBP", "TIFF") and rng.random() < 0.3:
        exif = Image.Exif()
        exif[0x0112] = rng.choice([1, 2, 3, 4, 5, 6, 7, 8, 0, 9, 65535])  # orientation, valid or not
        options["exif"] = exif.tobytes()
    try:
        image.save(buffer, fmt, **options)
    except (OSError, RuntimeError, ValueError):  # some mode/compression pairs cannot be written: plain then
        buffer = io.BytesIO()
        image.save(buffer, fmt)
    return buffer.getvalue()


def animated_gif(colours: list[tuple[int, int, int]], size: int = 8) -> bytes:
    frames = [Image.new("RGB", (size, size), colour) for colour in colours]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)
    return buffer.getvalue()


_BOUNDARIES = (b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\x7f\xff\xff\xff", b"\x80\x00\x00\x00", b"\x7f\xc0\x00\x00")


def mutate(data: bytes, rng: random.Random, edits: int | None = None) -> bytes:
    """Flip, cut, insert or overwrite with boundary values: the ways files get damaged or forged."""
    out = bytearray(data)
    for _ in range(edits if edits is not None else rng.randint(1, 6)):
        choice = rng.random()
        if choice < 0.4 and out:
            out[rng.randrange(len(out))] = rng.randrange(256)
        elif choice < 0.55:
            del out[rng.randrange(len(out) + 1) :]
        elif choice < 0.7:
            at = rng.randrange(len(out) + 1)
            out[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        elif choice < 0.85 and len(out) > 4:
            at = rng.randrange(len(out) - 3)
            out[at : at + 4] = rng.choice(_BOUNDARIES)
        elif out:
            start = rng.randrange(len(out))
            piece = out[start : start + rng.randint(1, 64)]
            at = rng.randrange(len(out) + 1)
            out[at:at] = piece * rng.randint(1, 8)
    return bytes(out)


def hostile_picture(rng: random.Random) -> tuple[str, bytes]:
    """(suffix, bytes): a picture of any mode and shape (1x1, 1xN, Nx1 included), as saved or damaged."""
    mode, fmt = rng.choice(MODE_FORMATS)
    shape = rng.choice(["tiny", "thin", "small"])
    if shape == "tiny":
        width, height = rng.randint(1, 3), rng.randint(1, 3)
    elif shape == "thin":
        width, height = (rng.randint(1, 2), rng.randint(200, 3000))[:: rng.choice([1, -1])]
    else:
        width, height = rng.randint(4, 40), rng.randint(4, 40)
    if fmt == "ICO":
        width, height = min(width, 256), min(height, 256)
    data = picture_file(mode, fmt, width, height, rng)
    kind = rng.random()
    if kind < 0.35:
        return fmt.lower(), data
    if kind < 0.9:
        return fmt.lower(), mutate(data, rng)
    special = rng.choice([broken_png(), png_declaring(rng.randint(1, 70000), rng.randint(1, 70000), pixels=False)])
    return "png", mutate(special, rng, rng.randint(0, 2))


# -- palettes ---------------------------------------------------------------------------------
# Big-endian float32 bit patterns: NaN, a signalling NaN, +-infinity, the largest float, -0, the smallest
# denormal, and ordinary values in and out of 0..1.
_FLOATS = tuple(
    bytes.fromhex(h)
    for h in ("7fc00000", "7fa00000", "7f800000", "ff800000", "7f7fffff", "80000000", "00000001", "3f000000",
              "40000000", "bf800000")
)  # fmt: skip


def _random_palette(rng: random.Random) -> tuple[tuple[str, ...], tuple[str, ...]]:
    count = rng.randint(1, 12)
    colors = tuple(f"#{rng.randrange(2**24):06x}" for _ in range(count))
    names = tuple(hostile_text(rng, 20) if rng.random() < 0.5 else f"c{i}" for i in range(count))
    return colors, names


def ase_with_floats(rng: random.Random) -> bytes:
    """A well-formed .ase whose colour values are NaN, infinities or out of range (any colour model)."""
    blocks = []
    for _ in range(rng.randint(1, 4)):
        model, floats = rng.choice([(b"RGB ", 3), (b"CMYK", 4), (b"LAB ", 3), (b"Gray", 1)])
        values = [
            rng.choice(_FLOATS) if rng.random() < 0.6 else struct.pack(">f", rng.uniform(-2, 2)) for _ in range(floats)
        ]
        name = "x"
        body = struct.pack(">H", len(name) + 1) + (name.encode("utf-16-be") + b"\x00\x00") + model
        body += b"".join(values) + struct.pack(">H", 2)
        blocks.append(struct.pack(">HI", 1, len(body)) + body)
    return b"ASEF" + struct.pack(">HHI", 1, 0, len(blocks)) + b"".join(blocks)


def aco_random(rng: random.Random) -> bytes:
    """A structurally valid .aco (version 1 or 2) with any colour space and any 16-bit values."""
    version = rng.choice([1, 2])
    count = rng.randint(0, 5)
    out = struct.pack(">HH", version, count)
    for _ in range(count):
        space = rng.choice([0, 1, 2, 7, 8, 3, 9, 65535])
        out += struct.pack(">HHHHH", space, *(rng.randrange(65536) for _ in range(4)))
        if version == 2:
            chars = rng.choice([0, 1, 3, 0x7FFFFFFF])
            out += struct.pack(">I", chars) + "ab".encode("utf-16-be")[: 2 * max(0, chars - 1)] + b"\x00\x00"
    return out


def nested_json(rng: random.Random) -> bytes:
    depth = rng.choice([10, 1000, 100_000])
    opener, closer = rng.choice([("[", "]"), ('{"colors":', "}"), ('{"a":', "}")])
    return (opener * depth + '"#ffffff"' + closer * depth).encode()


def json_palette(rng: random.Random) -> bytes:
    """Palette JSON of odd shapes and values: numbers, nulls, huge numbers, NaN, nested objects."""
    junk: list[object] = [None, 1, 1e309, -0.0, True, "#GGGGGG", "#fff", "  #A1b2C3 ", {"hex": 5}, {"hex": None}]
    junk += [{"hex": "#123456", "name": rng.choice(junk)}, [["#000000"]], "\x00", "#1234567", "１２３４５６"]
    colors = [rng.choice(junk) if rng.random() < 0.5 else f"#{rng.randrange(2**24):06x}" for _ in range(8)]
    data: object = colors if rng.random() < 0.4 else {"title": rng.choice([*junk, "t"]), "colors": colors}
    text = json.dumps(data, allow_nan=True)
    return text.encode("utf-8") if rng.random() < 0.9 else text.encode("utf-16")


def gpl_random(rng: random.Random) -> bytes:
    lines = ["GIMP Palette" if rng.random() < 0.9 else "GIMP palette", f"Name: {hostile_text(rng, 30)}", "#"]
    for _ in range(rng.randint(0, 6)):
        values = [str(rng.choice([0, 255, 256, 999, -1, 10**30, rng.randrange(256)])) for _ in range(3)]
        lines.append(" ".join(values) + rng.choice(["", "\tname", " ", "\t" + hostile_text(rng, 10)]))
    text = rng.choice(["\n", "\r\n", "\r", "\u2028"]).join(lines)
    return (
        text.encode("utf-8", "surrogatepass")
        if rng.random() < 0.95
        else b"\xff\xfe" + text.encode("utf-16-le", "surrogatepass")
    )


def hostile_palette(rng: random.Random) -> tuple[str, bytes]:
    """(format, bytes) for the palette importers: exports of real palettes, damaged or not, and forged files."""
    from atelier.core.color.formats import IMPORT_FORMATS, PaletteFile, export_bytes

    fmt = rng.choice(IMPORT_FORMATS)
    kind = rng.random()
    if kind < 0.5:
        colors, names = _random_palette(rng)
        data = export_bytes(PaletteFile(colors, names, hostile_text(rng, 30)), fmt)
        return fmt, mutate(data, rng) if rng.random() < 0.7 else data
    forged: dict[str, Callable[[random.Random], bytes]] = {
        "ase": ase_with_floats,
        "aco": aco_random,
        "json": rng.choice([nested_json, json_palette]),
        "gpl": gpl_random,
    }
    data = forged[fmt](rng)
    return fmt, mutate(data, rng, rng.randint(0, 2)) if rng.random() < 0.3 else data


# -- text -------------------------------------------------------------------------------------
# Code points that break text handling: NUL and controls, combining marks, right-to-left and bidi
# controls, zero-width joiners, line and paragraph separators, BOM, noncharacters, a lone surrogate,
# emoji, CJK, astral planes up to plane 16.
_SPECIAL = [
    "\x00", "\x07", "\x1b", "\x7f", "\t", "\r", "\n", "\x0b", "\x0c", "\x85", "\u2028", "\u2029",
    "\u0301", "\u0308", "\u0489", "\u20dd", "\u05d0", "\u05e9", "\u0627", "\u0644", "\u200e", "\u200f",
    "\u202e", "\u2066", "\u200b", "\u200d", "\ufeff", "\ufffe", "\uffff", "\ud800", "\U0001f600",
    "\U0001f468\u200d\U0001f469\u200d\U0001f467", "\u4e2d", "\uac00", "\U00020000", "\U000e0001",
    "\U0010fffd", "ﬃ", "ß", "İ", "ǅ", "'", "-", "[", "]", "[Chorus]", "la",
]  # fmt: skip


def hostile_text(rng: random.Random, length: int) -> str:
    """Up to `length` characters mixing words, whitespace runs and code points from every plane."""
    parts: list[str] = []
    total = 0
    while total < length:
        choice = rng.random()
        if choice < 0.35:
            piece = rng.choice(["love", "night", "river", "the", "a", "I", "fire", "la", "don't", "rock'n'roll"])
        elif choice < 0.55:
            piece = rng.choice(_SPECIAL)
        elif choice < 0.7:
            piece = " " * rng.randint(1, 3) if rng.random() < 0.9 else rng.choice([" ", "\n", "\t"]) * 200
        elif choice < 0.85:
            plane = rng.choice([0, 0, 0, 1, 2, 3, 14, 15, 16])
            piece = chr(plane * 0x10000 + rng.randrange(0x10000))
        else:
            piece = "\n" if rng.random() < 0.7 else "\n\n"
        parts.append(piece)
        total += len(piece)
    return "".join(parts)[:length]


# -- MIDI, JSON documents -----------------------------------------------------------------------
def midi_file(rng: random.Random) -> bytes:
    """A MIDI file (type 0 or 1, any tempo and meter, overlapping notes), as written or damaged."""
    import mido

    midi = mido.MidiFile(type=rng.choice([0, 1]), ticks_per_beat=rng.choice([1, 96, 480, 960, 32767]))
    for _ in range(1 if midi.type == 0 else rng.randint(1, 3)):
        track = mido.MidiTrack()
        midi.tracks.append(track)
        if rng.random() < 0.7:
            track.append(mido.MetaMessage("set_tempo", tempo=rng.choice([1, 500000, 16777215])))
        if rng.random() < 0.5:
            meter = {"numerator": rng.randint(1, 32), "denominator": 2 ** rng.randint(0, 5)}
            track.append(mido.MetaMessage("time_signature", **meter))
        if rng.random() < 0.5:
            track.append(mido.MetaMessage("key_signature", key=rng.choice(["C", "F#m", "Bb", "Cb"])))
        for _ in range(rng.randint(0, 40)):
            note = rng.randint(0, 127)
            track.append(mido.Message("note_on", note=note, velocity=rng.randint(0, 127), time=rng.randint(0, 2000)))
            if rng.random() < 0.9:
                track.append(mido.Message("note_off", note=note, time=rng.randint(0, 2000)))
    buffer = io.BytesIO()
    midi.save(file=buffer)
    data = buffer.getvalue()
    return data if rng.random() < 0.4 else mutate(data, rng)


def json_value(rng: random.Random, depth: int = 0) -> object:
    """Any JSON value, with the numbers and strings that break loaders (huge ints, NaN, odd text)."""
    choice = rng.random()
    if depth > 4 or choice < 0.5:
        return rng.choice(
            [None, True, False, 0, -1, 99999999999, 2**63, 10**400, 1.5, float("nan"), float("inf"), "", "abc",
             "\x00", "../../x", hostile_text(rng, 12), [], {}]
        )  # fmt: skip
    if choice < 0.75:
        return [json_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    keys = ["values", "device", "threads", "seed", "sections", "name", "version", "palette", "sketch", "lyric", "x"]
    return {rng.choice(keys): json_value(rng, depth + 1) for _ in range(rng.randint(0, 5))}


def json_document(rng: random.Random, valid: dict[str, object] | None = None) -> bytes:
    """A JSON file: a valid document with one value replaced, any JSON value, or damaged bytes."""
    choice = rng.random()
    if valid is not None and choice < 0.5:
        document = json.loads(json.dumps(valid))
        target = document
        path = []
        while isinstance(target, dict) and target and rng.random() < 0.7:
            key = rng.choice(list(target))
            path.append(key)
            if not isinstance(target[key], dict):
                break
            target = target[key]
        if isinstance(target, dict) and target:
            target[rng.choice(list(target))] = json_value(rng)
        text = json.dumps(document)
    elif choice < 0.85:
        text = json.dumps(json_value(rng))
    else:
        text = json.dumps(valid or {"values": {}})
        return mutate(text.encode(), rng)
    return text.encode("utf-8")


# -- provenance records (issue 16-20 readers: PNG chunks, XMP, MIDI/WAV records, lyric and palette files) --
VALID_RECORD: dict[str, object] = {
    "generator": "Atelier 1.0",
    "task": "sketch",
    "ai": "trainedAlgorithmicMedia",
    "pack": {"id": "tiny", "name": "Tiny", "version": "1", "licence": "MIT", "sha256": "ab" * 32},
    "prompt": "a boat",
    "seed": 3,
    "sources": [{"role": "init", "sha256": "cd" * 32, "of": "pixels"}],
    "model_lines": [1, 2],
    "user_lines": 1,
    "date": "2026-01-01T00:00:00Z",
}


def record_text(rng: random.Random) -> str:
    """The JSON text a file carries as its record: the valid one with a value replaced, any JSON value,
    damaged text, or nesting just under and far over what a JSON parser takes."""
    choice = rng.random()
    if choice < 0.75:
        return json_document(rng, VALID_RECORD).decode("utf-8", "replace")
    depth = rng.choice([400, 900, 990, 5000, 100_000])
    inner = "[" * depth + "1" + "]" * depth
    return rng.choice([inner, '{"seed": ' + inner + "}", '{"pack": ' + inner + ', "ai": ' + inner + "}"])


def xmp_text(rng: random.Random) -> str:
    """An XMP packet as Atelier writes it, damaged; or forged: deep nesting, entity expansion, odd namespaces."""
    from atelier.core.provenance import xmp_packet

    try:
        record = json.loads(json_document(rng, VALID_RECORD).decode("utf-8", "replace"))
    except ValueError:
        record = {}
    choice = rng.random()
    if choice < 0.5:
        packet = xmp_packet(record if isinstance(record, dict) else {}, "2026-01-01")
        return mutate(packet.encode("utf-8"), rng).decode("utf-8", "replace") if rng.random() < 0.6 else packet
    if choice < 0.7:
        depth = rng.choice([100, 10_000, 200_000])
        return "<a xmlns:xmp='http://ns.adobe.com/xap/1.0/'>" + "<b>" * depth + "</b>" * depth + "</a>"
    if choice < 0.85:  # billion laughs: expat refuses the expansion
        entities = "".join(f'<!ENTITY e{i} "{("&e" + str(i - 1) + ";") * 10 if i else "lol"}">' for i in range(10))
        return f"<!DOCTYPE r [{entities}]><r xmlns:xmp='http://ns.adobe.com/xap/1.0/'><xmp:Label>&e9;</xmp:Label></r>"
    attrs = " ".join(f"xmp:{hostile_text(rng, 4) or 'k'}='{hostile_text(rng, 8)}'" for _ in range(rng.randint(0, 5)))
    tool = f"<xmp:CreatorTool>{hostile_text(rng, 20)}</xmp:CreatorTool>"
    return f"<r xmlns:xmp='http://ns.adobe.com/xap/1.0/' {attrs}>{tool}</r>"


def _png_with_text(rng: random.Random, chunks: dict[str, str]) -> bytes:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    for key, text in chunks.items():
        value = text.encode("utf-8", "replace").decode("utf-8")  # a lone surrogate cannot be stored
        adder = rng.choice([info.add_text, info.add_itxt])
        if adder == info.add_itxt:
            info.add_itxt(key, value, zip=rng.random() < 0.5)
        else:
            info.add_text(key, value.encode("latin-1", "replace").decode("latin-1"), zip=rng.random() < 0.3)
    buffer = io.BytesIO()
    Image.new("RGB", (rng.randint(1, 8), rng.randint(1, 8)), (1, 2, 3)).save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


def _wav_with_info(rng: random.Random, comment: str) -> bytes:
    import wave

    from atelier.core.provenance_riff import info_chunk

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(8000)
        handle.writeframes(bytes(rng.randrange(0, 64) * 2))
    data = bytearray(buffer.getvalue())
    chunk = info_chunk({"generator": "Atelier", "task": "melody"})
    # The comment travels as it would in a file another tool wrote: any bytes, not only what info_chunk makes.
    body = comment.encode("ascii", "replace") + b"\x00"
    icmt = b"ICMT" + struct.pack("<I", len(body)) + body + (b"\x00" if len(body) % 2 else b"")
    chunk = chunk[:4] + struct.pack("<I", len(chunk) - 8 + len(icmt)) + chunk[8:] + icmt
    data += chunk
    data[4:8] = struct.pack("<I", len(data) - 8)
    return bytes(data)


def _midi_with_record(rng: random.Random, record: str) -> bytes:
    import mido

    midi = mido.MidiFile(type=1)
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("track_name", name=hostile_text(rng, 10) if rng.random() < 0.3 else "Atelier"))
    track.append(mido.MetaMessage("text", text="atelier:" + record))
    track.append(mido.Message("note_on", note=60, velocity=64, time=0))
    track.append(mido.Message("note_off", note=60, time=480))
    midi.tracks.append(track)
    buffer = io.BytesIO()
    try:
        midi.save(file=buffer)
    except (ValueError, UnicodeEncodeError):  # text mido cannot encode: a plain record then
        return _midi_with_record(rng, "{}")
    return buffer.getvalue()


def hostile_provenance(rng: random.Random) -> tuple[str, bytes]:
    """(suffix, bytes) for `atelier provenance FILE`: each file kind Atelier writes a record into, with a
    hostile record, a hostile XMP packet or damaged bytes."""
    kind = rng.choice(["png", "png", "mid", "wav", "md", "txt", "gpl", "css", "json", "ase"])
    record = record_text(rng)
    if kind == "png":
        chunks = {"atelier": record} if rng.random() < 0.8 else {}
        if rng.random() < 0.6:
            chunks["XML:com.adobe.xmp"] = xmp_text(rng)
        data = _png_with_text(rng, chunks)
        if rng.random() < 0.1:  # a caBX chunk without the library's manifest in it
            at = data.index(b"IEND") - 4
            data = data[:at] + _chunk(b"caBX", bytes(rng.randrange(256) for _ in range(rng.randint(0, 64)))) + data[at:]
    elif kind == "mid":
        data = _midi_with_record(rng, record)
    elif kind == "wav":
        data = _wav_with_info(rng, record)
    elif kind in ("md", "txt"):
        lines = [f"{key}: {json_document(rng, {'v': 1}).decode('utf-8', 'replace')}" for key in VALID_RECORD]
        lines.insert(rng.randrange(len(lines) + 1), f"model_lines: {record}")
        text = "---\n" + "\n".join(lines) + "\n---\n" + hostile_text(rng, 200) + " (AI)\n"
        data = text.encode("utf-8", "surrogatepass")
    elif kind in ("gpl", "css"):
        line = f"# atelier: {record}" if kind == "gpl" else f"/* atelier: {record} */"
        head = "GIMP Palette\nName: x\n" if kind == "gpl" else ":root {\n"
        data = (head + line + "\n").encode("utf-8", "surrogatepass")
    elif kind == "json":
        data = ('{"colors": ["#112233"], "atelier": ' + record + "}").encode("utf-8", "surrogatepass")
    else:
        data = hostile_palette(rng)[1]
    return kind, mutate(data, rng) if rng.random() < 0.25 else data


# -- the render server's wire format (atelier/remote/wire.py) ------------------------------------
def _wire_array(rng: random.Random) -> dict[str, object]:
    """An encoded array as the wire carries it: a real PNG or .npy, damaged, with a wrong shape, or forged."""
    import base64

    choice = rng.random()
    if choice < 0.4:
        from atelier.remote.wire import encode_array

        shape = rng.choice([(4, 4), (3, 5, 3), (2, 2, 4), (1, 1), (6, 2, 1)])
        dtype = rng.choice([np.uint8, np.uint8, np.float32, np.int64, np.bool_])
        encoded = encode_array(np.random.default_rng(rng.randrange(2**32)).integers(0, 255, shape).astype(dtype))
        if rng.random() < 0.5:
            key = "png" if "png" in encoded else "npy"
            raw = mutate(base64.b64decode(str(encoded[key])), rng)
            encoded[key] = base64.b64encode(raw).decode("ascii")
        if "shape" in encoded and rng.random() < 0.3:
            encoded["shape"] = json_value(rng)
        return encoded
    if choice < 0.6:
        data = png_declaring(rng.randint(1, 70000), rng.randint(1, 70000), pixels=False)
        return {"png": base64.b64encode(data).decode("ascii"), "shape": [rng.randint(0, 9) for _ in range(2)]}
    if choice < 0.75:  # a .npy header declaring an object array (pickle) or a huge shape
        header = rng.choice(
            [
                "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }",
                "{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000), }",
                "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }",
            ]
        )
        npy = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header) + 1) + header.encode() + b"\n" + b"\x00" * 16
        return {"npy": base64.b64encode(npy).decode("ascii")}
    return {rng.choice(["png", "npy"]): json_value(rng), **({"shape": json_value(rng)} if rng.random() < 0.5 else {})}


def _wire_value(rng: random.Random, depth: int = 0) -> object:
    choice = rng.random()
    if choice < 0.03:  # nesting json.loads accepts (it stops near 1,000) but recursive decoding may not
        nesting = rng.choice([31, 33, 600, 900])
        return json.loads("[" * nesting + "]" * nesting)
    if choice < 0.2:
        return _wire_array(rng)
    if choice < 0.3:
        return {rng.choice(["melody", "tune"]): json_value(rng) if rng.random() < 0.5 else {"notes": json_value(rng)}}
    if choice < 0.4 and depth < 3:
        return [_wire_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return json_value(rng)


def wire_message(rng: random.Random) -> tuple[str, object]:
    """(what reads it, the JSON value): a request the server decodes, or a result, progress report, error
    or device the desktop decodes. Starts from a real message of each kind and replaces fields."""
    from atelier.core.progress import Progress
    from atelier.core.requests import DeviceInfo
    from atelier.core.requests.colorize import ColorizeRequest, ColorizeResult
    from atelier.core.requests.lyrics import LyricRequest
    from atelier.core.requests.melody import Melody, MelodyNote, MelodyRequest, MelodyResult
    from atelier.core.requests.palette import PaletteFromImageRequest
    from atelier.core.requests.sketch import SketchRequest, SketchResult
    from atelier.remote import wire

    picture = np.zeros((64, 64, 3), np.uint8)
    melody = Melody(notes=(MelodyNote(60, 0.0, 1.0, "la", 0),), lines=("la",), line_spans=((0.0, 1.0),))
    reader = rng.choice(["request", "request", "result", "progress", "error", "device"])
    message: object
    if reader == "request":
        request = rng.choice(
            [
                SketchRequest(prompt="boat", image=picture, seed=3),
                PaletteFromImageRequest(image=picture, count=4),
                ColorizeRequest(lines=picture[:, :, 0], palette=("#ff0000", "#00ff00", "#0000ff")),
                LyricRequest(prompt="rain", seed=9),
                MelodyRequest(lyrics="la la la\nla la"),
            ]
        )
        message = json.loads(json.dumps(wire.encode_request(request)))
    elif reader == "result":
        device = DeviceInfo("CPUExecutionProvider", ("CPUExecutionProvider",), ())
        result = rng.choice(
            [
                SketchResult(images=(picture,), seeds=(1,), parameters={"prompt": "a"}, device=device),
                MelodyResult(variations=(melody,)),
                ColorizeResult(images=(picture,), palettes=(("#000000",),), parameters=({"seed": 1},)),
            ]
        )
        message = json.loads(json.dumps(wire.encode_result(result)))
    elif reader == "progress":
        message = wire.encode_progress(Progress(1, 3, "step", preview=picture if rng.random() < 0.5 else None))
        message = json.loads(json.dumps(message))
    elif reader == "error":
        message = {"type": rng.choice(["PackNotFoundError", "SystemExit", "object", "AtelierError"]), "message": "x"}
    else:
        message = {"provider": "CUDAExecutionProvider", "requested": ["CUDAExecutionProvider"], "fallbacks": []}
    if isinstance(message, dict) and message and rng.random() < 0.9:
        for _ in range(rng.randint(1, 3)):
            key = rng.choice([*message, "kind", "x", "os.system"]) if rng.random() < 0.9 else hostile_text(rng, 6)
            message[key] = _wire_value(rng) if key != "kind" or rng.random() < 0.3 else rng.choice(["lyrics", "x", ""])
    elif rng.random() < 0.5:
        message = _wire_value(rng)
    return reader, message


# -- pack manifests and model folders (engine/packs.py) -----------------------------------------
def _shipped_manifests() -> list[dict[str, object]]:
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "models"
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(root.glob("*/pack.json"))]


def hostile_manifest(rng: random.Random) -> tuple[str, bytes]:
    """(file name, bytes): a shipped manifest with values replaced, as TOML, damaged, or forged deep."""
    shipped = _shipped_manifests()
    valid: dict[str, object] = rng.choice(shipped) if shipped else {"id": "p", "kind": "lineart", "files": []}
    choice = rng.random()
    if choice < 0.7:
        return "pack.json", json_document(rng, valid)
    if choice < 0.8:
        pairs = [f"{key} = {json.dumps(value)}" for key, value in valid.items() if not isinstance(value, (dict, list))]
        text = "\n".join(pairs) + "\nfiles = [" + ", ".join(f'{{path = "{f}"}}' for f in ("a", "b")) + "]\n"
        return "pack.toml", mutate(text.encode("utf-8"), rng, rng.randint(0, 3))
    if choice < 0.9:
        depth = rng.choice([15, 17, 1000, 100_000])
        return "pack.json", ('{"id": "deep", "kind": "x", "files": ' + "[" * depth + "]" * depth + "}").encode()
    return "pack.json", mutate(json.dumps(valid).encode("utf-8"), rng)


# -- the palette-infill model's inputs ------------------------------------------------------------
def infill_values(rng: random.Random) -> dict[str, object]:
    """PaletteInfillRequest fields as a panel, a project file or the render server could hand them over:
    valid, at the edges (every slot locked, all colours the same, black and white), or of the wrong type."""
    odd = rng.random() < 0.15  # one value in seven or so out of range or of the wrong type
    count = rng.choice([0, 2, 13, -1, 1000, 2.5, "5", None] if odd and rng.random() < 0.3 else [3, 4, 5, 6, 8, 12])
    slots = range(count if isinstance(count, int) and 0 < count <= 12 else 5)
    same = rng.random() < 0.2
    colour = f"#{rng.randrange(2**24):06x}"

    def hex_colour() -> object:
        if odd and rng.random() < 0.1:
            return rng.choice(["#GGGGGG", "#fff", "", None, 5, "#000000", "#ffffff", " #A1B2C3 ", "１２３"])
        return colour if same else f"#{rng.randrange(2**24):06x}"

    picked = [slot for slot in slots if rng.random() < rng.choice([0.0, 0.3, 0.7, 1.0])]
    locked: object = tuple((slot, hex_colour()) for slot in picked)
    if odd and rng.random() < 0.3:
        locked = rng.choice([((99, "#000000"),), ((0, "#000000"), (0, "#ffffff")), (("0", "#000000"),)])
    avoid: object = tuple(hex_colour() for _ in range(rng.choice([0, 1, 5, 40])))
    if odd and rng.random() < 0.2:
        avoid = rng.choice(["#000000", 5, None])
    temperature: object = rng.choice([0.0, 1e-7, 0.3, 0.8, 1.5, 2.0])
    seed: object = rng.choice([0, 1, rng.randrange(2**32)])
    if odd and rng.random() < 0.5:
        temperature = rng.choice([-0.1, float("nan"), float("inf"), True, "0.8", 2.0001])
    if odd and rng.random() < 0.3:
        seed = rng.choice([2**32, -5, True, 1.5])
    return {"count": count, "seed": seed, "locked": locked, "avoid": avoid, "temperature": temperature}
