"""Build the colorizer's picture set: public-domain clip art and Noto emoji, flattened on white at 128 px.

Run: python models/colorizer/prepare_data.py [--data /tmp/colorizer-data]
Fetches `openclipart-png` and `fonts-noto-color-emoji` with `apt-get download` (Debian), unpacks them
with `dpkg -x` under --data, drops what would teach the model nothing (generated stars, flags, cards,
gradients, patterns, icon themes, near-blank and tiny pictures) and writes --data/pictures.npz:
`images` (N,128,128,3 uint8), `split` (0 train, 1 test; by source folder so near-duplicates stay
together) and `names`. Line art, palettes and hints are made from these on the fly (synth.py).
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

SIZE = 128
Image.MAX_IMAGE_PIXELS = None  # sizes are checked from the header below, before decoding
PACKAGES = ("openclipart-png", "fonts-noto-color-emoji")
# Folders (prefixes) of generated or repetitive art: thousands of stars, flags, playing cards, icon
# themes and gradient swatches would dominate the set and teach nothing about illustrations.
DROPPED_FOLDERS = (
    "shapes/stars",
    "signs_and_symbols/flags",
    "recreation/games/cards",
    "special/gradients",
    "special/patterns",
    "special/examples",
    "shapes/jigsaw",
    "signs_and_symbols/led",
    "computer/icons",
    "signs_and_symbols/flags/semaphore",
    "computer/buttons",
    "shapes/flowchart",
    "unsorted/duplicates",
)
SKIN_TONES = ("\U0001f3fb", "\U0001f3fc", "\U0001f3fd", "\U0001f3fe", "\U0001f3ff")


def fetch(data: Path) -> Path:
    root = data / "root"
    if (root / "usr/share/openclipart/png").is_dir():
        return root
    data.mkdir(parents=True, exist_ok=True)
    subprocess.run(["apt-get", "download", *PACKAGES], cwd=data, check=True)
    for deb in sorted(data.glob("*.deb")):
        subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True)
    return root


def on_white(image: Image.Image) -> np.ndarray:
    rgba = np.asarray(image.convert("RGBA")).astype(np.float32)
    alpha = rgba[..., 3:4] / 255.0
    return np.clip(rgba[..., :3] * alpha + 255.0 * (1 - alpha) + 0.5, 0, 255).astype(np.uint8)


def fit_square(rgb: np.ndarray, size: int = SIZE, margin: int = 4) -> np.ndarray:
    """Fit the picture's ink bounding box into a size x size white square, keeping the aspect."""
    ink = (rgb < 245).any(axis=2)
    ys, xs = np.nonzero(ink)
    rgb = rgb[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    h, w = rgb.shape[:2]
    scale = (size - 2 * margin) / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    small = np.asarray(Image.fromarray(rgb).resize((nw, nh), Image.Resampling.LANCZOS))
    out = np.full((size, size, 3), 255, np.uint8)
    top, left = (size - nh) // 2, (size - nw) // 2
    out[top : top + nh, left : left + nw] = small
    return out


def usable(rgb: np.ndarray) -> bool:
    """Enough coloured area and more than a couple of colours (not a blank, a line or a flat blob)."""
    ink = (rgb < 240).any(axis=2)
    if not 0.08 <= ink.mean() <= 0.97:
        return False
    coarse = (rgb[ink] // 32).astype(np.int32)
    codes = coarse[:, 0] * 64 + coarse[:, 1] * 8 + coarse[:, 2]
    counts = np.bincount(codes, minlength=512)
    return int((counts > 0.02 * ink.sum()).sum()) >= 2


def is_test(group: str) -> bool:
    return int(hashlib.sha1(group.encode()).hexdigest(), 16) % 10 == 0


def clipart(root: Path) -> list[tuple[np.ndarray, str, str]]:
    base = root / "usr/share/openclipart/png"
    out = []
    for path in sorted(base.rglob("*.png")):
        folder = path.parent.relative_to(base).as_posix()
        if folder.startswith(DROPPED_FOLDERS) or path.stat().st_size > 2_500_000:
            continue
        try:
            with Image.open(path) as image:
                # Posters of 100+ megapixels take seconds each to decode and are not clip art.
                if max(image.size) < 96 or min(image.size) < 24 or image.size[0] * image.size[1] > 4_000_000:
                    continue
                if max(image.size) > 600:
                    image.thumbnail((600, 600))
                rgb = on_white(image)
        except (OSError, ValueError, Image.DecompressionBombError):
            continue
        if not (rgb < 245).any():
            continue
        rgb = fit_square(rgb)
        if usable(rgb):
            out.append((rgb, f"clipart/{folder}/{path.name}", folder))
    return out


def emoji(root: Path) -> list[tuple[np.ndarray, str, str]]:
    from fontTools.ttLib import TTFont

    font_path = root / "usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"
    cmap = TTFont(str(font_path)).getBestCmap()
    font = ImageFont.truetype(str(font_path), 109)  # the only size this bitmap font renders at
    modifier_bases = {cp for cp in cmap if 0x1F385 <= cp <= 0x1F9DD}
    out = []
    for cp in sorted(cmap):
        if cp < 0x2000 or 0x1F3FB <= cp <= 0x1F3FF or 0x1F1E6 <= cp <= 0x1F1FF:
            continue  # ASCII/keycap parts, skin-tone swatches, regional-indicator letters
        texts = [chr(cp)] + ([chr(cp) + tone for tone in SKIN_TONES] if cp in modifier_bases else [])
        for text in texts:
            canvas = Image.new("RGBA", (160, 160), (255, 255, 255, 0))
            ImageDraw.Draw(canvas).text((8, 8), text, font=font, embedded_color=True)
            rgb = on_white(canvas)
            if not (rgb < 245).any():
                continue
            rgb = fit_square(rgb)
            if usable(rgb):
                # Group by base codepoint block: skin-tone variants and neighbours stay in one split.
                out.append((rgb, f"emoji/{'-'.join(f'{ord(c):x}' for c in text)}", f"emoji/{cp >> 4:x}"))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("/tmp/colorizer-data"))
    args = parser.parse_args()
    root = fetch(args.data)
    items = clipart(root)
    print(f"clip art: {len(items)} usable pictures", flush=True)
    emojis = emoji(root)
    print(f"emoji: {len(emojis)} usable pictures", flush=True)
    items += emojis
    images = np.stack([rgb for rgb, _, _ in items])
    split = np.array([1 if is_test(group) else 0 for _, _, group in items], np.uint8)
    names = np.array([name for _, name, _ in items])
    np.savez_compressed(args.data / "pictures.npz", images=images, split=split, names=names)
    print(f"wrote {args.data / 'pictures.npz'}: {len(images)} pictures, {int(split.sum())} held out")
    return 0


if __name__ == "__main__":
    sys.exit(main())
