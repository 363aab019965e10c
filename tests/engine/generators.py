"""Running a task generator to its end in a test: what it yielded and what it returned."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any


def drain(generator: Generator[Any, None, Any]) -> tuple[list[Any], Any]:
    """(every value the generator yielded, its return value)."""
    yielded = []
    while True:
        try:
            yielded.append(next(generator))
        except StopIteration as stop:
            return yielded, stop.value
