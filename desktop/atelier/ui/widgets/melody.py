"""Melody for the lyric: controls, variations, a piano roll with the words, play/loop and export.

Self-contained so the Lyric panel can embed it: it reads the words from the shared
LyricDocument, submits MelodyRequest / MelodyAudioRequest jobs through the AppContext's runner,
and plays the rendered audio with sounddevice. Without an audio device Play is disabled and
says why; generating and exporting still work.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from atelier.audio.midi import instrument_names, write_midi
from atelier.audio.player import AudioPlayer, output_device
from atelier.audio.wav import write_wav
from atelier.core.jobs import Job, JobState
from atelier.core.lyric_syllables import parse_lyric
from atelier.core.music import KEYS, METERS, MODES
from atelier.core.requests import Request, Result
from atelier.core.requests.melody import (
    MAX_VARIATIONS,
    Melody,
    MelodyAudioRequest,
    MelodyAudioResult,
    MelodyRequest,
    MelodyResult,
)
from atelier.ui.context import AppContext
from atelier.ui.errors import show_error
from atelier.ui.widgets.piano_roll import PianoRollWidget

WHOLE_SONG = "Whole song"
HIGHLIGHT_MS = 30


class MelodyWidget(QWidget):
    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.variations: tuple[Melody, ...] = ()
        self.current_variation = 0
        self._generated_from = ""
        self._audio: tuple[Melody, np.ndarray, int] | None = None
        self._callbacks: dict[int, tuple[Callable[[Any], None], Callable[[str], None] | None]] = {}
        self._play_after_render = False
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
        context.queue.job_changed.connect(self._on_job_changed)
        self._on_lyric_changed(context.lyric.text)
        self._update_buttons()
        self._show_sound_status()

    # -- building ----------------------------------------------------------------------------
    def _build_controls(self) -> None:
        self.key = QComboBox()
        self.key.addItems(KEYS)
        self.mode = QComboBox()
        self.mode.addItems(MODES)
        self.meter = QComboBox()
        self.meter.addItems(METERS[:4])
        self.tempo = QSpinBox()
        self.tempo.setRange(40, 240)
        self.tempo.setValue(96)
        self.tempo.setSuffix(" bpm")
        self.instrument = QComboBox()
        for program, name in enumerate(instrument_names()):
            self.instrument.addItem(f"{program}: {name}", program)
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.1, 2.0)
        self.temperature.setSingleStep(0.1)
        self.temperature.setValue(0.9)
        self.temperature.setToolTip("Higher is more adventurous, lower sticks to the likeliest notes.")
        self.seed = QSpinBox()
        self.seed.setRange(0, 999_999)
        self.dice = QPushButton("New seed")
        self.dice.clicked.connect(lambda: self.seed.setValue(random.randint(0, 999_999)))
        self.variation_count = QSpinBox()
        self.variation_count.setRange(1, MAX_VARIATIONS)
        self.variation_count.setToolTip("How many melodies to audition; pick one below.")
        # Tempo and instrument change how the melody sounds, not its notes: apply them at once.
        self.tempo.valueChanged.connect(self._apply_sound_settings)
        self.instrument.currentIndexChanged.connect(self._apply_sound_settings)

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
        self.generate_button.clicked.connect(self.generate)
        self.regenerate_button = QPushButton("Regenerate line")
        self.regenerate_button.setToolTip("Click a line in the roll, then try another tune for it alone.")
        self.regenerate_button.clicked.connect(self.regenerate_selected_line)
        self.variation_buttons = QButtonGroup(self)
        self.variation_buttons.idClicked.connect(self.choose_variation)
        self.variation_row = QHBoxLayout()
        self.variation_label = QLabel("Variation:")
        self.variation_row.addWidget(self.variation_label)
        self.action_row = QHBoxLayout()
        self.action_row.addWidget(self.generate_button)
        self.action_row.addWidget(self.regenerate_button)
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
        self.transport.addStretch(1)
        self.transport.addWidget(self.export_midi_button)
        self.transport.addWidget(self.export_wav_button)

    # -- state -------------------------------------------------------------------------------
    @property
    def melody(self) -> Melody | None:
        if not self.variations:
            return None
        return self.variations[self.current_variation]

    def _update_buttons(self) -> None:
        has_words = bool(parse_lyric(self.context.lyric.text))
        has_melody = self.melody is not None
        self.generate_button.setEnabled(has_words)
        self.regenerate_button.setEnabled(has_melody and self.roll.selected_line is not None)
        line = self.roll.selected_line
        self.regenerate_button.setText("Regenerate line" if line is None else f"Regenerate line {line + 1}")
        playing = self.player is not None and self.player.playing
        self.play_button.setEnabled(self.sound_ok and has_melody)
        self.stop_button.setEnabled(playing)
        self.export_midi_button.setEnabled(has_melody)
        self.export_wav_button.setEnabled(has_melody)
        self.range.setEnabled(has_melody)

    def _show_sound_status(self) -> None:
        if not self.sound_ok:
            self.play_button.setToolTip(self.sound_reason)
            self.sound_label.setText(f"{self.sound_reason} You can still generate and export MIDI or WAV.")

    def _on_lyric_changed(self, text: str) -> None:
        self._update_buttons()
        if self.melody is not None and text != self._generated_from:
            self.status.setText("The words changed since this melody was made: generate again to follow them.")

    def _set_variations(self, variations: tuple[Melody, ...], keep_index: int = 0) -> None:
        self.stop()
        self.variations = variations
        self.current_variation = min(keep_index, max(0, len(variations) - 1))
        self._audio = None
        for button in self.variation_buttons.buttons():
            self.variation_buttons.removeButton(button)
            button.deleteLater()
        if len(variations) > 1:
            for index in range(len(variations)):
                button = QPushButton(str(index + 1))
                button.setCheckable(True)
                button.setFixedWidth(32)
                button.setChecked(index == self.current_variation)
                self.variation_buttons.addButton(button, index)
                self.variation_row.addWidget(button)
        self.variation_label.setVisible(len(variations) > 1)
        self._show_melody()

    def choose_variation(self, index: int) -> None:
        if 0 <= index < len(self.variations) and index != self.current_variation:
            self.stop()
            self.current_variation = index
            self._audio = None
            button = self.variation_buttons.button(index)
            if button is not None:
                button.setChecked(True)
            self._show_melody()

    def _show_melody(self) -> None:
        melody = self.melody
        self.roll.set_melody(melody)
        self.range.clear()
        self.range.addItem(WHOLE_SONG, None)
        if melody is not None:
            for index, (name, first, last) in enumerate(melody.sections):
                self.range.addItem(f"{name} (lines {first + 1}-{last + 1})", ("section", index))
            for index, text in enumerate(melody.lines):
                self.range.addItem(f"Line {index + 1}: {text[:32]}", ("line", index))
        self._update_buttons()

    def _apply_sound_settings(self) -> None:
        if not self.variations:
            return
        tempo, program = float(self.tempo.value()), int(self.instrument.currentData() or 0)
        self.stop()
        self.variations = tuple(dataclasses.replace(m, tempo=tempo, program=program) for m in self.variations)
        self._audio = None
        self.roll.set_melody(self.melody)

    # -- jobs --------------------------------------------------------------------------------
    def _submit(
        self,
        request: Request,
        on_result: Callable[[Any], None],
        on_error: Callable[[str], None] | None = None,
    ) -> Job:
        job = self.context.runner.submit(request)
        self._callbacks[job.id] = (on_result, on_error)
        return job

    def _on_job_changed(self, job: Job) -> None:
        callbacks = self._callbacks.get(job.id)
        if callbacks is None:
            return
        on_result, on_error = callbacks
        if job.state is JobState.RUNNING and job.progress is not None and job.progress.message:
            self.status.setText(job.progress.message + "…")
        elif job.state is JobState.FINISHED and job.result is not None:
            del self._callbacks[job.id]
            on_result(job.result)
        elif job.state is JobState.FAILED:
            del self._callbacks[job.id]
            self.status.setText("")
            (on_error or (lambda message: show_error(self, message)))(job.error)
        elif job.state is JobState.CANCELLED:
            del self._callbacks[job.id]

    def pending_jobs(self) -> list[int]:
        return list(self._callbacks)

    def request_from_controls(self, **changes: Any) -> MelodyRequest:
        values: dict[str, Any] = {
            "lyrics": self.context.lyric.text,
            "key": self.key.currentText(),
            "mode": self.mode.currentText(),
            "meter": self.meter.currentText(),
            "tempo": float(self.tempo.value()),
            "program": int(self.instrument.currentData() or 0),
            "temperature": round(float(self.temperature.value()), 3),
            "seed": int(self.seed.value()),
            "variations": int(self.variation_count.value()),
            "origin": "melody",
        }
        values.update(changes)
        return MelodyRequest(**values)

    def generate(self) -> Job | None:
        try:
            request = self.request_from_controls()
        except Exception as exc:  # InvalidRequestError says what to change
            show_error(self, exc)
            return None
        self._generated_from = request.lyrics
        self.generate_button.setEnabled(False)
        return self._submit(request, self._on_melody)

    def _on_melody(self, result: Result) -> None:
        assert isinstance(result, MelodyResult)
        self._set_variations(result.variations)
        self.status.setText(f"{result.summary()}. {result.device.describe()}.")

    def regenerate_selected_line(self) -> Job | None:
        line = self.roll.selected_line
        if line is None or self.melody is None:
            return None
        return self.regenerate_line(line)

    def regenerate_line(self, line: int) -> Job | None:
        base = self.melody
        if base is None:
            return None
        # A new seed each time, so pressing again gives another tune for the line.
        self.seed.setValue((self.seed.value() + 1) % 1_000_000)
        request = self.request_from_controls(
            lyrics="\n".join(base.lines),
            key=base.key,
            mode=base.mode,
            meter=base.meter,
            tempo=base.tempo,
            program=base.program,
            variations=1,
            regenerate_line=line,
            base=base,
        )
        index = self.current_variation

        def replace_current(result: Result) -> None:
            assert isinstance(result, MelodyResult)
            variations = list(self.variations)
            if index < len(variations):
                variations[index] = result.variations[0]
            self._set_variations(tuple(variations), keep_index=index)
            self.roll.set_selected_line(line)
            self._update_buttons()
            self.status.setText(f"Line {line + 1} has a new tune. {result.device.describe()}.")

        return self._submit(request, replace_current)

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

        def store(result: Result) -> None:
            assert isinstance(result, MelodyAudioResult)
            if result.melody is not None and result.melody is self.melody:
                self._audio = (result.melody, result.audio, result.sample_rate)
                then()

        self._submit(MelodyAudioRequest(melody=melody, origin="melody"), store)

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
    def _default_folder(self) -> str:
        return self.context.settings.output_folder or str(Path.home())

    def _ask_export_midi(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export MIDI", str(Path(self._default_folder()) / "melody.mid"), "MIDI files (*.mid)"
        )
        if path:
            self.export_midi(path)

    def _ask_export_wav(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export WAV", str(Path(self._default_folder()) / "melody.wav"), "WAV files (*.wav)"
        )
        if path:
            self.export_wav(path)

    def export_midi(self, path: str) -> None:
        if self.melody is None:
            return
        try:
            write_midi(self.melody, path)
        except Exception as exc:
            show_error(self, exc)
            return
        self.status.setText(f"Saved {path} (notes, a lyric event per syllable, tempo and key).")

    def export_wav(self, path: str) -> None:
        def write() -> None:
            assert self._audio is not None
            _, audio, rate = self._audio
            try:
                write_wav(path, audio, rate)
            except Exception as exc:
                show_error(self, exc)
                return
            self.status.setText(f"Saved {path}.")

        self._render(write)

    # -- session -----------------------------------------------------------------------------
    def save_state(self) -> dict[str, Any]:
        return {
            "key": self.key.currentText(),
            "mode": self.mode.currentText(),
            "meter": self.meter.currentText(),
            "tempo": self.tempo.value(),
            "program": self.instrument.currentData(),
            "temperature": self.temperature.value(),
            "seed": self.seed.value(),
            "variations": self.variation_count.value(),
            "melodies": [m.to_dict() for m in self.variations],
            "current": self.current_variation,
            "generated_from": self._generated_from,
        }

    def restore_state(self, state: dict[str, Any]) -> None:
        for combo, name in ((self.key, "key"), (self.mode, "mode"), (self.meter, "meter")):
            index = combo.findText(str(state.get(name, "")))
            if index >= 0:
                combo.setCurrentIndex(index)
        self.tempo.setValue(int(state.get("tempo", self.tempo.value())))
        index = self.instrument.findData(state.get("program", 0))
        if index >= 0:
            self.instrument.setCurrentIndex(index)
        self.temperature.setValue(float(state.get("temperature", self.temperature.value())))
        self.seed.setValue(int(state.get("seed", 0)))
        self.variation_count.setValue(int(state.get("variations", 1)))
        self._generated_from = str(state.get("generated_from", ""))
        try:
            melodies = tuple(Melody.from_dict(m) for m in state.get("melodies", []))
        except Exception:
            melodies = ()  # a damaged saved melody is dropped, never fatal
        self._set_variations(melodies, keep_index=int(state.get("current", 0)))

    def recall(self, request: MelodyRequest) -> None:
        """Put a finished job's parameters back into the controls (History: Recall settings)."""
        self.restore_state(
            {
                "key": request.key,
                "mode": request.mode,
                "meter": request.meter,
                "tempo": request.tempo,
                "program": request.program,
                "temperature": request.temperature,
                "seed": request.seed,
                "variations": request.variations,
                "melodies": [m.to_dict() for m in self.variations],
                "current": self.current_variation,
                "generated_from": self._generated_from,
            }
        )

    def close_widget(self) -> None:
        """Stop sound and timers and disconnect from shared objects (the embedding panel calls this)."""
        self.timer.stop()
        if self.player is not None:
            self.player.close()
        self.context.lyric.changed.disconnect(self._on_lyric_changed)
        self.context.queue.job_changed.disconnect(self._on_job_changed)
        self._callbacks.clear()
