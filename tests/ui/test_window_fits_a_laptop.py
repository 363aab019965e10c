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
