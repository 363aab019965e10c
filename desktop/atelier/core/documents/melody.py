"""The melody tab's document: its settings, the variations of the last melody and which one is chosen,
and a tune imported from a MIDI file to continue.

Generating, Regenerate line, importing a tune, Continue, choosing a variation and every settings change
are undoable steps.
Each step swaps one frozen `MelodyState` for another, so undo gives back exactly what was there.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from psygnal import Signal

from atelier.core.documents.lyric import SEED_LIMIT, label_of, option, settings_from
from atelier.core.errors import InvalidRequestError
from atelier.core.music import ACCOMPANIMENTS, KEYS, METERS, MODES
from atelier.core.requests.melody import MAX_VARIATIONS, ImportedTune, Melody, MelodyRequest, MelodyResult
from atelier.core.undo import Command, UndoStack

SCHEMA = 2


@dataclass(frozen=True)
class MelodySettings:
    """Everything the melody controls hold; the one list of these fields. Tempo, instrument and what plays
    the chords change how a melody sounds, not its notes, so every variation always has these ones (they
    apply at once)."""

    key: str = option("C", "Key", KEYS)
    mode: str = option("major", "Mode", MODES)
    meter: str = option("4/4", "Meter", METERS)
    tempo: int = option(96, "Tempo", minimum=30, maximum=260)
    program: int = option(0, "Instrument", minimum=0, maximum=127)
    temperature: float = option(0.9, "Temperature", minimum=0.05, maximum=2.0)
    seed: int = option(0, "Seed", minimum=0, maximum=SEED_LIMIT - 1)
    variations: int = option(1, "Variations", minimum=1, maximum=MAX_VARIATIONS)
    accompaniment: str = option("pad", "Chords", tuple(ACCOMPANIMENTS))


@dataclass(frozen=True)
class MelodyState:
    settings: MelodySettings = MelodySettings()
    variations: tuple[Melody, ...] = ()
    current: int = 0
    generated_from: str = ""  # the lyric text the melody was made for (to say when the words changed)
    imported: ImportedTune | None = None  # a tune read from a MIDI file, to continue

    @property
    def nbytes(self) -> int:
        return sum(64 * len(m.notes) for m in self.variations)


class MelodyDocument:
    settings_changed = Signal(object)  # the new MelodySettings
    melody_changed = Signal()  # the variations or the chosen one changed
    imported_changed = Signal()  # a tune to continue was imported (or that was undone)

    def __init__(self) -> None:
        self._state = MelodyState()
        self.undo_stack = UndoStack()

    # -- what is there -----------------------------------------------------------------------
    @property
    def settings(self) -> MelodySettings:
        return self._state.settings

    @property
    def variations(self) -> tuple[Melody, ...]:
        return self._state.variations

    @property
    def current(self) -> int:
        return self._state.current

    @property
    def melody(self) -> Melody | None:
        return self._state.variations[self._state.current] if self._state.variations else None

    @property
    def generated_from(self) -> str:
        return self._state.generated_from

    @property
    def imported(self) -> ImportedTune | None:
        return self._state.imported

    # -- changes -----------------------------------------------------------------------------
    def _push(self, new: MelodyState, text: str, merge_key: str = "") -> None:
        old = self._state
        if new != old:
            command = Command(text, lambda: self._show(new), lambda: self._show(old), new.nbytes, merge_key)
            self.undo_stack.push(command)

    def _show(self, state: MelodyState) -> None:
        old, self._state = self._state, state
        if state.settings != old.settings:
            self.settings_changed.emit(state.settings)
        if state.variations is not old.variations or state.current != old.current:
            self.melody_changed.emit()
        if state.imported is not old.imported:
            self.imported_changed.emit()

    def _with_settings(self, settings: MelodySettings) -> MelodyState:
        return dataclasses.replace(self._state, settings=settings, variations=_sounding(self.variations, settings))

    def set(self, name: str, value: Any) -> None:
        """Change one setting (one undo step; repeated edits of one field merge)."""
        settings = settings_from(MelodySettings, {name: value}, self.settings)
        self._push(self._with_settings(settings), f"Change {label_of(MelodySettings, name)}", f"melody.{name}")

    def choose(self, index: int) -> None:
        if 0 <= index < len(self.variations):
            self._push(dataclasses.replace(self._state, current=index), f"Choose variation {index + 1}")

    def to_request(self, lyrics: str, **changes: Any) -> MelodyRequest:
        """The request for the current settings; raises InvalidRequestError with what to fix."""
        values = {**dataclasses.asdict(self.settings), "tempo": float(self.settings.tempo)}
        return MelodyRequest(lyrics=lyrics, origin="melody", **{**values, **changes})

    def regenerate_request(self, line: int) -> MelodyRequest:
        """A request for another tune for one line of the chosen melody. It takes a new seed first (an
        undoable step of its own), so pressing again, even while one is queued, gives another tune."""
        base = self.melody
        if base is None:
            raise InvalidRequestError("To regenerate one line, generate a melody first.")
        self.set("seed", (self.settings.seed + 1) % SEED_LIMIT)
        return self.to_request(
            "\n".join(base.lines),
            key=base.key,
            mode=base.mode,
            meter=base.meter,
            tempo=base.tempo,
            program=base.program,
            variations=1,
            regenerate_line=line,
            base=base,
        )

    def import_tune(self, tune: ImportedTune) -> None:
        """Keep a tune read from a MIDI file to continue (one undo step); the key, mode, meter and tempo
        controls take the tune's, which a continuation keeps."""
        settings = settings_from(
            MelodySettings,
            {"key": tune.key, "mode": tune.mode, "meter": tune.meter, "tempo": round(tune.tempo)},
            self.settings,
        )
        self._push(dataclasses.replace(self._with_settings(settings), imported=tune), f"Import {tune.source}")

    def continue_request(self, lyrics: str) -> MelodyRequest:
        """A request that keeps the imported tune for the lyric's first lines and writes the rest, in the
        tune's key, mode and meter; raises InvalidRequestError with what to do."""
        tune = self.imported
        if tune is None:
            raise InvalidRequestError("Import a MIDI file first (Import MIDI…), then Continue goes on from its tune.")
        return self.to_request(
            lyrics, key=tune.key, mode=tune.mode, meter=tune.meter, continue_from=tune.prefix(lyrics)
        )

    def add_result(self, request: MelodyRequest, result: MelodyResult) -> None:
        """A finished melody job as one undo step. A new melody replaces the variations; a regenerated
        line replaces the melody it was made from, or, if that one is gone, is added as a new variation."""
        state = self._state
        if not result.variations:
            return
        # The tempo and instrument shown are the ones every variation has, even if they changed while the job ran.
        made = _sounding(result.variations, state.settings)
        if request.regenerate_line < 0:
            new = dataclasses.replace(state, variations=made, current=0, generated_from=request.lyrics)
            start = request.continue_from
            self._push(new, "Generate melody" if start is None else f"Continue after line {len(start.lines)}")
            return
        variations = list(state.variations)
        index = _find(variations, request.base)
        if index is None:
            variations.extend(made)
            index = len(state.variations)
        else:
            variations[index] = made[0]
        new = dataclasses.replace(state, variations=tuple(variations), current=index)
        self._push(new, f"Regenerate line {request.regenerate_line + 1}")

    def apply_request(self, request: MelodyRequest) -> None:
        """Recall a past request's settings (one undo step). A regenerate request made one variation,
        which says nothing about how many the user wants, so that count is left as it is."""
        values = {f.name: getattr(request, f.name) for f in dataclasses.fields(MelodySettings)}
        values["tempo"] = round(request.tempo)
        if request.regenerate_line >= 0:
            del values["variations"]
        self._push(self._with_settings(settings_from(MelodySettings, values, self.settings)), "Recall melody settings")

    # -- saving ------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        state = self._state
        return {
            "schema": SCHEMA,
            "settings": dataclasses.asdict(state.settings),
            "melodies": [m.to_dict() for m in state.variations],
            "current": state.current,
            "generated_from": state.generated_from,
            "imported": None if state.imported is None else state.imported.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Any) -> MelodyDocument:
        document = cls()
        document.restore(data)
        return document

    def restore(self, data: Any) -> None:
        """Replace everything with a saved melody (any schema) and forget the undo history. A damaged
        saved melody is dropped on its own; the others and the settings are kept."""
        data = migrate(data)
        saved = data.get("melodies")
        saved = saved if isinstance(saved, list) else []
        variations = tuple(m for m in (_melody(item) for item in saved) if m is not None)
        current = data.get("current", 0)
        current = current if isinstance(current, int) and 0 <= current < len(variations) else 0
        generated_from = data.get("generated_from", "")
        self._show(
            MelodyState(
                settings_from(MelodySettings, data.get("settings")),
                variations,
                current,
                generated_from if isinstance(generated_from, str) else "",
                _tune(data.get("imported")),
            )
        )
        self.undo_stack.clear()


def migrate(data: Any) -> dict[str, Any]:
    """A saved melody of any schema as schema 2. Schema 1 (no "schema" key: MelodyWidget.save_state)
    kept the settings at the top level beside the melodies."""
    if not isinstance(data, dict):
        return {"schema": SCHEMA}
    if data.get("schema") == SCHEMA:
        return data
    settings = {f.name: data[f.name] for f in dataclasses.fields(MelodySettings) if f.name in data}
    return {**data, "schema": SCHEMA, "settings": settings}


def _melody(data: Any) -> Melody | None:
    if not isinstance(data, dict):
        return None
    try:
        return Melody.from_dict(data)
    except InvalidRequestError:
        return None


def _tune(data: Any) -> ImportedTune | None:
    if not isinstance(data, dict):
        return None
    try:
        return ImportedTune.from_dict(data)
    except InvalidRequestError:
        return None


def _sounding(variations: tuple[Melody, ...], settings: MelodySettings) -> tuple[Melody, ...]:
    """The variations with the settings' tempo, instrument and chord instrument (the same objects where
    they have them already)."""
    tempo, program, chords = float(settings.tempo), settings.program, ACCOMPANIMENTS[settings.accompaniment]
    if all(m.tempo == tempo and m.program == program and m.chord_program == chords for m in variations):
        return variations
    return tuple(dataclasses.replace(m, tempo=tempo, program=program, chord_program=chords) for m in variations)


def _find(variations: list[Melody], base: Melody | None) -> int | None:
    """Where `base` is among the variations, also after a tempo or instrument change re-made it."""
    if base is None:
        return None
    for index, melody in enumerate(variations):
        sounding_as_base = dataclasses.replace(
            melody, tempo=base.tempo, program=base.program, chord_program=base.chord_program
        )
        if melody is base or sounding_as_base == base:
            return index
    return None
