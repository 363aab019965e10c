"""Start-up and size of the built bundle: time from launch to a shown window, against named peers in the
same run, and the bundle's packed and unpacked size with its biggest parts.

    .venv/bin/python bench/startup.py [--bundle dist/atelier] [--runs 5] [--cores 2] [--json out.json]

Each start runs under a fresh Xvfb display with fresh config, data and cache folders (a first start on a
new machine), pinned to `--cores` CPUs; "shown" is when xdotool sees the window mapped. Peers: the
PySide6 floor (a bare QMainWindow from the same Python: what any Qt app pays) and Atelier from the source
tree (.venv/bin/atelier). Needs Xvfb, xdotool and Qt's xcb libraries (see shared MACHINE-NOTES).
The first run of each subject reads its files from disk; later runs find them in the page cache, so
the table shows both the first run and the median.
"""

from __future__ import annotations

import argparse
import io
import json
import lzma
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FLOOR_TITLE = "startup-floor"
FLOOR = (
    "import sys\n"
    "from PySide6.QtWidgets import QApplication, QMainWindow\n"
    "app = QApplication(sys.argv)\n"
    "window = QMainWindow()\n"
    f"window.setWindowTitle({FLOOR_TITLE!r})\n"
    "window.resize(1200, 800)\n"
    "window.show()\n"
    "app.exec()\n"
)
GOAL_WINDOW_S = 3.0
GOAL_PACKED_MB = 350.0


def free_display() -> str:
    for number in range(71, 99):
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
            return f":{number}"
    raise SystemExit("startup.py: no free X display number between :71 and :98")


def window_visible(display: str, title: str) -> bool:
    found = subprocess.run(
        ["xdotool", "search", "--onlyvisible", "--name", title],
        env={**os.environ, "DISPLAY": display},
        capture_output=True,
        text=True,
    )
    return found.returncode == 0 and bool(found.stdout.strip())


def time_to_window(command: list[str], title: str, display: str, cores: int, timeout_s: float = 60.0) -> float:
    """Seconds from launch until a visible window named `title` exists; the process is then ended."""
    with tempfile.TemporaryDirectory(prefix="atelier-startup-") as scratch:
        env = {
            **os.environ,
            "DISPLAY": display,
            "ATELIER_CONFIG_DIR": f"{scratch}/config",
            "ATELIER_DATA_DIR": f"{scratch}/data",
            "ATELIER_CACHE_DIR": f"{scratch}/cache",
            "HOME": scratch,
        }
        env.pop("QT_QPA_PLATFORM", None)
        pinned = ["taskset", "-c", f"0-{cores - 1}", *command] if shutil.which("taskset") else command
        started = time.perf_counter()
        log = open(f"{scratch}/output.log", "wb")  # noqa: SIM115 (closed below, after the process)
        process = subprocess.Popen(pinned, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            while time.perf_counter() - started < timeout_s:
                if window_visible(display, title):
                    return time.perf_counter() - started
                if process.poll() is not None:
                    output = Path(f"{scratch}/output.log").read_text(errors="replace").strip().splitlines()[-5:]
                    raise RuntimeError(
                        f"{command[0]} exited with {process.returncode} before showing a window: {' | '.join(output)}"
                    )
                time.sleep(0.02)
            raise RuntimeError(f"{command[0]} showed no window within {timeout_s:.0f} s")
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()


def measure_starts(bundle: Path, runs: int, cores: int) -> dict[str, list[float]]:
    display = free_display()
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "1600x1000x24", "-nolisten", "tcp"])
    try:
        deadline = time.monotonic() + 10
        while not Path(f"/tmp/.X11-unix/X{display[1:]}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        subjects = {
            "bundle": ([str(bundle / "atelier")], "Atelier"),
            "source tree": ([str(ROOT / ".venv" / "bin" / "atelier")], "Atelier"),
            "PySide6 floor": ([sys.executable, "-c", FLOOR], FLOOR_TITLE),
        }
        times: dict[str, list[float]] = {name: [] for name in subjects}
        for _ in range(runs):  # interleaved, so a busy moment on the machine hits every subject alike
            for name, (command, title) in subjects.items():
                times[name].append(time_to_window(command, title, display, cores))
        return times
    finally:
        xvfb.terminate()
        xvfb.wait()


class _Counter(io.RawIOBase):
    """A write-only sink that compresses what it gets and counts the compressed bytes."""

    def __init__(self) -> None:
        self.gz = zlib.compressobj(6, zlib.DEFLATED, 31)
        self.xz = lzma.LZMACompressor(preset=6)
        self.gz_bytes = self.xz_bytes = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.gz_bytes += len(self.gz.compress(data))
        self.xz_bytes += len(self.xz.compress(data))
        return len(data)

    def finish(self) -> None:
        self.gz_bytes += len(self.gz.flush())
        self.xz_bytes += len(self.xz.flush())


def measure_size(bundle: Path) -> dict[str, Any]:
    """Unpacked size, the tar.gz (-6) and tar.xz (-6, as dpkg-deb uses) sizes, and the 10 biggest parts."""
    internal = bundle / "_internal" if (bundle / "_internal").is_dir() else bundle
    parts: dict[str, int] = {}
    total = 0
    for path in bundle.rglob("*"):
        if not path.is_file() or path.is_symlink():
            continue
        size = path.stat().st_size
        total += size
        relative = path.relative_to(internal).parts if path.is_relative_to(internal) else ("(top)",)
        depth = 2 if relative[0] in ("models", "PySide6") and len(relative) > 2 else 1
        parts["/".join(relative[:depth])] = parts.get("/".join(relative[:depth]), 0) + size
    sink = _Counter()
    with tarfile.open(fileobj=sink, mode="w|") as archive:
        archive.add(bundle, arcname=bundle.name)
    sink.finish()
    biggest = sorted(parts.items(), key=lambda item: item[1], reverse=True)[:10]
    return {"unpacked_bytes": total, "tar_gz_bytes": sink.gz_bytes, "tar_xz_bytes": sink.xz_bytes, "biggest": biggest}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=ROOT / "dist" / "atelier")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cores", type=int, default=2, help="CPUs the starts are pinned to (the goal is for 2)")
    parser.add_argument("--no-size", action="store_true", help="skip packing (about a minute per 100 MB)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if not (args.bundle / "atelier").is_file():
        print(f"startup.py: no bundle at {args.bundle}; build it with bash installer/build_bundle.sh", file=sys.stderr)
        return 1
    for tool in ("Xvfb", "xdotool"):
        if shutil.which(tool) is None:
            print(f"startup.py: {tool} is missing (apt-get install xvfb xdotool)", file=sys.stderr)
            return 1
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown CPU")  # fmt: skip
    times = measure_starts(args.bundle, args.runs, args.cores)
    print(f"Start to a shown window (Xvfb, {args.cores} cores of {cpu}, {args.runs} runs, fresh folders each)")
    print(f"  {'subject':<16} {'first':>7} {'median':>7} {'min':>7}")
    medians = {}
    for name, values in times.items():
        medians[name] = statistics.median(values)
        print(f"  {name:<16} {values[0]:6.2f}s {medians[name]:6.2f}s {min(values):6.2f}s")
    floor, source = medians["PySide6 floor"], medians["source tree"]
    print(f"  bundle / PySide6 floor: {medians['bundle'] / floor:.2f}x; bundle / source tree: "
          f"{medians['bundle'] / source:.2f}x; goal: window under {GOAL_WINDOW_S:.0f} s "
          f"({'met' if medians['bundle'] < GOAL_WINDOW_S else 'NOT met'})")  # fmt: skip
    result: dict[str, object] = {"cpu": cpu, "cores": args.cores, "runs": args.runs, "start_seconds": times}
    if not args.no_size:
        size = measure_size(args.bundle)
        unpacked, gz, xz = (size[key] / 1e6 for key in ("unpacked_bytes", "tar_gz_bytes", "tar_xz_bytes"))
        verdict = "met" if xz < GOAL_PACKED_MB else "NOT met"
        print(f"Size: {unpacked:.0f} MB unpacked, {gz:.0f} MB tar.gz, {xz:.0f} MB tar.xz")
        print(f"  goal for the .deb (xz, as dpkg-deb packs): under {GOAL_PACKED_MB:.0f} MB: {verdict}")
        print("Biggest parts (unpacked):")
        for name, value in size["biggest"]:
            print(f"  {value / 1e6:7.1f} MB  {name}")
        result["size"] = size
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
