"""Palette requests (from a mood text, an image, a harmony rule, the palette model) and the palette result.

Every request carries `locked` swatches, (slot, '#rrggbb') pairs kept in place while the other slots
are regenerated, and a `seed`, so regenerate is "the same request with a new seed".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from atelier.core.color.harmony import HARMONY_MODES
from atelier.core.color.hex import normalise_hex
from atelier.core.errors import InvalidRequestError
from atelier.core.requests import Lane, Request, Result, check_seed

MIN_COUNT, MAX_COUNT = 3, 12
MAX_TEXT_CHARS = 4000
# The palette model samples with a temperature: 0 takes its best guess every time, 2 is wild.
MAX_TEMPERATURE = 2.0
DEFAULT_TEMPERATURE = 0.8
# Below this temperature the user asked for the model's safest colours: those may repeat a press's.
LOW_TEMPERATURE = 0.3


def _check_common(count: int, locked: tuple[tuple[int, str], ...], seed: int) -> tuple[tuple[int, str], ...]:
    if not isinstance(count, int) or not MIN_COUNT <= count <= MAX_COUNT:
        raise InvalidRequestError(f"A palette has {MIN_COUNT} to {MAX_COUNT} colours (got {count}).")
    check_seed(seed)
    cleaned = []
    for lock in locked:
        # A request rebuilt from outside data (the wire, a saved history entry) may hold anything here.
        if not (isinstance(lock, (tuple, list)) and len(lock) == 2 and type(lock[0]) is int):
            raise InvalidRequestError("A locked swatch must be (slot, #rrggbb).")
        slot, color = lock
        if not 0 <= slot < count:
            raise InvalidRequestError(f"Locked swatch {slot + 1} is outside a {count}-colour palette.")
        cleaned.append((int(slot), normalise_hex(color)))
    if len({slot for slot, _ in cleaned}) != len(cleaned):
        raise InvalidRequestError("Two locked swatches share one slot.")
    return tuple(sorted(cleaned))


@dataclass(frozen=True)
class PaletteFromTextRequest(Request):
    kind = "palette-text"
    lane = Lane.LIGHT
    text: str
    count: int = 6
    seed: int = 0
    locked: tuple[tuple[int, str], ...] = ()

    def __post_init__(self) -> None:
        # Lines are kept: a lyric is embedded line by line and the lines' meanings averaged.
        if not isinstance(self.text, str):
            raise InvalidRequestError("Describe a mood or scene in words; the text is not text.")
        lines = (" ".join(line.split()) for line in self.text.splitlines())
        text = "\n".join(line for line in lines if line)
        if not text:
            raise InvalidRequestError("Describe a mood or scene (e.g. 'stormy sea at dusk'); the text is empty.")
        if len(text) > MAX_TEXT_CHARS:  # the embedding reads 128 tokens a line: cut on a word boundary
            cut = text[:MAX_TEXT_CHARS]
            space = max(cut.rfind(" "), cut.rfind("\n"))
            text = cut[:space] if space > MAX_TEXT_CHARS - 100 else cut
        object.__setattr__(self, "text", text)
        object.__setattr__(self, "locked", _check_common(self.count, tuple(self.locked), self.seed))

    def summary(self) -> str:
        short = self.text if len(self.text) <= 40 else self.text[:39] + "…"
        return f"Palette of {self.count} from “{short}”"


@dataclass(frozen=True)
class PaletteFromImageRequest(Request):
    kind = "palette-image"
    lane = Lane.LIGHT
    image: np.ndarray = field(compare=False, repr=False)  # HxW, HxWx3 or HxWx4 uint8
    count: int = 6
    seed: int = 0
    locked: tuple[tuple[int, str], ...] = ()
    label: str = "image"  # what the image is (a file name, "sketch"), for the history

    def __post_init__(self) -> None:
        image = self.image
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
            raise InvalidRequestError("The picture must be an 8-bit image.")
        if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 2, 3, 4)):
            raise InvalidRequestError(f"The picture must be grey, RGB or RGBA (got shape {image.shape}).")
        if image.shape[0] < 1 or image.shape[1] < 1:
            raise InvalidRequestError("The picture is empty.")
        object.__setattr__(self, "locked", _check_common(self.count, tuple(self.locked), self.seed))

    def summary(self) -> str:
        return f"Palette of {self.count} from {self.label} ({self.image.shape[1]}x{self.image.shape[0]})"


@dataclass(frozen=True)
class HarmonyRequest(Request):
    kind = "palette-harmony"
    lane = Lane.LIGHT
    base: str
    mode: str = "analogous"
    count: int = 5
    seed: int = 0
    locked: tuple[tuple[int, str], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "base", normalise_hex(self.base))
        if self.mode not in HARMONY_MODES:
            raise InvalidRequestError(f"Unknown harmony '{self.mode}'; use one of {', '.join(HARMONY_MODES)}.")
        object.__setattr__(self, "locked", _check_common(self.count, tuple(self.locked), self.seed))

    def summary(self) -> str:
        around = " around the locked swatches" if self.locked else ""
        return f"{self.mode.capitalize()} palette of {self.count} from {self.base}{around}"


@dataclass(frozen=True)
class PaletteInfillRequest(Request):
    """Fill the unlocked swatches with the learned palette model (models/palette-infill).

    `avoid` are the colours the last press showed in the unlocked slots: above LOW_TEMPERATURE no new
    colour comes within CIEDE2000 5 of them, so every press gives a visibly different set.
    """

    kind = "palette-infill"
    lane = Lane.LIGHT
    count: int = 5
    seed: int = 0
    locked: tuple[tuple[int, str], ...] = ()
    avoid: tuple[str, ...] = ()
    temperature: float = DEFAULT_TEMPERATURE
    pack_id: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "locked", _check_common(self.count, tuple(self.locked), self.seed))
        if not isinstance(self.avoid, (tuple, list)):
            raise InvalidRequestError("The colours to avoid must be a list of #rrggbb colours.")
        object.__setattr__(self, "avoid", tuple(normalise_hex(c) for c in self.avoid)[:MAX_COUNT])
        temperature = self.temperature
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
            raise InvalidRequestError(f"The temperature must be a number from 0 to {MAX_TEMPERATURE:g}.")
        if not 0.0 <= float(temperature) <= MAX_TEMPERATURE:  # NaN fails this too
            raise InvalidRequestError(
                f"The temperature must be from 0 to {MAX_TEMPERATURE:g} (got {temperature}).",
                "Use 0 for the model's safest colours, about 0.8 for variety, 1.5 for surprises.",
            )
        object.__setattr__(self, "temperature", float(temperature))
        if not isinstance(self.pack_id, str):
            raise InvalidRequestError("The pack id must be text.")

    def summary(self) -> str:
        kept = f", {len(self.locked)} locked" if self.locked else ""
        return f"Palette of {self.count} from the palette model{kept} (temperature {self.temperature:g})"


@dataclass(frozen=True)
class PaletteResult(Result):
    kind = "palette"
    colors: tuple[str, ...]
    names: tuple[str, ...]
    source: str  # "text", "image", "harmony" or "model"
    detail: str = ""  # e.g. the moods the text matched
    # Which swatches are the request's locked ones, when that is not simply their slots: a picture with
    # fewer colours than asked gives a shorter palette, and a lock past a dropped slot moves up. Empty:
    # the locked swatches are at their own slots. (May be shorter than `count`: so may `colors`.)
    locks: tuple[bool, ...] = ()

    def __post_init__(self) -> None:
        if self.locks and len(self.locks) != len(self.colors):
            raise ValueError(f"{len(self.locks)} lock flags for {len(self.colors)} colours")
        object.__setattr__(self, "locks", tuple(bool(flag) for flag in self.locks))

    def locked_flags(self, request_locked: tuple[tuple[int, str], ...]) -> list[bool]:
        """Per swatch: is it one of the request's locked swatches (what the palette document keeps locked)."""
        if self.locks:
            return list(self.locks)
        slots = {slot for slot, _ in request_locked}
        return [index in slots for index in range(len(self.colors))]

    def preview_image(self) -> np.ndarray:
        strip = np.zeros((24, 24 * len(self.colors), 3), np.uint8)
        for index, color in enumerate(self.colors):
            strip[:, index * 24 : (index + 1) * 24] = [int(color[i : i + 2], 16) for i in (1, 3, 5)]
        return strip

    def summary(self) -> str:
        return " ".join(self.colors)

    def to_json(self) -> dict[str, object]:
        """The CLI's JSON: colours with names, the source and the time taken."""
        return {
            "colors": [{"hex": c, "name": n} for c, n in zip(self.colors, self.names, strict=True)],
            "source": self.source,
            "seconds": round(self.seconds, 4),
            **({"detail": self.detail} if self.detail else {}),
        }
