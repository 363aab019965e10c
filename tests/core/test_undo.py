"""The core undo stack: commands, merging, macros, budget, clean state."""

from __future__ import annotations

from atelier.core.undo import Command, UndoStack


def _setter(state: dict[str, int], key: str, value: int, merge: str = "") -> Command:
    old = state.get(key, 0)

    def redo() -> None:
        state[key] = value

    def undo() -> None:
        state[key] = old

    return Command(f"set {key}", redo, undo, merge_key=merge)


def test_push_applies_and_undo_redo_revert():
    state: dict[str, int] = {}
    stack = UndoStack()
    events: list[int] = []
    stack.changed.connect(lambda: events.append(1))
    assert not stack.can_undo and not stack.can_redo
    stack.push(_setter(state, "a", 1))
    stack.push(_setter(state, "a", 2))
    assert state["a"] == 2 and stack.undo_text == "set a"
    assert stack.undo() and state["a"] == 1
    assert stack.undo() and state["a"] == 0
    assert not stack.undo()
    assert stack.redo() and state["a"] == 1
    assert stack.can_undo and stack.can_redo
    stack.push(_setter(state, "b", 5))  # a new change drops what could be redone
    assert not stack.can_redo
    assert events


def test_already_done_is_not_applied_twice():
    calls: list[str] = []
    stack = UndoStack()
    stack.push(Command("x", lambda: calls.append("redo"), lambda: calls.append("undo")), already_done=True)
    assert calls == []
    stack.undo()
    stack.redo()
    assert calls == ["undo", "redo"]


def test_same_merge_key_is_one_step_until_broken():
    state: dict[str, int] = {}
    stack = UndoStack()
    for value in (1, 2, 3):
        stack.push(_setter(state, "s", value, merge="slider"))
    assert len(stack) == 1
    stack.undo()
    assert state["s"] == 0
    stack.redo()
    assert state["s"] == 3
    stack.break_merge()
    stack.push(_setter(state, "s", 4, merge="slider"))
    assert len(stack) == 2


def test_macro_is_one_step_and_undoes_in_reverse():
    order: list[str] = []
    stack = UndoStack()
    with stack.macro("both"):
        stack.push(Command("1", lambda: order.append("r1"), lambda: order.append("u1")))
        stack.push(Command("2", lambda: order.append("r2"), lambda: order.append("u2")))
    assert len(stack) == 1 and stack.undo_text == "both"
    stack.undo()
    assert order == ["r1", "r2", "u2", "u1"]


def test_changes_made_while_replaying_are_not_recorded():
    stack = UndoStack()
    state: dict[str, int] = {}

    def undo() -> None:
        # A view reacting to the undo would push a command; it must be ignored.
        stack.push(_setter(state, "echo", 9))

    stack.push(Command("x", lambda: None, undo))
    stack.undo()
    assert "echo" not in state and not stack.can_undo and stack.can_redo


def test_budget_drops_oldest_steps_but_keeps_the_newest():
    stack = UndoStack(budget_bytes=100)
    for i in range(5):
        stack.push(Command(str(i), lambda: None, lambda: None, nbytes=60))
    assert len(stack) == 1 and stack.undo_text == "4"
    limited = UndoStack(limit=3)
    for i in range(5):
        limited.push(Command(str(i), lambda: None, lambda: None))
    assert len(limited) == 3


def test_clean_state_follows_save_point():
    state: dict[str, int] = {}
    stack = UndoStack()
    assert stack.is_clean
    stack.push(_setter(state, "a", 1))
    assert not stack.is_clean
    stack.set_clean()
    assert stack.is_clean
    stack.undo()
    assert not stack.is_clean
    stack.redo()
    assert stack.is_clean
    stack.undo()
    stack.push(_setter(state, "a", 7))  # the saved state can no longer be reached
    assert not stack.is_clean
