"""`atelier --self-test`: open the real window offscreen, run one real job in each panel, report, exit 0 or 1.

The jobs go through the panels as a click would send them (the real queue, worker threads and packs), in a
scratch project and a scratch config folder, so nothing of the user's work, layout or recent list changes.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from atelier.core.jobs import Job
    from atelier.ui.main_window import MainWindow

CHECKS = ("palette", "lyric", "sketch", "melody")
JOB_TIMEOUT_S = 240.0  # a cold first start on 2 cores loads and verifies every pack once
PALETTE_TEXT = "stormy sea at dusk"
PALETTE_COUNT = 5
LYRIC_PROMPT = "rain on a city window"
LYRIC_TOKENS = 40
SONG = "[Verse]\nI walked along the river\nThe city humming softly\n\n[Chorus]\nSing it to me, sing it slow\n"


class SelfTestFailure(Exception):
    """A check's finding, in words for the report."""


@dataclass
class CheckResult:
    name: str
    ok: bool
    seconds: float
    device: str
    message: str


def wait_for(job: Job | None, what: str, timeout_s: float = JOB_TIMEOUT_S) -> Any:
    """Run the event loop until `job` ends; its result, or SelfTestFailure saying how it ended."""
    from PySide6.QtCore import QCoreApplication, QEventLoop

    from atelier.core.jobs import JobState

    if job is None:
        raise SelfTestFailure(f"the panel did not send the {what} job (see the log for the message it showed)")
    deadline = time.monotonic() + timeout_s
    while not job.state.done:
        if time.monotonic() > deadline:
            raise SelfTestFailure(f"the {what} job did not end within {timeout_s:.0f} s")
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.01)
    QCoreApplication.processEvents()  # the panel's own handlers for the ending
    if job.state is not JobState.FINISHED:
        detail = job.error or job.state.name.lower()
        raise SelfTestFailure(f"the {what} job {job.state.name.lower()}: {detail}")
    return job.result


def device_of(result: Any) -> str:
    device = getattr(result, "device", None)
    return str(getattr(device, "provider", "") or "none")


def check_palette(window: MainWindow, scratch: Path) -> tuple[str, str]:
    from atelier.core.requests.palette import PaletteResult
    from atelier.ui.panels.palette import PalettePanel

    panel = window.panels["palette"]
    assert isinstance(panel, PalettePanel)
    window.tabs.setCurrentWidget(panel)
    panel.doc.set_count(PALETTE_COUNT)
    panel.source_bar.text.setText(PALETTE_TEXT)
    result = wait_for(panel.from_text(), "palette from text")
    if not isinstance(result, PaletteResult) or len(result.colors) != PALETTE_COUNT:
        raise SelfTestFailure(f"asked for {PALETTE_COUNT} colours, got {getattr(result, 'colors', None)}")
    if len(set(result.colors)) != len(result.colors) or list(panel.doc.colors) != list(result.colors):
        raise SelfTestFailure(f"the panel shows {list(panel.doc.colors)}, the job made {list(result.colors)}")
    return device_of(result), f"{' '.join(result.colors)} for “{PALETTE_TEXT}”"


def check_lyric(window: MainWindow, scratch: Path) -> tuple[str, str]:
    from atelier.core.requests.lyrics import LyricResult
    from atelier.ui.panels.lyric import LyricPanel

    panel = window.panels["lyric"]
    assert isinstance(panel, LyricPanel)
    window.tabs.setCurrentWidget(panel)
    panel.controls.max_tokens.setValue(LYRIC_TOKENS)
    panel.document.set("prompt", LYRIC_PROMPT)
    result = wait_for(panel.write(), "lyric")
    if not isinstance(result, LyricResult) or not result.text.strip():
        raise SelfTestFailure("the language model wrote no text")
    words = len(result.text.split())
    speed = f", {result.decode_tokens_per_s:.0f} tokens/s" if result.decode_tokens_per_s else ""
    return device_of(result), f"{words} words from {result.pack or 'the language model'}{speed}"


def _draw(canvas: Any, points: list[tuple[float, float]]) -> None:
    from PySide6.QtCore import QPointF

    canvas.begin_stroke(QPointF(*points[0]), 1.0)
    for x, y in points[1:]:
        canvas.continue_stroke(QPointF(x, y), 1.0)
    canvas.end_stroke()


def check_sketch(window: MainWindow, scratch: Path) -> tuple[str, str]:
    """Draw a house with the real brush, trace it, take the lines, then colorize them with a palette."""
    import numpy as np

    from atelier.core.requests.colorize import ColorizeResult
    from atelier.core.requests.lineart import LineArtResult
    from atelier.ui.panels.sketch import SketchPanel

    panel = window.panels["sketch"]
    assert isinstance(panel, SketchPanel)
    window.tabs.setCurrentWidget(panel)
    canvas = panel.canvas
    width, height = canvas.canvas_size
    sx, sy = width / 256, height / 256
    canvas.brush_size = 4
    canvas.hardness = 1.0
    panel.set_colour("#111111")
    for shape in ([(60, 120), (196, 120), (196, 220), (60, 220), (60, 120)], [(50, 124), (128, 50), (206, 124)]):
        _draw(canvas, [(x * sx, y * sy) for x, y in shape])
    drawn = canvas.sketch_array()
    if not (drawn[:, :, :3] < 128).any():
        raise SelfTestFailure("the brush left no ink on the canvas")
    traced = wait_for(panel.trace(), "trace")
    if not isinstance(traced, LineArtResult) or not (traced.lines < 128).any():
        raise SelfTestFailure("tracing found no lines in the drawing")
    panel.accept_result()
    window.context.palette.set_colors(["#1b2a41", "#c9a227", "#b23a48", "#e8dab2"])
    panel.form.count.setValue(1)
    colored = wait_for(panel.colorize(), "colorize")
    if not isinstance(colored, ColorizeResult) or len(colored.images) != 1:
        raise SelfTestFailure("colorize gave no picture")
    image = colored.images[0]
    if image.shape[:2] != (height, width) or np.all(image == 255):
        raise SelfTestFailure(f"colorize gave a {image.shape} picture with no colour on it")
    ink = float((traced.lines < 128).mean()) * 100
    return device_of(colored), f"traced {ink:.1f}% ink, colorized {width}x{height} with {colored.pack_id}"


def check_melody(window: MainWindow, scratch: Path) -> tuple[str, str]:
    import mido

    from atelier.ui.panels.lyric import LyricPanel

    panel = window.panels["lyric"]
    assert isinstance(panel, LyricPanel)
    window.tabs.setCurrentWidget(panel)
    panel.editor.setPlainText(SONG)
    widget = panel.melody
    result = wait_for(widget.generate(), "melody")
    melody = widget.melody
    if melody is None or not melody.notes:
        raise SelfTestFailure("the melody job finished but the editor shows no notes")
    path = scratch / "self-test.mid"
    widget.export_midi(str(path))
    if not path.is_file():
        raise SelfTestFailure(f"MIDI export wrote nothing ({widget.status.text()})")
    midi = mido.MidiFile(str(path))
    notes = sum(1 for track in midi.tracks for message in track if message.type == "note_on" and message.velocity)
    lyrics = sum(1 for track in midi.tracks for message in track if message.type == "lyrics")
    if notes < len(melody.notes) or lyrics != len(melody.notes):
        raise SelfTestFailure(f"the MIDI file has {notes} notes and {lyrics} lyric events for {len(melody.notes)}")
    return device_of(result), f"{len(melody.notes)} notes, MIDI export read back ({path.stat().st_size} bytes)"


CHECK_FUNCTIONS: dict[str, Callable[[MainWindow, Path], tuple[str, str]]] = {
    "palette": check_palette,
    "lyric": check_lyric,
    "sketch": check_sketch,
    "melody": check_melody,
}


@contextmanager
def _scratch_config(folder: Path) -> Iterator[None]:
    """Window layout and recent projects go to `folder` while the self-test runs, not over the user's."""
    before = os.environ.get("ATELIER_CONFIG_DIR")
    os.environ["ATELIER_CONFIG_DIR"] = str(folder)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("ATELIER_CONFIG_DIR", None)
        else:
            os.environ["ATELIER_CONFIG_DIR"] = before


def run_checks(only: tuple[str, ...] = CHECKS, threads: int = 0) -> tuple[list[CheckResult], dict[str, Any]]:
    """Open the main window offscreen and run each check in order; (results, facts about the run)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before Qt starts: no display needed
    from PySide6.QtWidgets import QApplication

    from atelier import __version__
    from atelier.core.project import Project
    from atelier.core.settings import load_settings
    from atelier.engine.offline_runtime import ort

    app = QApplication.instance() or QApplication([sys.argv[0]])
    settings, _problems = load_settings()  # the user's own device choice is what gets tested
    if threads:
        settings = replace(settings, threads=threads)
    results: list[CheckResult] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="atelier-self-test-") as name:
        scratch = Path(name)
        with _scratch_config(scratch / "config"):
            from atelier.ui.main_window import MainWindow

            try:
                window = MainWindow(settings, Project.create(scratch / "project"))
                window.show()
                app.processEvents()
            except Exception as exc:  # no window, no checks: that is the one finding
                results.append(CheckResult("window", False, time.perf_counter() - started, "", f"{exc}"))
                return results, {"window_seconds": None, "total_seconds": time.perf_counter() - started}
            window_s = time.perf_counter() - started
            try:
                for check in only:
                    began = time.perf_counter()
                    try:
                        device, message = CHECK_FUNCTIONS[check](window, scratch)
                        results.append(CheckResult(check, True, time.perf_counter() - began, device, message))
                    except Exception as exc:  # every failure is a finding for the report, not a crash
                        text = exc.user_message() if hasattr(exc, "user_message") else str(exc)
                        message = text if isinstance(exc, SelfTestFailure) else f"{type(exc).__name__}: {text}"
                        results.append(CheckResult(check, False, time.perf_counter() - began, "", message))
            finally:
                window.close()
                app.processEvents()
    facts = {
        "atelier": __version__,
        "onnxruntime": ort.__version__,
        "providers": ort.get_available_providers(),
        "device_preference": settings.device,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "frozen": bool(getattr(sys, "frozen", False)),
        "qt_platform": os.environ.get("QT_QPA_PLATFORM", ""),
        "window_seconds": round(window_s, 3),
        "total_seconds": round(time.perf_counter() - started, 3),
    }
    return results, facts


def format_report(results: list[CheckResult], facts: dict[str, Any]) -> str:
    window = f"window in {facts['window_seconds']:.1f} s" if facts.get("window_seconds") is not None else "no window"
    lines = [f"Atelier {facts.get('atelier', '')} self-test (onnxruntime {facts.get('onnxruntime', '')}, {window})"]
    for result in results:
        state = "ok" if result.ok else "FAILED"
        device = f" on {result.device}" if result.device else ""
        lines.append(f"  {result.name:<8} {state:<6} {result.seconds:6.1f} s{device}  {result.message}")
    failed = sum(not r.ok for r in results)
    lines.append(f"{len(results) - failed} passed, {failed} failed")
    return "\n".join(lines)


def run_self_test(report: Path | None = None, only: tuple[str, ...] = CHECKS) -> int:
    """The command: run the checks, print the text report, write the JSON one to `report`; 0 when all pass."""
    unknown = [name for name in only if name not in CHECK_FUNCTIONS]
    if unknown:
        print(f"atelier: unknown self-test check {', '.join(unknown)} (checks: {', '.join(CHECKS)})", file=sys.stderr)
        return 2
    results, facts = run_checks(only)
    print(format_report(results, facts))
    ok = bool(results) and all(r.ok for r in results)
    if report is not None:
        data = {"ok": ok, **facts, "checks": [asdict(r) for r in results]}
        report.parent.mkdir(parents=True, exist_ok=True)
        if report.suffix.lower() == ".json":
            report.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        else:
            report.write_text(format_report(results, facts) + "\n", encoding="utf-8")
    return 0 if ok else 1
