"""Controls for writing with the language model: mode and its options, sampling, and the model."""

from __future__ import annotations

import random
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from atelier.core.requests.lyrics import (
    BRAINSTORM_KINDS,
    FORM_LINES,
    MODES,
    POEM_FORMS,
    POINTS_OF_VIEW,
    RHYME_SCHEMES,
    LyricRequest,
)

MODE_LABELS = {
    "song": "Song lyric",
    "poem": "Poem",
    "brainstorm": "Brainstorm",
    "continue": "Continue from the cursor",
    "rewrite": "Rewrite the current line",
}
BUILT_IN_PACK = "smollm2-135m-instruct"


def _spin(low: int, high: int, value: int) -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setValue(value)
    return box


def _dspin(low: float, high: float, value: float, step: float) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(low, high)
    box.setSingleStep(step)
    box.setDecimals(2)
    box.setValue(value)
    return box


class LyricControlsWidget(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)

        write = QGroupBox("Write with the model")
        form = QFormLayout(write)
        self.mode = QComboBox()
        for mode in MODES:
            self.mode.addItem(MODE_LABELS[mode], mode)
        self.prompt = QLineEdit()
        self.prompt.setPlaceholderText("Theme or idea, e.g. rain on a city window")
        form.addRow("Mode", self.mode)
        form.addRow("Theme", self.prompt)

        self.pages = QStackedWidget()
        # song
        song = QWidget()
        song_form = QFormLayout(song)
        song_form.setContentsMargins(0, 0, 0, 0)
        self.sections = QLineEdit("Verse, Chorus, Verse, Chorus")
        self.sections.setToolTip("Sections in order: Intro, Verse, Pre-Chorus, Chorus, Bridge, Outro")
        self.lines_per_section = _spin(1, 16, 4)
        self.mood = QLineEdit()
        self.mood.setPlaceholderText("e.g. bittersweet, hopeful")
        self.pov = QComboBox()
        for pov in POINTS_OF_VIEW:
            self.pov.addItem(pov or "any", pov)
        self.rhyme_scheme = QComboBox()
        self.rhyme_scheme.addItems(RHYME_SCHEMES)
        song_form.addRow("Sections", self.sections)
        song_form.addRow("Lines each", self.lines_per_section)
        song_form.addRow("Mood", self.mood)
        song_form.addRow("Point of view", self.pov)
        song_form.addRow("Rhyme scheme", self.rhyme_scheme)
        # poem
        poem = QWidget()
        poem_form = QFormLayout(poem)
        poem_form.setContentsMargins(0, 0, 0, 0)
        self.form = QComboBox()
        self.form.addItems(POEM_FORMS)
        self.poem_lines = _spin(1, 40, 8)
        poem_form.addRow("Form", self.form)
        poem_form.addRow("Lines", self.poem_lines)
        self.form.currentTextChanged.connect(self._on_form_changed)
        # brainstorm
        brainstorm = QWidget()
        brainstorm_form = QFormLayout(brainstorm)
        brainstorm_form.setContentsMargins(0, 0, 0, 0)
        self.brainstorm_kind = QComboBox()
        self.brainstorm_kind.addItems(BRAINSTORM_KINDS)
        self.brainstorm_count = _spin(1, 20, 6)
        brainstorm_form.addRow("Ideas for", self.brainstorm_kind)
        brainstorm_form.addRow("How many", self.brainstorm_count)
        # continue
        cont = QWidget()
        cont_form = QFormLayout(cont)
        cont_form.setContentsMargins(0, 0, 0, 0)
        self.continue_lines = _spin(1, 16, 4)
        cont_form.addRow("New lines", self.continue_lines)
        # rewrite
        rewrite = QWidget()
        rewrite_form = QFormLayout(rewrite)
        rewrite_form.setContentsMargins(0, 0, 0, 0)
        self.alternatives = _spin(1, 10, 3)
        rewrite_form.addRow("Alternatives", self.alternatives)
        for page in (song, poem, brainstorm, cont, rewrite):
            self.pages.addWidget(page)
        form.addRow(self.pages)
        self.mode.currentIndexChanged.connect(self.pages.setCurrentIndex)

        self.pack = QComboBox()
        self.pack.setToolTip("Language model packs found (any onnxruntime-genai folder in a models folder)")
        form.addRow("Model", self.pack)
        layout.addWidget(write)

        sampling = QGroupBox("Sampling")
        sampling_form = QFormLayout(sampling)
        self.temperature = _dspin(0.0, 2.0, 0.8, 0.05)
        self.top_p = _dspin(0.05, 1.0, 0.92, 0.01)
        self.top_k = _spin(0, 1000, 40)
        self.top_k.setToolTip("0 turns top-k off")
        self.repetition_penalty = _dspin(1.0, 2.0, 1.1, 0.05)
        self.max_tokens = _spin(8, 4096, 256)
        seed_row = QHBoxLayout()
        self.seed = _spin(0, 2**31 - 1, 7)
        self.seed.setToolTip("The same seed and settings give the same text")
        self.new_seed = QPushButton("New seed")
        self.new_seed.clicked.connect(lambda: self.seed.setValue(random.randrange(2**31 - 1)))
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(self.new_seed)
        sampling_form.addRow("Temperature", self.temperature)
        sampling_form.addRow("Top-p", self.top_p)
        sampling_form.addRow("Top-k", self.top_k)
        sampling_form.addRow("Repetition penalty", self.repetition_penalty)
        sampling_form.addRow("Max tokens", self.max_tokens)
        sampling_form.addRow("Seed", seed_row)
        layout.addWidget(sampling)
        self._on_form_changed(self.form.currentText())

    def _on_form_changed(self, form: str) -> None:
        fixed = FORM_LINES.get(form)
        self.poem_lines.setEnabled(fixed is None)
        if fixed is not None:
            self.poem_lines.setValue(fixed)

    def set_packs(self, packs: list[dict[str, str]]) -> None:
        current = self.pack.currentData() or BUILT_IN_PACK
        self.pack.clear()
        self.pack.addItem("SmolLM2 135M (built in)", BUILT_IN_PACK)
        for pack in packs:
            if pack.get("kind") == "llm" and pack["id"] != BUILT_IN_PACK:
                self.pack.addItem(pack.get("name") or pack["id"], pack["id"])
        index = self.pack.findData(current)
        self.pack.setCurrentIndex(max(0, index))

    def current_mode(self) -> str:
        return str(self.mode.currentData())

    def build_request(self, before_cursor: str, current_line: str, whole_text: str) -> LyricRequest:
        """The request for the current controls; raises InvalidRequestError with what to fix."""
        mode = self.current_mode()
        sections = tuple(s.strip() for s in self.sections.text().split(",") if s.strip())
        lines = {"poem": self.poem_lines, "brainstorm": self.brainstorm_count}.get(mode, self.continue_lines)
        return LyricRequest(
            prompt=self.prompt.text().strip(),
            mode=mode,
            sections=sections,
            lines_per_section=self.lines_per_section.value(),
            mood=self.mood.text().strip(),
            point_of_view=str(self.pov.currentData()),
            rhyme_scheme=self.rhyme_scheme.currentText(),
            form=self.form.currentText(),
            lines=lines.value(),
            brainstorm_kind=self.brainstorm_kind.currentText(),
            context=before_cursor if mode == "continue" else (whole_text if mode == "rewrite" else ""),
            line=current_line if mode == "rewrite" else "",
            alternatives=self.alternatives.value(),
            temperature=self.temperature.value(),
            top_p=self.top_p.value(),
            top_k=self.top_k.value(),
            repetition_penalty=self.repetition_penalty.value(),
            max_tokens=self.max_tokens.value(),
            seed=self.seed.value(),
            pack_id=str(self.pack.currentData() or ""),
            origin="lyric",
        )

    # -- session -----------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {
            "mode": self.current_mode(),
            "prompt": self.prompt.text(),
            "sections": self.sections.text(),
            "lines_per_section": self.lines_per_section.value(),
            "mood": self.mood.text(),
            "pov": self.pov.currentData(),
            "rhyme_scheme": self.rhyme_scheme.currentText(),
            "form": self.form.currentText(),
            "poem_lines": self.poem_lines.value(),
            "brainstorm_kind": self.brainstorm_kind.currentText(),
            "brainstorm_count": self.brainstorm_count.value(),
            "continue_lines": self.continue_lines.value(),
            "alternatives": self.alternatives.value(),
            "temperature": self.temperature.value(),
            "top_p": self.top_p.value(),
            "top_k": self.top_k.value(),
            "repetition_penalty": self.repetition_penalty.value(),
            "max_tokens": self.max_tokens.value(),
            "seed": self.seed.value(),
            "pack": self.pack.currentData(),
        }

    def restore(self, state: dict[str, Any]) -> None:
        def combo(box: QComboBox, value: Any, by_data: bool = False) -> None:
            index = box.findData(value) if by_data else box.findText(str(value))
            if index >= 0:
                box.setCurrentIndex(index)

        if "mode" in state:
            combo(self.mode, state["mode"], by_data=True)
        for name, box in (("prompt", self.prompt), ("sections", self.sections), ("mood", self.mood)):
            if isinstance(state.get(name), str):
                box.setText(state[name])
        combo(self.pov, state.get("pov"), by_data=True)
        for name, choice in (
            ("rhyme_scheme", self.rhyme_scheme),
            ("form", self.form),
            ("brainstorm_kind", self.brainstorm_kind),
        ):
            if name in state:
                combo(choice, state[name])
        spins: dict[str, QSpinBox | QDoubleSpinBox] = {
            "lines_per_section": self.lines_per_section,
            "poem_lines": self.poem_lines,
            "brainstorm_count": self.brainstorm_count,
            "continue_lines": self.continue_lines,
            "alternatives": self.alternatives,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "top_k": self.top_k,
            "repetition_penalty": self.repetition_penalty,
            "max_tokens": self.max_tokens,
            "seed": self.seed,
        }
        for name, spin in spins.items():
            value = state.get(name)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                spin.setValue(value)  # type: ignore[arg-type]
        if state.get("pack"):
            combo(self.pack, state["pack"], by_data=True)

    def recall(self, request: LyricRequest) -> None:
        """Put a past job's parameters back (History > Recall settings)."""
        self.restore(
            {
                "mode": request.mode,
                "prompt": request.prompt,
                "sections": ", ".join(request.sections),
                "lines_per_section": request.lines_per_section,
                "mood": request.mood,
                "pov": request.point_of_view,
                "rhyme_scheme": request.rhyme_scheme,
                "form": request.form,
                "poem_lines": request.lines,
                "brainstorm_kind": request.brainstorm_kind,
                "brainstorm_count": request.lines,
                "continue_lines": request.lines,
                "alternatives": request.alternatives,
                "temperature": request.temperature,
                "top_p": request.top_p,
                "top_k": request.top_k,
                "repetition_penalty": request.repetition_penalty,
                "max_tokens": request.max_tokens,
                "seed": request.seed,
                "pack": request.pack_id,
            }
        )
