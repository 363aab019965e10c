#!/usr/bin/env bash
# Render Atelier's icon set from the SVG sources: hicolor PNGs (Linux), atelier.ico (Windows) and
# atelier.icns (macOS). Needs rsvg-convert (Debian: apt-get install librsvg2-bin) and Pillow (.venv).
# 16-32 px come from atelier-small.svg, drawn without the brush so they stay legible; 48-512 from atelier.svg.
set -euo pipefail
cd "$(dirname "$0")"
command -v rsvg-convert >/dev/null || { echo "render_icons: rsvg-convert is missing; install it: apt-get install librsvg2-bin" >&2; exit 1; }
python_bin="${PYTHON:-../../.venv/bin/python}"
for size in 16 22 24 32 48 64 128 256 512; do
  source=atelier.svg
  [ "$size" -le 32 ] && source=atelier-small.svg
  mkdir -p "hicolor/${size}x${size}/apps"
  rsvg-convert --width "$size" --height "$size" "$source" --output "hicolor/${size}x${size}/apps/atelier.png"
done
mkdir -p hicolor/scalable/apps
cp atelier.svg hicolor/scalable/apps/atelier.svg
# Windows and macOS containers hold several sizes; Pillow picks each size from the rendered PNG nearest to it,
# so the small sizes keep the small drawing.
"$python_bin" - <<'PY'
from pathlib import Path

from PIL import Image

sizes = [16, 22, 24, 32, 48, 64, 128, 256, 512]
images = {s: Image.open(f"hicolor/{s}x{s}/apps/atelier.png").convert("RGBA") for s in sizes}
ico = [16, 24, 32, 48, 64, 128, 256]
images[256].save("atelier.ico", sizes=[(s, s) for s in ico], append_images=[images[s] for s in ico if s != 256])
images[512].save("atelier.icns", append_images=[images[s] for s in (16, 32, 64, 128, 256)])
print("render_icons:", ", ".join(str(p) for p in sorted(Path(".").glob("atelier.ic*"))))
PY
