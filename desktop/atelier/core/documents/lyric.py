"""The lyric text, shared so other panels can use the words (a palette from the song's mood)."""

from __future__ import annotations

from psygnal import Signal


class LyricDocument:
    changed = Signal(str)

    def __init__(self, text: str = "") -> None:
        self._text = text

    @property
    def text(self) -> str:
        return self._text

    def set_text(self, text: str) -> None:
        if text != self._text:
            self._text = text
            self.changed.emit(text)

    def to_dict(self) -> dict[str, object]:
        return {"text": self._text}

    def restore(self, data: dict[str, object]) -> None:
        text = data.get("text", "")
        self.set_text(text if isinstance(text, str) else "")
