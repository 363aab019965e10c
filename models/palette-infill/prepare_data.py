"""Build the palette-infill data set: palettes people designed, from openly licensed offline sources.

Run: python models/palette-infill/prepare_data.py [--data /tmp/palette-data]
Sources (see MODEL_CARD.md for licences):
- the flat colours of each clip-art picture and emoji the colorizer trains on (Debian `openclipart-png`,
  `fonts-noto-color-emoji`; pictures rendered by models/colorizer/prepare_data.py's own readers);
- the `.gpl` palettes of Debian's `gimp-data`, `inkscape` and `krita-data` (rows of a file with a
  `Columns:` header, else runs of 6 consecutive swatches; at most 30 runs a file, so a 256-step gradient
  does not outweigh the hand-made palettes);
- the ColorBrewer (Apache-2.0-style) and CARTOColors (CC BY 3.0) palettes that the PyPI package `palettable`
  ships. Its other sets are left out: the Wes Anderson palettes come from a blog that states no licence (only
  openly licensed data trains models here), and the scientific colour maps are ramps, not palettes.
Every palette has 3 to 8 colours, is stored dark to light (OKLab lightness: the model reads a palette
as a set, so one order is as good as another and this one makes duplicates meet), near-duplicates are
dropped, and it is split by source group (a folder, an emoji block, a file), 10% held out.
Writes --data/palettes.npz: `lab` (N,8,3 float32 OKLab, zero-padded), `size` (N), `split` (0 train,
1 test), `source` (N, the source kind) and `group`.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import re
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "desktop"))

from atelier.core.color.spaces import delta_e_2000, rgb_to_cielab, rgb_to_oklab  # noqa: E402

MAX_SWATCHES = 8
MIN_SWATCHES = 3
PALETTE_PACKAGES = ("gimp-data", "inkscape", "krita-data")
PALETTE_FOLDERS = ("usr/share/gimp/2.0/palettes", "usr/share/inkscape/palettes", "usr/share/krita/palettes")
PALETTABLE = "palettable==3.3.3"
# Collections of palettable used: hand-designed palettes with a stated open licence (ColorBrewer: Apache-2.0-style,
# with its acknowledgement line; CARTOColors: CC BY 3.0). `wesanderson` is left out: palettable lists it under its
# own MIT licence, but the colours come from a blog (wesandersonpalettes.tumblr.com) that states no licence.
# Tableau's sets are a vendor's without a stated licence; the scientific colour maps (cmocean, scientific,
# cubehelix, matplotlib, lightbartlein, mycarta) are evenly sampled ramps, not palettes.
PALETTABLE_MODULES = ("colorbrewer", "cartocolors")
# A flat colour of a picture covers at least this share of its drawn pixels; anti-aliased edges do not.
MIN_AREA = 0.02
DISTINCT_DE = 10.0  # swatches of one palette closer than this (CIEDE2000) are one colour
PAPER = 248  # pixels lighter than this in every channel are the paper the picture was flattened on


def colorizer_readers():
    """The colorizer's own picture readers (same folders dropped, same emoji list)."""
    spec = importlib.util.spec_from_file_location("colorizer_prepare", HERE.parent / "colorizer" / "prepare_data.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fetch(data: Path) -> Path:
    root = data / "root"
    wanted = ("openclipart-png", "fonts-noto-color-emoji", *PALETTE_PACKAGES)
    if not all((root / folder).is_dir() for folder in PALETTE_FOLDERS) or not (root / "usr/share/openclipart").is_dir():
        data.mkdir(parents=True, exist_ok=True)
        subprocess.run(["apt-get", "download", *wanted], cwd=data, check=True)
        for deb in sorted(data.glob("*.deb")):
            subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True)
    return root


def distinct(rgb: np.ndarray, limit: int = MAX_SWATCHES) -> np.ndarray:
    """The first colours (in the given order) that are not within DISTINCT_DE of an earlier one."""
    lab = rgb_to_cielab(rgb)
    kept: list[int] = []
    for index in range(len(rgb)):
        if all(delta_e_2000(lab[index], lab[k]) >= DISTINCT_DE for k in kept):
            kept.append(index)
        if len(kept) == limit:
            break
    return rgb[kept]


def flat_colours(picture: np.ndarray) -> np.ndarray:
    """A picture's flat colours, most used first: 5-bit colour bins covering >= MIN_AREA of the drawing."""
    pixels = picture.reshape(-1, 3)
    pixels = pixels[(pixels < PAPER).any(axis=1)]
    if len(pixels) < 200:
        return np.zeros((0, 3), np.uint8)
    bins = pixels.astype(np.int32) >> 3
    codes = (bins[:, 0] << 10) | (bins[:, 1] << 5) | bins[:, 2]
    counts = np.bincount(codes, minlength=1 << 15)
    order = np.argsort(-counts)
    order = order[counts[order] >= MIN_AREA * len(pixels)]
    means = np.array([pixels[codes == code].mean(0) for code in order]).reshape(-1, 3)
    return distinct(np.rint(means).astype(np.uint8))


def picture_palettes(root: Path) -> Iterable[tuple[np.ndarray, str, str]]:
    readers = colorizer_readers()
    for items, kind in ((readers.clipart(root), "clipart"), (readers.emoji(root), "emoji")):
        print(f"{kind}: {len(items)} pictures", flush=True)
        for picture, _name, group in items:
            yield flat_colours(picture), kind, group


GPL_LINE = re.compile(r"^\s*(\d{1,3})\s+(\d{1,3})\s+(\d{1,3})")


def gpl_palettes(root: Path) -> Iterable[tuple[np.ndarray, str, str]]:
    for folder in PALETTE_FOLDERS:
        for path in sorted((root / folder).glob("*.gpl")):
            text = path.read_text(encoding="utf-8", errors="replace")
            columns = re.search(r"^Columns:\s*(\d+)", text, re.MULTILINE)
            values = [[int(v) for v in m.groups()] for m in map(GPL_LINE.match, text.splitlines()) if m]
            rgb = np.clip(np.array(values, np.int32), 0, 255).astype(np.uint8).reshape(-1, 3)
            width = int(columns.group(1)) if columns else 0
            step = width if MIN_SWATCHES <= width <= MAX_SWATCHES + 4 else 6
            runs = [rgb[start : start + step] for start in range(0, len(rgb), step)]
            if len(runs) > 30:
                runs = [runs[i * len(runs) // 30] for i in range(30)]
            for run in runs:
                yield distinct(run), "gpl", f"gpl/{path.parent.parent.name}/{path.stem}"


def palettable_palettes(data: Path) -> Iterable[tuple[np.ndarray, str, str]]:
    wheels = sorted((data / "pypi").glob("palettable-*.whl"))
    if not wheels:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", PALETTABLE, "--no-deps", "-d", str(data / "pypi")], check=True
        )
        wheels = sorted((data / "pypi").glob("palettable-*.whl"))
    sys.path.insert(0, str(wheels[-1]))  # a wheel is a zip Python imports from; nothing is installed
    import importlib
    import pkgutil

    from palettable.palette import Palette

    for name in PALETTABLE_MODULES:
        package = importlib.import_module(f"palettable.{name}")
        modules = [package] + [
            importlib.import_module(m.name) for m in pkgutil.walk_packages(package.__path__, f"palettable.{name}.")
        ]
        seen: set[str] = set()
        for module in modules:
            for attr, value in vars(module).items():
                if isinstance(value, Palette) and not attr.endswith("_r") and value.name not in seen:
                    seen.add(value.name)
                    family = value.name.rsplit("_", 1)[0]
                    yield distinct(np.array(value.colors, np.uint8)), "palettable", f"{name}/{family}"


def is_test(group: str) -> bool:
    return int(hashlib.sha1(group.encode()).hexdigest(), 16) % 10 == 0


def key(lab: np.ndarray) -> tuple[int, ...]:
    """Palettes whose colours round to the same OKLab grid cells (about dE 2-3) are duplicates."""
    return tuple(np.rint(lab * np.array([40.0, 60.0, 60.0])).astype(int).ravel().tolist())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("/tmp/palette-data"))
    args = parser.parse_args()
    root = fetch(args.data)
    labs, sizes, splits, sources, groups = [], [], [], [], []
    seen: set[tuple[int, ...]] = set()
    counts: dict[str, list[int]] = {}
    for source in (gpl_palettes(root), palettable_palettes(args.data), picture_palettes(root)):
        for rgb, kind, group in source:
            tally = counts.setdefault(kind, [0, 0])
            tally[0] += 1
            if not MIN_SWATCHES <= len(rgb) <= MAX_SWATCHES:
                continue
            lab = rgb_to_oklab(rgb)
            lab = lab[np.argsort(lab[:, 0], kind="stable")]
            if key(lab) in seen:
                continue
            seen.add(key(lab))
            tally[1] += 1
            padded = np.zeros((MAX_SWATCHES, 3), np.float32)
            padded[: len(lab)] = lab
            labs.append(padded)
            sizes.append(len(lab))
            splits.append(1 if is_test(group) else 0)
            sources.append(kind)
            groups.append(group)
    for kind, (found, kept) in counts.items():
        print(f"{kind}: {found} candidate palettes, {kept} kept (3-8 distinct colours, not a duplicate)")
    out = args.data / "palettes.npz"
    np.savez_compressed(
        out,
        lab=np.stack(labs),
        size=np.array(sizes, np.int8),
        split=np.array(splits, np.uint8),
        source=np.array(sources),
        group=np.array(groups),
    )
    print(f"wrote {out}: {len(labs)} palettes, {sum(splits)} held out")
    return 0


if __name__ == "__main__":
    sys.exit(main())
