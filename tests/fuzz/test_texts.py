"""Text from outside (lyrics, themes, mood words, seeds): every Unicode plane, right-to-left text, combining
marks, NUL, huge inputs. Requests accept it or refuse it with a message; a melody's notes always move forward."""

from __future__ import annotations

import itertools
import random
import time
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atelier.core.errors import InvalidRequestError
from atelier.core.lyric_rhythm import MAX_PHRASE_SYLLABLES, line_rhythm
from atelier.core.lyric_syllables import parse_lyric
from atelier.core.music import METERS, parse_meter
from atelier.core.prosody import analyse
from atelier.core.requests import SEED_LIMIT
from atelier.core.requests.colorize import ColorizeRequest
from atelier.core.requests.lyrics import MAX_PROMPT_CHARS, LyricRequest
from atelier.core.requests.melody import MAX_LYRIC_CHARS, MelodyRequest, MelodyResult
from atelier.core.requests.palette import MAX_TEXT_CHARS, HarmonyRequest, PaletteFromTextRequest
from atelier.core.requests.sketch import SketchRequest
from atelier.engine.runner import Engine
from tests.fuzz import inputs

# Every code point, lone surrogates included (Python strings hold them; a pasted or decoded text can too).
any_text = st.text(st.characters(codec=None), max_size=300)
hostile = st.integers(0, 2**32 - 1).map(lambda seed: inputs.hostile_text(random.Random(seed), 400))
lyric_text = any_text | hostile


def check_rhythm(count: int, meter_name: str, seed: int) -> None:
    meter = parse_meter(meter_name)
    syllables = parse_lyric(" ".join(["la"] * count))[0].lines[0].syllables
    rhythm = line_rhythm(syllables, meter, seed)
    assert len(rhythm.starts) == len(rhythm.durations) == count
    assert rhythm.starts[0] >= 0 and all(d > 0 for d in rhythm.durations)
    assert all(a < b for a, b in zip(rhythm.starts, rhythm.starts[1:], strict=False))
    assert all(s + d <= t for s, d, t in zip(rhythm.starts, rhythm.durations, rhythm.starts[1:], strict=False))
    assert rhythm.starts[-1] + rhythm.durations[-1] <= rhythm.bars * meter.bar_quarters


def test_one_line_of_300_la_has_no_negative_start_or_zero_length() -> None:
    # Issue 15: the placement had 256 slots for 300 syllables and fell back to -1 (start -0.5, length 0).
    for meter in METERS:
        check_rhythm(300, meter, 0)
    syllables = parse_lyric(" ".join(["la"] * 300))[0].lines[0].syllables
    rhythm = line_rhythm(syllables, parse_meter("4/4"))
    assert rhythm.bars == 56 and min(rhythm.durations) >= Fraction(1, 2)


@settings(max_examples=120, deadline=None)
@given(count=st.integers(1, 4 * MAX_PHRASE_SYLLABLES + 7), meter=st.sampled_from(METERS), seed=st.integers(0, 99))
def test_any_line_length_gives_forward_notes(count: int, meter: str, seed: int) -> None:
    check_rhythm(count, meter, seed)


@settings(max_examples=400, deadline=None)
@given(text=lyric_text, meter=st.sampled_from(METERS))
def test_fuzz_lyric_text_parses_and_every_line_has_a_forward_rhythm(text: str, meter: str) -> None:
    analyse(text)  # syllables and rhyme letters for the editor's gutter
    for section in parse_lyric(text):
        for line in section.lines:
            rhythm = line_rhythm(line.syllables, parse_meter(meter))
            assert all(s >= 0 for s in rhythm.starts) and all(d > 0 for d in rhythm.durations)


@settings(max_examples=400, deadline=None)
@given(text=lyric_text)
def test_fuzz_requests_take_any_text_or_refuse_it(text: str) -> None:
    for make in (
        lambda: MelodyRequest(lyrics=text),
        lambda: LyricRequest(prompt=text),
        lambda: LyricRequest(mode="rewrite", line=text, context=text),
        lambda: PaletteFromTextRequest(text=text),
        lambda: SketchRequest(prompt=text, negative=text),
    ):
        try:
            request = make()
        except InvalidRequestError as exc:
            assert str(exc)
            continue
        assert request.summary() and request.to_record()


@settings(max_examples=25, deadline=None)
@given(text=hostile, seed=st.integers(0, SEED_LIMIT - 1))
def test_fuzz_melodies_of_hostile_lyrics_move_forward(text: str, seed: int) -> None:
    try:
        request = MelodyRequest(lyrics=text, seed=seed)
    except InvalidRequestError:
        return
    result = Engine().run_to_end(request)
    assert isinstance(result, MelodyResult)
    notes = result.variations[0].notes
    assert all(n.start >= 0 and n.duration > 0 for n in notes)
    assert all(a.start < b.start for a, b in itertools.pairwise(notes))


def test_a_120_kb_theme_is_refused_naming_the_limit() -> None:
    with pytest.raises(InvalidRequestError, match=f"the limit is {MAX_PROMPT_CHARS:,}"):
        LyricRequest(prompt="night sea " * 12_000)
    with pytest.raises(InvalidRequestError, match="prompt is 120,000 characters"):
        SketchRequest(prompt="x" * 120_000)
    # Spaces around a short theme are not counted: 100,000 spaces and an x is the theme "x".
    assert LyricRequest(prompt=" " * 100_000 + "x").prompt.strip() == "x"


def test_a_melody_lyric_over_the_limit_is_refused_before_it_is_parsed() -> None:
    started = time.perf_counter()
    with pytest.raises(InvalidRequestError, match=f"at most {MAX_LYRIC_CHARS:,} characters"):
        MelodyRequest(lyrics="la " * 1_700_000)
    assert time.perf_counter() - started < 1.0  # parsing 5 MB took minutes


def test_palette_text_of_spaces_and_x_is_x_and_long_text_is_cut_on_a_word() -> None:
    assert PaletteFromTextRequest(text=" " * 100_000 + "x").text == "x"
    with pytest.raises(InvalidRequestError, match="empty"):
        PaletteFromTextRequest(text=" \n\t\u3000" * 1000)
    long = PaletteFromTextRequest(text="stormy sea at dusk " * 10_000).text
    assert MAX_TEXT_CHARS - 100 < len(long) <= MAX_TEXT_CHARS
    assert long.split()[-1] in ("stormy", "sea", "at", "dusk")  # a whole word, not half of one


@pytest.mark.parametrize("seed", [-5, SEED_LIMIT, 2**63, 1.5, True, "7"])
def test_seeds_outside_0_to_2_32_are_refused_by_every_request(seed: object) -> None:
    lines = np.full((16, 16), 255, np.uint8)
    for make in (
        lambda: MelodyRequest(lyrics="la la", seed=seed),  # type: ignore[arg-type]
        lambda: ColorizeRequest(lines=lines, palette=("#000000", "#ffffff", "#ff0000"), seed=seed),  # type: ignore[arg-type]
        lambda: PaletteFromTextRequest(text="sea", seed=seed),  # type: ignore[arg-type]
        lambda: HarmonyRequest(base="#336699", seed=seed),  # type: ignore[arg-type]
        lambda: SketchRequest(prompt="cat", seed=seed),  # type: ignore[arg-type]
    ):
        with pytest.raises(InvalidRequestError, match="seed must be a whole number"):
            make()
    assert MelodyRequest(lyrics="la la", seed=np.int64(SEED_LIMIT - 1)).seed == SEED_LIMIT - 1  # type: ignore[arg-type]
