"""Evaluate the palette model on held-out palettes with 1 to 3 swatches masked, against two baselines.

Run: PYTHONPATH=desktop python models/palette-infill/evaluate.py [--data /tmp/palette-data] [--limit 0]
For every held-out palette (never seen in training: split by source group), 1 to 3 swatches (seeded,
never all) are masked and the rest locked at their slots. Each method fills the masked slots:
- model T=0: the shipped pack through the app's own sampler (engine/palette_infill.py) at temperature 0;
- model T=0.8: the same at the app's default temperature (one sample);
- harmony, best rule: the app's harmony fill (core/color/harmony.py, as engine/tasks/palette.py fills
  around locks) from the first locked colour, the one rule that scores best on this test set (generous);
- harmony, fitted rule: per palette, the rule whose colours lie closest to the other locked colours;
- nearest neighbour: the training palette of the same size whose colours best match the locked ones
  (optimal assignment, CIEDE2000); its remaining colours are the prediction.
Score: mean CIEDE2000 from each predicted swatch to the true one, predicted and true masked swatches
paired by optimal assignment (slot order carries no meaning). Distribution checks on the filled palettes:
spread (mean pairwise CIEDE2000) and lightness range (OKLab L max - min), beside the held-out palettes'.
Writes eval_results.json next to this file.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from scipy.optimize import linear_sum_assignment

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "desktop"))

from atelier.core.color.harmony import HARMONY_MODES, harmony  # noqa: E402
from atelier.core.color.spaces import delta_e_2000, hex_to_rgb, oklab_to_rgb, rgb_to_cielab, rgb_to_hex  # noqa: E402
from atelier.engine.palette_infill import Codebook, infill  # noqa: E402

RESULTS = HERE / "eval_results.json"
GOAL = 0.15  # the model's mean dE must be at least 15% below each baseline's


def cielab_of(hexes: list[str]) -> np.ndarray:
    return rgb_to_cielab(hex_to_rgb(hexes))


def matched_de(predicted: list[str], truth: list[str]) -> float:
    """Mean CIEDE2000 over the optimal pairing of predicted and true swatches."""
    cost = delta_e_2000(cielab_of(predicted)[:, None], cielab_of(truth)[None, :])
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].mean())


def spread(hexes: list[str]) -> float:
    lab = cielab_of(hexes)
    de = delta_e_2000(lab[:, None], lab[None, :])
    return float(de[np.triu_indices(len(hexes), 1)].mean())


def lightness_range(hexes: list[str]) -> float:
    from atelier.core.color.spaces import rgb_to_oklab

    lightness = rgb_to_oklab(hex_to_rgb(hexes))[:, 0]
    return float(lightness.max() - lightness.min())


class ModelMethod:
    def __init__(self, pack: Path, temperature: float) -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        self.session = ort.InferenceSession(str(pack), options, providers=["CPUExecutionProvider"])
        one = {"colors": np.zeros((1, 1, 3), np.float32), "known": np.zeros((1, 1), np.float32)}
        codes, pairwise = self.session.run(["codebook", "codebook_de"], {**one, "present": np.ones((1, 1), np.float32)})
        self.codebook = Codebook.from_outputs(codes, pairwise)
        self.temperature = temperature

    def _run(self, colors: np.ndarray, known: np.ndarray, present: np.ndarray) -> np.ndarray:
        return self.session.run(["logits"], {"colors": colors, "known": known, "present": present})[0]

    def fill(self, count: int, locked: tuple[tuple[int, str], ...], seed: int) -> dict[int, str]:
        colors = infill(self._run, self.codebook, count, locked, (), self.temperature, seed)
        slots = dict(locked)
        return {i: c for i, c in enumerate(colors) if i not in slots}


def harmony_fill(mode: str, count: int, locked: tuple[tuple[int, str], ...]) -> dict[int, str]:
    """engine/tasks/palette.py's run_harmony with locks: the rule from the first locked colour."""
    base = locked[0][1]
    generated = harmony(base, mode, count, 0)
    locked_colors = {c for _, c in locked}
    fill = iter([c for c in generated if c not in locked_colors] + generated)
    slots = dict(locked)
    return {i: next(fill) for i in range(count) if i not in slots}


def fitted_rule(count: int, locked: tuple[tuple[int, str], ...]) -> str:
    """The rule whose generated colours lie closest to the locked colours after the first (uses no masked one)."""
    others = [c for _, c in locked[1:]]
    if not others:
        return "analogous"
    best, best_cost = "analogous", np.inf
    for mode in HARMONY_MODES:
        generated = harmony(locked[0][1], mode, max(count, 6), 0)[1:]
        cost = float(delta_e_2000(cielab_of(others)[:, None], cielab_of(generated)[None, :]).min(1).mean())
        if cost < best_cost:
            best, best_cost = mode, cost
    return best


class NearestNeighbour:
    def __init__(self, lab: np.ndarray, size: np.ndarray) -> None:
        self.by_size: dict[int, tuple[np.ndarray, list[list[str]]]] = {}
        for n in np.unique(size):
            rows = lab[size == n][:, :n]
            hexes = [rgb_to_hex(oklab_to_rgb(row)) for row in rows]
            self.by_size[int(n)] = (rgb_to_cielab(hex_to_rgb([h for p in hexes for h in p])).reshape(-1, n, 3), hexes)

    def fill(self, count: int, locked: tuple[tuple[int, str], ...]) -> dict[int, str]:
        cielab, hexes = self.by_size[count]
        query = cielab_of([c for _, c in locked])  # k x 3
        de = delta_e_2000(query[None, :, None], cielab[:, None, :])  # P x k x n
        bound = de.min(2).sum(1)
        best, best_cost, best_free = 0, np.inf, []
        for candidate in np.argsort(bound)[:20]:  # the exact assignment only where the bound says it may win
            rows, cols = linear_sum_assignment(de[candidate])
            cost = float(de[candidate][rows, cols].sum())
            if cost < best_cost:
                best, best_cost = int(candidate), cost
                best_free = [j for j in range(count) if j not in set(cols.tolist())]
        slots = dict(locked)
        fill = iter(hexes[best][j] for j in best_free)
        return {i: next(fill) for i in range(count) if i not in slots}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("/tmp/palette-data"))
    parser.add_argument("--pack", type=Path, default=HERE / "palette_infill.onnx")
    parser.add_argument("--limit", type=int, default=0, help="evaluate only the first N held-out palettes")
    args = parser.parse_args()
    with np.load(args.data / "palettes.npz", allow_pickle=False) as data:
        lab, size, split, source = data["lab"], data["size"].astype(int), data["split"], data["source"]
    train, test = split == 0, split == 1
    neighbours = NearestNeighbour(lab[train], size[train])
    models = {"model T=0": ModelMethod(args.pack, 0.0), "model T=0.8": ModelMethod(args.pack, 0.8)}
    rng = np.random.default_rng(20)
    rows = np.flatnonzero(test)[: args.limit or None]
    scores: dict[str, list[float]] = {}
    spreads: dict[str, list[float]] = {}
    ranges: dict[str, list[float]] = {}
    by_masked: dict[str, dict[int, list[float]]] = {}
    seconds: dict[str, float] = {}

    def record(name: str, fill: dict[int, str], palette: list[str], masked: list[int]) -> None:
        filled = [fill.get(i, palette[i]) for i in range(len(palette))]
        de = matched_de([fill[i] for i in masked], [palette[i] for i in masked])
        scores.setdefault(name, []).append(de)
        by_masked.setdefault(name, {}).setdefault(len(masked), []).append(de)
        spreads.setdefault(name, []).append(spread(filled))
        ranges.setdefault(name, []).append(lightness_range(filled))

    for index, row in enumerate(rows):
        n = int(size[row])
        palette = rgb_to_hex(oklab_to_rgb(lab[row, :n]))
        masked = sorted(rng.permutation(n)[: int(rng.integers(1, min(3, n - 1) + 1))].tolist())
        locked = tuple((i, palette[i]) for i in range(n) if i not in masked)
        spreads.setdefault("held-out palettes", []).append(spread(palette))
        ranges.setdefault("held-out palettes", []).append(lightness_range(palette))
        for name, method in models.items():
            started = time.perf_counter()
            record(name, method.fill(n, locked, seed=index), palette, masked)
            seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - started
        for mode in HARMONY_MODES:
            record(f"harmony {mode}", harmony_fill(mode, n, locked), palette, masked)
        record("harmony fitted rule", harmony_fill(fitted_rule(n, locked), n, locked), palette, masked)
        started = time.perf_counter()
        record("nearest neighbour", neighbours.fill(n, locked), palette, masked)
        seconds["nearest neighbour"] = seconds.get("nearest neighbour", 0.0) + time.perf_counter() - started
    rules = [f"harmony {mode}" for mode in HARMONY_MODES]
    best_rule = min(rules, key=lambda k: np.mean(scores[k]))
    summary: dict[str, dict[str, Any]] = {
        name: {
            "mean_de": round(float(np.mean(values)), 3),
            "by_masked": {str(k): round(float(np.mean(v)), 3) for k, v in sorted(by_masked[name].items())},
            "spread": round(float(np.mean(spreads[name])), 2),
            "lightness_range": round(float(np.mean(ranges[name])), 3),
            **({"ms_per_palette": round(1000 * seconds[name] / len(rows), 2)} if name in seconds else {}),
        }
        for name, values in scores.items()
    }
    truth = {"spread": round(float(np.mean(spreads["held-out palettes"])), 2)}
    truth["lightness_range"] = round(float(np.mean(ranges["held-out palettes"])), 3)
    model_de = summary["model T=0"]["mean_de"]
    baselines = {"harmony (best rule: " + best_rule[8:] + ")": summary[best_rule]["mean_de"]}
    baselines["harmony fitted rule"] = summary["harmony fitted rule"]["mean_de"]
    baselines["nearest neighbour"] = summary["nearest neighbour"]["mean_de"]
    gains = {name: round(1 - model_de / value, 3) for name, value in baselines.items()}
    report = {
        "held_out_palettes": len(rows),
        "sources": {str(k): int(v) for k, v in zip(*np.unique(source[rows], return_counts=True), strict=True)},
        "methods": summary,
        "held_out": truth,
        "model_vs_baselines": gains,
        "goal_met": all(g >= GOAL for g in gains.values()),
    }
    print(f"{len(rows)} held-out palettes, 1-3 swatches masked; mean CIEDE2000 to the true colour")
    print(f"{'method':32s} {'dE':>7s} {'m=1':>6s} {'m=2':>6s} {'m=3':>6s} {'spread':>7s} {'L range':>8s}")
    for name, item in summary.items():
        parts = [item["by_masked"].get(str(m), float("nan")) for m in (1, 2, 3)]
        print(
            f"{name:32s} {item['mean_de']:7.2f} {parts[0]:6.2f} {parts[1]:6.2f} {parts[2]:6.2f} "
            f"{item['spread']:7.2f} {item['lightness_range']:8.3f}"
        )
    blank = " " * 30
    print(f"{'held-out palettes':32s} {blank} {truth['spread']:7.2f} {truth['lightness_range']:8.3f}")
    for name, gain in gains.items():
        print(f"model T=0 vs {name}: {100 * gain:.1f}% lower dE (goal {100 * GOAL:.0f}%)")
    print("goal met" if report["goal_met"] else "goal NOT met")
    RESULTS.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
