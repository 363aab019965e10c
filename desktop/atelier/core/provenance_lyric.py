"""Which lines of a lyric the model wrote, and the front matter and marks a lyric export carries.

A line counts as the model's while it is, word for word, a line of a suggestion the model wrote (kept in
the document's suggestions); once the user edits it, it no longer matches and counts as theirs. So no
state has to follow each keystroke, and an edit of one character is enough to make a line the user's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from atelier.core.lyric_text import to_markdown
from atelier.core.prosody import is_section
from atelier.core.provenance import COMPOSITE, TRAINED, app_label, build_record, now_iso

FRONT = "---"
MODEL_MARK = "<!-- model -->"  # an HTML comment: invisible once rendered, found by `read_lyric`
_MARK_END = re.compile(r"\s*" + re.escape(MODEL_MARK) + r"\s*$")


def _key(line: str) -> str:
    return " ".join(line.split())  # spacing aside; a changed letter (or its case) is the user's edit


def model_line_numbers(text: str, suggestions: Iterable[Any]) -> list[int]:
    """1-based numbers of the lines of `text` that are still exactly (spacing aside) a line the
    model wrote in one of `suggestions` (objects with `text` and `alternatives`). Section headers and
    blank lines are Atelier's layout, never counted."""
    written: set[str] = set()
    for suggestion in suggestions:
        pieces = [getattr(suggestion, "text", ""), *getattr(suggestion, "alternatives", ())]
        for piece in pieces:
            for line in str(piece).splitlines():
                if line.strip() and is_section(line) is None:
                    written.add(_key(line))
    return [
        number
        for number, line in enumerate(text.split("\n"), start=1)
        if line.strip() and is_section(line) is None and _key(line) in written
    ]


def lyric_record(
    text: str, suggestions: Iterable[Any], pack: str = "", extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The record of a lyric: the model's line numbers, how many lines are the user's, the seeds of the
    suggestions used, and the disclosure (all the model's: trained; a mix: composite; none: no AI)."""
    kept = list(suggestions)
    numbers = model_line_numbers(text, kept)
    content = [line for line in text.split("\n") if line.strip() and is_section(line) is None]
    record: dict[str, Any] = {
        "generator": app_label(),
        "task": "lyrics",
        "date": now_iso(),
        "model_lines": numbers,
        "user_lines": len(content) - len(numbers),
    }
    if numbers:
        record["ai"] = TRAINED if len(numbers) == len(content) else COMPOSITE
        chosen = {_key(line) for n, line in enumerate(text.split("\n"), start=1) if n in numbers}
        seeds = sorted(
            {
                s.seed
                for s in kept
                if getattr(s, "seed", None) is not None
                and chosen & {_key(x) for piece in (s.text, *s.alternatives) for x in piece.splitlines()}
            }
        )
        if seeds:
            record["seeds"] = seeds
        if pack:
            record["pack_id"] = pack
    return build_record({**record, **(extra or {})})


def front_matter(record: dict[str, Any]) -> str:
    """A `---` header, one `key: value` a line with JSON values (valid YAML too), then `---`."""
    lines = [FRONT]
    for key, value in record.items():
        lines.append(f"{key}: {json.dumps(value, ensure_ascii=False, default=str)}")
    return "\n".join([*lines, FRONT]) + "\n"


def lyric_file_text(text: str, markdown: bool, record: dict[str, Any] | None = None) -> str:
    """What a lyric export holds: with a record, its front matter (model_lines are numbers of the lyric's
    lines, counted from the first line after the header in a .txt) and, in Markdown, each model line
    marked with an invisible comment; without one, just the lyric. A lyric with no line of the model's
    left is the user's own: it gets no header (nothing to disclose, and a header would clutter their text)."""
    if record is not None and not record.get("model_lines"):
        record = None
    if not markdown:
        body = text.rstrip("\n") + "\n"
        return front_matter(record) + body if record else body
    lines = text.split("\n")
    if record:
        for number in record.get("model_lines", []):
            if 0 < number <= len(lines):
                lines[number - 1] = f"{lines[number - 1].rstrip()} {MODEL_MARK}"
    body = to_markdown("\n".join(lines))
    return front_matter(record) + "\n" + body if record else body


def split_front_matter(text: str) -> tuple[dict[str, Any] | None, str]:
    """(the front matter as a dict, or None when there is none, and the text after it)."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != FRONT:
        return None, text
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == FRONT)
    except StopIteration:
        return None, text
    found: dict[str, Any] = {}
    for line in lines[1:end]:
        key, sep, raw = line.partition(":")
        if not sep:
            continue
        try:
            found[key.strip()] = json.loads(raw.strip())
        except (ValueError, RecursionError):  # thousands of nested brackets: kept as the text it is
            found[key.strip()] = raw.strip()
    return found, "\n".join(lines[end + 1 :])


def marked_lines(markdown: str) -> list[str]:
    """The lines of a Markdown export marked as the model's, unmarked and without Markdown's line breaks."""
    return [_MARK_END.sub("", line.rstrip()).strip() for line in markdown.split("\n") if MODEL_MARK in line]
