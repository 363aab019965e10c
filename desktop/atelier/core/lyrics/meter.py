"""Syllable targets for lyric lines (haiku 5/7/5; a later verse's line N aims at verse 1's line N) and
where a line being written may end so that it meets its target, counted by Atelier's own counter
(core/prosody.py, the one the Lyric panel's gutter shows)."""

from __future__ import annotations

import enum
import itertools
import re
from dataclasses import dataclass

from atelier.core import prosody

HAIKU = (5, 7, 5)
# A later verse's line may differ from its partner by this many syllables: the gutter's rule, so the
# writer aims at what the gutter flags.
SONG_TOLERANCE = prosody.PARTNER_TOLERANCE
# A line cut at its syllable target must not end on a word that needs the next one: "The autumn
# leaves fall on the" is cut mid-phrase. A line the model ends by itself may end as it likes.
DANGLING = frozenset(
    (  # noqa: SIM905 (a word list reads better as text)
        "a an the and or nor but of to from into onto upon than my your our their its whose "
        "at with for as if because whether that which who is are was were"
    ).split()
)


@dataclass(frozen=True)
class Meter:
    """A line's syllable target: `syllables`, give or take `tolerance`."""

    syllables: int
    tolerance: int = 0

    @property
    def low(self) -> int:
        return max(1, self.syllables - self.tolerance)

    @property
    def high(self) -> int:
        return self.syllables + self.tolerance

    def fits(self, count: int) -> bool:
        return self.low <= count <= self.high

    def distance(self, count: int) -> int:
        """How many syllables `count` is outside the allowed range (0 when it fits)."""
        return max(0, self.low - count, count - self.high)


def poem_meter(form: str, index: int) -> Meter | None:
    """The target of line `index` (from 0) of a poem form; None where the form has no syllable count."""
    if form == "haiku" and index < len(HAIKU):
        return Meter(HAIKU[index])
    return None


def partner_meter(first_lines: list[str], index: int) -> Meter | None:
    """Line `index` of a repeated section (Verse 2) aims at line `index` of its first instance."""
    if index >= len(first_lines):
        return None
    count = prosody.line_syllables(first_lines[index])
    return Meter(count, SONG_TOLERANCE) if count else None


# Words that open a new phrase: a line may be cut just before one of them ("Autumn leaves drift down
# | in the cold") and reads whole; cut before any other word it stops mid-phrase ("Those days of
# endless | summer").
PHRASE_STARTERS = frozenset(
    (  # noqa: SIM905 (a word list reads better as text)
        "a an the and or but nor so yet as while when where until till after before since because though "
        "although if unless that which who whom whose what how why in on at by for from with into onto upon "
        "over under through across along among around beneath beside between beyond behind near past toward "
        "towards without within against like of to i you he she it we they my your his her its our their "
        "this these those there here then now all every each no not never is are was were will would can "
        "could shall should may might must do does did has have had let"
    ).split()
)
_PAUSE_RE = re.compile(r"[,.;:!?\u2026\u2013\u2014]|\s-\s")


class Fit(enum.Enum):
    GO_ON = "go on"  # not there yet, or past the target with a place to cut behind: keep sampling
    END = "end"  # the line ends here (`text`), within its target
    OVER = "over"  # the line has passed its target with no place to end within it
    UNDER = "under"  # the line ended short of its target


@dataclass(frozen=True)
class MeterFit:
    fit: Fit
    text: str = ""
    syllables: int = 0


def fit_line(text: str, meter: Meter, ended: bool) -> MeterFit:
    """Where `text`, a line being sampled (or, with `ended`, a whole line), stands against `meter`.

    A whole line that meets its target is kept as it is. One that runs past it is cut where it may
    be: after a word that brings the count inside the target, is not DANGLING, and is followed by a
    pause (comma, full stop, dash) or a word from PHRASE_STARTERS; the cut nearest the target wins
    (the longer one on a tie). A whole line with no such place is UNDER or OVER.

    While the line is still being written, words count once complete (something follows them); it
    is OVER as soon as it has passed the target with no place to cut behind it (no use sampling on),
    else GO_ON: it is judged whole, so that the checks see the words after the cut too."""
    found = [m for m in prosody.WORD_RE.finditer(text) if m.group().strip("'")]
    if found and not ended and found[-1].end() == len(text):
        found.pop()  # the model may still be writing this word
    words = [m.group().lower().strip("'") for m in found]
    counts = list(itertools.accumulate(prosody.syllables(w) for w in words))
    total = counts[-1] if counts else 0

    def can_cut(k: int) -> bool:
        if not meter.fits(counts[k]) or words[k] in DANGLING:
            return False
        if k + 1 == len(words):
            return not ended  # its next word is still to come
        return bool(_PAUSE_RE.search(text[found[k].end() : found[k + 1].start()])) or words[k + 1] in PHRASE_STARTERS

    if not ended:
        if total <= meter.high or any(can_cut(k) for k in range(len(words))):
            return MeterFit(Fit.GO_ON, text, total)
        return MeterFit(Fit.OVER, text, total)
    if meter.fits(total):
        return MeterFit(Fit.END, text, total)
    cuts = [k for k in range(len(words) - 1) if can_cut(k)]
    if cuts:
        best = min(cuts, key=lambda k: (abs(counts[k] - meter.syllables), -k))
        return MeterFit(Fit.END, text[: found[best].end()], counts[best])
    return MeterFit(Fit.UNDER if total < meter.low else Fit.OVER, text, total)
