"""The Palette panel's document (also the Sketch panel's brush colours): the palette and all that makes it.

It holds the swatches (colour, name, lock), where the palette came from, the settings of the next
request (count, seed, words, harmony and whether it builds around the locks, how Regenerate fills
the unlocked swatches: the palette model at a temperature, or the source asked again with a new
seed), the recent palettes and the favourites. Every user-visible change is one step on its UndoStack.
`changed` fires only when the colours change (the Sketch panel listens to that); `state_changed`
fires on any change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
from psygnal import Signal

from atelier.core.color.harmony import HARMONY_MODES
from atelier.core.color.hex import normalise_hex
from atelier.core.errors import InvalidRequestError
from atelier.core.requests.palette import (
    DEFAULT_TEMPERATURE,
    MAX_COUNT,
    MAX_TEMPERATURE,
    MIN_COUNT,
    HarmonyRequest,
    PaletteFromImageRequest,
    PaletteFromTextRequest,
    PaletteInfillRequest,
)
from atelier.core.undo import Command, UndoStack

if TYPE_CHECKING:
    from atelier.core.requests import Request, Result

SCHEMA = 2
ORIGIN = "palette"  # the origin of every request the Palette panel sends (the main window routes recall by it)
SKETCH_LABEL = "the sketch"
HISTORY_LIMIT = 100  # undo steps kept; older ones are dropped so a long session stays small
RECENT_LIMIT = 20
FAVOURITES_LIMIT = 200
MAX_COLORS = 64
MAX_SEED = 2**63 - 1
DEFAULT_COUNT = 5
DEFAULT_BASE = "#336699"
DEFAULT_MODE = next(iter(HARMONY_MODES))
# A recalled request may lock a slot past the end of the current palette; the gap is filled with a
# neutral grey the user sees at once, rather than silently dropping the lock.
GAP_COLOR = "#808080"
SOURCE_KINDS = ("text", "lyric", "image", "sketch", "harmony", "import")
# How Regenerate fills the unlocked swatches: the learned palette model, or the palette's own source
# (its words, picture or harmony rule) asked again with a new seed.
REGENERATE_MODES = {"model": "Palette model", "source": "Same source"}
DEFAULT_REGENERATE = "model"


def _hex_or(value: Any, default: str) -> str:
    try:
        return normalise_hex(value) if isinstance(value, str) else default
    except InvalidRequestError:
        return default


def _clamp_count(value: int) -> int:
    return min(MAX_COUNT, max(MIN_COUNT, value))


@dataclass(frozen=True)
class PaletteSnapshot:
    colors: tuple[str, ...]
    names: tuple[str, ...]
    locks: tuple[bool, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"colors": list(self.colors), "names": list(self.names), "locks": list(self.locks)}

    @classmethod
    def from_dict(cls, data: Any) -> PaletteSnapshot | None:
        if not isinstance(data, dict) or not isinstance(data.get("colors"), list):
            return None
        try:
            colors = tuple(normalise_hex(str(c)) for c in data["colors"])[:MAX_COLORS]
        except InvalidRequestError:
            return None
        names = [n if isinstance(n, str) else "" for n in _list(data.get("names"))]
        locks = [x is True for x in _list(data.get("locks"))]
        return cls(colors, tuple(_fit(names, len(colors), "")), tuple(_fit(locks, len(colors), False)))


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _fit(values: list[Any], length: int, fill: Any) -> list[Any]:
    return (list(values) + [fill] * length)[:length]


@dataclass(frozen=True)
class PaletteSource:
    """Where a palette came from: enough to ask again (Regenerate) with a new seed.

    An image or sketch source keeps its picture (in memory; the panel saves it beside the session),
    so Regenerate works on the same picture even after the sketch has changed.
    """

    kind: str = ""  # "" (hand-made), or one of SOURCE_KINDS
    text: str = ""  # the words (text, lyric)
    label: str = ""  # the picture's name (image), the file's name (import)
    base: str = ""  # harmony
    mode: str = ""  # harmony
    image: np.ndarray | None = field(default=None, compare=False, repr=False)

    @classmethod
    def words(cls, text: str) -> PaletteSource:
        # A mood typed in the one-line field never has a line break; the Lyric panel's words do.
        return cls("lyric" if "\n" in text.strip() else "text", text=text)

    @classmethod
    def picture(cls, image: np.ndarray, label: str) -> PaletteSource:
        return cls("sketch" if label == SKETCH_LABEL else "image", label=label, image=image)

    @classmethod
    def harmony(cls, base: str, mode: str) -> PaletteSource:
        return cls("harmony", base=normalise_hex(base), mode=mode)

    def same_as(self, other: PaletteSource) -> bool:
        return self == other and self.image is other.image

    def describe(self) -> str:
        if self.kind == "text":
            short = self.text if len(self.text) <= 60 else self.text[:59] + "…"
            return f"From the words “{short}”."
        if self.kind == "lyric":
            return "From the lyric."
        if self.kind in ("image", "sketch"):
            kept = "" if self.image is not None else " (the picture was not kept: open it again to regenerate)"
            return f"From {self.label or 'an image'}{kept}."
        if self.kind == "harmony":
            return f"{self.mode.replace('-', ' ').capitalize()} harmony from {self.base}."
        if self.kind == "import":
            return f"Imported from {self.label or 'a file'}."
        return ""

    def to_dict(self) -> dict[str, str]:
        values = {"kind": self.kind, "text": self.text, "label": self.label, "base": self.base, "mode": self.mode}
        return {key: value for key, value in values.items() if value}

    @classmethod
    def from_dict(cls, data: Any) -> PaletteSource:
        """A saved source, or no source when it is damaged (never raises)."""
        if not isinstance(data, dict) or data.get("kind") not in SOURCE_KINDS:
            return cls()
        kind = str(data["kind"])
        text, label = data.get("text", ""), data.get("label", "")
        text, label = (text if isinstance(text, str) else ""), (label if isinstance(label, str) else "")
        if kind in ("text", "lyric"):
            return cls(kind, text=text) if text.strip() else cls()
        if kind == "harmony":
            base, mode = _hex_or(data.get("base"), ""), data.get("mode")
            return cls(kind, base=base, mode=mode) if base and mode in HARMONY_MODES else cls()
        return cls(kind, label=label)


def source_for(request: Request) -> PaletteSource | None:
    """The source a palette request asks about; None for other requests."""

    if isinstance(request, PaletteFromTextRequest):
        return PaletteSource.words(request.text)
    if isinstance(request, PaletteFromImageRequest):
        return PaletteSource.picture(request.image, request.label)
    if isinstance(request, HarmonyRequest):
        return PaletteSource.harmony(request.base, request.mode)
    return None


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, PaletteSource) and isinstance(b, PaletteSource):
        return a.same_as(b)
    return bool(a == b)


def _nbytes(value: Any) -> int:
    if isinstance(value, PaletteSource) and value.image is not None:
        return int(value.image.nbytes)
    return 64 * len(value) if isinstance(value, tuple) else 16


class PaletteDocument:
    changed = Signal(list)  # the new list of '#rrggbb' strings
    state_changed = Signal()  # anything changed (swatches, source, settings, recent, favourites)

    def __init__(self, colors: list[str] | None = None) -> None:
        self._colors: tuple[str, ...] = tuple(normalise_hex(c) for c in (colors or []))[:MAX_COLORS]
        self._names: tuple[str, ...] = ("",) * len(self._colors)
        self._locks: tuple[bool, ...] = (False,) * len(self._colors)
        self._source = PaletteSource()
        self._count = _clamp_count(len(self._colors) or DEFAULT_COUNT)
        self._seed = 0
        self._text = ""
        self._mode = DEFAULT_MODE
        self._base = self._colors[0] if self._colors else DEFAULT_BASE
        self._around_locks = False
        self._regenerate = DEFAULT_REGENERATE
        self._temperature = DEFAULT_TEMPERATURE
        self._favourites: tuple[PaletteSnapshot, ...] = ()
        # Recent palettes are a record of what was made, not an edit: undo never takes one away.
        self.recent: list[PaletteSnapshot] = []
        self.undo_stack = UndoStack(limit=HISTORY_LIMIT)

    # -- reading -----------------------------------------------------------------------------
    @property
    def colors(self) -> list[str]:
        return list(self._colors)

    @property
    def names(self) -> list[str]:
        return list(self._names)

    @property
    def locks(self) -> list[bool]:
        return list(self._locks)

    @property
    def source(self) -> PaletteSource:
        return self._source

    @property
    def count(self) -> int:
        return self._count

    @property
    def seed(self) -> int:
        return self._seed

    @property
    def text(self) -> str:
        return self._text

    @property
    def mode(self) -> str:
        return self._mode

    @property
    def base(self) -> str:
        return self._base

    @property
    def around_locks(self) -> bool:
        """Whether Harmony builds around the locked swatches (keeps them, from the first one) or ignores them."""
        return self._around_locks

    @property
    def regenerate_mode(self) -> str:
        return self._regenerate

    @property
    def temperature(self) -> float:
        return self._temperature

    @property
    def favourites(self) -> list[PaletteSnapshot]:
        return list(self._favourites)

    def locked_slots(self) -> list[tuple[int, str]]:
        return [(i, c) for i, (c, locked) in enumerate(zip(self._colors, self._locks, strict=True)) if locked]

    def snapshot(self) -> PaletteSnapshot:
        return PaletteSnapshot(self._colors, self._names, self._locks)

    # -- the one way a change happens ----------------------------------------------------------
    def _change(self, step: str, /, merge_key: str = "", **after: Any) -> bool:
        """Record the new values of some fields as one undo step (nothing if none differ)."""
        before = {name: getattr(self, "_" + name) for name in after}
        if all(_same(before[name], after[name]) for name in after):
            return False
        nbytes = sum(_nbytes(v) for v in (*before.values(), *after.values()))
        redo, undo = partial(self._assign, after), partial(self._assign, before)
        self.undo_stack.push(Command(step, redo, undo, nbytes, merge_key))
        return True

    def _assign(self, values: dict[str, Any]) -> None:
        colors_changed = "colors" in values and values["colors"] != self._colors
        for name, value in values.items():
            setattr(self, "_" + name, value)
        if colors_changed:
            self.changed.emit(list(self._colors))
        self.state_changed.emit()

    # -- the palette -------------------------------------------------------------------------
    def set_colors(
        self,
        colors: list[str],
        names: list[str] | None = None,
        locks: list[bool] | None = None,
        source: PaletteSource | None = None,
        text: str = "Edit palette",
    ) -> None:
        """Replace the palette as one undo step. A `source` marks a new palette (generated or
        imported): it is remembered in the recent list and Regenerate asks it again."""
        normalised = tuple(normalise_hex(c) for c in colors)[:MAX_COLORS]
        new_names = _fit(list(names) if names is not None else self._names_for(normalised), len(normalised), "")
        new_locks = _fit(list(locks) if locks is not None else self._locks_for(normalised), len(normalised), False)
        after: dict[str, Any] = {"colors": normalised, "names": tuple(new_names), "locks": tuple(new_locks)}
        if source is not None:
            after["source"] = source
        self._change(text, **after)
        if source is not None:
            self._remember(self.snapshot())

    def _names_for(self, colors: tuple[str, ...]) -> list[str]:
        # Keep a name only where the colour at that slot did not change.
        return [self._names[i] if i < len(self._colors) and self._colors[i] == c else "" for i, c in enumerate(colors)]

    def _locks_for(self, colors: tuple[str, ...]) -> list[bool]:
        return [self._locks[i] if i < len(self._locks) else False for i in range(len(colors))]

    def set_color(self, index: int, color: str, name: str = "") -> None:
        colors, names = self.colors, self.names
        colors[index] = normalise_hex(color)
        names[index] = name
        self.set_colors(colors, names, self.locks, text=f"Edit swatch {index + 1}")

    def set_names(self, names: list[str]) -> None:
        """Fill in names (not an undo step: names follow from the colours)."""
        self._assign({"names": tuple(_fit(list(names), len(self._colors), ""))})

    def set_locked(self, index: int, locked: bool) -> None:
        locks = self.locks
        locks[index] = locked
        self._change(f"{'Lock' if locked else 'Unlock'} swatch {index + 1}", locks=tuple(locks))

    def move(self, source: int, target: int) -> None:
        """Move swatch `source` to position `target` (its lock and name go with it)."""
        if source == target or not (0 <= source < len(self._colors)) or not (0 <= target < len(self._colors)):
            return
        order = list(range(len(self._colors)))
        order.insert(target, order.pop(source))
        self.set_colors(
            [self._colors[i] for i in order],
            [self._names[i] for i in order],
            [self._locks[i] for i in order],
            text="Move swatch",
        )

    def remove(self, index: int) -> None:
        keep = [i for i in range(len(self._colors)) if i != index]
        self.set_colors(
            [self._colors[i] for i in keep],
            [self._names[i] for i in keep],
            [self._locks[i] for i in keep],
            text=f"Remove swatch {index + 1}",
        )

    # -- settings of the next request ---------------------------------------------------------
    def set_count(self, count: int) -> None:
        low, high = MIN_COUNT, MAX_COUNT
        if not isinstance(count, int) or not low <= count <= high:
            raise InvalidRequestError(f"A palette has {low} to {high} colours (got {count}).")
        # Stepping the spin box is one step, not one per click.
        self._change("Colour count", merge_key="palette.count", count=count)

    def set_mode(self, mode: str) -> None:
        if mode not in HARMONY_MODES:
            raise InvalidRequestError(f"Unknown harmony '{mode}'; use one of {', '.join(HARMONY_MODES)}.")
        self._change("Harmony rule", mode=mode)

    def set_base(self, color: str) -> None:
        self._change("Harmony base colour", base=normalise_hex(color))

    def set_around_locks(self, around: bool) -> None:
        self._change("Harmony around locks" if around else "Harmony ignores locks", around_locks=bool(around))

    def set_regenerate_mode(self, mode: str) -> None:
        if mode not in REGENERATE_MODES:
            raise InvalidRequestError(f"Regenerate fills with one of {', '.join(REGENERATE_MODES)} (got {mode!r}).")
        self._change("Regenerate with", regenerate=mode)

    def set_temperature(self, temperature: float) -> None:
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
            raise InvalidRequestError(f"The temperature must be a number from 0 to {MAX_TEMPERATURE:g}.")
        if not 0.0 <= temperature <= MAX_TEMPERATURE:
            raise InvalidRequestError(f"The temperature must be from 0 to {MAX_TEMPERATURE:g} (got {temperature}).")
        # Stepping the spin box is one step, not one per click.
        self._change("Temperature", merge_key="palette.temperature", temperature=float(temperature))

    def set_text(self, text: str) -> None:
        """The words typed for the next palette. Not an undo step: the text field undoes its own typing."""
        if text != self._text:
            self._assign({"text": text})

    def next_seed(self) -> int:
        """A new seed for Regenerate (taken at once, so two quick regenerates ask different questions)."""
        self._seed = (self._seed + 1) % (MAX_SEED + 1)
        return self._seed

    # -- requests ------------------------------------------------------------------------------
    def regenerate_request(self) -> Request:
        """What Regenerate (Space) asks: by default the palette model fills the unlocked swatches (the
        last press's colours to avoid, so the next set differs); or the palette's own source, new seed."""
        seed = self.next_seed()
        if self._regenerate != "model":
            return self.to_request(seed=seed)
        count = self._count
        locked = tuple((slot, color) for slot, color in self.locked_slots() if slot < count)
        kept = {slot for slot, _ in locked}
        avoid = tuple(c for i, c in enumerate(self._colors[:count]) if i not in kept)
        return PaletteInfillRequest(
            count=count, seed=seed, locked=locked, avoid=avoid, temperature=self._temperature, origin=ORIGIN
        )

    def harmony_request(self) -> HarmonyRequest:
        """What the Harmony button asks. Around the locks: the first locked colour is the base and every
        lock is kept. Otherwise a fresh palette from the chosen base colour under the rule: the locks are
        ignored, so a triad is a triad, not two kept greys and three hues. (Regenerate always keeps locks.)"""
        locked = tuple((slot, color) for slot, color in self.locked_slots() if slot < self._count)
        base = self._base
        if self._around_locks and locked:
            base = locked[0][1]
        else:
            locked = ()
        return HarmonyRequest(
            base=base, mode=self._mode, count=self._count, seed=self._seed, locked=locked, origin=ORIGIN
        )

    def to_request(self, source: PaletteSource | None = None, seed: int | None = None) -> Request:
        """The request for `source` (default: the palette's own) with the count, seed and locked swatches.

        Regenerate is `to_request(seed=doc.next_seed())`. A hand-made or imported palette has nothing
        to ask again, so it asks about the words typed, or a harmony around its first swatch.
        Raises InvalidRequestError with what to do when the source cannot make a request.
        """
        source = source or self._source
        seed = self._seed if seed is None else seed
        count = self._count
        locked = tuple((slot, color) for slot, color in self.locked_slots() if slot < count)
        if source.kind in ("image", "sketch"):
            if source.image is None:
                raise InvalidRequestError(
                    f"The picture {source.label or ''} is no longer here; use From image… or From sketch again."
                )
            return PaletteFromImageRequest(
                image=source.image, count=count, seed=seed, locked=locked, label=source.label, origin=ORIGIN
            )
        if source.kind in ("text", "lyric"):
            return PaletteFromTextRequest(text=source.text, count=count, seed=seed, locked=locked, origin=ORIGIN)
        if source.kind == "harmony":
            return HarmonyRequest(
                base=source.base, mode=source.mode, count=count, seed=seed, locked=locked, origin=ORIGIN
            )
        if self._text.strip():
            return PaletteFromTextRequest(text=self._text, count=count, seed=seed, locked=locked, origin=ORIGIN)
        base = self._colors[0] if self._colors else self._base
        return HarmonyRequest(base=base, mode=self._mode, count=count, seed=seed, locked=locked, origin=ORIGIN)

    def apply_request(self, request: Request) -> bool:
        """Put a palette request's settings back (recall) as one undo step: its source (with the
        picture), count, seed and locked swatches, and its words or harmony. False if not a palette request."""
        if isinstance(request, PaletteInfillRequest):
            after: dict[str, Any] = {**self._with_locked(request.locked), "regenerate": "model"}
            after["count"], after["seed"] = request.count, min(MAX_SEED, max(0, request.seed))
            after["temperature"] = request.temperature
            self._change("Recall settings", **after)
            return True
        source = source_for(request)
        if source is None or not isinstance(request, (PaletteFromTextRequest, PaletteFromImageRequest, HarmonyRequest)):
            return False
        after = {"source": source, **self._with_locked(request.locked)}
        after["count"], after["seed"] = request.count, min(MAX_SEED, max(0, request.seed))
        if isinstance(request, PaletteFromTextRequest) and source.kind == "text":
            after["text"] = request.text
        if isinstance(request, HarmonyRequest):
            after["mode"], after["base"] = request.mode, request.base
            after["around_locks"] = bool(request.locked)
        self._change("Recall settings", **after)
        return True

    def _with_locked(self, locked: tuple[tuple[int, str], ...]) -> dict[str, tuple[Any, ...]]:
        colors, names = list(self._colors), list(self._names)
        end = max((slot + 1 for slot, _ in locked), default=0)
        colors += [GAP_COLOR] * (end - len(colors))
        names += [""] * (end - len(names))
        locks = [False] * len(colors)
        for slot, color in locked:
            if colors[slot] != color:
                colors[slot], names[slot] = normalise_hex(color), ""
            locks[slot] = True
        return {"colors": tuple(colors), "names": tuple(names), "locks": tuple(locks)}

    def apply_result(self, request: Request, result: Result, text: str = "") -> bool:
        """Make a palette result current (a finished job, or one put back from the history) as one
        undo step; its source becomes the palette's, so Regenerate asks it again. False if not a palette."""
        from atelier.core.requests.palette import PaletteResult

        if not isinstance(result, PaletteResult):
            return False
        locks = result.locked_flags(getattr(request, "locked", ()))  # a lock moved up past dropped slots stays
        if isinstance(request, PaletteInfillRequest):
            # The model fills around the palette's own colours: where they came from stays the source.
            self.set_colors(list(result.colors), list(result.names), locks, self._source, text or "Regenerate")
            return True
        source = source_for(request)
        if source is None:
            return False
        kind = {"text": "text", "lyric": "lyric", "harmony": "harmony"}.get(source.kind, "picture")
        self.set_colors(list(result.colors), list(result.names), locks, source, text or f"Palette from {kind}")
        return True

    # -- undo / redo ---------------------------------------------------------------------------
    @property
    def can_undo(self) -> bool:
        return self.undo_stack.can_undo

    @property
    def can_redo(self) -> bool:
        return self.undo_stack.can_redo

    def undo(self) -> bool:
        return self.undo_stack.undo()

    def redo(self) -> bool:
        return self.undo_stack.redo()

    # -- recent and favourites -----------------------------------------------------------------
    def _remember(self, snap: PaletteSnapshot) -> None:
        unlocked = PaletteSnapshot(snap.colors, snap.names, (False,) * len(snap.colors))
        self.recent = [p for p in self.recent if p.colors != snap.colors]
        self.recent.insert(0, unlocked)
        del self.recent[RECENT_LIMIT:]
        self.state_changed.emit()

    def is_favourite(self) -> bool:
        return any(p.colors == self._colors for p in self._favourites)

    def toggle_favourite(self) -> bool:
        """Add the current palette to the favourites, or remove it (one undo step); returns whether it is one now."""
        if self.is_favourite():
            kept = tuple(p for p in self._favourites if p.colors != self._colors)
            self._change("Remove from favourites", favourites=kept)
            return False
        added = PaletteSnapshot(self._colors, self._names, (False,) * len(self._colors))
        self._change("Add to favourites", favourites=(added, *self._favourites)[:FAVOURITES_LIMIT])
        return True

    def load(self, snap: PaletteSnapshot) -> None:
        """Make a recent or favourite palette current (one undo step)."""
        self.set_colors(list(snap.colors), list(snap.names), [False] * len(snap.colors), text="Load palette")

    # -- saving --------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON (schema 2). A source's picture is not in it: the panel saves it as a file."""
        return {
            "schema": SCHEMA,
            "colors": self.colors,
            "names": self.names,
            "locks": self.locks,
            "source": self._source.to_dict(),
            "count": self._count,
            "seed": self._seed,
            "text": self._text,
            "mode": self._mode,
            "base": self._base,
            "around_locks": self._around_locks,
            "regenerate": self._regenerate,
            "temperature": self._temperature,
            "recent": [s.to_dict() for s in self.recent],
            "favourites": [s.to_dict() for s in self._favourites],
        }

    @classmethod
    def from_dict(cls, data: Any, image: np.ndarray | None = None) -> PaletteDocument:
        doc = cls()
        doc.restore(data, image)
        return doc

    def restore(self, data: Any, image: np.ndarray | None = None) -> None:
        """Replace the whole document with a saved one (any schema) and clear its undo history.

        `image` is the source's picture when the caller kept it. Bad values fall back to defaults
        and never raise; damaged colours keep the palette on screen rather than an empty one.
        """
        data = data if isinstance(data, dict) else {}
        if "schema" not in data:
            data = migrate_v1(data)
        current = PaletteSnapshot.from_dict(data) or self.snapshot()
        source = PaletteSource.from_dict(data.get("source"))
        if source.kind in ("image", "sketch") and isinstance(image, np.ndarray):
            source = PaletteSource(source.kind, label=source.label, image=image)
        count, seed = data.get("count"), data.get("seed")
        mode, text = data.get("mode"), data.get("text")
        regenerate, temperature = data.get("regenerate"), data.get("temperature")
        good_temperature = (
            isinstance(temperature, (int, float))
            and not isinstance(temperature, bool)
            and 0.0 <= temperature <= MAX_TEMPERATURE
        )
        self.recent = _snapshots(data.get("recent"))[:RECENT_LIMIT]
        self._assign(
            {
                "colors": current.colors,
                "names": current.names,
                "locks": current.locks,
                "source": source,
                "count": _clamp_count(count)
                if isinstance(count, int) and not isinstance(count, bool)
                else _clamp_count(len(current.colors) or DEFAULT_COUNT),
                "seed": seed if isinstance(seed, int) and not isinstance(seed, bool) and 0 <= seed <= MAX_SEED else 0,
                "text": text if isinstance(text, str) else "",
                "mode": mode if isinstance(mode, str) and mode in HARMONY_MODES else DEFAULT_MODE,
                "base": _hex_or(data.get("base"), current.colors[0] if current.colors else DEFAULT_BASE),
                "around_locks": data.get("around_locks") is True,
                "regenerate": regenerate
                if isinstance(regenerate, str) and regenerate in REGENERATE_MODES
                else DEFAULT_REGENERATE,
                "temperature": float(temperature) if good_temperature else DEFAULT_TEMPERATURE,
                "favourites": tuple(_snapshots(data.get("favourites")))[:FAVOURITES_LIMIT],
            }
        )
        self.undo_stack.clear()


def _snapshots(items: Any) -> list[PaletteSnapshot]:
    found = [PaletteSnapshot.from_dict(item) for item in items] if isinstance(items, list) else []
    return [s for s in found if s is not None]


def migrate_v1(data: dict[str, Any]) -> dict[str, Any]:
    """Today's session (no schema key) to schema 2.

    Version 1 kept the palette's fields at the top, the panel's settings under "panel" and the last
    undo/redo palettes; undo history now lives only while Atelier runs, so those palettes join the
    recent ones (after the real recent ones) instead of being dropped.
    """
    panel, old = _dict(data.get("panel")), _dict(data.get("source"))
    source: dict[str, Any] = {}
    if old.get("kind") == "text":
        source = {"kind": "lyric" if old.get("label") == "lyric" else "text", "text": old.get("text", "")}
    elif old.get("kind") == "image":
        label = old.get("label", "")
        source = {"kind": "sketch" if label == SKETCH_LABEL else "image", "label": label}
    elif old.get("kind") == "harmony":
        source = {"kind": "harmony", "base": old.get("base"), "mode": old.get("mode")}
    elif old.get("kind") == "import":
        source = {"kind": "import", "label": old.get("path", "")}
    recent = _snapshots(data.get("recent"))
    undo, redo = _snapshots(data.get("undo")), _snapshots(data.get("redo"))
    for snap in [*reversed(undo), *redo]:
        if all(p.colors != snap.colors for p in recent):
            recent.append(PaletteSnapshot(snap.colors, snap.names, (False,) * len(snap.colors)))
    return {
        "schema": SCHEMA,
        "colors": data.get("colors"),
        "names": data.get("names"),
        "locks": data.get("locks"),
        "source": source,
        "count": panel.get("count"),
        "seed": 0,
        "text": panel.get("text"),
        "mode": panel.get("mode"),
        "base": panel.get("base"),
        "recent": [s.to_dict() for s in recent],
        "favourites": data.get("favourites"),
    }
