"""Song form for the melody: which lines get new music, which repeat a line, which vary one.

A line whose words were sung before repeats that melody exactly (a repeated chorus sounds the
same); a line in the same place of a later section with the same label ("verse" after "verse")
and the same number of syllables keeps the earlier rhythm and a varied tune; the rest is new.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from atelier.core.lyric_syllables import LyricLine, Section


class LineSource(enum.Enum):
    NEW = "new"
    COPY = "copy"  # same melody as `ref`
    VARY = "vary"  # same rhythm as `ref`, pitches drawn towards it


@dataclass(frozen=True)
class PlannedLine:
    line: LyricLine
    section: int
    label: str
    source: LineSource
    ref: int = -1  # index of the earlier line it repeats or varies
    section_end: bool = False


def plan_song(sections: tuple[Section, ...]) -> list[PlannedLine]:
    planned: list[PlannedLine] = []
    first_by_text: dict[str, int] = {}
    section_lines: list[list[int]] = []  # line indices of each section
    for section_index, section in enumerate(sections):
        earlier = _earlier_like(sections, section_index)
        indices: list[int] = []
        for position, line in enumerate(section.lines):
            index = len(planned)
            section_end = position == len(section.lines) - 1
            if line.key in first_by_text:
                source, ref = LineSource.COPY, first_by_text[line.key]
            elif earlier is not None and position < len(section_lines[earlier]):
                candidate = section_lines[earlier][position]
                if len(planned[candidate].line.syllables) == len(line.syllables):
                    source, ref = LineSource.VARY, candidate
                else:
                    source, ref = LineSource.NEW, -1
            else:
                source, ref = LineSource.NEW, -1
            first_by_text.setdefault(line.key, index)
            planned.append(PlannedLine(line, section_index, section.label, source, ref, section_end))
            indices.append(index)
        section_lines.append(indices)
    return planned


def _earlier_like(sections: tuple[Section, ...], index: int) -> int | None:
    """The first earlier section of the same kind: same label, or unlabelled with as many lines."""
    section = sections[index]
    for other_index, other in enumerate(sections[:index]):
        if section.label and other.label == section.label:
            return other_index
        if not section.label and not other.label and len(other.lines) == len(section.lines):
            return other_index
    return None
