"""Regenerate speed: one press with the palette model against one press with a harmony rule (the peer).

Both go through Engine.run_to_end as the panel's worker runs them (request -> task -> result, colour names
included), warm: the model's session is loaded before timing. The peer is the rule-based fill that
Coolors-style regenerate uses and that was Atelier's default before the model (coloraide's harmony in
OKLCH, core/color/harmony.py). Goal: a press well under 20 ms on the CPU. CPU ms (this process's CPU
time per press) is printed beside the wall time: on a machine shared with other jobs it is the steadier
figure. Quality in the same run: how far each press's new colours are from the last press's (min
CIEDE2000; the goal is >= 5).
Run: .venv/bin/python bench/palette_regenerate.py [--presses 40] [--count 6]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "desktop"))

from atelier.core.color.spaces import delta_e_2000, hex_to_rgb, rgb_to_cielab  # noqa: E402
from atelier.core.requests import Request  # noqa: E402
from atelier.core.requests.palette import HarmonyRequest, PaletteInfillRequest, PaletteResult  # noqa: E402
from atelier.engine.runner import Engine  # noqa: E402

LOCKS = ((0, "#1b2a41"), (2, "#c9a227"))


def press_loop(engine: Engine, make: object, presses: int, count: int) -> tuple[list[float], list[float], list[float]]:
    """(wall ms per press, CPU ms per press, min dE of each press's unlocked colours to the previous press's)."""
    times, cpu, distances = [], [], []
    shown: tuple[str, ...] = ()
    free = [i for i in range(count) if i not in dict(LOCKS)]
    for seed in range(presses + 3):
        request = make(seed, tuple(shown[i] for i in free) if shown else ())  # type: ignore[operator]
        started, cpu_started = time.perf_counter(), time.process_time()
        result = engine.run_to_end(request)
        elapsed = (time.perf_counter() - started) * 1000
        cpu_ms = (time.process_time() - cpu_started) * 1000
        assert isinstance(result, PaletteResult)
        if seed >= 3:  # warm-up presses load the session and fill caches
            times.append(elapsed)
            cpu.append(cpu_ms)
            new, old = [result.colors[i] for i in free], [shown[i] for i in free]
            lab_new, lab_old = rgb_to_cielab(hex_to_rgb(new)), rgb_to_cielab(hex_to_rgb(old))
            distances.append(float(delta_e_2000(lab_new[:, None], lab_old[None, :]).min()))
        shown = result.colors
    return times, cpu, distances


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=40)
    parser.add_argument("--count", type=int, default=6)
    args = parser.parse_args()
    engine = Engine()

    def model(seed: int, avoid: tuple[str, ...]) -> Request:
        return PaletteInfillRequest(count=args.count, seed=seed, locked=LOCKS, avoid=avoid)

    def safest(seed: int, avoid: tuple[str, ...]) -> Request:
        return PaletteInfillRequest(count=args.count, seed=seed, locked=LOCKS, avoid=avoid, temperature=0.0)

    def rule(seed: int, avoid: tuple[str, ...]) -> Request:
        return HarmonyRequest(base=LOCKS[0][1], mode="triad", count=args.count, seed=seed, locked=LOCKS)

    rows = {}
    methods = (("palette model (Atelier)", model), ("model, temperature 0", safest), ("harmony rule (peer)", rule))
    for name, make in methods:
        times, cpu, distances = press_loop(engine, make, args.presses, args.count)
        rows[name] = (
            statistics.median(times),
            max(times),
            statistics.median(cpu),
            statistics.median(distances),
            min(distances),
        )
    print(
        f"{args.presses} presses, {args.count} colours, 2 locked; warm session; load average {os.getloadavg()[0]:.1f}"
    )
    print(f"{'':26s} {'p50 ms':>8s} {'max ms':>8s} {'CPU ms':>8s} {'p50 min dE':>11s} {'worst dE':>9s}")
    for name, (p50, worst, cpu_p50, de50, de_min) in rows.items():
        print(f"{name:26s} {p50:8.2f} {worst:8.2f} {cpu_p50:8.2f} {de50:11.2f} {de_min:9.2f}")
    model_p50, peer_p50 = rows["palette model (Atelier)"][0], rows["harmony rule (peer)"][0]
    print(f"ratio model / peer (p50): {model_p50 / peer_p50:.2f}x; goal: well under 20 ms a press")
    return 0


if __name__ == "__main__":
    sys.exit(main())
