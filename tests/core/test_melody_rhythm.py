"""Lyric rhythm (stressed syllables on strong beats), song form and the melody request."""

from __future__ import annotations

from fractions import Fraction

import pytest

from atelier.core.errors import InvalidRequestError
from atelier.core.lyric_rhythm import line_rhythm
from atelier.core.lyric_syllables import PRIMARY, line_syllables, parse_lyric
from atelier.core.music import Meter, duration_class, parse_meter, pitch_token, token_midi
from atelier.core.requests.melody import Melody, MelodyNote, MelodyRequest
from atelier.core.song_form import LineSource, plan_song

LINES = [
    "I walked along the river in the evening light",
    "The city humming softly like a lullaby",
    "Sing it to me, sing it slow",
    "Everywhere the river goes",
    "Carry me home",
]


def test_beat_strengths_follow_the_meter() -> None:
    four = parse_meter("4/4")
    assert [four.strength(Fraction(q, 2)) for q in range(8)] == [3, 0, 1, 0, 2, 0, 1, 0]
    six_eight = parse_meter("6/8")
    assert [six_eight.strength(Fraction(q, 2)) for q in range(6)] == [3, 0, 0, 2, 0, 0]
    three = parse_meter("3/4")
    assert [three.strength(Fraction(q)) for q in range(3)] == [3, 1, 1]


@pytest.mark.parametrize("meter_name", ["4/4", "3/4", "6/8", "2/4"])
def test_one_note_per_syllable_in_whole_bars_with_stress_on_strong_beats(meter_name: str) -> None:
    meter = parse_meter(meter_name)
    stressed_strong = stressed_total = 0
    for text in LINES:
        syllables = line_syllables(text)
        rhythm = line_rhythm(syllables, meter)
        assert len(rhythm.starts) == len(syllables) == len(rhythm.durations)
        assert list(rhythm.starts) == sorted(set(rhythm.starts))
        for start, duration, following in zip(rhythm.starts, rhythm.durations, [*rhythm.starts[1:], None], strict=True):
            assert duration > 0
            if following is not None:
                assert start + duration <= following
        assert rhythm.starts[-1] + rhythm.durations[-1] <= rhythm.length(meter)
        assert rhythm.length(meter) % meter.bar_quarters == 0
        # The line's last stressed syllable lands on a strong beat.
        last_stressed = max(i for i, s in enumerate(syllables) if s.stress > 0)
        assert meter.strength(rhythm.starts[last_stressed]) >= 2
        for syllable, start in zip(syllables, rhythm.starts, strict=True):
            if syllable.stress == PRIMARY:
                stressed_total += 1
                stressed_strong += meter.strength(start) >= 1
    assert stressed_strong / stressed_total >= 0.9


def test_rhythm_is_deterministic_for_a_seed() -> None:
    syllables = line_syllables(LINES[0])
    meter = Meter(4, 4)
    assert line_rhythm(syllables, meter, seed=4) == line_rhythm(syllables, meter, seed=4)


def test_a_repeated_chorus_copies_and_a_second_verse_varies() -> None:
    text = (
        "[Verse]\nI walked along the river\nThe city humming softly\n\n[Chorus]\nSing it to me\n\n"
        "[Verse]\nI heard you by the water\nA different line entirely here today\n\n[Chorus]\nSing it to me\n"
    )
    plan = plan_song(parse_lyric(text))
    sources = [(p.source, p.ref) for p in plan]
    assert sources[0] == (LineSource.NEW, -1)
    assert sources[2] == (LineSource.NEW, -1)
    assert sources[3] == (LineSource.VARY, 0)  # same place in a verse, same syllable count
    assert sources[4][0] is LineSource.NEW  # different syllable count: new music
    assert sources[5] == (LineSource.COPY, 2)  # the chorus text repeats: same melody


def test_pitch_tokens_are_relative_to_the_tonic() -> None:
    assert pitch_token(62, 2) == 12  # D4 in D is the tonic: token 0 semitones above (offset 12)
    assert token_midi(pitch_token(69, 2) or 0, 2) == 69
    assert pitch_token(20, 0) is None
    assert duration_class(Fraction(1, 2)) == 2


def test_request_validation_says_what_to_change() -> None:
    with pytest.raises(InvalidRequestError, match="no words"):
        MelodyRequest(lyrics="  \n")
    with pytest.raises(InvalidRequestError, match="key name"):
        MelodyRequest(lyrics="la la", key="H")
    with pytest.raises(InvalidRequestError, match="Mode"):
        MelodyRequest(lyrics="la la", mode="lydian")
    with pytest.raises(InvalidRequestError, match="Tempo"):
        MelodyRequest(lyrics="la la", tempo=5)
    with pytest.raises(InvalidRequestError, match="generate a melody first"):
        MelodyRequest(lyrics="la la", regenerate_line=0)
    request = MelodyRequest(lyrics="la la", key="F#", mode="dorian", variations=3)
    assert "F# dorian" in request.summary()
    assert request.to_record()["base"] is None


def test_melody_round_trips_through_a_dict_and_finds_notes_by_time() -> None:
    notes = (MelodyNote(60, 0.0, 1.0, "mel", 0, 2), MelodyNote(62, 1.0, 1.0, "o", 0, 0, False))
    melody = Melody(notes=notes, lines=("melo",), line_spans=((0.0, 4.0),), tempo=120, sections=(("Verse", 0, 0),))
    assert Melody.from_dict(melody.to_dict()) == melody
    assert melody.sung_text(0) == "mel-"
    assert melody.note_at(0.6) == 1  # 120 bpm: a quarter is half a second
    assert melody.note_at(5.0) is None
    assert melody.section_span(0) == (0.0, 4.0)
