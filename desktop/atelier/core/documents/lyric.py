"""The Lyric panel's document: the lyric text (shared: the Palette panel reads the words), the
settings for writing with the model (with undo), the suggestions the model wrote in this project
(browsable, saved with it) and a versioned saved form."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, TypeVar

from psygnal import Signal

from atelier.core.requests.lyrics import (
    BRAINSTORM_KINDS,
    MODES,
    POEM_FORMS,
    POINTS_OF_VIEW,
    RHYME_SCHEMES,
    LyricRequest,
)
from atelier.core.undo import Command, UndoStack

SCHEMA = 3
MAX_SUGGESTIONS = 50  # the oldest are dropped past this: a project keeps its recent writes, not all
BUILT_IN_PACK = "smollm2-135m-instruct"  # the language model that ships with Atelier
SEED_LIMIT = 2**31  # seeds are 0 .. SEED_LIMIT - 1 (what the requests accept)

S = TypeVar("S")


def option(default: Any, label: str, choices: tuple[Any, ...] = (), minimum: Any = None, maximum: Any = None) -> Any:
    """A settings field with what a view and a loader need: its label, and its choices or range."""
    return field(default=default, metadata={"label": label, "choices": choices, "minimum": minimum, "maximum": maximum})


def checked(f: dataclasses.Field[Any], value: Any) -> Any:
    """`value` if it fits field `f` (type, choices, range), else the field's default: a damaged or
    hand-edited saved value must never stop a project from opening."""
    default = f.default
    if isinstance(default, str):
        ok = isinstance(value, str)
    elif isinstance(default, float):
        try:  # a saved 10**400 is an int that math.isfinite and float() cannot take
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        except OverflowError:
            ok = False
        value = float(value) if ok else value
    else:  # int
        ok = isinstance(value, int) and not isinstance(value, bool)
    meta = f.metadata
    if ok and meta.get("choices"):
        ok = value in meta["choices"]
    if ok and meta.get("minimum") is not None:
        ok = meta["minimum"] <= value <= meta["maximum"]
    return value if ok else default


def settings_from(cls: type[S], data: Any, base: S | None = None) -> S:
    """Settings of type `cls` from a plain dict: known keys are checked, the rest are `base`'s (or defaults)."""
    start = base if base is not None else cls()
    if not isinstance(data, dict):
        return start
    values = {f.name: checked(f, data[f.name]) for f in dataclasses.fields(cls) if f.name in data}  # type: ignore[arg-type]
    return dataclasses.replace(start, **values)  # type: ignore[type-var]


def label_of(cls: type[Any], name: str) -> str:
    return next((str(f.metadata.get("label", name)) for f in dataclasses.fields(cls) if f.name == name), name)


@dataclass(frozen=True)
class LyricSettings:
    """Everything the writing controls hold; the one list of these fields."""

    mode: str = option("song", "Mode", MODES)
    prompt: str = option("", "Theme")
    sections: str = option("Verse, Chorus, Verse, Chorus", "Sections")  # as typed, split at commas
    lines_per_section: int = option(4, "Lines each", minimum=1, maximum=16)
    mood: str = option("", "Mood")
    point_of_view: str = option("", "Point of view", POINTS_OF_VIEW)
    rhyme_scheme: str = option("AABB", "Rhyme scheme", RHYME_SCHEMES)
    form: str = option("free verse", "Form", POEM_FORMS)
    poem_lines: int = option(8, "Lines", minimum=1, maximum=40)
    brainstorm_kind: str = option("ideas", "Ideas for", BRAINSTORM_KINDS)
    brainstorm_count: int = option(6, "How many", minimum=1, maximum=40)
    continue_lines: int = option(4, "New lines", minimum=1, maximum=40)
    alternatives: int = option(3, "Alternatives", minimum=1, maximum=10)
    temperature: float = option(0.8, "Temperature", minimum=0.0, maximum=2.0)
    top_p: float = option(0.92, "Top-p", minimum=0.01, maximum=1.0)
    top_k: int = option(40, "Top-k", minimum=0, maximum=1000)
    repetition_penalty: float = option(1.1, "Repetition penalty", minimum=1.0, maximum=2.0)
    max_tokens: int = option(256, "Max tokens", minimum=8, maximum=4096)
    seed: int = option(7, "Seed", minimum=0, maximum=SEED_LIMIT - 1)
    pack: str = option(BUILT_IN_PACK, "Model")

    def lines_for_mode(self) -> int:
        """The `lines` of a request: each mode keeps its own count."""
        return {"poem": self.poem_lines, "brainstorm": self.brainstorm_count}.get(self.mode, self.continue_lines)


@dataclass(frozen=True)
class Suggestion:
    """One write's text as the model left it (a stopped write's partial text too)."""

    text: str
    mode: str = ""  # "" for a suggestion saved before modes were kept
    alternatives: tuple[str, ...] = ()
    line: str = ""  # the line a rewrite was for
    prompt: str = ""
    seed: int | None = None
    stopped: bool = False

    def label(self) -> str:
        """A short name for the history: mode, theme or line, seed."""
        about = self.prompt or self.line or next((t for t in self.text.splitlines() if t.strip()), "")
        about = about if len(about) <= 40 else about[:39] + "…"
        parts = [self.mode.capitalize() or "Suggestion"]
        if about:
            parts.append(f"“{about}”")
        if self.seed is not None:
            parts.append(f"seed {self.seed}")
        return " · ".join(parts) + (" (stopped)" if self.stopped else "")

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "alternatives": list(self.alternatives)}

    @classmethod
    def from_dict(cls, data: Any) -> Suggestion | None:
        """A saved suggestion, or None when it is damaged beyond use (no text)."""
        if not isinstance(data, dict) or not isinstance(data.get("text"), str) or not data["text"].strip():
            return None
        alternatives = data.get("alternatives")
        seed = data.get("seed")
        return cls(
            text=data["text"],
            mode=_text(data.get("mode")),
            alternatives=tuple(a for a in alternatives if isinstance(a, str)) if isinstance(alternatives, list) else (),
            line=_text(data.get("line")),
            prompt=_text(data.get("prompt")),
            seed=seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
            stopped=data.get("stopped") is True,
        )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


# Which setting holds a request's `lines`, by mode (song and rewrite do not use it).
_LINES_FIELD = {"poem": "poem_lines", "brainstorm": "brainstorm_count", "continue": "continue_lines"}


class LyricDocument:
    changed = Signal(str)  # the text
    settings_changed = Signal(object)  # the new LyricSettings
    suggestions_changed = Signal()

    def __init__(self, text: str = "", settings: LyricSettings | None = None) -> None:
        self._text = text
        self._settings = settings or LyricSettings()
        # Only the settings are commands here. The text keeps the editor's own QTextDocument undo
        # (typing, Insert at cursor, Replace line and Import are each one step there): a second
        # stack for every keystroke would fight the editor's and undo text the user cannot see move.
        self.undo_stack = UndoStack()
        # Not undo steps either: a record of what the model wrote, like the project's history.
        self._suggestions: list[Suggestion] = []

    # -- the text ----------------------------------------------------------------------------
    @property
    def text(self) -> str:
        return self._text

    def set_text(self, text: str) -> None:
        if text != self._text:
            self._text = text
            self.changed.emit(text)

    # -- the settings ------------------------------------------------------------------------
    @property
    def settings(self) -> LyricSettings:
        return self._settings

    def set(self, name: str, value: Any) -> None:
        """Change one setting (one undo step; repeated edits of one field merge, as a spin box is stepped)."""
        new = settings_from(LyricSettings, {name: value}, self._settings)
        self._replace(new, f"Change {label_of(LyricSettings, name)}", f"lyric.{name}")

    def _replace(self, new: LyricSettings, text: str, merge_key: str = "") -> None:
        old = self._settings
        if new != old:
            self.undo_stack.push(Command(text, lambda: self._show(new), lambda: self._show(old), merge_key=merge_key))

    def _show(self, settings: LyricSettings) -> None:
        self._settings = settings
        self.settings_changed.emit(settings)

    def to_request(self, before_cursor: str = "", line: str = "", whole_text: str | None = None) -> LyricRequest:
        """The request for the current settings. The view passes what depends on the cursor: the text
        before it (continue) and the line to rewrite. Raises InvalidRequestError with what to fix."""
        s = self._settings
        return LyricRequest(
            prompt=s.prompt.strip(),
            mode=s.mode,
            sections=tuple(part.strip() for part in s.sections.split(",") if part.strip()),
            lines_per_section=s.lines_per_section,
            mood=s.mood.strip(),
            point_of_view=s.point_of_view,
            rhyme_scheme=s.rhyme_scheme,
            form=s.form,
            lines=s.lines_for_mode(),
            brainstorm_kind=s.brainstorm_kind,
            context={"continue": before_cursor, "rewrite": self._text if whole_text is None else whole_text}.get(
                s.mode, ""
            ),
            line=line if s.mode == "rewrite" else "",
            alternatives=s.alternatives,
            temperature=s.temperature,
            top_p=s.top_p,
            top_k=s.top_k,
            repetition_penalty=s.repetition_penalty,
            max_tokens=s.max_tokens,
            seed=s.seed,
            pack_id=s.pack,
            origin="lyric",
        )

    def apply_request(self, request: LyricRequest) -> None:
        """Recall every setting of a past request (one undo step)."""
        values: dict[str, Any] = {
            f.name: getattr(request, f.name)
            for f in dataclasses.fields(LyricSettings)
            if f.name not in ("sections", "pack") and hasattr(request, f.name)
        }
        values["sections"] = ", ".join(request.sections)
        values["pack"] = request.pack_id or BUILT_IN_PACK
        if request.mode in _LINES_FIELD:
            values[_LINES_FIELD[request.mode]] = request.lines
        self._replace(settings_from(LyricSettings, values, self._settings), "Recall lyric settings")

    # -- the suggestions the model wrote --------------------------------------------------------
    @property
    def suggestions(self) -> tuple[Suggestion, ...]:
        """Oldest first."""
        return tuple(self._suggestions)

    def add_suggestion(self, suggestion: Suggestion) -> int:
        """Keep a write's text (the same text twice in a row is kept once); its index in `suggestions`."""
        if not suggestion.text.strip():
            return len(self._suggestions) - 1
        if not self._suggestions or self._suggestions[-1] != suggestion:
            self._suggestions.append(suggestion)
            del self._suggestions[:-MAX_SUGGESTIONS]
            self.suggestions_changed.emit()
        return len(self._suggestions) - 1

    def remove_suggestion(self, index: int) -> None:
        if 0 <= index < len(self._suggestions):
            del self._suggestions[index]
            self.suggestions_changed.emit()

    # -- saving ------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "text": self._text,
            "settings": dataclasses.asdict(self._settings),
            "suggestions": [s.to_dict() for s in self._suggestions],
        }

    @classmethod
    def from_dict(cls, data: Any) -> LyricDocument:
        document = cls()
        document.restore(data)
        return document

    def restore(self, data: Any) -> None:
        """Replace text, settings and suggestions with saved ones (any schema) and forget the undo history."""
        data = migrate(data)
        text = data.get("text", "")
        self._show(settings_from(LyricSettings, data.get("settings")))
        self.undo_stack.clear()
        saved = data.get("suggestions")
        found = [Suggestion.from_dict(entry) for entry in saved] if isinstance(saved, list) else []
        self._suggestions = [s for s in found if s is not None][-MAX_SUGGESTIONS:]
        self.suggestions_changed.emit()
        self.set_text(text if isinstance(text, str) else "")


def migrate(data: Any) -> dict[str, Any]:
    """A saved lyric section of any schema as schema 3.

    Schema 1 (no "schema" key) kept the writing controls under "controls", with the point of view as
    "pov"; its other keys were already these names. Schemas 1 and 2 kept only the suggestion on show,
    as text under "suggestion"; it becomes the one suggestion in the history."""
    if not isinstance(data, dict):
        return {"schema": SCHEMA}
    if data.get("schema") == SCHEMA:
        return data
    if data.get("schema") != 2:
        controls = data.get("controls")
        settings = dict(controls) if isinstance(controls, dict) else {}
        if "pov" in settings:
            settings["point_of_view"] = settings.pop("pov")
        data = {**data, "settings": settings}
    shown = data.get("suggestion")
    suggestions = [{"text": shown}] if isinstance(shown, str) and shown.strip() else []
    return {**data, "schema": SCHEMA, "suggestions": suggestions}
