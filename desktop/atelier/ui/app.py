"""Start the GUI: check there is a display first, so a headless machine gets advice, not a Qt abort."""

from __future__ import annotations

import ctypes.util
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from PySide6.QtGui import QIcon

    from atelier.ui.main_window import MainWindow

XCB_PACKAGES = (
    "libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-render-util0 libxcb-xkb1 "
    "libxkbcommon-x11-0 libxcb-shape0 libxcb-xinerama0 libxcb-randr0 libegl1 libgl1 libfontconfig1"
)


def display_problem(environ: dict[str, str] | None = None, platform: str = sys.platform) -> str | None:
    """Why the GUI cannot start here, with what to do; None when it can."""
    env = os.environ if environ is None else environ
    if not platform.startswith("linux") or env.get("QT_QPA_PLATFORM"):
        return None
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        return (
            "No display found (DISPLAY and WAYLAND_DISPLAY are unset), so the Atelier window cannot open. "
            "Run it from a desktop session, or on a headless machine with a virtual screen: "
            "xvfb-run -a atelier   (Debian/Ubuntu: sudo apt-get install xvfb). "
            "The command-line tools work without a display: atelier --help"
        )
    if env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY") and ctypes.util.find_library("xcb-cursor") is None:
        return (
            "Qt's X11 plugin needs system libraries that are missing (libxcb-cursor0 and friends). "
            f"Install them with: sudo apt-get install {XCB_PACKAGES}"
        )
    return None


def icon_files() -> list[Path]:
    """The rendered icon PNGs, one per size (resources/icons/hicolor), smallest first."""
    from atelier.core.color.data import resources_dir

    folder = resources_dir() / "icons" / "hicolor"
    files = folder.glob("*x*/apps/atelier.png")
    return sorted(files, key=lambda path: int(path.parent.parent.name.split("x")[0]))


def app_icon() -> QIcon:
    """Atelier's icon with every rendered size, so the title bar and task switcher get the drawing made for their
    size (16-32 px omit the brush) instead of a scaled-down 512 px picture."""
    from PySide6.QtGui import QIcon

    icon = QIcon()
    for path in icon_files():
        icon.addFile(str(path))
    return icon


def run_app(argv: list[str] | None = None) -> int:
    """Open the window. `--test-driver JOURNAL` (only through `python -m atelier.ui.app`) makes the app edit
    and autosave on its own, logging each step to JOURNAL, for the kill test (tests/e2e/test_kill.py)."""
    args = list(sys.argv if argv is None else argv)[1:]
    journal = None
    if "--test-driver" in args:
        index = args.index("--test-driver")
        if index + 1 >= len(args):
            print("atelier: --test-driver needs a journal file.", file=sys.stderr)
            return 2
        journal = Path(args[index + 1])
    problem = display_problem()
    if problem:
        print(f"atelier: {problem}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from atelier.core.settings import load_settings
    from atelier.ui.context import LicenceGate
    from atelier.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(argv or sys.argv)
    assert isinstance(app, QApplication)
    app.setApplicationName("Atelier")
    app.setOrganizationName("Atelier")
    # Wayland compositors match the window to atelier.desktop (and its icon) by this name.
    app.setDesktopFileName("atelier")
    app.setWindowIcon(app_icon())
    app.setStyle("Fusion")
    settings, problems = load_settings()
    if settings.theme != "system":
        scheme = Qt.ColorScheme.Dark if settings.theme == "dark" else Qt.ColorScheme.Light
        QGuiApplication.styleHints().setColorScheme(scheme)
    window = MainWindow(settings, licence_gate=LicenceGate())  # asks before a pack's first use
    if problems:
        window.statusBar().showMessage(" ".join(problems), 15000)
    window.show()
    if journal is not None:
        _drive_for_tests(window, journal)
    return int(app.exec())


# -- the kill test's driver ---------------------------------------------------------------------------
DRIVER_NOISE_SIDE = 128  # the driver's sketch: noise in this corner, seeded by the state's number


def driver_sketch(number: int, width: int, height: int) -> np.ndarray:
    """The sketch of driver state `number`: white paper, a noise block seeded by it (so a PNG cut short
    cannot pass for it), and the number in the first pixel."""
    import numpy as np

    picture = np.full((height, width, 4), 255, np.uint8)
    side = min(DRIVER_NOISE_SIDE, width, height)
    noise = np.random.default_rng(number).integers(0, 256, (side, side, 3), dtype=np.uint8)
    picture[:side, :side, :3] = noise
    picture[0, 0, :3] = (number % 256, number // 256 % 256, 7)
    return picture


def driver_text(number: int) -> str:
    return f"state {number}\n" + "la la la, the rain on the roof\n" * 30


def read_driver_state(window: MainWindow) -> tuple[int, int, bool]:
    """(number in the lyric, number in the sketch, whether the sketch is that state's exactly); -1: none."""
    import numpy as np

    first_line = window.panels["lyric"].editor.toPlainText().split("\n", 1)[0]  # type: ignore[attr-defined]
    lyric = int(first_line.split()[1]) if first_line.startswith("state ") else -1
    sketch = window.panels["sketch"].canvas.sketch_array()  # type: ignore[attr-defined]
    red, green, blue = (int(v) for v in sketch[0, 0, :3])
    number = red + 256 * green if blue == 7 else -1
    height, width = sketch.shape[:2]
    whole = number >= 0 and bool(np.array_equal(sketch, driver_sketch(number, width, height)))
    return lyric, number, whole


def _drive_for_tests(window: MainWindow, journal: Path) -> None:
    """Answer a restore offer as a user would (restore), log the state the window then shows, and edit and
    autosave without pause, logging "saving N" before and "saved N" after each autosave."""
    from PySide6.QtCore import QTimer

    pid = os.getpid()
    log = open(journal, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 (open while the app runs)

    def note(text: str) -> None:
        log.write(f"{pid} {text}\n")
        log.flush()

    if window.restore_dialog is not None and window.restore_dialog.isVisible():
        note("restoring")
        window.restore_dialog.accept()
    lyric, sketch, whole = read_driver_state(window)
    note(f"restored {lyric} {sketch} {int(whole)}")
    used = [int(line.split()[2]) for line in journal.read_text().splitlines() if line.split()[1:2] == ["saving"]]
    number = max(used, default=0)
    width, height = window.panels["sketch"].canvas.canvas_size  # type: ignore[attr-defined]
    note("ready")

    def step() -> None:
        nonlocal number
        number += 1
        note(f"saving {number}")
        window.panels["lyric"].editor.setPlainText(driver_text(number))  # type: ignore[attr-defined]
        window.panels["sketch"].set_picture(driver_sketch(number, width, height))  # type: ignore[attr-defined]
        if window.save_session():
            note(f"saved {number}")
        QTimer.singleShot(0, step)

    QTimer.singleShot(0, step)


if __name__ == "__main__":
    sys.exit(run_app())
