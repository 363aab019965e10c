"""Progress reports that engine tasks yield; each yield is also a point where cancel is honoured."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Progress:
    step: int
    total: int
    message: str = ""
    # An optional preview: an RGB(A) uint8 numpy array, or partial text for streaming tasks.
    preview: Any = None

    @property
    def fraction(self) -> float:
        return 0.0 if self.total <= 0 else min(1.0, self.step / self.total)
