"""Melody for the lyric: controls, variations, a piano roll with the words and chords, play/loop, export,
and Continue from an imported MIDI file.

A view of a MelodyDocument (settings, variations, the chosen one; every change an undo step), so the
Lyric panel can embed it: it reads the words from the shared LyricDocument, submits MelodyRequest /
MelodyAudioRequest jobs through the AppContext's runner, and plays the rendered audio with
sounddevice. Without an audio device Play is disabled and says why; generating and exporting still work.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from atelier.audio.midi import instrument_names, write_midi
from atelier.audio.player import AudioPlayer, output_device
from atelier.audio.wav import write_wav
from atelier.core.documents.lyric import SEED_LIMIT
from atelier.core.documents.melody import MelodyDocument, MelodySettings
from atelier.core.errors import AtelierError
from atelier.core.job_handle import JobDispatcher, JobHandle
from atelier.core.jobs import Job
from atelier.core.lyric_syllables import parse_lyric
from atelier.core.midi_file import read_tune
from atelier.core.progress import Progress
from atelier.core.requests import Result
from atelier.core.requests.melody import Melody, MelodyAudioRequest, MelodyAudioResult, MelodyRequest, MelodyResult
from atelier.core.settings import export_folder
from atelier.ui.context import AppContext
from atelier.ui.errors import show_error
from atelier.ui.widgets.document_binding import FieldBinder
from atelier.ui.widgets.document_form import DocumentForm, settings_specs
from atelier.ui.widgets.lyric_controls import UndoButtons
from atelier.ui.widgets.piano_roll import PianoRollWidget

WHOLE_SONG = "Whole song"
CHORD_LABELS = {"pad": "Pad", "piano": "Piano", "strings": "Strings", "guitar": "Guitar", "none": "None"}
HIGHLIGHT_MS = 30
TIPS = {
    "tempo": "Tempo and instrument change how the melody sounds, not its notes: they apply at once.",
    "temperature": "Higher is more adventurous, lower sticks to the likeliest notes.",
    "variations": "How many melodies to audition; pick one below.",
    "accompaniment": "What plays the chord of each bar, in Play, MIDI and WAV (shown in the roll).",
}


class MelodyWidget(QWidget):
    def __init__(
        self, context: AppContext, document: MelodyDocument | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.context = context
        self.document = document or MelodyDocument()
        self.jobs = JobDispatcher(context.queue)
        # Melody jobs (generate, regenerate line) waiting or running, with their requests. A job that is
        # not here any more (the project was replaced) is ignored when it ends.
        self._melody_jobs: dict[int, MelodyRequest] = {}
        self._melody_handle = JobHandle(self._on_melody, self._on_failure, self._on_cancelled, self._on_progress)
        self._audio: tuple[Melody, np.ndarray, int] | None = None
        self._shown_variations: tuple[Melody, ...] | None = None
        self.sound_ok, self.sound_reason = output_device()
        self.player: AudioPlayer | None = AudioPlayer() if self.sound_ok else None
        self._playing_range = (0.0, 0.0)

        self._build_controls()
        self.roll = PianoRollWidget()
        self.roll.line_clicked.connect(self._on_line_clicked)
        self.roll_area = QScrollArea()
        self.roll_area.setWidget(self.roll)
        self.roll_area.setWidgetResizable(True)
        self.roll_area.setMinimumHeight(300)
        self.roll_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self._build_transport()
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.sound_label = QLabel()
        self.sound_label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(self.controls)
        layout.addLayout(self.action_row)
        layout.addWidget(self.roll_area, 1)
        layout.addLayout(self.transport)
        layout.addWidget(self.status)
        layout.addWidget(self.sound_label)

        self.timer = QTimer(self)
        self.timer.setInterval(HIGHLIGHT_MS)
        self.timer.timeout.connect(self._follow_playback)
        context.lyric.changed.connect(self._on_lyric_changed)
        self.document.settings_changed.connect(self._show_settings)
        self.document.melody_changed.connect(self._show_melody)
        self.document.imported_changed.connect(self._update_buttons)
        self._show_settings(self.document.settings)
        self._show_melody()
        self._show_sound_status()

    # -- building ----------------------------------------------------------------------------
    def _build_controls(self) -> None:
        self.binder = FieldBinder(self.document.set, self.document.undo_stack.break_merge)
        specs, defaults = settings_specs(MelodySettings, {"accompaniment": CHORD_LABELS}, {"temperature": 0.1}, TIPS)
        form = DocumentForm(self.binder, specs, defaults, wheel_needs_focus=True)
        self.key, self.mode, self.meter = form.field("key"), form.field("mode"), form.field("meter")
        self.tempo = form.field("tempo")
        self.tempo.setSuffix(" bpm")
        self.instrument = form.combo_box()
        for program, name in enumerate(instrument_names()):
            self.instrument.addItem(f"{program}: {name}", program)
        self.binder.bind("program", self.instrument)
        self.temperature, self.seed = form.field("temperature"), form.field("seed")
        self.dice = QPushButton("New seed")
        self.dice.clicked.connect(lambda: self.seed.setValue(random.randrange(SEED_LIMIT)))
        self.variation_count, self.accompaniment = form.field("variations"), form.field("accompaniment")

        seed_row = QWidget()
        seed_layout = QHBoxLayout(seed_row)
        seed_layout.setContentsMargins(0, 0, 0, 0)
        seed_layout.addWidget(self.seed, 1)
        seed_layout.addWidget(self.dice)
        self.controls = QGridLayout()
        pairs = [
            ("Key", self.key),
            ("Mode", self.mode),
            ("Meter", self.meter),
            ("Tempo", self.tempo),
            ("Instrument", self.instrument),
            ("Temperature", self.temperature),
            ("Seed", seed_row),
            ("Variations", self.variation_count),
        ]
        for index, (label, widget) in enumerate(pairs):
            row, column = divmod(index, 4)
            self.controls.addWidget(QLabel(label), row, column * 2)
            self.controls.addWidget(widget, row, column * 2 + 1)
            self.controls.setColumnStretch(column * 2 + 1, 1)

        self.generate_button = QPushButton("Generate melody")
        self.generate_button.setToolTip("A new melody for the words; it queues behind a running job.")
        self.generate_button.clicked.connect(self.generate)
        self.regenerate_button = QPushButton("Regenerate line")
        self.regenerate_button.setToolTip("Click a line in the roll, then try another tune for it alone.")
        self.regenerate_button.clicked.connect(self.regenerate_selected_line)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Cancel the melodies being made or waiting")
        self.cancel_button.clicked.connect(self.cancel)
        self.import_button = QPushButton("Import MIDI…")
        self.import_button.setToolTip("Read a tune from a MIDI file (its melody track) to continue with Continue.")
        self.import_button.clicked.connect(self._ask_import_midi)
        self.continue_button = QPushButton("Continue")
        self.continue_button.clicked.connect(self.continue_melody)
        self.history = UndoButtons(self, self.document.undo_stack)
        self.history.take_keys_from(self.binder.widgets.values())
        self.variation_buttons = QButtonGroup(self)
        self.variation_buttons.idClicked.connect(self.choose_variation)
        self.variation_row = QHBoxLayout()
        self.variation_label = QLabel("Variation:")
        self.variation_row.addWidget(self.variation_label)
        self.action_row = QHBoxLayout()
        for widget in (
            self.generate_button,
            self.regenerate_button,
            self.import_button,
            self.continue_button,
            self.cancel_button,
        ):
            self.action_row.addWidget(widget)
        self.action_row.addSpacing(16)
        self.action_row.addWidget(self.history.undo_button)
        self.action_row.addWidget(self.history.redo_button)
        self.action_row.addSpacing(16)
        self.action_row.addLayout(self.variation_row)
        self.action_row.addStretch(1)

    def _build_transport(self) -> None:
        self.play_button = QPushButton("Play")
        self.play_button.clicked.connect(self.play)
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(self.stop)
        self.range = QComboBox()
        self.range.setToolTip("What Play plays: the whole song, a section or a line.")
        self.range.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.range.setMinimumContentsLength(18)
        self.loop = QCheckBox("Loop")
        self.export_midi_button = QPushButton("Export MIDI…")
        self.export_midi_button.clicked.connect(self._ask_export_midi)
        self.export_wav_button = QPushButton("Export WAV…")
        self.export_wav_button.clicked.connect(self._ask_export_wav)
        self.transport = QHBoxLayout()
        for widget in (self.play_button, self.stop_button, QLabel("Play:"), self.range, self.loop):
            self.transport.addWidget(widget)
        self.transport.addSpacing(16)
        self.transport.addWidget(QLabel("Chords:"))
        self.transport.addWidget(self.accompaniment)
        self.transport.addStretch(1)
        self.transport.addWidget(self.export_midi_button)
        self.transport.addWidget(self.export_wav_button)

    # -- state -------------------------------------------------------------------------------
    @property
    def melody(self) -> Melody | None:
        return self.document.melody

    @property
    def variations(self) -> tuple[Melody, ...]:
        return self.document.variations

    @property
    def current_variation(self) -> int:
        return self.document.current

    def _update_buttons(self) -> None:
        has_words = bool(parse_lyric(self.context.lyric.text))
        has_melody = self.melody is not None
        self.generate_button.setEnabled(has_words)
        self.regenerate_button.setEnabled(has_melody and self.roll.selected_line is not None)
        line = self.roll.selected_line
        self.regenerate_button.setText("Regenerate line" if line is None else f"Regenerate line {line + 1}")
        self.cancel_button.setEnabled(bool(self._melody_jobs))
        tune = self.document.imported
        self.continue_button.setEnabled(tune is not None and has_words)
        self.continue_button.setToolTip(self._continue_tip())
        playing = self.player is not None and self.player.playing
        self.play_button.setEnabled(self.sound_ok and has_melody)
        self.stop_button.setEnabled(playing)
        self.export_midi_button.setEnabled(has_melody)
        self.export_wav_button.setEnabled(has_melody)
        self.range.setEnabled(has_melody)

    def _continue_tip(self) -> str:
        tune = self.document.imported
        if tune is None:
            return "Import a MIDI file first: Continue keeps its tune for the first lines and writes the rest."
        lines = [line for section in parse_lyric(self.context.lyric.text) for line in section.lines]
        covered = tune.lines_covered(self.context.lyric.text)
        if covered == 0:
            return f"{tune.source} has fewer notes than the lyric's first line has syllables."
        if covered >= len(lines):
            return f"{tune.source} already covers every line: add lines to the lyric to continue it."
        left_out = len(tune.notes) - sum(len(line.syllables) for line in lines[:covered])
        extra = f" ({left_out} notes after line {covered} are left out)" if left_out else ""
        return (
            f"Keep the tune of {tune.source} for lines 1-{covered} and write lines {covered + 1}-{len(lines)} "
            f"in {tune.key} {tune.mode}, {tune.meter}{extra}."
        )

    def _show_sound_status(self) -> None:
        if not self.sound_ok:
            self.play_button.setToolTip(self.sound_reason)
            self.sound_label.setText(f"{self.sound_reason} You can still generate and export MIDI or WAV.")

    def _on_lyric_changed(self, text: str) -> None:
        self._update_buttons()
        if self.melody is not None and text != self.document.generated_from:
            self.status.setText("The words changed since this melody was made: generate again to follow them.")

    def _show_settings(self, settings: MelodySettings) -> None:
        self.binder.show_all(dataclasses.asdict(settings))

    def _show_melody(self) -> None:
        """Show the document's variations and chosen melody (after any change, undo or redo)."""
        self.stop()
        variations = self.document.variations
        if variations is not self._shown_variations:
            self._shown_variations = variations
            for button in self.variation_buttons.buttons():
                self.variation_buttons.removeButton(button)
                button.deleteLater()
            if len(variations) > 1:
                for index in range(len(variations)):
                    button = QPushButton(str(index + 1))
                    button.setCheckable(True)
                    button.setFixedWidth(32)
                    self.variation_buttons.addButton(button, index)
                    self.variation_row.addWidget(button)
            self.variation_label.setVisible(len(variations) > 1)
        chosen = self.variation_buttons.button(self.document.current)
        if chosen is not None:
            chosen.setChecked(True)
        melody = self.melody
        self.roll.set_melody(melody)
        playing = self.range.currentData()
        self.range.clear()
        self.range.addItem(WHOLE_SONG, None)
        if melody is not None:
            for index, (name, first, last) in enumerate(melody.sections):
                self.range.addItem(f"{name} (lines {first + 1}-{last + 1})", ("section", index))
            for index, text in enumerate(melody.lines):
                self.range.addItem(f"Line {index + 1}: {text[:32]}", ("line", index))
        self.range.setCurrentIndex(max(0, self.range.findData(playing)))
        self._update_buttons()

    def choose_variation(self, index: int) -> None:
        self.document.choose(index)

    # -- jobs --------------------------------------------------------------------------------
    def pending_jobs(self) -> list[int]:
        return self.jobs.pending()

    def generate(self) -> Job | None:
        try:
            request = self.document.to_request(self.context.lyric.text)
        except AtelierError as exc:  # InvalidRequestError says what to change
            show_error(self, exc)
            return None
        return self._submit_melody(request)

    def regenerate_selected_line(self) -> Job | None:
        line = self.roll.selected_line
        if line is None or self.melody is None:
            return None
        return self.regenerate_line(line)

    def regenerate_line(self, line: int) -> Job | None:
        try:
            request = self.document.regenerate_request(line)
        except AtelierError as exc:
            show_error(self, exc)
            return None
        return self._submit_melody(request)

    def _ask_import_midi(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Import MIDI",
            str(export_folder(self.context.settings)),
            "MIDI files (*.mid *.midi *.kar);;All files (*)",
        )
        if path:
            self.import_midi(path)

    def import_midi(self, path: str) -> bool:
        """Read the tune of a MIDI file to continue (an undo step); a file that cannot be used says why."""
        try:
            tune = read_tune(path)
        except AtelierError as exc:
            show_error(self, exc)
            return False
        self.document.import_tune(tune)
        self.status.setText(f"Imported {tune.describe()}. {self._continue_tip()}")
        return True

    def continue_melody(self) -> Job | None:
        try:
            request = self.document.continue_request(self.context.lyric.text)
        except AtelierError as exc:  # no tune, or it does not fit the lyric: says what to do
            show_error(self, exc)
            return None
        return self._submit_melody(request)

    def _submit_melody(self, request: MelodyRequest) -> Job:
        job = self.context.runner.submit(request)
        self._melody_jobs[job.id] = request
        self.jobs.watch(job, self._melody_handle)
        self._show_busy()
        return job

    def _show_busy(self, message: str = "Making the melody") -> None:
        waiting = len(self._melody_jobs) - 1
        if waiting >= 0:
            self.status.setText(f"{message}…" + (f" ({waiting} more queued)" if waiting else ""))
        self._update_buttons()

    def cancel(self) -> None:
        """Cancel every melody this tab is making or waiting for."""
        for job_id in list(self._melody_jobs):
            self.context.runner.cancel(job_id)

    def _on_progress(self, job: Job, progress: Progress) -> None:
        if job.id in self._melody_jobs and progress.message:
            self._show_busy(progress.message)

    def _on_melody(self, job: Job, result: Result) -> None:
        if job.cancel_token.cancelled:  # asked to stop (Cancel, the Jobs dock) but it finished first
            self._on_cancelled(job)
            return
        request = self._melody_jobs.pop(job.id, None)
        if request is None or not isinstance(result, MelodyResult):
            return
        self.document.add_result(request, result)
        if request.regenerate_line >= 0:
            self.roll.set_selected_line(request.regenerate_line)
            self.status.setText(f"Line {request.regenerate_line + 1} has a new tune. {result.device.describe()}.")
        elif request.continue_from is not None:
            kept, lines = len(request.continue_from.lines), len(result.variations[0].lines)
            source = self.document.imported.source if self.document.imported else "the imported tune"
            self.status.setText(
                f"Lines 1-{kept} are the tune of {source}; lines {kept + 1}-{lines} are new. "
                f"{result.device.describe()}."
            )
        else:
            self.status.setText(f"{result.summary()}. {result.device.describe()}.")
        self._show_busy()

    def _on_failure(self, job: Job, error: AtelierError) -> None:
        if self._melody_jobs.pop(job.id, None) is None:
            return
        self.status.setText("")
        self._update_buttons()
        show_error(self, error)

    def _on_cancelled(self, job: Job) -> None:
        if self._melody_jobs.pop(job.id, None) is None:
            return
        self.status.setText("Cancelled; the melody shown is unchanged.")
        self._show_busy()

    def _on_line_clicked(self, line: int) -> None:
        self._update_buttons()
        position = self.range.findData(("line", line))
        if position >= 0 and self.loop.isChecked():
            self.range.setCurrentIndex(position)

    # -- sound -------------------------------------------------------------------------------
    def _render(self, then: Callable[[], None]) -> None:
        melody = self.melody
        if melody is None:
            return
        if self._audio is not None and self._audio[0] is melody:
            then()
            return

        def store(job: Job, result: Result) -> None:
            if job.cancel_token.cancelled:  # cancelled from the Jobs dock but it finished first: play nothing
                return
            if isinstance(result, MelodyAudioResult) and result.melody is not None and result.melody is self.melody:
                self._audio = (result.melody, result.audio, result.sample_rate)
                then()

        request = MelodyAudioRequest(melody=melody, origin="melody")
        self.jobs.watch(self.context.runner.submit(request), JobHandle(store, lambda _job, e: show_error(self, e)))

    def play_range(self) -> tuple[float, float]:
        """Seconds (start, end) of what the Play range selects."""
        melody = self.melody
        if melody is None:
            return 0.0, 0.0
        choice = self.range.currentData()
        spq = melody.seconds_per_quarter
        if choice is None:
            return 0.0, melody.duration_seconds + 1.0  # let the last note ring
        kind, index = choice
        start, end = melody.section_span(index) if kind == "section" else melody.line_spans[index]
        return start * spq, end * spq

    def play(self) -> None:
        if self.player is None or self.melody is None:
            return
        self._render(self._start_playback)

    def _start_playback(self) -> None:
        if self.player is None or self._audio is None:
            return
        _, audio, rate = self._audio
        start, end = self.play_range()
        self._playing_range = (start, end)
        try:
            self.player.play(audio, rate, start, end, loop=self.loop.isChecked())
        except Exception as exc:  # PortAudio errors: the device vanished or is busy
            show_error(self, f"Could not play the melody: {exc}")
            return
        self.timer.start()
        self._update_buttons()

    def stop(self) -> None:
        if self.player is not None:
            self.player.stop()
        self.timer.stop()
        self.roll.set_current(None)
        self._update_buttons()

    def _follow_playback(self) -> None:
        melody = self.melody
        if self.player is None or melody is None or not self.player.playing:
            self.stop()
            return
        index = melody.note_at(self.player.position_seconds)
        self.roll.set_current(index)
        if index is not None:
            rect = self.roll.note_rect(index)
            self.roll_area.ensureVisible(int(rect.center().x()), int(rect.center().y()), 120, 40)

    # -- export ------------------------------------------------------------------------------
    def _ask_export_midi(self) -> None:
        from atelier.ui.dialogs.export_choice import ask_export_path

        suggested = str(export_folder(self.context.settings) / "melody.mid")
        answer = ask_export_path(self, "Export MIDI", suggested, [("MIDI files", "*.mid")])
        if answer:
            self.export_midi(str(answer[0]), answer[1])

    def _ask_export_wav(self) -> None:
        from atelier.ui.dialogs.export_choice import ask_export_path

        suggested = str(export_folder(self.context.settings) / "melody.wav")
        answer = ask_export_path(self, "Export WAV", suggested, [("WAV files", "*.wav")])
        if answer:
            self.export_wav(str(answer[0]), answer[1])

    def _record(self) -> dict[str, Any]:
        """What made the shown melody, for its files: Atelier, the melody pack, the seed, the settings."""
        from atelier.core.midi_file import melody_record

        assert self.melody is not None
        pack = getattr(self.document.settings, "pack", "")
        tune = self.document.imported
        extra: dict[str, Any] = {"pack_id": pack} if pack else {}
        if tune is not None:
            extra["continued_from"] = tune.describe()  # the tune's file name only, never its folder
        return melody_record(self.melody, extra)

    def export_midi(self, path: str, metadata: bool = True) -> None:
        """Write the shown melody; with `metadata`, a track name and Text events say what made it."""
        if self.melody is None:
            return
        try:
            write_midi(self.melody, path, self._record() if metadata else None, metadata=metadata)
        except Exception as exc:
            show_error(self, exc)
            return
        chords = " and a chord track" if self.melody.chords and self.melody.chord_program >= 0 else ""
        self.status.setText(f"Saved {path} (notes, a lyric event per syllable{chords}, tempo and key).")

    def export_wav(self, path: str, metadata: bool = True) -> None:
        """Render and write the shown melody; with `metadata`, a LIST/INFO chunk says what made it."""

        def write() -> None:
            assert self._audio is not None
            _, audio, rate = self._audio
            try:
                write_wav(path, audio, rate, self._record() if metadata and self.melody is not None else None)
            except Exception as exc:
                show_error(self, exc)
                return
            self.status.setText(f"Saved {path}.")

        self._render(write)

    # -- session -----------------------------------------------------------------------------
    def save_state(self) -> dict[str, Any]:
        return self.document.to_dict()

    def restore_state(self, state: Any) -> None:
        """Replace the melody with a saved one (any schema); jobs still running for the old one are dropped."""
        self.cancel()
        self._melody_jobs.clear()
        self._audio = None
        self.document.restore(state)
        self.status.setText("")
        self._update_buttons()

    def recall(self, request: MelodyRequest) -> None:
        """Put a past job's settings back (one undo step)."""
        self.document.apply_request(request)

    def close_widget(self) -> None:
        """Stop sound, timers and jobs and disconnect from shared objects (the embedding panel calls this)."""
        self.cancel()
        self.timer.stop()
        if self.player is not None:
            self.player.close()
        self.context.lyric.changed.disconnect(self._on_lyric_changed)
        self.document.settings_changed.disconnect(self._show_settings)
        self.document.melody_changed.disconnect(self._show_melody)
        self.document.imported_changed.disconnect(self._update_buttons)
        self.history.close()
        self.jobs.close()
        self._melody_jobs.clear()
