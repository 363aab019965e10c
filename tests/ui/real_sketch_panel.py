"""A Sketch panel on a real job queue and worker thread, closed and shut down when the test is done."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from atelier.core.documents.palette import PaletteDocument
from atelier.core.jobs import JobQueue
from atelier.core.session_store import SessionStore
from atelier.core.settings import Settings
from atelier.ui.context import AppContext
from atelier.ui.panels.sketch import SketchPanel
from atelier.ui.worker import JobRunner


@contextmanager
def real_sketch_panel(
    qtbot, folder: Path, canvas: tuple[int, int] = (64, 64), palette: PaletteDocument | None = None
) -> Iterator[SketchPanel]:
    """The panel with a blank `canvas` (width, height), its session in `folder`, the given palette."""
    queue = JobQueue()
    runner = JobRunner(queue, Settings(threads=1))
    context = AppContext(runner, queue, Settings(), SessionStore(folder / "session"))
    if palette is not None:
        context.palette = palette
    panel = SketchPanel(context)
    qtbot.addWidget(panel)
    panel.canvas.new_canvas(*canvas, undoable=False)
    try:
        yield panel
    finally:
        panel.close_panel()
        runner.shutdown()
