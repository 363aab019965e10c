"""Vectorised sRGB <-> OKLab / CIELab and CIEDE2000 for whole images and candidate sets.

coloraide is the reference for single colours (harmony, CVD, contrast use it directly); these numpy
versions exist because palette picking and image extraction convert and compare 10^4..10^6 colours,
where per-colour Python objects would take seconds. tests/core check them against coloraide.
"""

from __future__ import annotations

import numpy as np

# Björn Ottosson's OKLab matrices (linear sRGB -> LMS -> OKLab), as coloraide uses them.
_RGB_TO_LMS = np.array(
    [
        [0.4122214708, 0.5363325363, 0.0514459929],
        [0.2119034982, 0.6806995451, 0.1073969566],
        [0.0883024619, 0.2817188376, 0.6299787005],
    ]
)
_LMS_TO_OKLAB = np.array(
    [
        [0.2104542553, 0.7936177850, -0.0040720468],
        [1.9779984951, -2.4285922050, 0.4505937099],
        [0.0259040371, 0.7827717662, -0.8086757660],
    ]
)
_OKLAB_TO_LMS = np.linalg.inv(_LMS_TO_OKLAB)
_LMS_TO_RGB = np.linalg.inv(_RGB_TO_LMS)
# linear sRGB -> XYZ (D65); CIELab with a D65 white, as coloraide's CIEDE2000 uses ('lab-d65').
_RGB_TO_XYZ_D65 = np.array(
    [
        [0.41239079926595934, 0.357584339383878, 0.1804807884018343],
        [0.21263900587151027, 0.715168678767756, 0.07219231536073371],
        [0.01933081871559182, 0.11919477979462598, 0.9505321522496607],
    ]
)
_WHITE_D65 = np.array([0.3127 / 0.3290, 1.0, (1 - 0.3127 - 0.3290) / 0.3290])


def hex_to_rgb(colors: list[str] | tuple[str, ...]) -> np.ndarray:
    """'#rrggbb' strings -> Nx3 uint8."""
    return np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in colors], np.uint8).reshape(-1, 3)


def rgb_to_hex(rgb: np.ndarray) -> list[str]:
    clipped = np.clip(np.rint(np.asarray(rgb, np.float64)), 0, 255).astype(int).reshape(-1, 3)
    return ["#{:02x}{:02x}{:02x}".format(*row) for row in clipped]


def srgb_to_linear(rgb8: np.ndarray) -> np.ndarray:
    v = np.asarray(rgb8, np.float64) / 255.0
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def linear_to_srgb8(linear: np.ndarray) -> np.ndarray:
    v = np.clip(linear, 0.0, 1.0)
    encoded = np.where(v <= 0.0031308, v * 12.92, 1.055 * np.power(v, 1 / 2.4) - 0.055)
    return np.clip(np.rint(encoded * 255.0), 0, 255).astype(np.uint8)


def rgb_to_oklab(rgb8: np.ndarray) -> np.ndarray:
    """...x3 uint8 sRGB -> ...x3 OKLab (L in 0..1)."""
    lms = srgb_to_linear(rgb8) @ _RGB_TO_LMS.T
    return np.cbrt(lms) @ _LMS_TO_OKLAB.T


def oklab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """...x3 OKLab -> ...x3 uint8 sRGB (clipped into gamut)."""
    lms = (np.asarray(lab, np.float64) @ _OKLAB_TO_LMS.T) ** 3
    return linear_to_srgb8(lms @ _LMS_TO_RGB.T)


def rgb_to_cielab(rgb8: np.ndarray) -> np.ndarray:
    """...x3 uint8 sRGB -> ...x3 CIELab (D65, coloraide's 'lab-d65'), for CIEDE2000."""
    xyz = srgb_to_linear(rgb8) @ _RGB_TO_XYZ_D65.T
    t = xyz / _WHITE_D65
    eps, kappa = 216 / 24389, 24389 / 27
    f = np.where(t > eps, np.cbrt(t), (kappa * t + 16) / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def delta_e_2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 between broadcastable ...x3 CIELab arrays (Sharma et al. 2005 formulation)."""
    lab1 = np.asarray(lab1, np.float64)
    lab2 = np.asarray(lab2, np.float64)
    l1, a1, b1 = lab1[..., 0], lab1[..., 1], lab1[..., 2]
    l2, a2, b2 = lab2[..., 0], lab2[..., 1], lab2[..., 2]
    c1 = np.hypot(a1, b1)
    c2 = np.hypot(a2, b2)
    c_mean7 = ((c1 + c2) / 2) ** 7
    g = 0.5 * (1 - np.sqrt(c_mean7 / (c_mean7 + 25.0**7)))
    a1p, a2p = a1 * (1 + g), a2 * (1 + g)
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360
    dlp = l2 - l1
    dcp = c2p - c1p
    dh = h2p - h1p
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(c1p * c2p == 0, 0.0, dh)
    dhp = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh) / 2)
    lp_mean = (l1 + l2) / 2
    cp_mean = (c1p + c2p) / 2
    hsum = h1p + h2p
    hp_mean = np.where(np.abs(h1p - h2p) <= 180, hsum / 2, np.where(hsum < 360, (hsum + 360) / 2, (hsum - 360) / 2))
    hp_mean = np.where(c1p * c2p == 0, hsum, hp_mean)
    t = (
        1
        - 0.17 * np.cos(np.radians(hp_mean - 30))
        + 0.24 * np.cos(np.radians(2 * hp_mean))
        + 0.32 * np.cos(np.radians(3 * hp_mean + 6))
        - 0.20 * np.cos(np.radians(4 * hp_mean - 63))
    )
    d_theta = 30 * np.exp(-(((hp_mean - 275) / 25) ** 2))
    cp_mean7 = cp_mean**7
    rc = 2 * np.sqrt(cp_mean7 / (cp_mean7 + 25.0**7))
    sl = 1 + 0.015 * (lp_mean - 50) ** 2 / np.sqrt(20 + (lp_mean - 50) ** 2)
    sc = 1 + 0.045 * cp_mean
    sh = 1 + 0.015 * cp_mean * t
    rt = -np.sin(np.radians(2 * d_theta)) * rc
    return np.sqrt((dlp / sl) ** 2 + (dcp / sc) ** 2 + (dhp / sh) ** 2 + rt * (dcp / sc) * (dhp / sh))


def oklch(lab: np.ndarray) -> np.ndarray:
    """...x3 OKLab -> ...x3 (L, C, hue in degrees 0..360)."""
    lab = np.asarray(lab, np.float64)
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    hue = np.degrees(np.arctan2(lab[..., 2], lab[..., 1])) % 360
    return np.stack([lab[..., 0], chroma, hue], axis=-1)
