"""An invisible watermark (Haar DWT + block DCT, dithered QIM) that carries a 32-bit id through PNG, JPEG and resizing.

Written here in numpy rather than taken from invisible-watermark: that package needs OpenCV and PyWavelets,
and its DWT-DCT blocks sit on the picture's own pixel grid, so a resized picture no longer lines up with
them. This mark is embedded in a fixed 256 x 256 "carrier" (the picture's luma resampled to that size), so
any resize of the whole picture maps back onto the same blocks. Only a one-level Haar transform is needed,
which is four lines; the DCT is scipy's.

Payload: the 32-bit id and a CRC-16 (48 bits), each bit spread over about 42 pseudo-randomly placed DCT
coefficients (a repetition code read by soft majority). A picture counts as marked only when the CRC
matches and the coefficients agree strongly, so unmarked pictures are almost never reported as marked
(bench/watermark_false_positives.py measures it).
"""

from __future__ import annotations

import binascii
import hashlib
import re
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy.fft import dctn, idctn

MIN_SIDE = 256  # smaller pictures are left unmarked: too few pixels to hide 48 bits without showing them
MIN_DETECT_SIDE = 96  # a 256 px picture shrunk to half is still read
CARRIER = 256
BLOCK = 4
# The two lowest AC coefficients of each 4 x 4 DCT block of the carrier's Haar LL band: low enough in the
# picture to survive JPEG and halving, away from the block's mean (0, 0) so flat areas stay flat on average.
POSITIONS = ((0, 1), (1, 0))
STEP = 24.0  # QIM step in carrier DCT units: PSNR 43.8-47 dB on the test pictures; halving a 256 px picture still reads
ID_BITS = 32
PAYLOAD_BITS = ID_BITS + 16
THRESHOLD = 0.25  # mean agreement of a bit's coefficients (1 = all agree); unmarked pictures give 0.09 +- 0.01
ITERATIONS = 4
_KEY = 0x41_74_65_6C  # "Atel": where the bits go and each coefficient's dither (a fixed, public key)


@dataclass(frozen=True)
class WatermarkReading:
    found: bool
    mark_id: str | None  # 8 hex digits when found
    confidence: float  # mean agreement of each bit's coefficients, 0..1


def _layout() -> tuple[np.ndarray, np.ndarray]:
    slots = (CARRIER // 2 // BLOCK) ** 2 * len(POSITIONS)
    rng = np.random.default_rng(_KEY)
    bit_of_slot = rng.permutation(np.arange(slots) % PAYLOAD_BITS)
    dither = rng.uniform(0.0, STEP, slots)
    return bit_of_slot, dither


_BIT_OF_SLOT, _DITHER = _layout()


def mark_code(mark_id: str) -> str:
    """The 8 hex digits a mark carries: `mark_id` itself when it is 8 hex digits, else a hash of it."""
    text = mark_id.strip().lower()
    if re.fullmatch(r"[0-9a-f]{8}", text):
        return text
    return hashlib.sha256(mark_id.encode("utf-8")).hexdigest()[:8]


def _payload(code: str) -> np.ndarray:
    data = bytes.fromhex(code)
    crc = binascii.crc_hqx(data, 0xA7E1)
    return np.unpackbits(np.frombuffer(data + crc.to_bytes(2, "big"), dtype=np.uint8)).astype(np.int64)


def can_mark(shape: tuple[int, ...]) -> bool:
    return min(shape[0], shape[1]) >= MIN_SIDE


def _luma(rgb: np.ndarray) -> np.ndarray:
    if rgb.ndim == 2:
        return rgb.astype(np.float32)
    return (rgb[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)).astype(np.float32)


def _resize(plane: np.ndarray, size: tuple[int, int], shrink: bool) -> np.ndarray:
    """A float plane resampled to (width, height): box averaging when shrinking, bilinear when growing."""
    method = Image.Resampling.BOX if shrink else Image.Resampling.BILINEAR
    return np.asarray(Image.fromarray(plane.astype(np.float32), mode="F").resize(size, method), dtype=np.float64)


def _coefficients(carrier: np.ndarray) -> np.ndarray:
    """The marked coefficients of a 256 x 256 carrier, one per slot."""
    ll = (carrier[0::2, 0::2] + carrier[0::2, 1::2] + carrier[1::2, 0::2] + carrier[1::2, 1::2]) / 2.0  # Haar LL
    n = ll.shape[0] // BLOCK
    blocks = ll.reshape(n, BLOCK, n, BLOCK).transpose(0, 2, 1, 3)
    spectra = dctn(blocks, axes=(2, 3), norm="ortho")
    return np.stack([spectra[:, :, r, c] for r, c in POSITIONS], axis=-1).reshape(-1)


def _carrier_delta(slot_delta: np.ndarray) -> np.ndarray:
    """The carrier change that moves each slot's coefficient by `slot_delta` (inverse of _coefficients)."""
    n = CARRIER // 2 // BLOCK
    spectra = np.zeros((n, n, BLOCK, BLOCK))
    per_position = slot_delta.reshape(n, n, len(POSITIONS))
    for index, (r, c) in enumerate(POSITIONS):
        spectra[:, :, r, c] = per_position[:, :, index]
    ll = idctn(spectra, axes=(2, 3), norm="ortho").transpose(0, 2, 1, 3).reshape(n * BLOCK, n * BLOCK)
    # Inverse Haar with zero detail bands: each LL value spreads evenly over its 2 x 2 pixels.
    return np.repeat(np.repeat(ll / 2.0, 2, axis=0), 2, axis=1)


def _carrier_of(luma: np.ndarray) -> np.ndarray:
    height, width = luma.shape
    return _resize(luma, (CARRIER, CARRIER), shrink=min(height, width) >= CARRIER)


def apply_watermark(rgb: np.ndarray, mark_id: str) -> np.ndarray:
    """`rgb` (H x W x 3 or 4, or H x W, uint8) with the mark of `mark_id` hidden in its luma.

    A picture under 256 px on its shorter side is returned unchanged (see `can_mark`). Alpha is kept. The
    same change is added to R, G and B, so hue and saturation stay and only brightness moves slightly."""
    if not can_mark(rgb.shape):
        return rgb.copy()
    height, width = rgb.shape[:2]
    bits = _payload(mark_code(mark_id))[_BIT_OF_SLOT]
    original = _coefficients(_carrier_of(_luma(rgb)))
    # Dithered QIM: bit b sits on the lattice STEP * k + dither + b * STEP / 2; take the nearest such point.
    offset = _DITHER + bits * (STEP / 2)
    target = np.round((original - offset) / STEP) * STEP + offset
    colour = rgb.astype(np.float64)
    marked = rgb.copy()
    # Rounding, clipping at black and white, and the resampling blur move the coefficients off target, so
    # the remaining error is measured on the real 8-bit result and corrected a few times.
    for _ in range(ITERATIONS):
        error = target - _coefficients(_carrier_of(_luma(marked)))
        if np.max(np.abs(error)) < STEP / 16:
            break
        delta = _resize(_carrier_delta(error).astype(np.float32), (width, height), shrink=False)
        if rgb.ndim == 2:
            colour += delta
        else:
            colour[..., :3] += delta[..., None]
        marked = np.clip(np.round(colour), 0, 255).astype(np.uint8)
        if rgb.ndim == 3 and rgb.shape[2] == 4:
            marked[..., 3] = rgb[..., 3]
    return marked


def read_watermark(rgb: np.ndarray) -> WatermarkReading:
    """Look for a mark in a picture (any size from 96 px; resized or JPEG-compressed copies too)."""
    if min(rgb.shape[0], rgb.shape[1]) < MIN_DETECT_SIDE:
        return WatermarkReading(False, None, 0.0)
    coefficients = _coefficients(_carrier_of(_luma(rgb)))
    soft = np.cos(2 * np.pi * (coefficients - _DITHER) / STEP)  # +1 on the bit-0 lattice, -1 on bit 1
    sums = np.bincount(_BIT_OF_SLOT, weights=soft, minlength=PAYLOAD_BITS)
    counts = np.bincount(_BIT_OF_SLOT, minlength=PAYLOAD_BITS)
    bits = (sums < 0).astype(np.uint8)
    confidence = float(np.mean(np.abs(sums) / counts))
    data = np.packbits(bits).tobytes()
    code, crc = data[:4], int.from_bytes(data[4:6], "big")
    found = crc == binascii.crc_hqx(code, 0xA7E1) and confidence >= THRESHOLD
    return WatermarkReading(found, code.hex() if found else None, confidence)


def detect_watermark(rgb: np.ndarray) -> str | None:
    """The 8 hex digits of the mark in `rgb`, or None."""
    return read_watermark(rgb).mark_id


def psnr(original: np.ndarray, marked: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB over all channels (higher is closer; 40 dB and up is invisible)."""
    error = np.mean((original.astype(np.float64) - marked.astype(np.float64)) ** 2)
    return float("inf") if error == 0 else float(10 * np.log10(255.0**2 / error))
