"""Frozen request types (everything the engine needs for one job) and the results it returns.

One module per task holds that task's request and result; this module holds what they share.
"""

from __future__ import annotations

import dataclasses
import enum
import numbers
from dataclasses import dataclass, field
from typing import Any, ClassVar

from atelier.core.devices import provider_label
from atelier.core.errors import InvalidRequestError

SEED_LIMIT = 2**32  # seeds are 32-bit unsigned: numpy's generators and the seed box in every panel agree


def check_text(text: object, what: str, limit: int) -> None:
    """Refuse text that is not a string, or longer than `limit` characters once trimmed at both ends (so
    stray spaces around a short prompt never count), before it reaches a tokenizer or model."""
    if not isinstance(text, str):
        raise InvalidRequestError(f"The {what} must be text.")
    if len(text) > limit and len(text.strip()) > limit:
        raise InvalidRequestError(
            f"The {what} is {len(text.strip()):,} characters long; the limit is {limit:,}.",
            f"Shorten the {what} and try again.",
        )


def check_seed(seed: object, limit: int = SEED_LIMIT) -> None:
    """Refuse a seed that is not a whole number in 0..limit-1 (numpy raises a bare ValueError on -5)."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= int(seed) < limit:
        raise InvalidRequestError(f"The seed must be a whole number from 0 to {limit - 1} (got {seed!r}).")


class Lane(enum.Enum):
    """Heavy jobs (images, text, melodies) run one at a time; light ones never wait behind them."""

    HEAVY = "heavy"
    LIGHT = "light"


@dataclass(frozen=True)
class Request:
    """Base of every request. Subclasses are frozen dataclasses with a `kind` and a `lane`."""

    kind: ClassVar[str] = "request"
    lane: ClassVar[Lane] = Lane.HEAVY
    # False for helper work that follows typing or playback (rhymes, syllable analysis, audio for a
    # melody): it is left out of the Jobs dock and dropped when done, so it never pushes the user's
    # generated results out of the bounded history.
    in_history: ClassVar[bool] = True
    # Which panel (or other caller) asked; with `supersedes`, a newer request of the same
    # kind from the same origin cancels the one queued or running (live modes need this).
    origin: str = field(default="", kw_only=True)
    supersedes: bool = field(default=False, kw_only=True)

    def summary(self) -> str:
        """One line for the history list."""
        return self.kind

    def to_record(self) -> dict[str, Any]:
        """The parameters as plain JSON-able values, for logs and provenance (arrays are described)."""
        record: dict[str, Any] = {"kind": self.kind}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if hasattr(value, "shape") and hasattr(value, "dtype"):
                record[f.name] = f"<array {tuple(value.shape)} {value.dtype}>"
            elif isinstance(value, enum.Enum):
                record[f.name] = value.value
            elif isinstance(value, (tuple, list)):
                record[f.name] = list(value)
            else:
                record[f.name] = value
        return record


@dataclass(frozen=True)
class DeviceInfo:
    """Which execution provider really ran, what was asked for, and why anything fell back."""

    provider: str
    requested: tuple[str, ...] = ()
    fallbacks: tuple[str, ...] = ()  # "CUDAExecutionProvider: <reason>" lines, in order

    @property
    def label(self) -> str:
        return provider_label(self.provider)

    @property
    def fell_back(self) -> bool:
        return bool(self.fallbacks)

    def describe(self) -> str:
        text = f"Running on {self.label}"
        if self.fallbacks:
            text += " (fell back: " + "; ".join(self.fallbacks) + ")"
        return text


NO_DEVICE = DeviceInfo(provider="none")


@dataclass(frozen=True)
class Result:
    """Base of every result: how long it took and on what."""

    kind: ClassVar[str] = "result"
    device: DeviceInfo = field(default=NO_DEVICE, kw_only=True)
    seconds: float = field(default=0.0, kw_only=True)

    def summary(self) -> str:
        return self.kind

    def nbytes(self) -> int:
        """Approximate memory held, so the history can stay within its budget."""
        return sum(_held_bytes(getattr(self, f.name)) for f in dataclasses.fields(self))


def _held_bytes(value: Any) -> int:
    """Arrays by their buffers, also inside the tuples of images a sketch or colorize result holds;
    anything else by its text (small)."""
    if hasattr(value, "nbytes"):
        return int(value.nbytes)
    if isinstance(value, (tuple, list)) and any(hasattr(item, "nbytes") for item in value):
        return sum(_held_bytes(item) for item in value)
    return len(str(value))
