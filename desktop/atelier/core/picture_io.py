"""Read a picture file from outside (open, import, drop, CLI, an autosaved layer): the one image reader.

Sizes are checked from the header before any pixel is decoded; every decoding failure becomes an
InputFileError naming the file; any Pillow mode, 16-bit and EXIF-rotated pictures come back as
8-bit grey, RGB or RGBA the right way up; an animated picture gives its first frame. libtiff's own
messages about a damaged TIFF are kept off stderr: the user sees Atelier's one line only.
"""

from __future__ import annotations

import ctypes
import functools
import glob
import logging
import math
import sys
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms

from atelier.core.errors import InputFileError

# Decoding a 100-megapixel photo at full size needs ~400 MB; colour analysis needs far fewer pixels.
MAX_DECODE_SIDE = 2048
# Pixels that may be decoded at full resolution. JPEG decodes at 1/2..1/8 scale directly (draft), so a
# larger JPEG read reduced is fine; PNG, TIFF, WebP, ... decode whole before they can be shrunk, and at
# up to 4 bytes a pixel this keeps one picture under ~500 MB (a 108-megapixel photo still opens).
MAX_DECODE_PIXELS = 120_000_000
# EXIF orientation -> the transpose that puts the picture the right way up (values 5-8 swap the sides).
_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_NO_RESIZE = ("I;16", "I;16L", "I;16B", "I;16N", "La")
_LIBTIFF_HANDLERS = (
    "TIFFSetErrorHandler",
    "TIFFSetErrorHandlerExt",
    "TIFFSetWarningHandler",
    "TIFFSetWarningHandlerExt",
)

log = logging.getLogger(__name__)


def _loaded_libtiffs() -> list[str]:
    """Paths of the libtiff Pillow's decoder is linked to (already loaded with PIL's core)."""
    if sys.platform.startswith("linux"):
        try:
            with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
                found = {line.split(None, 5)[-1].strip() for line in maps if "libtiff" in line}
            return sorted(path for path in found if path.startswith("/"))
        except OSError:
            pass
    # macOS wheels ship it in PIL/.dylibs; Windows builds link libtiff into _imaging (nothing to reach).
    package = Path(Image.__file__).parent
    return sorted(
        glob.glob(str(package / ".dylibs" / "libtiff*")) + glob.glob(str(package.parent / "pillow.libs" / "libtiff*"))
    )


@functools.cache
def quiet_libtiff() -> bool:
    """Stop libtiff printing its errors and warnings about a damaged TIFF to stderr; True when done.

    libtiff's default handlers write each problem ("ZIPDecode: Decoding error at scanline 0, ...",
    "LZWDecode: Corrupted LZW table ...", "JPEGLib: ...") as its own line on stderr, several for one
    file, under Atelier's own one-line message. Pillow turns every such failure into an exception we
    report anyway, and silences libtiff's warnings while it decodes, but not its errors, and it offers
    no setting for them: so the handlers are cleared once, here, through ctypes on the same library
    Pillow loaded (a second dlopen of a loaded library returns that library).
    """
    done = False
    for path in _loaded_libtiffs():
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for name in _LIBTIFF_HANDLERS:
            setter = getattr(library, name, None)
            if setter is None:
                continue
            setter.argtypes, setter.restype = [ctypes.c_void_p], ctypes.c_void_p
            setter(None)  # no handler: libtiff prints nothing (TIFFErrorExtR calls only handlers set)
            done = True
    if not done:
        log.debug("libtiff's messages could not be silenced (no loaded libtiff found)")
    return done


def fitting_size(width: int, height: int, max_pixels: int) -> tuple[int, int]:
    """The largest size of the same shape with at most `max_pixels` pixels (at least 1x1)."""
    if width * height <= max_pixels:
        return width, height
    scale = math.sqrt(max_pixels / (width * height))
    fit_w, fit_h = max(1, math.floor(width * scale)), max(1, math.floor(height * scale))
    while fit_w * fit_h > max_pixels:  # rounding at 1 px can still overshoot on a very thin picture
        if fit_w >= fit_h:
            fit_w -= 1
        else:
            fit_h -= 1
    return fit_w, fit_h


def too_large_message(width: int, height: int, max_pixels: int, what: str = "Atelier") -> str:
    """'This picture is WxH (N megapixels); WHAT takes at most M megapixels. Shrink it to w'xh' or smaller.'"""
    fit_w, fit_h = fitting_size(width, height, max_pixels)
    return (
        f"The picture is {width}x{height} ({width * height / 1e6:.1f} megapixels); {what} takes at most "
        f"{max_pixels / 1e6:.1f} megapixels. Shrink it to {fit_w}x{fit_h} or smaller and try again."
    )


def read_picture(
    path: str | Path,
    max_side: int | None = MAX_DECODE_SIDE,
    *,
    max_pixels: int = MAX_DECODE_PIXELS,
    rgba: bool = False,
    what: str = "Atelier",
) -> np.ndarray:
    """The picture as uint8 grey (HxW), RGB or RGBA (when it has transparency), or always RGBA with `rgba`.

    `max_side` decodes it reduced so the longer side fits (None: full size). A picture whose pixels to
    decode at full resolution exceed `max_pixels` is refused before decoding, naming the limit and a size
    that fits (`what` names who has the limit, e.g. "line art").
    """
    source = Path(path)
    if not source.is_file():  # also refuses a FIFO or a device, which would hang or never end
        raise InputFileError(f"No image at {path}.")
    quiet_libtiff()
    try:
        with warnings.catch_warnings():
            # Bomb warnings (the size is checked here) and damaged-EXIF or TIFF-tag warnings are noise
            # on a one-line error or a picture that opens fine.
            warnings.simplefilter("ignore")
            with Image.open(source) as image:
                return _decode(image, max_side, max_pixels, rgba, what)
    except InputFileError:
        raise
    except Image.DecompressionBombError as exc:
        # Pillow refuses before reading the size into our hands; the limit is ours to name.
        raise InputFileError(
            f"{path} declares a picture far too large to open ({exc}); {what} takes at most "
            f"{max_pixels / 1e6:.1f} megapixels. Shrink it and try again.",
            hint="",
        ) from exc
    except MemoryError as exc:
        raise InputFileError(f"{path} is too large to decode in the memory available.") from exc
    except Exception as exc:  # Pillow's decoders raise OSError, SyntaxError, TypeError,
        # ValueError, struct.error, EOFError, IndexError... on damaged files: each is the file's fault.
        raise InputFileError(f"Cannot read {path} as an image ({type(exc).__name__}: {exc}).") from exc


def read_stored(path: str | Path, max_pixels: int = MAX_DECODE_PIXELS) -> np.ndarray:
    """The pixels exactly as stored (no mode conversion, no EXIF rotation): for Atelier's own files, such as
    history images, whose array shape is recorded beside them. The same guards as `read_picture`."""
    source = Path(path)
    if not source.is_file():
        raise InputFileError(f"No image at {path}.")
    quiet_libtiff()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(source) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise InputFileError(too_large_message(width, height, max_pixels), hint="")
                return np.asarray(image).copy()
    except InputFileError:
        raise
    except Exception as exc:  # as in read_picture: every decoder failure is the file's fault
        raise InputFileError(f"Cannot read {path} as an image ({type(exc).__name__}: {exc}).") from exc


def _decode(image: Image.Image, max_side: int | None, max_pixels: int, rgba: bool, what: str) -> np.ndarray:
    image.seek(0)  # an animated picture: its first frame
    width, height = image.size
    if width < 1 or height < 1:
        raise InputFileError("The picture is empty (0 pixels wide or high).")
    if max_side is not None and max(width, height) > max_side:
        image.draft("RGB", (max_side, max_side))  # JPEG: decode at 1/2..1/8 scale directly
    decoded_w, decoded_h = image.size
    if decoded_w * decoded_h > max_pixels:
        raise InputFileError(too_large_message(width, height, max_pixels, what), hint="")
    image.load()
    orientation = _orientation(image)  # after load: a PNG's EXIF may follow its pixels, and reading it decodes
    # Shrink before converting when Pillow can (not 16-bit modes), so no second full-size copy is made.
    if max_side is not None and max(image.size) > max_side and image.mode not in _NO_RESIZE:
        image.thumbnail((max_side, max_side), Image.Resampling.BOX)
    picture = _eight_bit(image)
    if max_side is not None and max(picture.size) > max_side:
        picture.thumbnail((max_side, max_side), Image.Resampling.BOX)
    if orientation in _ORIENTATION:
        picture = picture.transpose(_ORIENTATION[orientation])
    if rgba and picture.mode != "RGBA":
        picture = picture.convert("RGBA")
    return np.asarray(picture)


def _orientation(image: Image.Image) -> int:
    try:
        value = int(image.getexif().get(0x0112, 1))
    except Exception:  # damaged EXIF is common and harmless: the picture stays as stored
        return 1
    return value if value in _ORIENTATION else 1


def _eight_bit(image: Image.Image) -> Image.Image:
    """8-bit L, RGB or RGBA (RGBA whenever the picture has transparency). Pillow's own 16-bit and float
    conversions to 8 bits clip at 255 (a 16-bit scan turns white) and its LAB to RGB one ignores the
    colour space, so those are converted here."""
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        return Image.fromarray((np.asarray(image) >> 8).astype(np.uint8), "L")
    if mode in ("I", "F"):
        values = np.nan_to_num(np.asarray(image, np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        # 32-bit integer pictures hold 16-bit samples (PPM, TIFF); float ones 0..1, or 0..255 by habit.
        top = values.max(initial=0.0)
        scale = (65535.0 if top > 255 else 255.0) if mode == "I" else (1.0 if top <= 1.0 else 255.0)
        return Image.fromarray(np.clip(values * (255.0 / scale) + 0.5, 0, 255).astype(np.uint8), "L")
    if mode == "LAB":
        lab, srgb = ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB")
        converted = ImageCms.applyTransform(image, ImageCms.buildTransform(lab, srgb, "LAB", "RGB"))
        return converted if converted is not None else image.convert("RGB")
    if mode == "La":  # premultiplied grey + alpha, which Pillow cannot convert
        values = np.asarray(image).astype(np.float32)
        alpha = values[..., 1:2]
        grey = np.where(alpha > 0, values[..., :1] * 255.0 / np.maximum(alpha, 1.0), 0.0)
        rgba = np.concatenate([np.repeat(grey, 3, axis=2), alpha], axis=2)
        return Image.fromarray(np.clip(rgba + 0.5, 0, 255).astype(np.uint8), "RGBA")
    if mode in ("RGBA", "LA", "PA", "RGBa") or "transparency" in image.info:
        return image.convert("RGBA")
    if mode in ("L", "1"):
        return image.convert("L")
    return image.convert("RGB")
