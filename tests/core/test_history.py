"""A project's lasting history: every result kind stored as plain files and rebuilt exactly, star, delete,
prune that keeps starred entries, and a listing that survives damaged or half-written entries."""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path

import mido
import numpy as np
import pytest
from PIL import Image

from atelier.audio.midi import write_midi
from atelier.core.color.formats import import_file
from atelier.core.errors import InputFileError, InvalidRequestError
from atelier.core.history import STALE_TMP_SECONDS, ProjectHistory
from atelier.core.provenance import read_parameters
from atelier.core.requests import DeviceInfo, Request, Result
from atelier.core.requests.colorize import ColorizeRequest, ColorizeResult
from atelier.core.requests.lineart import LineArtRequest, LineArtResult
from atelier.core.requests.lyrics import LyricRequest, LyricResult, RhymeRequest, RhymeResult
from atelier.core.requests.melody import ImportedTune, Melody, MelodyNote, MelodyRequest, MelodyResult
from atelier.core.requests.palette import (
    HarmonyRequest,
    PaletteFromImageRequest,
    PaletteFromTextRequest,
    PaletteResult,
)
from atelier.core.requests.sketch import SketchRequest, SketchResult

RNG = np.random.default_rng(13)
DEVICE = DeviceInfo("CUDAExecutionProvider", requested=("CUDAExecutionProvider",), fallbacks=())
FELL_BACK = DeviceInfo("CPUExecutionProvider", ("CUDAExecutionProvider",), ("CUDAExecutionProvider: no driver",))
SONG = "[Verse]\nI walked along the river\nThe city humming softly\n"


def noise(*shape: int) -> np.ndarray:
    return RNG.integers(0, 256, shape, dtype=np.uint8)


def melody(seed: int = 0) -> Melody:
    notes = (
        MelodyNote(60 + seed, 0.0, 1.0, "I", 0, 1, True),
        MelodyNote(62, 1.0, 0.5, "walk", 0, 2, True),
        MelodyNote(64, 1.5, 0.5, "ed", 0, 0, False),
        MelodyNote(65, 2.0, 2.0, "on", 1, 1, True),
    )
    return Melody(
        notes=notes,
        lines=("I walked", "on"),
        line_spans=((0.0, 2.0), (2.0, 4.0)),
        key="G",
        mode="dorian",
        meter="3/4",
        tempo=101.5,
        program=40,
        seed=seed,
        sections=(("Verse", 0, 1),),
    ).with_chords()


def every_kind() -> list[tuple[Request, Result]]:
    """One request and result of each kind the history keeps, with every input array set."""
    lines = noise(40, 48)
    return [
        (
            SketchRequest(
                prompt="a lighthouse",
                negative="blur",
                width=64,
                height=128,
                steps=4,
                guidance=5.5,
                seed=4_000_000_000,
                count=2,
                strength=0.45,
                image=noise(128, 64, 4),
                control=noise(128, 64),
                mask=noise(128, 64),
                control_scale=0.8,
                scheduler="euler_a",
                origin="sketch",
            ),
            SketchResult(
                images=(noise(128, 64, 3), noise(128, 64, 3)),
                seeds=(4_000_000_000, 4_000_000_001),
                parameters={"prompt": "a lighthouse", "steps": 4, "palette": ["#112233"]},
                device=DEVICE,
                seconds=3.25,
            ),
        ),
        (
            ColorizeRequest(
                lines=lines,
                palette=("#1B2A41", "#c9a227", "#e4572e"),
                hints=noise(40, 48, 4),
                count=2,
                seed=9,
                pack_id="atelier-colorize",
                origin="sketch",
            ),
            ColorizeResult(
                images=(noise(40, 48, 3), noise(40, 48, 3)),
                palettes=(("#1b2a41", "#c9a227", "#e4572e"), ("#c9a227", "#1b2a41", "#e4572e")),
                pack_id="atelier-colorize",
                parameters=({"seed": 9, "palette": ["#1b2a41"]}, {"seed": 9, "palette": ["#c9a227"]}),
                device=FELL_BACK,
                seconds=1.5,
            ),
        ),
        (
            LineArtRequest(image=noise(30, 20, 3), sensitivity=0.7, origin="sketch"),
            LineArtResult(lines=noise(30, 20), seconds=0.2),
        ),
        (
            LyricRequest(prompt="rain on tin roofs", mode="song", sections=("Verse", "Chorus"), seed=11),
            LyricResult(
                text="[Verse]\nRain on the roof\n",
                alternatives=("one", "two"),
                pack="smollm2",
                prompt_tokens=40,
                generated_tokens=64,
                ttft_s=0.25,
                decode_tokens_per_s=33.5,
            ),
        ),
        (
            MelodyRequest(
                lyrics=SONG,
                key="G",
                mode="dorian",
                meter="3/4",
                variations=2,
                regenerate_line=0,
                base=melody(5),
                origin="melody",
            ),
            MelodyResult(variations=(melody(1), melody(2)), seconds=0.5),
        ),
        (
            PaletteFromTextRequest(text="stormy sea\nat dusk", count=4, seed=3, locked=((1, "#AABBCC"),)),
            PaletteResult(
                colors=("#101010", "#aabbcc", "#303030", "#404040"),
                names=("a", "b", "c", "d"),
                source="text",
                detail="matched: storm",
            ),
        ),
        (
            PaletteFromImageRequest(image=noise(10, 12, 2), count=3, label="photo.jpg"),
            PaletteResult(colors=("#101010", "#202020", "#303030"), names=("a", "b", "c"), source="image"),
        ),
        (
            PaletteFromImageRequest(image=noise(10, 12, 1), count=3, label="grey"),
            PaletteResult(colors=("#101010", "#202020", "#303030"), names=("a", "b", "c"), source="image"),
        ),
        (
            HarmonyRequest(base="#C0392B", mode="triad", count=3, locked=((0, "#c0392b"),)),
            PaletteResult(colors=("#c0392b", "#2bc039", "#392bc0"), names=("r", "g", "b"), source="harmony"),
        ),
    ]


def assert_same(a: object, b: object, where: str) -> None:
    """Equal field by field, arrays included (dataclass equality skips the compare=False fields)."""
    assert type(a) is type(b), where
    if dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            assert_same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray)
        assert a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b), where
    elif isinstance(a, tuple):
        assert isinstance(b, tuple) and len(a) == len(b), where
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{index}]")
    else:
        assert a == b, where


@pytest.mark.parametrize("index", range(len(every_kind())))
def test_every_kind_round_trips_exactly(tmp_path: Path, index: int) -> None:
    request, result = every_kind()[index]
    history = ProjectHistory(tmp_path / "history", midi_writer=write_midi)
    entry = history.add(request, result, created=1_800_000_000.25, seconds=7.5, number=12)
    assert entry.kind == request.kind and entry.number == 12 and entry.seconds == 7.5
    assert entry.device == result.device.provider and not entry.starred
    # A new history object (as after a restart) reads the same entry back from disk.
    again = ProjectHistory(tmp_path / "history")
    [listed] = again.entries()
    assert listed.id == entry.id and listed.created == 1_800_000_000.25
    assert_same(again.load_request(listed), request, request.kind)
    assert_same(again.load_result(listed), result, result.kind)
    for name in listed.files:
        assert (listed.folder / name).is_file(), name
    assert json.loads((listed.folder / "entry.json").read_text())["request"]["kind"] == request.kind


def test_entry_files_are_readable_without_atelier(tmp_path: Path) -> None:
    history = ProjectHistory(tmp_path, midi_writer=write_midi)
    kinds = {request.kind: history.add(request, result, created=time.time()) for request, result in every_kind()}
    sketch = kinds["sketch"]
    assert {"image-1.png", "image-2.png", "input-image.png", "input-control.png", "input-mask.png"} <= set(sketch.files)
    parameters = read_parameters(sketch.folder / "image-2.png")
    assert parameters is not None and parameters["seed"] == 4_000_000_001  # provenance, as exports
    assert sketch.thumbnail is not None and max(Image.open(sketch.thumbnail).size) <= 128
    assert read_parameters(kinds["colorize"].folder / "image-2.png") == {"seed": 9, "palette": ["#c9a227"]}
    assert {"input-lines.png", "input-hints.png"} <= set(kinds["colorize"].files)
    lyric = kinds["lyrics"]
    assert (lyric.folder / "lyric.txt").read_text(encoding="utf-8") == "[Verse]\nRain on the roof\n"
    assert lyric.thumbnail is None
    tune = kinds["melody"]
    assert {"melody-1.json", "melody-1.mid", "melody-2.json", "melody-2.mid", "input-base.json"} <= set(tune.files)
    midi = mido.MidiFile(tune.folder / "melody-1.mid")
    tracks = {next((m.name for m in t if m.type == "track_name"), ""): t for t in midi.tracks}
    assert [m.note for m in tracks["Melody"] if m.type == "note_on" and m.velocity] == [61, 62, 64, 65]
    assert [m for m in tracks["Chords"] if m.type == "note_on" and m.velocity]  # the chords, on their own track
    palette = kinds["palette-text"]
    assert import_file(palette.folder / "palette.gpl").colors == ("#101010", "#aabbcc", "#303030", "#404040")
    assert json.loads((palette.folder / "palette.json").read_text())["source"] == "text"
    assert palette.thumbnail is not None and Image.open(palette.thumbnail).size == (96, 24)  # the colour strip
    assert kinds["palette-image"].files[0] == "input-image.png"
    # The user's work: every entry folder and file is readable by its owner only.
    for entry in kinds.values():
        assert entry.folder.stat().st_mode & 0o777 == 0o700
        assert {(entry.folder / name).stat().st_mode & 0o777 for name in [*entry.files, "entry.json"]} == {0o600}


def test_melody_is_kept_as_json_and_midi_by_default(tmp_path: Path) -> None:
    history = ProjectHistory(tmp_path)  # core writes the .mid itself: the window passes no writer
    request, result = next((q, r) for q, r in every_kind() if q.kind == "melody")
    entry = history.add(request, result, created=time.time())
    assert "melody-1.json" in entry.files and "melody-1.mid" in entry.files
    assert (entry.folder / "melody-1.mid").read_bytes()[:4] == b"MThd"
    assert_same(history.load_result(entry), result, "melody")
    # Its thumbnail is a small piano roll of the first variation: one ink run per note along a row.
    assert entry.thumbnail is not None
    roll = np.asarray(Image.open(entry.thumbnail).convert("L"))
    assert isinstance(result, MelodyResult)
    notes = result.variations[0].notes
    inked_columns = (roll < 200).any(axis=0)
    runs = int(np.count_nonzero(np.diff(inked_columns.astype(int)) == 1) + inked_columns[0])
    assert len(notes) // 2 <= runs <= len(notes)  # neighbours of one pitch may touch; never more runs than notes


def test_a_continued_melody_keeps_the_tune_it_went_on_from(tmp_path: Path) -> None:
    tune = ImportedTune(notes=tuple((62 + i % 3, float(i), 1.0) for i in range(14)), key="G", source="v.mid")
    request = MelodyRequest(lyrics=SONG + "Sing it slow\n", key="G", continue_from=tune.prefix(SONG + "Sing it slow\n"))
    assert request.continue_from is not None and len(request.continue_from.lines) == 2
    result = MelodyResult(variations=(melody(3),), seconds=0.25)
    history = ProjectHistory(tmp_path)
    entry = history.add(request, result, created=time.time())
    assert "input-continue_from.json" in entry.files
    again = history.load_request(ProjectHistory(tmp_path).entries()[0])
    assert isinstance(again, MelodyRequest) and again.continue_from == request.continue_from
    assert_same(history.load_result(entry), result, "continued melody")
    assert history.load_result(entry).variations[0].chords  # type: ignore[attr-defined]


def test_helper_jobs_are_not_recorded(tmp_path: Path) -> None:
    history = ProjectHistory(tmp_path)
    with pytest.raises(InvalidRequestError, match="helpers"):
        history.add(RhymeRequest(word="rain"), RhymeResult(word="rain"), created=time.time())
    assert history.entries() == [] and not any(tmp_path.iterdir())


def add_lineart(history: ProjectHistory, created: float, side: int = 16) -> str:
    request = LineArtRequest(image=noise(side, side, 3))
    return history.add(request, LineArtResult(lines=noise(side, side)), created=created).id


def test_ids_sort_by_time_and_entries_are_newest_first(tmp_path: Path) -> None:
    history = ProjectHistory(tmp_path)
    base = 1_800_000_000.0
    first, second, third = (add_lineart(history, base), add_lineart(history, base), add_lineart(history, base + 1))
    assert first.endswith("-0001") and second.endswith("-0002")
    assert sorted([third, first, second]) == [first, second, third]
    history.delete(first)
    assert add_lineart(history, base).endswith("-0003")  # a freed number is never reused out of order
    assert [e.id for e in history.entries()][:2] == [third, f"{first[:-5]}-0003"]


def test_star_and_delete_emit_changed_and_last(tmp_path: Path) -> None:
    history = ProjectHistory(tmp_path)
    seen: list[int] = []
    history.changed.connect(lambda: seen.append(1))
    entry_id = add_lineart(history, time.time())
    history.star(entry_id)
    assert ProjectHistory(tmp_path).get(entry_id).starred  # type: ignore[union-attr]
    history.star(entry_id, False)
    assert not ProjectHistory(tmp_path).get(entry_id).starred  # type: ignore[union-attr]
    history.delete(entry_id)
    assert history.get(entry_id) is None and history.entries() == [] and len(seen) == 4
    history.delete(entry_id)  # already gone: nothing to do, nothing emitted
    assert len(seen) == 4
    with pytest.raises(InputFileError):
        history.star(entry_id)
    assert history.get("../outside") is None


def test_a_deleted_entry_comes_back_whole_until_the_project_closes(tmp_path: Path) -> None:
    history = ProjectHistory(tmp_path)
    kept, starred = add_lineart(history, 1_800_000_000.0), add_lineart(history, 1_800_000_001.0)
    history.star(starred)
    files = sorted(p.name for p in (tmp_path / starred).iterdir())
    assert not history.can_undo_delete() and history.undo_delete() is None
    history.delete(kept)
    history.delete(starred)
    assert history.entries() == [] and history.can_undo_delete()
    history.prune(max_count=0, max_bytes=0)  # the writer's pruning does not touch what waits aside
    assert history.undo_delete() == starred  # the last deleted first
    back = history.get(starred)
    assert back is not None and back.starred and sorted(p.name for p in back.folder.iterdir()) == files
    history.purge_deleted()  # the project closes: the other deletion is final
    assert history.undo_delete() is None
    assert [p.name for p in tmp_path.iterdir()] == [starred]
    assert ProjectHistory(tmp_path).get(kept) is None


def test_a_deletion_left_by_a_crashed_run_is_cleared_after_an_hour(tmp_path: Path, monkeypatch) -> None:
    history = ProjectHistory(tmp_path)
    entry_id = add_lineart(history, 1_800_000_000.0)
    history.delete(entry_id)  # and the app dies before the project closes
    after_restart = ProjectHistory(tmp_path)
    after_restart.prune()
    assert [p.name.startswith(".deleted-") for p in tmp_path.iterdir()] == [True]  # recent: kept
    import atelier.core.history as module

    monkeypatch.setattr(module, "STALE_TMP_SECONDS", 0.0)  # an hour later (a folder's ctime cannot be set back)
    after_restart.prune()
    assert list(tmp_path.iterdir()) == []


def test_prune_by_count_and_size_keeps_starred(tmp_path: Path) -> None:
    history = ProjectHistory(tmp_path)
    ids = [add_lineart(history, 1_800_000_000.0 + i) for i in range(6)]
    history.star(ids[0])
    history.star(ids[1])
    assert history.prune(max_count=10) == []
    removed = history.prune(max_count=3)
    assert removed == [ids[2], ids[3], ids[4]]  # the oldest unstarred first
    assert {e.id for e in history.entries()} == {ids[0], ids[1], ids[5]}
    assert history.prune(max_count=3, max_bytes=1) == [ids[5]]  # starred ones stay even over the budget
    assert {e.id for e in history.entries()} == {ids[0], ids[1]}


def test_prune_by_size_removes_just_enough(tmp_path: Path) -> None:
    history = ProjectHistory(tmp_path)
    ids = [add_lineart(history, 1_800_000_000.0 + i, side=64) for i in range(4)]
    sizes = [sum(p.stat().st_size for p in (tmp_path / i).iterdir()) for i in ids]
    assert history.prune(max_bytes=sum(sizes[1:])) == [ids[0]]


def test_damaged_and_unfinished_entries_are_skipped(tmp_path: Path) -> None:
    history = ProjectHistory(tmp_path)
    good = add_lineart(history, time.time())
    (tmp_path / "20260101-000000-0001").mkdir()
    (tmp_path / "20260101-000000-0001" / "entry.json").write_text("{half")
    (tmp_path / "20260101-000000-0002").mkdir()  # no entry.json at all
    (tmp_path / "20260101-000000-0003").mkdir()
    (tmp_path / "20260101-000000-0003" / "entry.json").write_text("[1, 2]")
    (tmp_path / "20260101-000000-0004").mkdir()
    (tmp_path / "20260101-000000-0004" / "entry.json").write_text(json.dumps({"request": {}, "created": "soon"}))
    (tmp_path / ".tmp-123-abc").mkdir()  # a writer that crashed before its rename
    (tmp_path / ".tmp-123-abc" / "entry.json").write_text(json.dumps({"created": 1.0, "request": {}}))
    (tmp_path / "notes.txt").write_text("the user's own file")
    assert [e.id for e in history.entries()] == [good]
    old = time.time() - STALE_TMP_SECONDS - 10
    os.utime(tmp_path / ".tmp-123-abc", (old, old))
    history.prune()
    assert not (tmp_path / ".tmp-123-abc").exists() and (tmp_path / "notes.txt").exists()


def test_missing_or_damaged_files_raise_a_clear_error(tmp_path: Path) -> None:
    history = ProjectHistory(tmp_path)
    entry = history.get(add_lineart(history, time.time()))
    assert entry is not None
    (entry.folder / "lines.png").unlink()
    with pytest.raises(InputFileError, match=r"missing its file lines\.png"):
        history.load_result(entry)
    (entry.folder / "input-image.png").write_bytes(b"not a png")
    with pytest.raises(InputFileError, match="could not be read"):
        history.load_request(entry)
    entry.request["image"] = {"png": "../../etc/passwd", "shape": [1]}
    with pytest.raises(InputFileError, match="outside its entry"):
        history.load_request(entry)


def test_a_failed_write_leaves_no_entry(tmp_path: Path) -> None:
    def disk_gone(melody: Melody, path: Path) -> None:
        raise RuntimeError("the disk went away")

    history = ProjectHistory(tmp_path, midi_writer=disk_gone)
    request, result = next((q, r) for q, r in every_kind() if q.kind == "melody")
    with pytest.raises(RuntimeError, match="disk went away"):
        history.add(request, result, created=time.time())  # fails after some files were written
    assert history.entries() == [] and list(tmp_path.iterdir()) == []


def test_arrays_that_are_not_pictures_are_kept_exactly(tmp_path: Path) -> None:
    history = ProjectHistory(tmp_path)
    floats = np.linspace(0, 1, 64 * 64 * 3, dtype=np.float32).reshape(64, 64, 3)
    request, result = SketchRequest(prompt="x", width=64, height=64), SketchResult(images=(floats,), seeds=(0,))
    entry = history.add(request, result, created=time.time())
    assert entry.files == ["image-1.npy"] and entry.thumbnail is None
    assert_same(history.load_result(entry), result, "float sketch")


def test_to_json_has_the_listing_fields(tmp_path: Path) -> None:
    history = ProjectHistory(tmp_path)
    request, result = every_kind()[-1]
    entry = history.add(request, result, created=1_800_000_000.0, number=3)
    data = entry.to_json()
    assert {"id", "kind", "created", "starred", "files", "request", "summary", "device", "number"} <= set(data)
    assert data["request"]["base"] == "#c0392b" and data["request"]["locked"] == [[0, "#c0392b"]]
    assert "#c0392b" in data["summary"] and json.loads(json.dumps(data)) == data


def test_a_bomb_or_broken_picture_in_an_entry_is_a_clear_error(tmp_path: Path) -> None:
    from atelier.core.provenance import read_parameters

    history = ProjectHistory(tmp_path)
    entry = history.add(LineArtRequest(image=noise(16, 16, 3)), LineArtResult(lines=noise(16, 16)), created=time.time())
    image = next(entry.folder / name for name in entry.files if name.endswith(".png") and "input" not in name)
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)  # a broken PNG
    with pytest.raises(InputFileError, match="could not be read"):
        history.load_result(entry)
    assert read_parameters(image) is None  # not ours: no parameters, no exception
