"""A rhythm for one lyric line: one note per syllable, stressed syllables on strong beats.

Placement is a small dynamic programme over an eighth-note grid: each syllable pays for sitting
on a position whose beat strength does not suit its stress, and for notes that are too short or
too long; the last syllable lands on a strong beat and is held (the phrase end), then the line
breathes until its last bar ends. Every line fills whole bars, so lines can be swapped freely.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from fractions import Fraction

from atelier.core.lyric_syllables import PRIMARY, SECONDARY, Syllable
from atelier.core.music import Meter

SLOT = Fraction(1, 2)  # grid step in quarter notes (an eighth note)

# cost[stress][strength]: how badly a syllable of that stress sits on a position of that strength.
_PLACEMENT_COST = {
    PRIMARY: (3.0, 0.6, 0.2, 0.0),
    SECONDARY: (0.6, 0.2, 0.2, 0.3),
    0: (0.1, 0.1, 0.8, 1.6),
}
# cost of a note lasting 1, 2, 3, ... grid steps in the middle of a line.
_LENGTH_COST = (0.05, 0.0, 0.4, 0.3, 1.0, 1.2, 1.6, 1.8)
_NEVER = 1e9


@dataclass(frozen=True)
class LineRhythm:
    starts: tuple[Fraction, ...]  # quarters from the start of the line, one per syllable
    durations: tuple[Fraction, ...]
    bars: int

    def length(self, meter: Meter) -> Fraction:
        return self.bars * meter.bar_quarters


def bars_for(count: int, meter: Meter) -> int:
    """Enough bars that the syllables need not be crowded: 2, 4 or 8 (phrases of even length)."""
    slots_per_bar = int(meter.bar_quarters / SLOT)
    for bars in (2, 4, 8, 16):
        if count <= int(0.75 * bars * slots_per_bar):
            return bars
    return 32


# A line longer than this is sung as several phrases of at most this many syllables (8 bars of 4/4 at
# three syllables in four eighths): one phrase's placement is count x slots x 10 steps, so a 300-syllable
# line placed whole would need more bars than a phrase has (the placement then found no path and gave
# negative starts) and time that grows with its square.
MAX_PHRASE_SYLLABLES = 48


def line_rhythm(syllables: tuple[Syllable, ...], meter: Meter, seed: int = 0) -> LineRhythm:
    count = len(syllables)
    if count == 0:
        return LineRhythm((), (), 0)
    if count > MAX_PHRASE_SYLLABLES:
        return _phrases(syllables, meter, seed)
    bars = bars_for(count, meter)
    slots = int(bars * meter.bar_quarters / SLOT)
    strengths = meter.slot_strengths(SLOT, slots)
    # A little seeded noise lets variations choose between equally good rhythms.
    rng = random.Random(seed)
    noise = [[rng.random() * 0.15 for _ in range(slots)] for _ in range(count)]
    last_bar_start = slots - int(meter.bar_quarters / SLOT)
    # The phrase lands on its last stressed syllable; unstressed ones after it trail off.
    stressed = [i for i, s in enumerate(syllables) if s.stress > 0]
    landing = stressed[-1] if stressed else count - 1

    def placement(i: int, slot: int) -> float:
        cost = _PLACEMENT_COST[syllables[i].stress][strengths[slot]] + noise[i][slot]
        if i == landing:
            # The phrase ends on a strong beat of the last bar (or the bar before, leaving room).
            if strengths[slot] < 2 or slot < last_bar_start - int(meter.bar_quarters / SLOT):
                cost += 4.0
            cost += 0.2 * abs(slot - last_bar_start) / max(1, slots)
        return cost

    # length_cost[g]: a note lasting g grid steps (index 0 unused; a step back is never allowed).
    max_step = 10
    length_cost = [0.0] + [
        _LENGTH_COST[g - 1] if g <= len(_LENGTH_COST) else 2.0 + 0.2 * g for g in range(1, max_step + 1)
    ]
    # best[i][s]: cheapest placement of syllables 0..i with syllable i on slot s.
    best = [[_NEVER] * slots for _ in range(count)]
    back = [[-1] * slots for _ in range(count)]
    for s in range(slots):
        # Starting late is allowed (a rest before the first word) but not free.
        best[0][s] = placement(0, s) + 0.25 * s
    for i in range(1, count):
        previous_best, current_best, current_back = best[i - 1], best[i], back[i]
        for s in range(i, slots):
            choice, cost = -1, _NEVER
            for p in range(max(0, s - max_step), s):
                total = previous_best[p] + length_cost[s - p]
                if total < cost:
                    choice, cost = p, total
            if choice >= 0:
                current_best[s], current_back[s] = cost + placement(i, s), choice
    end = min(range(slots), key=lambda s: best[count - 1][s])
    chosen = [end]
    for i in range(count - 1, 0, -1):
        chosen.append(back[i][chosen[-1]])
    chosen.reverse()
    starts = tuple(s * SLOT for s in chosen)
    line_end = bars * meter.bar_quarters
    durations = [starts[i + 1] - starts[i] for i in range(count - 1)]
    # The phrase-end note is held for up to a half bar (at least a beat), then the singer breathes.
    hold = max(meter.beat_quarters, meter.bar_quarters / 2)
    durations.append(min(line_end - starts[-1], hold))
    return LineRhythm(starts, tuple(durations), bars)


def _phrases(syllables: tuple[Syllable, ...], meter: Meter, seed: int) -> LineRhythm:
    """A long line as consecutive phrases of nearly equal length, each placed on its own and filling
    whole bars, so starts only grow and every note lasts at least one grid step."""
    pieces = -(-len(syllables) // MAX_PHRASE_SYLLABLES)
    size = -(-len(syllables) // pieces)
    starts: list[Fraction] = []
    durations: list[Fraction] = []
    bars = 0
    for number, first in enumerate(range(0, len(syllables), size)):
        phrase = line_rhythm(syllables[first : first + size], meter, seed * 31 + number)
        offset = bars * meter.bar_quarters
        starts.extend(offset + start for start in phrase.starts)
        durations.extend(phrase.durations)
        bars += phrase.bars
    return LineRhythm(tuple(starts), tuple(durations), bars)
