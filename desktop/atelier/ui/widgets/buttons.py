"""Buttons made one way in every view: a kind of button with its label and its tooltip."""

from __future__ import annotations

from typing import TypeVar, overload

from PySide6.QtCore import SignalInstance
from PySide6.QtWidgets import QAbstractButton, QPushButton

B = TypeVar("B", bound=QAbstractButton)


@overload
def button(text: str, tip: str = "") -> QPushButton: ...


@overload
def button(text: str, tip: str = "", *, kind: type[B]) -> B: ...


def button(text: str, tip: str = "", *, kind: type[QAbstractButton] = QPushButton) -> QAbstractButton:
    widget = kind()
    widget.setText(text)
    widget.setToolTip(tip)
    return widget


def click_through(pairs: tuple[tuple[QAbstractButton, SignalInstance], ...]) -> None:
    """Each button's click emits its view's signal (the panel connects the signals, not the buttons)."""
    for widget, signal in pairs:
        widget.clicked.connect(signal)
