"""The whole window, Jobs dock included, fits a 1366x768 laptop screen on every panel (seen at 1,396 px
wide: Fusion makes every push button at least 80 px, and the Sketch panel's file bar had nine)."""

from __future__ import annotations

import pytest

LAPTOP_WIDTH = 1366
FRAME = 12  # a window manager's borders, both sides together


@pytest.mark.parametrize("tab", [0, 1, 2], ids=["sketch", "lyric", "palette"])
def test_the_window_is_no_wider_than_a_laptop_screen(window, qtbot, tab: int) -> None:
    window.centralWidget().setCurrentIndex(tab)
    qtbot.wait(10)
    assert window.minimumSizeHint().width() + FRAME <= LAPTOP_WIDTH
    assert window.minimumSize().width() + FRAME <= LAPTOP_WIDTH


def test_a_long_palette_note_wraps_instead_of_widening_the_window(window, qtbot) -> None:
    # Seen under Xvfb: after Regenerate the note "… Unlocked swatches from the palette model (temperature
    # 0.8)." made the window 1,400 px wide, its dock past the screen's edge.
    panel = window.panels["palette"]
    window.tabs.setCurrentWidget(panel)
    widest = window.minimumSizeHint().width()
    job = panel.regenerate()
    assert job is not None
    qtbot.waitUntil(lambda: job.state.done, timeout=20000)
    qtbot.waitUntil(lambda: "palette model" in panel.status.text(), timeout=5000)
    panel.status.setText(panel.status.text() + " And a much longer note than any the panel writes." * 4)
    for widget in (panel, panel.parentWidget(), window.centralWidget(), window):  # the layouts' sizes now
        if widget is not None and widget.layout() is not None:
            widget.layout().activate()
    assert panel.minimumSizeHint().width() <= widest
    assert window.minimumSizeHint().width() <= widest
    assert window.minimumSizeHint().height() + 30 <= 768  # the wrapped note fits a laptop's height too
    window.statusBar().clearMessage()


def test_the_first_start_fits_the_screen_height(window) -> None:
    # Seen under Xvfb on a 1366x768 screen: the first start was 815 px tall, its status bar and the
    # Sketch panel's result row below the screen's edge.
    room = window.screen().availableGeometry()
    assert window.height() <= room.height() - 30  # room for a window manager's title bar
    assert window.height() >= window.minimumSizeHint().height()
    assert window.width() >= window.minimumSizeHint().width()
