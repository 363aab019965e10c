"""Write a lossless-WebP copy of pictures.npz (about 51 MB instead of 75 MB) to carry to a training machine.

Run: python models/colorizer/compact_data.py [--data /tmp/colorizer-data/pictures.npz] --out pictures_webp.npz
The copy holds every picture as lossless WebP bytes in one blob with offsets (no pickled objects);
train.py's --data reads either file.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("/tmp/colorizer-data/pictures.npz"))
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    data = np.load(args.data)
    blobs = []
    for picture in data["images"]:
        buffer = io.BytesIO()
        Image.fromarray(picture).save(buffer, "WEBP", lossless=True, quality=100, method=4)
        blobs.append(buffer.getvalue())
    offsets = np.cumsum([0] + [len(b) for b in blobs]).astype(np.int64)
    np.savez(args.out, blob=np.frombuffer(b"".join(blobs), np.uint8), offsets=offsets, split=data["split"])
    print(f"wrote {args.out}: {len(blobs)} pictures, {offsets[-1] / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
