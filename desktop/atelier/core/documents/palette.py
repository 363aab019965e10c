"""The current palette, shared by the Palette panel (which edits it) and the Sketch panel (brush colours).

Besides the colours it holds what the Palette panel needs to work with them: a lock per swatch,
names, where the palette came from (so regenerate uses the same source), undo/redo of edits, the
recent palettes and the favourites. `changed` fires only when the colours change (the Sketch panel
listens to that); `state_changed` fires on any change (locks, names, history, favourites).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from psygnal import Signal

from atelier.core.errors import InvalidRequestError

_HEX = re.compile(r"^#?([0-9a-fA-F]{6})$")
HISTORY_LIMIT = 100  # undo steps kept; older ones are dropped so a long session stays small
RECENT_LIMIT = 20
FAVOURITES_LIMIT = 200
MAX_COLORS = 64


def normalise_hex(value: str) -> str:
    match = _HEX.match(value.strip())
    if not match:
        raise InvalidRequestError(f"'{value}' is not a colour; use #rrggbb, e.g. #1b2a41.")
    return "#" + match.group(1).lower()


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
        names = _fit([str(n) for n in data.get("names", []) if isinstance(n, str)], len(colors), "")
        locks = _fit([bool(x) for x in data.get("locks", [])], len(colors), False)
        return cls(colors, tuple(names), tuple(locks))


def _fit(values: list[Any], length: int, fill: Any) -> list[Any]:
    return (list(values) + [fill] * length)[:length]


class PaletteDocument:
    changed = Signal(list)  # the new list of '#rrggbb' strings
    state_changed = Signal()  # locks, names, source, history, recent or favourites changed

    def __init__(self, colors: list[str] | None = None) -> None:
        self._colors = [normalise_hex(c) for c in (colors or [])]
        self._names = [""] * len(self._colors)
        self._locks = [False] * len(self._colors)
        self.source: dict[str, Any] = {}
        self._undo: list[PaletteSnapshot] = []
        self._redo: list[PaletteSnapshot] = []
        self.recent: list[PaletteSnapshot] = []
        self.favourites: list[PaletteSnapshot] = []

    # -- the palette -------------------------------------------------------------------------
    @property
    def colors(self) -> list[str]:
        return list(self._colors)

    @property
    def names(self) -> list[str]:
        return list(self._names)

    @property
    def locks(self) -> list[bool]:
        return list(self._locks)

    def locked_slots(self) -> list[tuple[int, str]]:
        return [(i, c) for i, (c, locked) in enumerate(zip(self._colors, self._locks, strict=True)) if locked]

    def snapshot(self) -> PaletteSnapshot:
        return PaletteSnapshot(tuple(self._colors), tuple(self._names), tuple(self._locks))

    def set_colors(
        self,
        colors: list[str],
        names: list[str] | None = None,
        locks: list[bool] | None = None,
        source: dict[str, Any] | None = None,
    ) -> None:
        """Replace the palette as one undoable edit. A `source` marks a new palette (generated or
        imported): it is remembered in the recent list and regenerate uses it."""
        normalised = [normalise_hex(c) for c in colors][:MAX_COLORS]
        new_names = _fit(list(names) if names is not None else self._names_for(normalised), len(normalised), "")
        new_locks = _fit(list(locks) if locks is not None else self._locks_for(normalised), len(normalised), False)
        new = PaletteSnapshot(tuple(normalised), tuple(new_names), tuple(new_locks))
        if source is not None:
            self.source = dict(source)
        if new == self.snapshot():
            if source is not None:
                self.state_changed.emit()
            return
        self._push_undo()
        self._apply(new)
        if source is not None:
            self._remember(new)

    def _names_for(self, colors: list[str]) -> list[str]:
        # Keep a name only where the colour at that slot did not change.
        return [self._names[i] if i < len(self._colors) and self._colors[i] == c else "" for i, c in enumerate(colors)]

    def _locks_for(self, colors: list[str]) -> list[bool]:
        return [self._locks[i] if i < len(self._locks) else False for i in range(len(colors))]

    def set_color(self, index: int, color: str, name: str = "") -> None:
        colors = self.colors
        colors[index] = normalise_hex(color)
        names = self.names
        names[index] = name
        self.set_colors(colors, names, self.locks)

    def set_names(self, names: list[str]) -> None:
        """Fill in names (not an undoable edit: names follow from the colours)."""
        self._names = _fit(list(names), len(self._colors), "")
        self.state_changed.emit()

    def set_locked(self, index: int, locked: bool) -> None:
        if self._locks[index] != locked:
            self._locks[index] = locked
            self.state_changed.emit()

    def move(self, source: int, target: int) -> None:
        """Move swatch `source` to position `target` (its lock and name go with it)."""
        if source == target or not (0 <= source < len(self._colors)) or not (0 <= target < len(self._colors)):
            return
        order = list(range(len(self._colors)))
        order.insert(target, order.pop(source))
        self.set_colors(
            [self._colors[i] for i in order], [self._names[i] for i in order], [self._locks[i] for i in order]
        )

    def remove(self, index: int) -> None:
        keep = [i for i in range(len(self._colors)) if i != index]
        self.set_colors([self._colors[i] for i in keep], [self._names[i] for i in keep], [self._locks[i] for i in keep])

    # -- undo / redo -------------------------------------------------------------------------
    def _push_undo(self) -> None:
        self._undo.append(self.snapshot())
        del self._undo[:-HISTORY_LIMIT]
        self._redo.clear()

    def _apply(self, snap: PaletteSnapshot) -> None:
        colors_changed = list(snap.colors) != self._colors
        self._colors, self._names, self._locks = list(snap.colors), list(snap.names), list(snap.locks)
        if colors_changed:
            self.changed.emit(list(self._colors))
        self.state_changed.emit()

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def undo(self) -> bool:
        if not self._undo:
            return False
        self._redo.append(self.snapshot())
        self._apply(self._undo.pop())
        return True

    def redo(self) -> bool:
        if not self._redo:
            return False
        self._undo.append(self.snapshot())
        self._apply(self._redo.pop())
        return True

    # -- recent and favourites ---------------------------------------------------------------
    def _remember(self, snap: PaletteSnapshot) -> None:
        unlocked = PaletteSnapshot(snap.colors, snap.names, (False,) * len(snap.colors))
        self.recent = [p for p in self.recent if p.colors != snap.colors]
        self.recent.insert(0, unlocked)
        del self.recent[RECENT_LIMIT:]
        self.state_changed.emit()

    def is_favourite(self) -> bool:
        return any(p.colors == tuple(self._colors) for p in self.favourites)

    def toggle_favourite(self) -> bool:
        """Add the current palette to the favourites, or remove it; returns whether it is one now."""
        if self.is_favourite():
            self.favourites = [p for p in self.favourites if p.colors != tuple(self._colors)]
            self.state_changed.emit()
            return False
        snap = self.snapshot()
        self.favourites.insert(0, PaletteSnapshot(snap.colors, snap.names, (False,) * len(snap.colors)))
        del self.favourites[FAVOURITES_LIMIT:]
        self.state_changed.emit()
        return True

    def load(self, snap: PaletteSnapshot) -> None:
        """Make a recent or favourite palette current (undoable)."""
        self.set_colors(list(snap.colors), list(snap.names), [False] * len(snap.colors))

    # -- session -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, object]:
        return {
            "colors": self.colors,
            "names": self.names,
            "locks": self.locks,
            "source": self.source,
            "undo": [s.to_dict() for s in self._undo[-20:]],
            "redo": [s.to_dict() for s in self._redo[-20:]],
            "recent": [s.to_dict() for s in self.recent],
            "favourites": [s.to_dict() for s in self.favourites],
        }

    def restore(self, data: dict[str, object]) -> None:
        current = PaletteSnapshot.from_dict(data)
        if current is None:
            return  # a damaged session file keeps the default palette rather than failing start-up

        def snaps(key: str) -> list[PaletteSnapshot]:
            items = data.get(key, [])
            found = [PaletteSnapshot.from_dict(item) for item in items] if isinstance(items, list) else []
            return [s for s in found if s is not None]

        self._undo, self._redo = snaps("undo"), snaps("redo")
        self.recent, self.favourites = snaps("recent"), snaps("favourites")
        source = data.get("source", {})
        self.source = source if isinstance(source, dict) else {}
        self._apply(current)
