"""Files Atelier reads back: MIDI tunes, settings, project files and the panel documents saved in them.
Any content gives a value or an AtelierError (settings: defaults and a problem line), never a crash, and
what Atelier writes reads back the same."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atelier.core.documents.lyric import LyricDocument
from atelier.core.documents.melody import MelodyDocument
from atelier.core.documents.palette import PaletteDocument
from atelier.core.documents.sketch import SketchDocument
from atelier.core.errors import AtelierError, InputFileError
from atelier.core.midi_file import read_tune, write_midi
from atelier.core.project import Project
from atelier.core.requests.melody import ImportedTune, Melody, MelodyNote
from atelier.core.settings import Settings, load_settings
from tests.fuzz import inputs

seeds = st.integers(0, 2**32 - 1)
DOCUMENTS = (SketchDocument, LyricDocument, MelodyDocument, PaletteDocument)


@settings(max_examples=300, deadline=None)
@given(seed=seeds)
def test_fuzz_any_midi_file_gives_a_tune_or_an_input_error(seed: int, tmp_path_factory: pytest.TempPathFactory) -> None:
    path = tmp_path_factory.mktemp("midi") / "tune.mid"
    path.write_bytes(inputs.midi_file(random.Random(seed)))
    try:
        tune = read_tune(path)
    except InputFileError as exc:
        assert str(exc)
        return
    assert isinstance(tune, ImportedTune) and tune.notes and 30 <= tune.tempo <= 260
    assert all(0 <= p <= 127 and s >= 0 and d > 0 for p, s, d in tune.notes)
    assert all(a[1] < b[1] for a, b in zip(tune.notes, tune.notes[1:], strict=False))
    try:
        melody = tune.prefix("la la la\nla la la la\nla la\nla")
    except AtelierError:
        return
    assert melody.notes and melody.line_spans[0][0] == 0.0


def _melody(rng: random.Random, tempo: float) -> Melody:
    start, notes = 0.0, []
    for index in range(rng.randint(1, 24)):
        start += rng.choice([0, 0, 0, 0.5, 1, 2]) if index else rng.choice([0, 0.5, 1])
        duration = rng.choice([0.5, 1, 1.5, 2, 3, 4])
        notes.append(MelodyNote(rng.randint(36, 96), start, duration, "la", 0))
        start += duration
    return Melody(
        notes=tuple(notes),
        lines=("la",),
        line_spans=((0.0, start + 4),),
        key=rng.choice(["C", "F#", "Bb", "E"]),
        mode=rng.choice(["major", "minor"]),
        meter=rng.choice(["4/4", "3/4", "6/8"]),
        tempo=tempo,
    )


def _round_trip(melody: Melody, folder: Path) -> ImportedTune:
    path = folder / "melody.mid"
    write_midi(melody, path)
    return read_tune(path)


@settings(max_examples=150, deadline=None)
@given(seed=seeds, tempo=st.integers(30, 250))
def test_round_trip_melody_midi(seed: int, tempo: int, tmp_path_factory: pytest.TempPathFactory) -> None:
    melody = _melody(random.Random(seed), float(tempo))
    tune = _round_trip(melody, tmp_path_factory.mktemp("round"))
    assert [(p, round(s, 6), round(d, 6)) for p, s, d in tune.notes] == [
        (n.pitch, n.start, n.duration) for n in melody.notes
    ]
    assert (tune.key, tune.mode, tune.meter, tune.tempo) == (melody.key, melody.mode, melody.meter, melody.tempo)


def test_round_trip_at_the_fastest_tempo(tmp_path: Path) -> None:
    melody = Melody(
        notes=(MelodyNote(60, 0.0, 2.0, "la", 0), MelodyNote(62, 3.0, 1.0, "la", 0)),
        lines=("la la",),
        line_spans=((0.0, 8.0),),
        tempo=260.0,
    )
    assert [d for _, _, d in _round_trip(melody, tmp_path).notes] == [2.0, 1.0]


@settings(max_examples=300, deadline=None)
@given(seed=seeds)
def test_fuzz_settings_file_never_fails(seed: int, tmp_path_factory: pytest.TempPathFactory) -> None:
    path = tmp_path_factory.mktemp("settings") / "settings.json"
    valid = {"schema_version": 1, "values": json.loads(json.dumps(Settings().__dict__, default=str))}
    path.write_bytes(inputs.json_document(random.Random(seed), valid))
    loaded, problems = load_settings(path)
    assert isinstance(loaded, Settings) and all(isinstance(p, str) for p in problems)
    loaded.validated()


@settings(max_examples=200, deadline=None)
@given(seed=seeds)
def test_fuzz_project_file_opens_or_is_set_aside(seed: int, tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("project")
    valid = {"schema": 1, "sections": {name: document().to_dict() for name, document in zip(
        ("sketch", "lyric", "melody", "palette"), DOCUMENTS, strict=True)}}  # fmt: skip
    (folder / "project.json").write_bytes(inputs.json_document(random.Random(seed), valid))
    try:
        project = Project.open(folder)
    except AtelierError:
        return
    for name in ("sketch", "lyric", "melody", "palette", "other"):
        assert isinstance(project.section(name), dict)


@settings(max_examples=300, deadline=None)
@given(seed=seeds, document=st.sampled_from(DOCUMENTS))
def test_fuzz_saved_documents_restore_and_save_the_same(seed: int, document: Any) -> None:
    raw = inputs.json_document(random.Random(seed), document().to_dict())
    try:
        data = json.loads(raw)
    except ValueError:
        return  # damaged bytes are the project loader's to set aside (tested above)
    restored = document.from_dict(data)
    saved = restored.to_dict()
    assert document.from_dict(json.loads(json.dumps(saved))).to_dict() == saved  # what is saved reads back


@pytest.mark.parametrize("document", [SketchDocument, LyricDocument, MelodyDocument])
def test_a_saved_number_beyond_float_range_keeps_the_default(document: Any) -> None:
    data = document().to_dict()
    sections = [data, *(value for value in data.values() if isinstance(value, dict))]
    section, key = next((d, k) for d in sections for k, v in d.items() if isinstance(v, float))  # a temperature
    default = section[key]
    section[key] = 10**400  # valid JSON (json.loads gives an int); from a damaged or hostile file
    saved = document.from_dict(data).to_dict()
    found = [d for d in [saved, *(v for v in saved.values() if isinstance(v, dict))] if key in d]
    assert found and found[0][key] == default


def test_a_saved_palette_mode_that_is_not_text_keeps_the_default() -> None:
    data = PaletteDocument().to_dict()
    default = data["mode"]
    data["mode"] = {"analogous": 1}
    assert PaletteDocument.from_dict(data).to_dict()["mode"] == default
