"""Undo stacks for documents: every user-visible change is one command that can be undone and redone.

Core cannot use Qt's QUndoStack, so this is the small part of it Atelier needs: commands with
redo/undo callables, merging of consecutive edits of one field (a slider drag is one step), macros
(several changes as one step), a memory budget (pixel steps are large) and a `changed` signal the
UI uses to enable Undo/Redo.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from psygnal import Signal

DEFAULT_LIMIT = 500
DEFAULT_BUDGET_BYTES = 256 * 1024 * 1024


@dataclass
class Command:
    """One undoable change. `redo` applies it, `undo` reverts it; both must be safe to repeat in turn."""

    text: str
    redo: Callable[[], None]
    undo: Callable[[], None]
    nbytes: int = 0
    # Consecutive commands with the same non-empty key merge into one step (the first one's undo,
    # the last one's redo), e.g. "sketch.strength" while a spin box is being stepped.
    merge_key: str = ""
    children: list[Command] = field(default_factory=list)


class UndoStack:
    changed = Signal()  # anything about can_undo / can_redo / texts / clean state changed

    def __init__(self, limit: int = DEFAULT_LIMIT, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        self.limit = limit
        self.budget_bytes = budget_bytes
        self._done: list[Command] = []
        self._undone: list[Command] = []
        self._macro: list[Command] | None = None
        self._macro_depth = 0
        self._busy = False  # True while undoing/redoing: changes made then are not new commands
        self._clean_index: int | None = 0
        self._merge_open = True

    # -- queries -----------------------------------------------------------------------------
    @property
    def can_undo(self) -> bool:
        return bool(self._done)

    @property
    def can_redo(self) -> bool:
        return bool(self._undone)

    @property
    def undo_text(self) -> str:
        return self._done[-1].text if self._done else ""

    @property
    def redo_text(self) -> str:
        return self._undone[-1].text if self._undone else ""

    @property
    def replaying(self) -> bool:
        """True while an undo or redo runs (views should not record the changes they see then)."""
        return self._busy

    def __len__(self) -> int:
        return len(self._done)

    def nbytes(self) -> int:
        return sum(c.nbytes for c in self._done) + sum(c.nbytes for c in self._undone)

    @property
    def is_clean(self) -> bool:
        """Whether the document is as it was when last saved (`set_clean`)."""
        return self._clean_index == len(self._done)

    # -- changes -----------------------------------------------------------------------------
    def push(self, command: Command, already_done: bool = False) -> None:
        """Record `command`, applying it first unless the view has already made the change."""
        if self._busy:
            return
        if not already_done:
            command.redo()
        if self._macro is not None:
            self._macro.append(command)
            return
        self._record(command)

    def _record(self, command: Command) -> None:
        if self._undone:
            if self._clean_index is not None and self._clean_index > len(self._done):
                self._clean_index = None  # the saved state can no longer be reached
            self._undone.clear()
        last = self._done[-1] if self._done else None
        if (
            command.merge_key
            and last is not None
            and last.merge_key == command.merge_key
            and self._merge_open
            and self._clean_index != len(self._done)
        ):
            self._done[-1] = Command(
                last.text, command.redo, last.undo, last.nbytes + command.nbytes, command.merge_key
            )
        else:
            self._done.append(command)
        self._merge_open = True
        self._trim()
        self.changed.emit()

    def _trim(self) -> None:
        while len(self._done) > 1 and (len(self._done) > self.limit or self.nbytes() > self.budget_bytes):
            self._done.pop(0)
            if self._clean_index is not None:
                self._clean_index = self._clean_index - 1 if self._clean_index > 0 else None

    def break_merge(self) -> None:
        """The next command starts a new step even if it has the same merge key (e.g. on focus out)."""
        self._merge_open = False

    @contextmanager
    def macro(self, text: str) -> Iterator[None]:
        """Group every command pushed inside the block into one step named `text`."""
        if self._macro is None:
            self._macro = []
        self._macro_depth += 1
        try:
            yield
        finally:
            self._macro_depth -= 1
            if self._macro_depth == 0:
                children, self._macro = self._macro, None
                if children:
                    self._record(_group(text, children))

    def undo(self) -> bool:
        if not self._done or self._busy:
            return False
        command = self._done.pop()
        self._replay(command.undo)
        self._undone.append(command)
        self._merge_open = False
        self.changed.emit()
        return True

    def redo(self) -> bool:
        if not self._undone or self._busy:
            return False
        command = self._undone.pop()
        self._replay(command.redo)
        self._done.append(command)
        self._merge_open = False
        self.changed.emit()
        return True

    def _replay(self, action: Callable[[], None]) -> None:
        self._busy = True
        try:
            action()
        finally:
            self._busy = False

    def clear(self) -> None:
        self._done.clear()
        self._undone.clear()
        self._clean_index = 0
        self.changed.emit()

    def set_clean(self) -> None:
        self._clean_index = len(self._done)
        self._merge_open = False
        self.changed.emit()


def _group(text: str, children: list[Command]) -> Command:
    if len(children) == 1 and children[0].text == text:
        return children[0]

    def redo() -> None:
        for child in children:
            child.redo()

    def undo() -> None:
        for child in reversed(children):
            child.undo()

    return Command(text, redo, undo, sum(c.nbytes for c in children), children=list(children))
