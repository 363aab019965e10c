"""The first use of a pack asks (its licence and source, Accept or Cancel) before any panel's job is queued."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QComboBox, QDialog

from atelier.core.documents.palette import PaletteSource
from atelier.core.job_handle import JobHandle
from atelier.core.jobs import Job, JobQueue, JobState
from atelier.core.pack_consent import ConsentStore
from atelier.core.project import Project
from atelier.core.requests.lineart import LineArtRequest
from atelier.core.settings import Settings
from atelier.ui.context import DECLINED, AppContext, LicenceGate, LicensedSubmitter
from atelier.ui.dialogs.pack_licence_dialog import (
    ATTENTION_COLOUR,
    WARNING_STYLE,
    PackLicenceDialog,
    mark_licence_item,
    pack_item_text,
)
from atelier.ui.panels.base import Panel
from atelier.ui.panels.palette import PalettePanel
from atelier.ui.worker import JobRunner


class Answerer:
    """Answers the real licence dialog when it opens (it is modal: the answer must be scheduled first)."""

    def __init__(self) -> None:
        self.seen: list[str] = []  # the licence text of each dialog shown

    def next(self, accept: bool) -> None:
        def answer() -> None:
            dialogs = [w for w in QApplication.topLevelWidgets() if isinstance(w, PackLicenceDialog) and w.isVisible()]
            if not dialogs:
                QTimer.singleShot(10, answer)
                return
            dialog = dialogs[0]
            self.seen.append(dialog.licence_label.text() + dialog.source_label.text())
            (dialog.accept_button if accept else dialog.cancel_button).click()

        QTimer.singleShot(0, answer)


@pytest.fixture
def context(qtbot, isolated_dirs: Path) -> Iterator[AppContext]:
    queue = JobQueue()
    runner = JobRunner(queue, Settings(threads=1))
    yield AppContext(runner, queue, Settings(threads=1), Project(isolated_dirs / "project"), licence_gate=LicenceGate())
    runner.shutdown()


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, int]] = []
        self.handle = JobHandle(
            lambda job, result: self.events.append(("success", job.id)),
            lambda job, error: self.events.append(("failure", job.id)),
            lambda job: self.events.append(("cancelled", job.id)),
        )


def lineart(**extra) -> LineArtRequest:
    picture = np.full((32, 32, 3), 255, np.uint8)
    picture[10:12] = 0
    return LineArtRequest(image=picture, origin="test", **extra)


def test_cancel_submits_nothing_accept_is_remembered(qtbot, context: AppContext) -> None:
    panel = Panel(context)
    qtbot.addWidget(panel)
    answers, recorder = Answerer(), Recorder()
    assert isinstance(context.runner, LicensedSubmitter)

    answers.next(accept=False)
    declined = panel.submit(lineart(), recorder.handle)
    # The rest of the same click (a batch) is declined without asking again.
    also_declined = panel.submit(lineart(), recorder.handle)
    assert (declined.state, declined.error) == (JobState.CANCELLED, DECLINED)
    assert also_declined.state is JobState.CANCELLED
    assert recorder.events == [("cancelled", declined.id), ("cancelled", also_declined.id)]
    assert len(context.queue) == 0  # never queued: nothing in the Jobs dock or the history
    assert len(answers.seen) == 1 and "MIT" in answers.seen[0] and "Sobel" in answers.seen[0]
    used = next(s for s in context.runner.pack_summaries() if s["kind"] == "lineart")
    assert not ConsentStore().is_accepted(used)

    qtbot.wait(20)  # the next user action asks again
    answers.next(accept=True)
    job = panel.submit(lineart(), recorder.handle)
    assert job.state is not JobState.CANCELLED and context.queue.get(job.id) is job
    qtbot.waitUntil(lambda: ("success", job.id) in recorder.events, timeout=30000)
    assert len(answers.seen) == 2 and ConsentStore().is_accepted(used)

    # Accepted once: later jobs (and later sessions, through the data folder) are not asked about.
    again = AppContext(context.runner, context.queue, context.settings, context.session, licence_gate=LicenceGate())
    assert again.runner is context.runner  # already licensed: not wrapped twice
    second = Panel(again)
    qtbot.addWidget(second)
    later = second.submit(lineart(), recorder.handle)
    qtbot.waitUntil(lambda: ("success", later.id) in recorder.events, timeout=30000)
    assert len(answers.seen) == 2


def test_live_requests_are_declined_quietly_after_cancel(qtbot, context: AppContext) -> None:
    answers = Answerer()
    answers.next(accept=False)
    assert context.runner.submit(lineart()).state is JobState.CANCELLED
    qtbot.wait(20)
    # A live job (one per stroke) for the declined pack does not ask again; a plain click does.
    assert context.runner.submit(lineart(supersedes=True)).error == DECLINED
    assert len(answers.seen) == 1
    answers.next(accept=False)
    assert context.runner.submit(lineart()).error == DECLINED
    assert len(answers.seen) == 2
    assert len(context.queue) == 0


def test_a_real_panel_stays_idle_when_declined(qtbot, context: AppContext) -> None:
    panel = PalettePanel(context)
    qtbot.addWidget(panel)
    panel.show()
    before = list(panel.doc.colors)
    answers = Answerer()
    answers.next(accept=False)
    job = panel.ask(PaletteSource("text", text="stormy sea at dusk"))  # palettes from text run the MiniLM pack
    assert isinstance(job, Job) and job.error == DECLINED
    assert "all-MiniLM-L6-v2" in answers.seen[0] and "Apache-2.0" in answers.seen[0]
    qtbot.wait(50)
    assert not panel.progress.isVisible()
    assert panel.doc.colors == before and len(context.queue) == 0
    # Palettes from a picture use no model pack: they never ask.
    picture = np.zeros((20, 20, 3), np.uint8)
    picture[:, 10:] = (200, 40, 50)
    with qtbot.waitSignal(panel.doc.changed, timeout=20000):
        panel.ask(PaletteSource("image", image=picture))
    assert len(answers.seen) == 1
    panel.close_panel()


def test_dialog_marks_non_commercial_and_unknown_licences(qtbot) -> None:
    summary = {"id": "nc-sd", "name": "Some SD", "licence": "CC-BY-NC-4.0", "source": "a model card", "folder": ""}
    dialog = PackLicenceDialog(summary)
    qtbot.addWidget(dialog)
    assert dialog.attention and dialog.licence_box.styleSheet() == WARNING_STYLE
    assert "non-commercial" in dialog.licence_label.text() and "a model card" in dialog.source_label.text()
    unknown = PackLicenceDialog({"id": "x", "licence": "unknown"})
    qtbot.addWidget(unknown)
    assert unknown.attention and "licence unknown" in unknown.licence_label.text()
    assert "not stated" in unknown.source_label.text()
    open_one = PackLicenceDialog({"id": "y", "licence": "MIT", "source": "here"})
    qtbot.addWidget(open_one)
    assert not open_one.attention and open_one.licence_box.styleSheet() != WARNING_STYLE
    # A stray Enter does not accept: Cancel is the default button.
    open_one.show()
    qtbot.keyClick(open_one, Qt.Key.Key_Return)
    assert open_one.result() == QDialog.DialogCode.Rejected


def test_choosers_mark_non_commercial_and_unknown_rows(qtbot) -> None:
    combo = QComboBox()
    qtbot.addWidget(combo)
    for name, licence in (("SD 1.5", "creativeml-openrail-m"), ("Anime NC", "CC-BY-NC-4.0"), ("Mystery", "unknown")):
        combo.addItem(pack_item_text(name, licence), name)
        mark_licence_item(combo, combo.count() - 1, licence)
    assert [combo.itemText(i) for i in range(3)] == [
        "SD 1.5 (creativeml-openrail-m)",
        "Anime NC (CC-BY-NC-4.0 — non-commercial)",
        "Mystery (licence unknown)",
    ]
    colours = [combo.itemData(i, Qt.ItemDataRole.ForegroundRole) for i in range(3)]
    assert colours[0] is None and all(c.color().name() == ATTENTION_COLOUR for c in colours[1:])
    assert "may not be used for paid" in combo.itemData(1, Qt.ItemDataRole.ToolTipRole)


def test_the_dialog_opens_without_a_hole_above_its_buttons(qtbot) -> None:
    # Seen in the walkthrough: the melody pack's dialog opened with about 130 px of nothing above the buttons
    # (Qt sized it for wrapped text at a much narrower width).
    from PySide6.QtWidgets import QLabel

    summary = {
        "id": "atelier-melody",
        "name": "Melody for lyrics (GRU trained on public-domain folk tunes)",
        "licence": "MIT (weights trained here on public-domain tunes; see MODEL_CARD.md)",
        "source": "Trained by models/melody/train.py on the music21 corpus collections oneills1850, ryansMammoth, "
        "airdsAirs and miscFolk; exported by models/melody/export.py.",
    }
    dialog = PackLicenceDialog(summary)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    last = next(label for label in dialog.findChildren(QLabel) if label.text().startswith("Accepting"))
    gap = dialog.buttons.geometry().top() - last.geometry().bottom()
    layout = dialog.layout()
    assert layout is not None and 0 < gap <= 3 * layout.spacing() + 6, gap
    assert dialog.width() >= 520 and last.isVisible() and dialog.source_label.height() > 0
