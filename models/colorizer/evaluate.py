"""Held-out metrics for the colorizer pack against a non-learned region-fill baseline.

Run: python models/colorizer/evaluate.py [--pack models/colorizer] [--limit 300] [--oracle]
For each held-out picture (split by source folder in prepare_data.py) it makes seeded hand-drawn-looking
line art and a 3..8 colour palette, then colours it with the pack through the engine's own pre- and
post-processing, and with the baseline, without hints and with 8 hint dots. Prints mean CIEDE2000 to
the original on fill pixels (neither line nor white in the original), on all pixels, and palette
adherence (to the nearest palette colour, paper white or ink black; over all pixels, where the
drawn lines' anti-aliased edges darken the fill under them, and away from the lines), and the goals.
--oracle adds the best any flat region fill can reach (each region given its lowest-dE class).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "desktop"))
from synth import make_sample  # noqa: E402

from atelier.engine.colorizing import (  # noqa: E402
    WHITE,
    compose,
    fill_line_pixels,
    finish,
    flood_hints,
    label_regions,
    prepare,
    srgb_to_lab,
)

METRICS = ("fill_dE", "all_dE", "adherence_dE", "adherence_off_lines_dE")


def ciede2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference (Sharma et al. 2005), vectorised over the leading axes."""
    l1, a1, b1 = np.moveaxis(lab1.astype(np.float64), -1, 0)
    l2, a2, b2 = np.moveaxis(lab2.astype(np.float64), -1, 0)
    c_bar = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(c_bar**7 / (c_bar**7 + 25.0**7)))
    a1p, a2p = a1 * (1 + g), a2 * (1 + g)
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360
    dl, dc = l2 - l1, c2p - c1p
    dh = h2p - h1p
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(c1p * c2p == 0, 0, dh)
    dhh = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh) / 2)
    l_bar, cp_bar = (l1 + l2) / 2, (c1p + c2p) / 2
    h_sum = h1p + h2p
    h_bar = np.where(
        c1p * c2p == 0,
        h_sum,
        np.where(np.abs(h1p - h2p) <= 180, h_sum / 2, np.where(h_sum < 360, (h_sum + 360) / 2, (h_sum - 360) / 2)),
    )
    t = (
        1
        - 0.17 * np.cos(np.radians(h_bar - 30))
        + 0.24 * np.cos(np.radians(2 * h_bar))
        + 0.32 * np.cos(np.radians(3 * h_bar + 6))
        - 0.20 * np.cos(np.radians(4 * h_bar - 63))
    )
    s_l = 1 + 0.015 * (l_bar - 50) ** 2 / np.sqrt(20 + (l_bar - 50) ** 2)
    s_c = 1 + 0.045 * cp_bar
    s_h = 1 + 0.015 * cp_bar * t
    r_t = (
        -2 * np.sqrt(cp_bar**7 / (cp_bar**7 + 25.0**7)) * np.sin(np.radians(60 * np.exp(-(((h_bar - 275) / 25) ** 2))))
    )
    return np.sqrt((dl / s_l) ** 2 + (dc / s_c) ** 2 + (dhh / s_h) ** 2 + r_t * (dc / s_c) * (dhh / s_h))


def baseline(ink: np.ndarray, palette: np.ndarray, colours: np.ndarray, dots: np.ndarray) -> np.ndarray:
    """Closed regions filled by size rank with the palette (most frequent colour to the biggest region).

    Regions touching the border stay paper white (the background of a drawing), and a region holding
    hint dots takes their colour, like the model's pipeline.
    """
    labels, count = label_regions(ink)
    regions = fill_line_pixels(labels)
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    classes = np.full(count + 1, WHITE)
    inner = [r for r in np.argsort(-sizes) if r != 0 and r not in set(border)]
    for rank, region in enumerate(inner):
        classes[region] = rank % len(palette)
    flooded = flood_hints(dots, labels, count)
    inside = (labels > 0) & (flooded >= 0)
    classes[labels[inside]] = flooded[inside]
    return compose(classes[regions], colours, ink)


def metrics(output: np.ndarray, sample, fill: np.ndarray) -> tuple[float, float, float, float]:
    lab_out = srgb_to_lab(output)
    lab_ref = srgb_to_lab(sample.picture)
    de = ciede2000(lab_out, lab_ref)
    # Adherence per distinct output colour, weighted by its pixel count (outputs hold few colours).
    unique, counts = np.unique(output.reshape(-1, 3), axis=0, return_counts=True)
    allowed = srgb_to_lab(sample.colours[sample.valid])
    nearest = ciede2000(srgb_to_lab(unique)[:, None, :], allowed[None]).min(-1)
    # The same away from the drawn lines: there every output pixel should be exactly a palette colour.
    away = sample.ink == 0
    unique_f, counts_f = np.unique(output[away].reshape(-1, 3), axis=0, return_counts=True)
    nearest_f = ciede2000(srgb_to_lab(unique_f)[:, None, :], allowed[None]).min(-1)
    return (
        float(de[fill].mean()),
        float(de.mean()),
        float((nearest * counts).sum() / counts.sum()),
        float((nearest_f * counts_f).sum() / counts_f.sum()),
    )


def oracle(prepared, sample, fill: np.ndarray) -> np.ndarray:
    """The best any flat region fill can do: each closed region takes the class (palette, paper, ink)
    with the lowest total dE on its fill pixels; hinted regions keep their hint."""
    reference = srgb_to_lab(sample.picture)
    costs = np.full((prepared.count + 1, len(prepared.colours)), np.inf)
    for c in np.flatnonzero(prepared.valid):
        flat = srgb_to_lab(np.broadcast_to(prepared.colours[c], sample.picture.shape))
        de = ciede2000(flat, reference) * fill
        costs[:, c] = np.bincount(prepared.regions.ravel(), de.ravel(), minlength=prepared.count + 1)
    classes = costs.argmin(1)
    hinted = prepared.region_hint >= 0
    classes[hinted] = prepared.region_hint[hinted]
    return compose(classes[prepared.regions], prepared.colours, prepared.ink)


def hint_image(sample, dots: np.ndarray) -> np.ndarray:
    rgba = np.zeros((*dots.shape, 4), np.uint8)
    rgba[dots >= 0, :3] = sample.colours[dots[dots >= 0]]
    rgba[dots >= 0, 3] = 255
    return rgba


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pack", type=Path, default=HERE)
    parser.add_argument("--data", type=Path, default=Path("/tmp/colorizer-data/pictures.npz"))
    parser.add_argument("--limit", type=int, default=300)
    parser.add_argument("--dots", type=int, default=8)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--oracle", action="store_true", help="also the best possible flat region fill")
    args = parser.parse_args()
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    manifest = json.loads((args.pack / "pack.json").read_text())
    session = ort.InferenceSession(
        str(args.pack / manifest["components"]["model"]), options, providers=["CPUExecutionProvider"]
    )
    multiple = int(manifest.get("size_multiple", 16))
    data = np.load(args.data)
    held_out = data["images"][data["split"] == 1]
    # A fixed random subset, so clip art and emoji are both represented whatever the limit.
    pictures = held_out[np.random.default_rng(0).permutation(len(held_out))[: args.limit]]
    names = ("model", "model+dots", "base", "base+dots") + (("oracle", "oracle+dots") if args.oracle else ())
    rows: dict[str, list[tuple[float, float, float, float]]] = {k: [] for k in names}
    started = time.monotonic()
    for index, picture in enumerate(pictures):
        sample = make_sample(picture, np.random.default_rng(10_000 + index), augment=False, n_dots=args.dots)
        lines = (255 * (1 - sample.ink) + 0.5).astype(np.uint8)
        fill = (sample.picture < 245).any(-1) & (sample.ink < 0.5)
        if not fill.any():
            continue
        no_dots = np.full_like(sample.dots, -1)
        for name, dots in (("", no_dots), ("+dots", sample.dots)):
            prepared = prepare(lines, sample.palette, hint_image(sample, dots), None, 192, multiple)
            (logits,) = session.run(None, prepared.feeds)
            rows["model" + name].append(metrics(finish(prepared, logits)[0], sample, fill))
            filled = baseline(sample.ink, sample.palette, sample.colours, dots)
            rows["base" + name].append(metrics(filled, sample, fill))
            if args.oracle:
                rows["oracle" + name].append(metrics(oracle(prepared, sample, fill), sample, fill))
    table = {name: dict(zip(METRICS, np.mean(v, 0).round(2).tolist(), strict=True)) for name, v in rows.items()}
    gain_model = table["model"]["fill_dE"] - table["model+dots"]["fill_dE"]
    gain_base = table["base"]["fill_dE"] - table["base+dots"]["fill_dE"]
    goals = {
        "fill_dE_reduction_vs_baseline": round(1 - table["model"]["fill_dE"] / table["base"]["fill_dE"], 3),
        "adherence_equal_or_better": table["model"]["adherence_dE"] <= table["base"]["adherence_dE"],
        "hint_gain_model": round(gain_model, 2),
        "hint_gain_baseline": round(gain_base, 2),
        "hints_steer_at_least_as_much": gain_model >= gain_base,
    }
    if args.oracle:
        # A gain as large as the baseline's needs a no-hint fill dE of at least (oracle with hints) + that gain.
        goals["no_hint_fill_dE_needed_for_that_gain"] = round(table["oracle+dots"]["fill_dE"] + gain_base, 2)
    goals["fill_goal_met"] = goals["fill_dE_reduction_vs_baseline"] >= 0.20 and goals["adherence_equal_or_better"]
    report = {
        "pictures": len(rows["model"]),
        "dots": args.dots,
        "seconds": round(time.monotonic() - started, 1),
        "metrics": table,
        "goals": goals,
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"{report['pictures']} held-out pictures, {args.dots} hint dots where used ({report['seconds']} s)")
        print(f"{'':12} {'fill dE':>8} {'all dE':>8} {'adherence':>10} {'adherence off lines':>20}")
        for name, m in table.items():
            print(
                f"{name:12} {m['fill_dE']:8.2f} {m['all_dE']:8.2f} {m['adherence_dE']:10.2f} "
                f"{m['adherence_off_lines_dE']:20.2f}"
            )
        for key, value in goals.items():
            print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
