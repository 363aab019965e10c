"""MelodyWidget with a real job runner and the committed melody pack (offscreen Qt): generate, variations,
regenerate a line, undo/redo of each, queueing and cancel from the queue, sound settings, export, session,
chords over the bars, and Continue from an imported MIDI file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import mido
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QMessageBox

from atelier.core.jobs import Job, JobQueue, JobState
from atelier.core.music import parse_meter
from atelier.core.requests.melody import MelodyAudioResult, MelodyResult
from atelier.core.session_store import SessionStore
from atelier.core.settings import Settings
from atelier.ui.context import AppContext
from atelier.ui.widgets.melody import MelodyWidget
from atelier.ui.widgets.piano_roll import CURRENT_COLOR, PX_PER_QUARTER
from atelier.ui.worker import JobRunner
from tests.ui.conftest import ProbeRequest
from tests.ui.lyric_melody_held_finish import HeldFinishes

REPO = Path(__file__).resolve().parents[2]
SONG = "[Verse]\nI walked along the river\nThe city humming softly\n\n[Chorus]\nSing it to me, sing it slow\n"


@pytest.fixture
def widget(qtbot, isolated_dirs: Path) -> Iterator[MelodyWidget]:
    queue, settings = JobQueue(), Settings()
    runner = JobRunner(queue, settings)
    context = AppContext(runner=runner, queue=queue, settings=settings, session=SessionStore())
    context.lyric.set_text(SONG)
    melody_widget = MelodyWidget(context)
    qtbot.addWidget(melody_widget)
    melody_widget.resize(1100, 560)
    melody_widget.show()
    yield melody_widget
    melody_widget.close_widget()
    runner.shutdown()
    assert all(thread.isFinished() for thread in runner.threads()), "worker threads still running"
    assert not [t for t in melody_widget.findChildren(QTimer) if t.isActive()], "timers left running"


def generate(qtbot, widget: MelodyWidget) -> None:
    widget.generate_button.click()
    qtbot.waitUntil(lambda: widget.melody is not None, timeout=60000)


def test_generate_shows_each_syllable_under_its_note(qtbot, widget: MelodyWidget) -> None:
    assert widget.melody is None and not widget.export_midi_button.isEnabled()
    generate(qtbot, widget)
    melody = widget.melody
    assert melody is not None
    assert [n.syllable for n in melody.notes][:4] == ["I", "walked", "a", "long"]
    assert widget.roll.melody is melody
    assert widget.range.count() == 1 + len(melody.sections) + len(melody.lines)
    assert widget.play_button.isEnabled() == widget.sound_ok
    if not widget.sound_ok:
        assert "No sound" in widget.sound_label.text()
    # The highlighted (playing) note is drawn in the highlight colour.
    widget.roll.set_current(3)
    image = widget.roll.grab().toImage()
    rect = widget.roll.note_rect(3)
    assert QColor(image.pixel(int(rect.center().x()), int(rect.center().y()))) == CURRENT_COLOR


def test_a_chord_is_drawn_over_each_bar_above_the_notes(qtbot, widget: MelodyWidget) -> None:
    widget.meter.setCurrentText("3/4")
    generate(qtbot, widget)
    melody = widget.melody
    assert melody is not None and melody.chords
    bar = float(parse_meter("3/4").bar_quarters)
    assert [c.start for c in melody.chords] == [i * bar for i in range(len(melody.chords))]
    assert melody.chords[-1].end == melody.total_quarters
    roll = widget.roll
    lowest_chord = max(roll.chord_rect(i).bottom() for i in range(len(melody.chords)))
    assert all(roll.note_rect(i).top() > lowest_chord for i in range(len(melody.notes)))
    image = roll.grab().toImage()
    base = roll.palette().base().color()
    for index in range(len(melody.chords)):
        rect = roll.chord_rect(index)
        assert abs(rect.left() - roll.x_of(index * bar)) <= 1 and abs(rect.width() - bar * PX_PER_QUARTER) <= 2
        assert roll.chord_index_at(rect.center().x(), rect.center().y()) == index
        # Something is painted there: the chord's box and name.
        pixels = {image.pixel(int(x), int(rect.center().y())) for x in range(int(rect.left()), int(rect.right()))}
        assert len(pixels) > 1 and QColor(image.pixel(int(rect.right()) - 2, int(rect.center().y()))) != base


def test_variations_and_regenerating_one_line(qtbot, widget: MelodyWidget) -> None:
    widget.variation_count.setValue(3)
    generate(qtbot, widget)
    assert len(widget.variations) == 3
    assert len(widget.variation_buttons.buttons()) == 3
    widget.choose_variation(2)
    assert widget.roll.melody is widget.variations[2]
    before = widget.melody
    assert before is not None
    widget.roll.set_selected_line(1)
    widget.roll.line_clicked.emit(1)
    assert widget.regenerate_button.isEnabled() and widget.regenerate_button.text() == "Regenerate line 2"
    for _ in range(4):  # a new seed each press; a few presses surely change the line
        widget.regenerate_button.click()
        qtbot.waitUntil(lambda: not widget.pending_jobs(), timeout=60000)
        after = widget.melody
        assert after is not None and after is not before
        if [n.pitch for n in after.notes_of_line(1)] != [n.pitch for n in before.notes_of_line(1)]:
            break
    else:
        pytest.fail("regenerating line 2 never changed it")
    assert widget.current_variation == 2
    assert [n.pitch for n in after.notes_of_line(0)] == [n.pitch for n in before.notes_of_line(0)]
    assert [n.pitch for n in after.notes_of_line(2)] == [n.pitch for n in before.notes_of_line(2)]


def test_export_midi_and_wav(qtbot, widget: MelodyWidget, tmp_path: Path) -> None:
    generate(qtbot, widget)
    widget.export_midi(str(tmp_path / "song.mid"))
    midi = mido.MidiFile(str(tmp_path / "song.mid"))
    lyrics = [m.text for track in midi.tracks for m in track if m.type == "lyrics"]
    assert len(lyrics) == len(widget.melody.notes)  # type: ignore[union-attr]
    widget.export_wav(str(tmp_path / "song.wav"))
    qtbot.waitUntil(lambda: (tmp_path / "song.wav").exists(), timeout=60000)
    assert "Saved" in widget.status.text()


def test_import_a_midi_file_and_continue_it_for_the_new_lines(qtbot, widget: MelodyWidget, tmp_path: Path) -> None:
    assert not widget.continue_button.isEnabled() and "Import a MIDI file first" in widget.continue_button.toolTip()
    widget.key.setCurrentText("D")
    widget.meter.setCurrentText("6/8")
    generate(qtbot, widget)
    first = widget.melody
    assert first is not None
    widget.export_midi(str(tmp_path / "verse.mid"))
    widget.restore_state({})  # a new project: nothing but the file remains
    widget.context.lyric.set_text(SONG + "The river carries on\nAnd I go with it\n")
    assert widget.import_midi(str(tmp_path / "verse.mid"))
    assert widget.key.currentText() == "D" and widget.meter.currentText() == "6/8"
    assert widget.continue_button.isEnabled() and "lines 1-3" in widget.continue_button.toolTip()
    assert widget.status.text().startswith("Imported verse.mid: 21 notes")
    assert widget.history.undo_action.toolTip() == "Undo: Import verse.mid"
    widget.key.setCurrentText("A")  # Continue keeps the tune's key all the same
    widget.continue_button.click()
    qtbot.waitUntil(lambda: not widget.pending_jobs(), timeout=60000)
    melody = widget.melody
    assert melody is not None and len(melody.lines) == 5 and melody.key == "D"
    assert [(n.pitch, n.start) for n in melody.notes[:21]] == [(n.pitch, n.start) for n in first.notes]
    assert "Lines 1-3 are the tune of verse.mid; lines 4-5 are new" in widget.status.text()
    assert widget.history.undo_action.toolTip() == "Undo: Continue after line 3"
    widget.history.undo_button.click()
    assert widget.melody is None
    widget.history.undo_button.click()  # the key
    widget.history.undo_button.click()  # the import
    assert widget.document.imported is None and not widget.continue_button.isEnabled()


def test_a_file_that_is_not_midi_is_refused_and_changes_nothing(qtbot, widget: MelodyWidget, tmp_path: Path) -> None:
    (tmp_path / "notes.mid").write_text("not a song", encoding="utf-8")
    assert not widget.import_midi(str(tmp_path / "notes.mid"))
    boxes = [b for b in widget.findChildren(QMessageBox) if b.objectName() == "atelier-error" and b.isVisible()]
    assert boxes and "notes.mid is not a MIDI file Atelier can read" in boxes[-1].text()
    assert widget.document.imported is None and not widget.history.undo_button.isEnabled()
    for box in boxes:
        box.close()


def test_tempo_and_instrument_apply_without_regenerating(qtbot, widget: MelodyWidget) -> None:
    generate(qtbot, widget)
    pitches = [n.pitch for n in widget.melody.notes]  # type: ignore[union-attr]
    widget.tempo.setValue(140)
    widget.instrument.setCurrentIndex(73)
    widget.accompaniment.setCurrentIndex(widget.accompaniment.findData("none"))
    assert widget.melody is not None
    assert widget.melody.tempo == 140 and widget.melody.program == 73 and widget.melody.chord_program == -1
    assert [n.pitch for n in widget.melody.notes] == pitches
    assert widget.melody.chords  # still shown in the roll, only not played


def test_state_round_trip_and_words_changed_hint(qtbot, widget: MelodyWidget) -> None:
    widget.key.setCurrentText("E")
    widget.mode.setCurrentText("minor")
    generate(qtbot, widget)
    state = json.loads(json.dumps(widget.save_state()))
    widget.restore_state({})
    widget.restore_state(state)
    assert widget.melody is not None and widget.melody.key == "E" and widget.melody.mode == "minor"
    assert widget.key.currentText() == "E"
    widget.context.lyric.set_text(SONG + "\nOne more line\n")
    assert "words changed" in widget.status.text()
    widget.context.lyric.set_text("")
    assert not widget.generate_button.isEnabled()


def test_close_widget_disconnects(qtbot, isolated_dirs: Path) -> None:
    queue, settings = JobQueue(), Settings()
    runner = JobRunner(queue, settings)
    context = AppContext(runner=runner, queue=queue, settings=settings, session=SessionStore())
    lyric_before, queue_before = len(context.lyric.changed), len(queue.job_changed)
    melody_widget = MelodyWidget(context)
    qtbot.addWidget(melody_widget)
    assert len(context.lyric.changed) == lyric_before + 1
    melody_widget.close_widget()
    assert len(context.lyric.changed) == lyric_before
    assert len(queue.job_changed) == queue_before
    assert not melody_widget.timer.isActive()
    runner.shutdown()


def test_generate_regenerate_line_then_undo_twice_gives_the_first_melody_back(qtbot, widget: MelodyWidget) -> None:
    history = widget.history
    assert not history.undo_button.isEnabled() and not history.redo_button.isEnabled()
    generate(qtbot, widget)
    first, seed = widget.melody, widget.seed.value()
    assert first is not None and history.undo_action.toolTip() == "Undo: Generate melody"
    widget.roll.set_selected_line(0)
    widget.roll.line_clicked.emit(0)
    widget.regenerate_button.click()
    assert widget.seed.value() == seed + 1  # a new seed for the line, shown at once
    qtbot.waitUntil(lambda: not widget.pending_jobs(), timeout=60000)
    second = widget.melody
    assert second is not None and second is not first and history.undo_action.toolTip() == "Undo: Regenerate line 1"
    history.undo_button.click()
    assert widget.melody is first and widget.roll.melody is first
    history.undo_button.click()  # the seed
    assert widget.melody is first and widget.seed.value() == seed
    assert history.redo_button.isEnabled()
    history.redo_button.click()
    history.redo_button.click()
    assert widget.melody is second and widget.roll.melody is second and not history.redo_button.isEnabled()
    history.undo_button.click()
    history.undo_button.click()
    history.undo_button.click()  # back before the first melody
    assert widget.melody is None and not history.undo_button.isEnabled()
    assert not widget.export_midi_button.isEnabled()


def test_undo_and_redo_keys_while_the_melody_tab_has_focus(qtbot, widget: MelodyWidget) -> None:
    widget.key.setCurrentText("A")
    widget.variation_count.setValue(3)
    widget.activateWindow()
    widget.variation_count.setFocus()
    qtbot.waitUntil(widget.variation_count.hasFocus, timeout=2000)
    qtbot.keyClick(widget.variation_count, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert widget.variation_count.value() == 1 and widget.key.currentText() == "A"
    qtbot.keyClick(widget.variation_count, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert widget.key.currentText() == "C"
    shift_ctrl = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(widget.variation_count, Qt.Key.Key_Z, shift_ctrl)
    assert widget.key.currentText() == "A"


def test_choosing_a_variation_is_an_undo_step(qtbot, widget: MelodyWidget) -> None:
    widget.variation_count.setValue(2)
    generate(qtbot, widget)
    widget.variation_buttons.button(1).click()
    assert widget.current_variation == 1 and widget.roll.melody is widget.variations[1]
    widget.history.undo_button.click()
    assert widget.current_variation == 0 and widget.variation_buttons.button(0).isChecked()


def test_a_melody_cancelled_from_the_queue_leaves_the_tab_idle(qtbot, widget: MelodyWidget) -> None:
    runner = widget.context.runner
    ahead = runner.submit(ProbeRequest(steps=400, step_seconds=0.02))  # keeps the heavy lane busy
    qtbot.waitUntil(lambda: ahead.state is JobState.RUNNING, timeout=10000)
    job = widget.generate()
    second = widget.generate()  # queues too, behind the first
    assert job is not None and second is not None and job.state is JobState.QUEUED
    assert widget.cancel_button.isEnabled() and "1 more queued" in widget.status.text()
    widget.context.queue.cancel(job.id)  # as the Jobs dock does
    assert widget.cancel_button.isEnabled() and widget.pending_jobs() == [second.id]
    widget.context.queue.cancel(second.id)
    assert not widget.pending_jobs() and not widget.cancel_button.isEnabled()
    assert widget.status.text().startswith("Cancelled") and widget.generate_button.isEnabled()
    runner.cancel(ahead.id)
    assert widget.melody is None


def test_two_generates_both_finish(qtbot, widget: MelodyWidget) -> None:
    first = widget.generate()
    widget.seed.setValue(5)
    second = widget.generate()
    assert first is not None and second is not None
    qtbot.waitUntil(lambda: not widget.pending_jobs(), timeout=60000)
    assert first.state is JobState.FINISHED and second.state is JobState.FINISHED
    assert isinstance(second.result, MelodyResult) and widget.melody == second.result.variations[0]
    widget.history.undo_button.click()  # the second melody is one step, the first is still there below it
    assert isinstance(first.result, MelodyResult) and widget.melody == first.result.variations[0]


def test_restore_migrates_the_old_state_and_clears_the_history(qtbot, widget: MelodyWidget) -> None:
    generate(qtbot, widget)
    melody = widget.melody
    assert melody is not None
    old = {  # what save_state wrote before documents (schema 1)
        "key": "F",
        "mode": "minor",
        "meter": "3/4",
        "tempo": 70,
        "program": 40,
        "temperature": 1.1,
        "seed": 99999999999,
        "variations": 2,
        "melodies": [melody.to_dict()],
        "current": 0,
        "generated_from": SONG,
    }
    widget.restore_state(old)
    assert (widget.key.currentText(), widget.mode.currentText(), widget.meter.currentText()) == ("F", "minor", "3/4")
    assert widget.tempo.value() == 70 and widget.instrument.currentData() == 40 and widget.seed.value() == 0
    assert widget.melody is not None and [n.pitch for n in widget.melody.notes] == [n.pitch for n in melody.notes]
    assert not widget.history.undo_button.isEnabled()


PLAYBACK_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    from PySide6.QtWidgets import QApplication
    from atelier.core.jobs import JobQueue, JobState
    from atelier.core.session_store import SessionStore
    from atelier.core.settings import Settings
    from atelier.ui.context import AppContext
    from atelier.ui.widgets.melody import MelodyWidget
    from atelier.ui.worker import JobRunner

    app = QApplication([])
    queue, settings = JobQueue(), Settings()
    runner = JobRunner(queue, settings)
    context = AppContext(runner=runner, queue=queue, settings=settings, session=SessionStore())
    context.lyric.set_text(sys.argv[1])
    widget = MelodyWidget(context)
    widget.tempo.setValue(40)
    widget.generate()

    def wait(condition, seconds):
        deadline = time.time() + seconds
        while not condition() and time.time() < deadline:
            app.processEvents()
            time.sleep(0.005)
        return condition()

    wait(lambda: widget.melody is not None, 60)
    widget.play_button.click()
    wait(lambda: widget.player.playing, 30)
    seen = set()
    started = widget.player.playing
    while widget.player.playing:
        app.processEvents()
        # The null device plays many times faster than real time: follow it more often than
        # the 30 ms timer does (the same method the timer calls).
        widget._follow_playback()
        if widget.roll.current is not None:
            seen.add(widget.roll.current)
        time.sleep(0.002)
    wait(lambda: not widget.timer.isActive(), 5)
    print(json.dumps({"sound_ok": widget.sound_ok, "play_enabled": widget.play_button.isEnabled(),
                      "started": started, "highlighted": sorted(seen), "notes": len(widget.melody.notes),
                      "cleared": widget.roll.current is None}))
    widget.close_widget()
    runner.shutdown()
    """
)


def test_play_highlights_the_playing_notes_on_a_null_device(tmp_path: Path) -> None:
    try:
        import sounddevice  # noqa: F401
    except OSError:
        pytest.skip("PortAudio (libportaudio2) is not installed")
    home = tmp_path / "home"
    home.mkdir()
    (home / ".asoundrc").write_text("pcm.!default { type null }\nctl.!default { type hw card 0 }\n")
    env = {
        **os.environ,
        "HOME": str(home),
        "PYTHONPATH": str(REPO / "desktop"),
        "QT_QPA_PLATFORM": "offscreen",
        "ATELIER_CONFIG_DIR": str(tmp_path / "config"),
        "ATELIER_DATA_DIR": str(tmp_path / "data"),
    }
    done = subprocess.run(
        [sys.executable, "-c", PLAYBACK_SCRIPT, SONG], env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["sound_ok"] and report["play_enabled"] and report["started"]
    assert len(report["highlighted"]) >= 3  # the highlight moved along the notes
    assert report["cleared"]


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldFinishes]:
    """Requested after `widget`, so every held report is let go before the widget's runner shuts down."""
    with HeldFinishes.installed(monkeypatch) as holder:
        yield holder


def cancel_held(qtbot, widget: MelodyWidget, held: HeldFinishes, who: str) -> Job:
    """Cancel the held job (its work is done, the main thread has not heard) and let its report go on."""
    job_id, release = held.next(qtbot)
    job = widget.context.queue.get(job_id)
    assert job is not None
    qtbot.waitUntil(lambda: held.all_reported(job), timeout=10000)
    if who == "cancel button":
        widget.cancel()
    else:
        widget.context.queue.cancel(job_id)  # as the Jobs dock does
    assert job.state is JobState.RUNNING and job.cancel_token.cancelled
    release.set()
    qtbot.waitUntil(lambda: job.state.done, timeout=10000)
    assert job.state is JobState.FINISHED and job.result is not None  # the queue kept it; the tab must not
    return job


@pytest.mark.parametrize("who", ["cancel button", "jobs dock"])
def test_a_melody_cancelled_after_its_last_step_is_not_shown(
    qtbot, widget: MelodyWidget, held: HeldFinishes, who: str
) -> None:
    held.kinds = (MelodyResult,)
    job = widget.generate()
    assert job is not None and cancel_held(qtbot, widget, held, who) is job
    assert widget.melody is None and widget.roll.melody is None and not widget.history.undo_button.isEnabled()
    assert widget.status.text() == "Cancelled; the melody shown is unchanged."
    assert not widget.pending_jobs() and not widget.cancel_button.isEnabled() and widget.generate_button.isEnabled()


def test_a_line_regenerated_then_cancelled_after_its_last_step_leaves_the_melody(
    qtbot, widget: MelodyWidget, held: HeldFinishes
) -> None:
    generate(qtbot, widget)
    first = widget.melody
    widget.roll.set_selected_line(0)
    widget.roll.line_clicked.emit(0)
    held.kinds = (MelodyResult,)
    widget.regenerate_button.click()
    cancel_held(qtbot, widget, held, "jobs dock")
    assert widget.melody is first and widget.roll.melody is first
    assert widget.history.undo_action.toolTip() == "Undo: Change Seed"  # the new seed stays; no new line
    assert widget.status.text() == "Cancelled; the melody shown is unchanged." and not widget.cancel_button.isEnabled()


def test_a_wav_export_whose_render_is_cancelled_after_its_last_step_writes_nothing(
    qtbot, widget: MelodyWidget, held: HeldFinishes, tmp_path: Path
) -> None:
    generate(qtbot, widget)
    status = widget.status.text()
    held.kinds = (MelodyAudioResult,)
    widget.export_wav(str(tmp_path / "song.wav"))
    cancel_held(qtbot, widget, held, "jobs dock")
    qtbot.wait(50)
    assert not (tmp_path / "song.wav").exists() and widget.status.text() == status
