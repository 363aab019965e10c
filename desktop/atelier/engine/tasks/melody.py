"""A melody for the lyric: rhythm from the syllables' stresses, pitches sampled from the melody GRU, chords.

The model runs one note per call (the ONNX step model carries the GRU state in and out), for
all variations at once as a batch. Sampling is constrained to the key's scale and a singable
range, phrase ends land on stable degrees, and the song ends on the tonic. Each bar then gets
a chord chosen to fit its notes (core.music.harmonize).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from atelier.core.errors import PackError
from atelier.core.lyric_rhythm import LineRhythm, line_rhythm
from atelier.core.lyric_syllables import parse_lyric
from atelier.core.music import (
    ACCOMPANIMENTS,
    DURATIONS,
    MODE_IDS,
    MODE_SCALES,
    PITCH_COUNT,
    PITCH_HIGH,
    PITCH_LOW,
    STABLE_DEGREES,
    START_TOKEN,
    Meter,
    duration_class,
    meter_id,
    parse_meter,
    tonic_midi,
    tonic_pitch_class,
)
from atelier.core.progress import Progress
from atelier.core.requests import DeviceInfo
from atelier.core.requests.melody import Melody, MelodyNote, MelodyRequest, MelodyResult
from atelier.core.song_form import LineSource, PlannedLine, plan_song
from atelier.engine.packs import Pack
from atelier.engine.runner import TaskContext, TaskGenerator, task

SING_LOW, SING_HIGH = 55, 81  # G3..A5: where generated notes may go
MAX_LEAP = 9  # semitones; wider leaps are hard to sing
LEAP_PENALTY = 1.5  # log-probability taken from leaps wider than a fifth
VARY_PULL = 2.0  # log-probability added to the pitch of the line being varied


@dataclass
class PlannedNote:
    start: Fraction
    duration: Fraction
    syllable: str
    line: int
    stress: int
    first_of_word: bool
    phrase_end: bool
    action: str  # "sample", "copy" (pitch of note `ref`), "vary" (towards note `ref`), "keep"
    ref: int = -1
    kept_pitch: int = 0
    song_end: bool = False  # must be the tonic: the last note, or the note the last one repeats


def mark_song_end(notes: list[PlannedNote]) -> list[PlannedNote]:
    """The song ends on the tonic; when its last line repeats an earlier one, so does that one."""
    index = len(notes) - 1
    while index >= 0:
        notes[index].song_end = True
        index = notes[index].ref if notes[index].action in ("copy", "vary") else -1
    return notes


def check_pack(pack: Pack) -> tuple[int, int]:
    """The GRU state shape; refuse a pack whose token layout differs from this version's."""
    tokens = pack.extra.get("tokens", {})
    expected = {"pitch_low": PITCH_LOW, "pitch_high": PITCH_HIGH, "start_token": START_TOKEN}
    if any(tokens.get(k) != v for k, v in expected.items()) or tokens.get("durations") != [str(d) for d in DURATIONS]:
        raise PackError(f"Pack '{pack.id}' was built for another melody token layout than this Atelier.")
    layers, hidden = pack.extra.get("hidden_shape", (0, 0))
    return int(layers), int(hidden)


Span = tuple[Fraction, Fraction]


def section_names(planned_lines: list[PlannedLine]) -> tuple[tuple[str, int, int], ...]:
    """("Verse 1", first line, last line), ...; a label used once is not numbered."""
    groups: list[tuple[str, int, int]] = []
    for index, planned in enumerate(planned_lines):
        if index and planned.section == planned_lines[index - 1].section:
            name, first, _ = groups[-1]
            groups[-1] = (name, first, index)
        else:
            groups.append((planned.label.capitalize() or "Section", index, index))
    totals = {name: sum(1 for g in groups if g[0] == name) for name, _, _ in groups}
    seen: dict[str, int] = {}
    named = []
    for name, first, last in groups:
        seen[name] = seen.get(name, 0) + 1
        named.append((f"{name} {seen[name]}" if totals[name] > 1 else name, first, last))
    return tuple(named)


def _quarters(value: float) -> Fraction:
    return Fraction(value).limit_denominator(48)


def plan_notes(
    planned_lines: list[PlannedLine], meter: Meter, variation_seed: int, tune: Melody | None = None
) -> tuple[list[PlannedNote], list[Span]]:
    """Every note of the song with what to do for its pitch, and each line's span in quarters.

    With `tune` (a tune for the first lines, to continue) its notes are kept as they are, and a later
    line that repeats or varies one of its lines takes that line's rhythm."""
    notes: list[PlannedNote] = []
    first_note_of_line: list[int] = []
    rhythms: list[LineRhythm] = []
    spans: list[Span] = []
    cursor = Fraction(0)
    kept = len(tune.lines) if tune is not None else 0
    for index, planned in enumerate(planned_lines):
        if tune is not None and index < kept:
            first_note_of_line.append(len(notes))
            line_start, line_end = (_quarters(x) for x in tune.line_spans[index])
            line_notes = tune.notes_of_line(index)
            for position, note in enumerate(line_notes):
                notes.append(
                    PlannedNote(
                        _quarters(note.start),
                        _quarters(note.duration),
                        note.syllable,
                        index,
                        note.stress,
                        note.first_of_word,
                        position == len(line_notes) - 1,
                        "keep",
                        kept_pitch=note.pitch,
                    )
                )
            bars = max(1, math.ceil((line_end - line_start) / meter.bar_quarters))
            starts = tuple(n.start - line_start for n in notes[first_note_of_line[-1] :])
            durations = tuple(n.duration for n in notes[first_note_of_line[-1] :])
            rhythms.append(LineRhythm(starts, durations, bars))
            spans.append((line_start, line_end))
            cursor = line_end
            continue
        if planned.source is LineSource.NEW:
            rhythm = line_rhythm(planned.line.syllables, meter, seed=variation_seed * 7919 + index)
        else:
            rhythm = rhythms[planned.ref]
        rhythms.append(rhythm)
        first_note_of_line.append(len(notes))
        count = len(planned.line.syllables)
        for position, (syllable, start, duration) in enumerate(
            zip(planned.line.syllables, rhythm.starts, rhythm.durations, strict=True)
        ):
            ref = first_note_of_line[planned.ref] + position if planned.ref >= 0 else -1
            action = {LineSource.NEW: "sample", LineSource.COPY: "copy", LineSource.VARY: "vary"}[planned.source]
            notes.append(
                PlannedNote(
                    cursor + start,
                    duration,
                    syllable.text,
                    index,
                    syllable.stress,
                    syllable.first_of_word,
                    position == count - 1,
                    action,
                    ref,
                )
            )
        end = cursor + rhythm.length(meter)
        spans.append((cursor, end))
        cursor = end
    return mark_song_end(notes), spans


def plan_regeneration(base: Melody, line: int) -> list[PlannedNote]:
    """Keep every note of `base` except those of `line` and of the lines that repeat its words."""
    key = " ".join(base.lines[line].lower().split())
    targets = {i for i, text in enumerate(base.lines) if " ".join(text.lower().split()) == key}
    first_target = min(targets)
    notes: list[PlannedNote] = []
    line_first_note: dict[int, int] = {}
    for index, note in enumerate(base.notes):
        line_first_note.setdefault(note.line, index)
        last_of_line = index + 1 == len(base.notes) or base.notes[index + 1].line != note.line
        planned = PlannedNote(
            _quarters(note.start),
            _quarters(note.duration),
            note.syllable,
            note.line,
            note.stress,
            note.first_of_word,
            last_of_line,
            "keep",
            kept_pitch=note.pitch,
        )
        if note.line == first_target:
            planned.action = "sample"
        elif note.line in targets:
            planned.action, planned.ref = (
                "copy",
                line_first_note[first_target] + index - line_first_note[note.line],
            )
        notes.append(planned)
    return mark_song_end(notes)


def allowed_tokens(mode: str, tonic: int) -> np.ndarray:
    relative = np.arange(PITCH_COUNT) + PITCH_LOW
    in_scale = np.isin(relative % 12, MODE_SCALES[mode])
    absolute = relative + tonic_midi(tonic)
    return in_scale & (absolute >= SING_LOW) & (absolute <= SING_HIGH)


StepFunction = Callable[[dict[str, np.ndarray]], tuple[np.ndarray, np.ndarray]]


def sample_pitches(
    plans: list[list[PlannedNote]],
    request: MelodyRequest,
    meter: Meter,
    rngs: list[np.random.Generator],
    run_step: StepFunction,
    hidden: np.ndarray,
    shift: int = 0,
) -> np.ndarray:
    """Tokens [variations, notes]; one model step per note for all variations at once.

    Every variation has the same notes and actions (they follow the words); only the rhythm,
    fed as each row's duration and beat strength, and the random draws differ. Kept notes are
    moved down `shift` semitones (whole octaves) into the model's range.
    """
    batch = len(rngs)
    notes = plans[0]
    count = len(notes)
    tonic = tonic_pitch_class(request.key)
    base = tonic_midi(tonic) + PITCH_LOW  # MIDI number of token 0
    allowed = allowed_tokens(request.mode, tonic)
    relative = np.arange(PITCH_COUNT) + PITCH_LOW
    in_scale = np.isin(relative % 12, MODE_SCALES[request.mode])
    stable_mask = allowed & np.isin(relative % 12, list(STABLE_DEGREES)) & in_scale
    tonic_mask = allowed & (relative % 12 == 0)
    # Log-space biases over (previous token, next token): leaps past MAX_LEAP are ruled out,
    # leaps past a fifth cost LEAP_PENALTY; the start token allows anything.
    leap = np.abs(np.arange(PITCH_COUNT)[:, None] - np.arange(PITCH_COUNT)[None, :])
    leap_bias = np.where(leap > MAX_LEAP, -np.inf, np.where(leap > 7, -LEAP_PENALTY, 0.0))
    leap_bias = np.vstack([leap_bias, np.zeros((1, PITCH_COUNT))])  # row START_TOKEN
    # All random draws up front: Gumbel noise turns argmax into a draw from softmax(scores).
    gumbel = np.stack([-np.log(-np.log(rng.uniform(1e-12, 1.0, (count, PITCH_COUNT)))) for rng in rngs])
    last_sampled = max((i for i, n in enumerate(notes) if n.action != "keep"), default=-1)
    tokens = np.zeros((batch, count), np.int64)
    previous = np.full(batch, START_TOKEN, np.int64)
    mode_feed = np.full(batch, MODE_IDS[request.mode], np.int64)
    meter_feed = np.full(batch, meter_id(meter), np.int64)
    # The rhythm's features for every note of every variation, computed once.
    durations = np.array([[duration_class(n.duration) for n in plan] for plan in plans], np.int64)
    strengths = np.array([[meter.strength(n.start) for n in plan] for plan in plans], np.int64)
    phrase_ends = np.array([[int(n.phrase_end) for n in notes]] * batch, np.int64)
    rows = np.arange(batch)
    for index, note in enumerate(notes[: last_sampled + 1]):
        feeds = {
            "prev_pitch": previous,
            "duration": durations[:, index],
            "strength": strengths[:, index],
            "phrase_end": phrase_ends[:, index],
            "mode": mode_feed,
            "meter": meter_feed,
            "hidden": hidden,
        }
        log_probs, hidden = run_step(feeds)
        if note.action == "keep":
            tokens[:, index] = int(np.clip(note.kept_pitch - shift - base, 0, PITCH_COUNT - 1))
        elif note.action == "copy":
            tokens[:, index] = tokens[:, note.ref]
        else:
            mask = allowed
            if note.phrase_end:
                mask = tonic_mask if note.song_end else stable_mask
                if not mask.any():
                    mask = allowed
            scores = np.where(mask, log_probs / request.temperature, -np.inf) + leap_bias[previous]
            if note.action == "vary":
                scores[rows, tokens[:, note.ref]] += VARY_PULL
            # A leap rule that leaves nothing allowed (a far previous note) is dropped.
            stuck = ~np.isfinite(scores).any(axis=1)
            if stuck.any():
                scores[stuck] = np.where(mask, log_probs[stuck] / request.temperature, -np.inf)
            tokens[:, index] = np.argmax(scores + gumbel[:, index], axis=1)
        previous = tokens[:, index].copy()
    for index in range(last_sampled + 1, count):
        tokens[:, index] = notes[index].kept_pitch - shift - base
    return tokens


def octave_shift(tune: Melody | None) -> int:
    """Whole octaves to move a tune to continue by so that its middle note lies well inside the range
    the model sings in (0 for a tune that is there already)."""
    if tune is None or not tune.notes:
        return 0
    pitches = sorted(n.pitch for n in tune.notes)
    middle, shift = pitches[len(pitches) // 2], 0
    while middle - shift > SING_HIGH - 4:
        shift += 12
    while middle - shift < SING_LOW + 4:
        shift -= 12
    return shift


@task(MelodyRequest)
def run_melody(request: MelodyRequest, context: TaskContext) -> TaskGenerator:
    pack = context.pack_of_kind("melody", request.pack_id)
    layers, size = check_pack(pack)
    meter = parse_meter(request.base.meter if request.base and request.regenerate_line >= 0 else request.meter)
    yield Progress(0, 3, "Fitting the words to a rhythm")
    variations = request.variations
    if request.regenerate_line >= 0:
        assert request.base is not None
        plans = [plan_regeneration(request.base, request.regenerate_line)] * variations
        lines = list(request.base.lines)
        sections = request.base.sections
        spans = [
            (Fraction(a).limit_denominator(48), Fraction(b).limit_denominator(48)) for a, b in request.base.line_spans
        ]
    else:
        planned_lines = plan_song(parse_lyric(request.lyrics))
        lines = [p.line.text for p in planned_lines]
        sections = section_names(planned_lines)
        plans = []
        for v in range(variations):
            notes, spans = plan_notes(planned_lines, meter, request.seed + v, request.continue_from)
            plans.append(notes)
    yield Progress(1, 3, "Choosing the notes")
    device_holder: list[DeviceInfo] = []

    def run_step(feeds: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        (log_probs, hidden_out), device = context.pool.run(pack, "step", feeds, context.cancel)
        if not device_holder:
            device_holder.append(device)
        return log_probs, hidden_out

    # Variations share the actions (sample/copy/keep) note by note, so they run as one batch;
    # each rhythm is fed per variation through the notes' own durations and beat strengths.
    rngs = [np.random.default_rng([request.seed, v, max(0, request.regenerate_line) + 1]) for v in range(variations)]
    hidden = np.zeros((layers, variations, size), np.float32)
    # A tune to continue may sit in another octave: the model hears it moved to its own range, and the
    # new notes are moved back, so they go on where the tune is.
    shift = octave_shift(request.continue_from)
    tokens = sample_pitches(plans, request, meter, rngs, run_step, hidden, shift)
    yield Progress(2, 3, "Writing the melody")
    tonic_base = tonic_midi(tonic_pitch_class(request.key))
    melodies = []
    for v, notes in enumerate(plans):
        melody_notes = tuple(
            MelodyNote(
                # Kept notes exactly as they were (the model's range may have clipped their tokens).
                n.kept_pitch if n.action == "keep" else int(tonic_base + tokens[v, i] + PITCH_LOW + shift),
                float(n.start),
                float(n.duration),
                n.syllable,
                n.line,
                n.stress,
                n.first_of_word,
            )
            for i, n in enumerate(notes)
        )
        melodies.append(
            Melody(
                notes=melody_notes,
                lines=tuple(lines),
                line_spans=tuple((float(a), float(b)) for a, b in spans),
                key=request.key,
                mode=request.mode,
                meter=meter.name,
                tempo=float(request.tempo),
                program=request.program,
                seed=request.seed + v,
                sections=sections,
                chord_program=ACCOMPANIMENTS[request.accompaniment],
            ).with_chords()
        )
    device = device_holder[0] if device_holder else DeviceInfo(provider="CPUExecutionProvider")
    return MelodyResult(variations=tuple(melodies), device=device)
