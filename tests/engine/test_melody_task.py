"""The melody task with the committed atelier-melody pack: one note per syllable, in the key,
phrases ending on stable degrees, repeated choruses repeated, one line regenerated alone."""

from __future__ import annotations

import pytest

from atelier.core.errors import PackError
from atelier.core.lyric_syllables import parse_lyric
from atelier.core.music import MODE_SCALES, STABLE_DEGREES, parse_meter, tonic_pitch_class
from atelier.core.requests.melody import MelodyRequest, MelodyResult
from atelier.engine.packs import discover, search_roots, verify
from atelier.engine.runner import Engine
from atelier.engine.tasks.melody import check_pack

LYRIC = """[Verse]
I walked along the river in the evening light
The city humming softly like a lullaby

[Chorus]
Sing it to me, sing it slow
Everywhere the river goes

[Verse]
I heard your voice across the water late at night
The lanterns swaying gently on the quay

[Chorus]
Sing it to me, sing it slow
Everywhere the river goes
"""


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


def run(engine: Engine, **values: object) -> MelodyResult:
    result = engine.run_to_end(MelodyRequest(lyrics=LYRIC, **values))  # type: ignore[arg-type]
    assert isinstance(result, MelodyResult)
    return result


def test_committed_pack_verifies_and_matches_this_token_layout() -> None:
    catalog = discover(search_roots())
    packs = catalog.of_kind("melody")
    assert packs, "the atelier-melody pack must be committed in models/melody"
    pack = packs[0]
    verify(pack)
    layers, hidden = check_pack(pack)
    assert layers >= 1 and hidden >= 16
    assert sum(f.size for f in pack.files) <= 10 * 1024 * 1024


@pytest.mark.parametrize(
    ("key", "mode", "meter"), [("C", "major", "4/4"), ("A", "minor", "3/4"), ("D", "dorian", "6/8")]
)
def test_one_note_per_syllable_in_scale_with_stable_phrase_ends(
    engine: Engine, key: str, mode: str, meter: str
) -> None:
    melody = run(engine, key=key, mode=mode, meter=meter, seed=5).variations[0]
    syllables = [s.text for section in parse_lyric(LYRIC) for line in section.lines for s in line.syllables]
    assert [n.syllable for n in melody.notes] == syllables
    tonic = tonic_pitch_class(key)
    scale = MODE_SCALES[mode]
    assert all((n.pitch - tonic) % 12 in scale for n in melody.notes)
    assert all(55 <= n.pitch <= 81 for n in melody.notes)
    for line in range(len(melody.lines)):
        last = melody.notes_of_line(line)[-1]
        assert (last.pitch - tonic) % 12 in STABLE_DEGREES
    assert (melody.notes[-1].pitch - tonic) % 12 == 0  # the song ends on the tonic
    starts = [n.start for n in melody.notes]
    assert starts == sorted(starts)
    assert melody.meter == meter and melody.key == key
    # A chord under each bar, in the key (minor's borrowed major V aside), the song ending on the tonic chord.
    bar = float(parse_meter(meter).bar_quarters)
    assert [c.start for c in melody.chords] == [i * bar for i in range(round(melody.total_quarters / bar))]
    scale_pcs = {(tonic + step) % 12 for step in scale}
    for chord in melody.chords:
        assert chord.root in scale_pcs
        assert set(chord.tones) <= scale_pcs or (mode == "minor" and chord.numeral == "V")
    final = melody.chord_at(melody.notes[-1].start)
    assert final is not None and final.root == tonic and final.numeral in ("I", "i")


def test_repeated_chorus_repeats_its_melody(engine: Engine) -> None:
    melody = run(engine, seed=11).variations[0]
    first = [n.pitch for n in melody.notes_of_line(2)] + [n.pitch for n in melody.notes_of_line(3)]
    again = [n.pitch for n in melody.notes_of_line(6)] + [n.pitch for n in melody.notes_of_line(7)]
    assert first == again
    assert [name for name, _, _ in melody.sections] == ["Verse 1", "Chorus 1", "Verse 2", "Chorus 2"]


def test_seed_reproduces_and_variations_differ(engine: Engine) -> None:
    one = run(engine, seed=3, variations=3)
    two = run(engine, seed=3, variations=3)
    assert one.variations == two.variations
    pitch_lists = {tuple(n.pitch for n in m.notes) for m in one.variations}
    assert len(pitch_lists) == 3
    assert one.device.provider == "CPUExecutionProvider"


def test_regenerating_a_line_keeps_every_other_note(engine: Engine) -> None:
    base = run(engine, seed=2).variations[0]
    changed_lines: set[int] = set()
    for seed in range(10, 14):
        result = run(engine, seed=seed, regenerate_line=2, base=base)
        new = result.variations[0]
        assert [(n.start, n.duration, n.syllable) for n in new.notes] == [
            (n.start, n.duration, n.syllable) for n in base.notes
        ]
        changed_lines |= {a.line for a, b in zip(base.notes, new.notes, strict=True) if a.pitch != b.pitch}
        # The chorus line and its repeat change together; nothing else does.
        assert [n.pitch for n in new.notes_of_line(2)] == [n.pitch for n in new.notes_of_line(6)]
    assert changed_lines == {2, 6}


def test_low_temperature_picks_the_likeliest_notes(engine: Engine) -> None:
    base = run(engine, seed=2).variations[0]

    def line_tunes(temperature: float) -> set[tuple[int, ...]]:
        tunes = set()
        for seed in range(20, 26):
            new = run(engine, seed=seed, regenerate_line=0, base=base, temperature=temperature).variations[0]
            tunes.add(tuple(n.pitch for n in new.notes_of_line(0)))
        return tunes

    # Nearly greedy: the seed hardly matters (only near-ties between two notes can flip).
    low, high = line_tunes(0.05), line_tunes(1.5)
    assert len(low) <= 2
    assert len(high) > len(low)


def test_a_pack_for_another_token_layout_is_refused(engine: Engine) -> None:
    from dataclasses import replace

    pack = engine.catalog.of_kind("melody")[0]
    broken = replace(pack, extra={**pack.extra, "tokens": {**pack.extra["tokens"], "pitch_low": -5}})
    with pytest.raises(PackError, match="token layout"):
        check_pack(broken)


def test_continuing_a_tune_keeps_it_note_for_note_and_writes_the_remaining_lines(engine: Engine, tmp_path) -> None:
    from dataclasses import replace

    from atelier.core.midi_file import read_tune, write_midi

    song = run(engine, key="G", meter="3/4", tempo=110.0, seed=4).variations[0]
    write_midi(song, tmp_path / "song.mid")
    tune = read_tune(tmp_path / "song.mid")
    assert (tune.key, tune.mode, tune.meter, tune.tempo) == ("G", "major", "3/4", 110.0)
    three_lines = sum(len(song.notes_of_line(line)) for line in range(3))
    # The tune goes two notes into line 4: only whole lines are kept.
    prefix = replace(tune, notes=tune.notes[: three_lines + 2]).prefix(LYRIC)
    assert len(prefix.lines) == 3 and prefix.line_spans == song.line_spans[:3]
    request = MelodyRequest(lyrics=LYRIC, key="G", meter="3/4", tempo=110.0, seed=9, variations=2, continue_from=prefix)
    result = engine.run_to_end(request)
    assert isinstance(result, MelodyResult) and len(result.variations) == 2
    for melody in result.variations:
        kept = [(n.pitch, n.start, n.duration, n.syllable) for n in melody.notes[:three_lines]]
        assert kept == [(n.pitch, n.start, n.duration, n.syllable) for n in song.notes[:three_lines]]
        assert len(melody.lines) == 8 and melody.notes[three_lines].start >= prefix.line_spans[-1][1]
        tonic = tonic_pitch_class("G")
        assert all((n.pitch - tonic) % 12 in MODE_SCALES["major"] for n in melody.notes[three_lines:])
        assert (melody.notes[-1].pitch - tonic) % 12 == 0
        # The second chorus repeats the first, whose first line came from the file.
        assert [n.pitch for n in melody.notes_of_line(6)] == [n.pitch for n in melody.notes_of_line(2)]
        assert melody.chords and melody.chords[0].start == 0.0
    assert result.variations[0].notes != result.variations[1].notes


def test_a_tune_in_another_octave_is_continued_in_its_own_octave(engine: Engine) -> None:
    from atelier.core.requests.melody import ImportedTune

    # Line 1 has 12 syllables: a tune two octaves above middle C, rising and falling by step.
    pitches = [84, 86, 88, 89, 91, 89, 88, 86, 84, 86, 88, 84]
    tune = ImportedTune(notes=tuple((p, float(i), 1.0) for i, p in enumerate(pitches)), key="C")
    prefix = tune.prefix(LYRIC)
    result = engine.run_to_end(MelodyRequest(lyrics=LYRIC, seed=1, continue_from=prefix))
    assert isinstance(result, MelodyResult)
    melody = result.variations[0]
    assert [n.pitch for n in melody.notes[:12]] == pitches
    new = sorted(n.pitch for n in melody.notes[12:])
    # The singable range G3-A5 moved up an octave, and the new notes' middle within an octave of the tune's
    # (88): in the model's own octave it would be near 67-72.
    assert min(new) >= 55 + 12 and max(new) <= 81 + 12
    assert abs(new[len(new) // 2] - 88) <= 12


def test_a_continuation_must_fit_the_lyric() -> None:
    from atelier.core.errors import InvalidRequestError
    from atelier.core.requests.melody import ImportedTune

    short = ImportedTune(notes=((60, 0.0, 1.0), (62, 1.0, 1.0)), source="riff.mid")
    with pytest.raises(InvalidRequestError, match=r"riff\.mid has 2 notes, fewer than the 12 syllables"):
        short.prefix(LYRIC)
    whole = ImportedTune(notes=tuple((60, float(i), 1.0) for i in range(200)), source="all.mid")
    with pytest.raises(InvalidRequestError, match="already has notes for every line"):
        whole.prefix(LYRIC)
    prefix = ImportedTune(notes=tuple((60, float(i), 1.0) for i in range(12)), key="D").prefix(LYRIC)
    with pytest.raises(InvalidRequestError, match="stays in the tune's key"):
        MelodyRequest(lyrics=LYRIC, key="C", continue_from=prefix)
    with pytest.raises(InvalidRequestError, match="does not sing the lyric's first lines"):
        MelodyRequest(lyrics="Another song entirely\nWith other words", key="D", continue_from=prefix)
