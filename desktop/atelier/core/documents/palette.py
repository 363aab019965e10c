"""The current palette, shared by the Palette panel (which edits it) and the Sketch panel (brush colours)."""

from __future__ import annotations

import contextlib
import re

from psygnal import Signal

from atelier.core.errors import InvalidRequestError

_HEX = re.compile(r"^#?([0-9a-fA-F]{6})$")


def normalise_hex(value: str) -> str:
    match = _HEX.match(value.strip())
    if not match:
        raise InvalidRequestError(f"'{value}' is not a colour; use #rrggbb, e.g. #1b2a41.")
    return "#" + match.group(1).lower()


class PaletteDocument:
    changed = Signal(list)  # the new list of '#rrggbb' strings

    def __init__(self, colors: list[str] | None = None) -> None:
        self._colors = [normalise_hex(c) for c in (colors or [])]

    @property
    def colors(self) -> list[str]:
        return list(self._colors)

    def set_colors(self, colors: list[str]) -> None:
        normalised = [normalise_hex(c) for c in colors]
        if normalised != self._colors:
            self._colors = normalised
            self.changed.emit(list(normalised))

    def to_dict(self) -> dict[str, object]:
        return {"colors": self.colors}

    def restore(self, data: dict[str, object]) -> None:
        colors = data.get("colors", [])
        if isinstance(colors, list):
            # A damaged session file keeps the default palette rather than failing start-up.
            with contextlib.suppress(InvalidRequestError):
                self.set_colors([str(c) for c in colors])
