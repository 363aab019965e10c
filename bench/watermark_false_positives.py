"""The invisible watermark on many pictures: false positives on unmarked ones, and on marked ones the PSNR and
how often the mark is read after a PNG round trip, JPEG quality 85 and a 0.5x resize.

Pictures: Debian's openclipart-png (public-domain clip art, composited on white) and synthetic photos,
noise, flat colours, gradients and line art.

    .venv/bin/python bench/watermark_false_positives.py [--clipart /usr/share/openclipart/png] [--synthetic 1000]
        [--marked 200] [--json]
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "core"))
from test_watermark import halved, photo, through_jpeg, unmarked_pictures

from atelier.core import watermark as wm

CLIPART_FOLDERS = [Path("/usr/share/openclipart/png"), Path("/tmp/palette-data/root/usr/share/openclipart/png")]


def clipart(folder: Path | None, limit: int) -> list[np.ndarray]:
    folders = [folder] if folder else [f for f in CLIPART_FOLDERS if f.is_dir()]
    if not folders:
        print("no openclipart-png folder found (apt-get install openclipart-png); synthetic pictures only")
        return []
    files = sorted(folders[0].rglob("*.png"))[:limit]
    pictures = []
    for path in files:
        try:
            with Image.open(path) as image:
                image.draft("RGB", (2048, 2048))
                rgba = image.convert("RGBA")
        except (OSError, ValueError, Image.DecompressionBombError):
            continue
        if max(rgba.size) > 2048:
            rgba.thumbnail((2048, 2048))
        paper = Image.new("RGBA", rgba.size, "white")
        paper.alpha_composite(rgba)
        pictures.append(np.asarray(paper.convert("RGB")))
    return pictures


def png_round_trip(pixels: np.ndarray) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    buffer.seek(0)
    with Image.open(buffer) as image:
        return np.asarray(image)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clipart", type=Path, help="a folder of PNGs (default: openclipart-png's)")
    parser.add_argument("--clipart-limit", type=int, default=3000)
    parser.add_argument("--synthetic", type=int, default=1000)
    parser.add_argument("--marked", type=int, default=200, help="pictures (256 px and up) to mark and attack")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    started = time.perf_counter()
    art = clipart(args.clipart, args.clipart_limit)
    synthetic = unmarked_pictures(args.synthetic)
    readable = [p for p in art + synthetic if min(p.shape[:2]) >= wm.MIN_DETECT_SIDE]
    confidences = np.array([wm.read_watermark(p).confidence for p in readable])
    false_positives = int(sum(wm.read_watermark(p).found for p in readable))

    rng = np.random.default_rng(5)
    candidates = [p for p in art if wm.can_mark(p.shape)][: args.marked // 2]
    candidates += [
        photo(7000 + i, int(rng.integers(256, 900)), int(rng.integers(256, 900))) for i in range(args.marked // 2)
    ]
    psnrs, read = [], {"png": 0, "jpeg85": 0, "half": 0}
    for index, pixels in enumerate(candidates):
        code = f"{index:08x}"
        marked = wm.apply_watermark(pixels, code)
        psnrs.append(wm.psnr(pixels, marked))
        read["png"] += wm.detect_watermark(png_round_trip(marked)) == code
        read["jpeg85"] += wm.detect_watermark(through_jpeg(marked)) == code
        read["half"] += wm.detect_watermark(halved(marked)) == code
    report = {
        "unmarked_pictures": len(readable),
        "of_them_clipart": sum(min(p.shape[:2]) >= wm.MIN_DETECT_SIDE for p in art),
        "false_positives": false_positives,
        "confidence_max": round(float(confidences.max()), 3),
        "confidence_p999": round(float(np.quantile(confidences, 0.999)), 3),
        "threshold": wm.THRESHOLD,
        "marked_pictures": len(candidates),
        "psnr_db_min": round(min(psnrs), 2),
        "psnr_db_median": round(float(np.median(psnrs)), 2),
        "read_rate": {k: round(v / len(candidates), 4) for k, v in read.items()},
        "seconds": round(time.perf_counter() - started, 1),
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for key, value in report.items():
            print(f"{key:<22} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
