"""The sketch's layers on disk: written whole and user-only; a damaged one is kept aside, never overwritten."""

from __future__ import annotations

import stat
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF

from tests.ui.real_sketch_panel import real_sketch_panel


def test_layers_are_written_user_only_and_read_back(qtbot, isolated_dirs: Path) -> None:
    with real_sketch_panel(qtbot, isolated_dirs) as panel:
        panel.canvas.fill_at(QPointF(10, 10))  # fills the blank paper with the brush colour
        panel.save_state()
        sketch = panel.context.session.side_file("sketch.png")
        assert sketch.is_file() and stat.S_IMODE(sketch.stat().st_mode) == 0o600
        assert not list(sketch.parent.glob("*.tmp*")) and not list(sketch.parent.glob("*.partial"))
        before = panel.canvas.sketch_array()
        assert (before[:, :, :3] != 255).any()  # the fill changed the paper: the round trip means something
        panel.restore_state(panel.save_state())
        assert np.array_equal(panel.canvas.sketch_array(), before)


def test_a_damaged_layer_is_kept_aside_before_the_next_autosave(qtbot, isolated_dirs: Path) -> None:
    with real_sketch_panel(qtbot, isolated_dirs) as panel:
        state = panel.save_state()
        hints = panel.context.session.side_file("hints.png")
        hints.write_bytes(b"\x89PNG\r\n\x1a\n broken")
        panel.restore_state(state)
        kept = hints.with_name("hints.png.bad")
        assert kept.read_bytes() == b"\x89PNG\r\n\x1a\n broken"  # the user's file, untouched
        panel.save_state()  # the next autosave writes a fresh layer beside it
        assert kept.is_file() and hints.is_file()
        hints.write_bytes(b"broken again")
        panel.restore_state(state)
        assert hints.with_name("hints.png.bad.2").read_bytes() == b"broken again" and kept.is_file()
