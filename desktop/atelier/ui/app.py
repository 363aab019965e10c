"""Start the GUI: check there is a display first, so a headless machine gets advice, not a Qt abort."""

from __future__ import annotations

import ctypes.util
import logging
import os
import sys

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


def run_app(argv: list[str] | None = None) -> int:
    problem = display_problem()
    if problem:
        print(f"atelier: {problem}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from atelier.core.settings import load_settings
    from atelier.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(argv or sys.argv)
    assert isinstance(app, QApplication)
    app.setApplicationName("Atelier")
    app.setOrganizationName("Atelier")
    app.setStyle("Fusion")
    settings, problems = load_settings()
    if settings.theme != "system":
        scheme = Qt.ColorScheme.Dark if settings.theme == "dark" else Qt.ColorScheme.Light
        QGuiApplication.styleHints().setColorScheme(scheme)
    window = MainWindow(settings)
    if problems:
        window.statusBar().showMessage(" ".join(problems), 15000)
    window.show()
    return int(app.exec())
