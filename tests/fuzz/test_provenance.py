"""`atelier provenance FILE` on files from anywhere: any record, XMP packet or damaged bytes gives a report
whose fields have their documented types (or an InputFileError), and the report prints as text and JSON."""

from __future__ import annotations

import io
import json
import random
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atelier.cli._output import print_json
from atelier.cli.provenance import JSON_FIELDS, describe
from atelier.core.errors import InputFileError
from atelier.core.provenance_read import MAX_MIDI_BYTES, read_provenance
from tests.fuzz import inputs


def check_report(found: dict[str, Any]) -> None:
    for key in ("generator", "task", "prompt", "ai", "date"):
        assert found[key] is None or isinstance(found[key], str), (key, found[key])
    assert found["pack"] is None or all(isinstance(v, str) for v in found["pack"].values())
    assert found["seed"] is None or isinstance(found["seed"], (int, list))
    assert found["source"] is None or all(isinstance(s, dict) for s in found["source"])
    assert found["record"] is None or isinstance(found["record"], dict)
    lines = describe(found)
    assert lines and all(isinstance(line, str) for line in lines)
    with redirect_stdout(io.StringIO()) as out:
        print_json({**{k: found.get(k) for k in JSON_FIELDS}, "record": found.get("record")})
    json.loads(out.getvalue())


@settings(max_examples=250, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_fuzz_any_file_gives_a_report_or_an_input_error(seed: int, tmp_path_factory: pytest.TempPathFactory) -> None:
    suffix, data = inputs.hostile_provenance(random.Random(seed))
    path = tmp_path_factory.mktemp("prov") / f"file.{suffix}"
    path.write_bytes(data)
    try:
        found = read_provenance(path)
    except InputFileError as exc:
        assert str(exc)
        return
    check_report(found)


def _png(path: Path, record: str) -> Path:
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("atelier", record)
    Image.new("RGB", (2, 2)).save(path, pnginfo=info)
    return path


@pytest.mark.parametrize(
    "record",
    [
        {"generator": "Atelier", "model_lines": 5},  # 'int' is not iterable (found by the fuzzer)
        {"generator": "Atelier", "ai": {"x": 1}},  # unhashable in the AI wording table
        {"generator": "Atelier", "sources": [1, "x", None]},  # 'int' object has no attribute 'get'
        {"generator": "Atelier", "pack": {"sha256": 7, "id": ["a"]}},  # 'int' is not subscriptable
        {"generator": ["Atelier"], "task": {"t": 1}, "prompt": 3, "seed": "x", "date": False},
    ],
)
def test_a_record_of_the_wrong_shape_is_reported_not_a_crash(record: dict[str, Any], tmp_path: Path) -> None:
    found = read_provenance(_png(tmp_path / "odd.png", json.dumps(record)))
    check_report(found)
    assert found["record"] == record  # the raw record is still shown as the file holds it


def test_a_record_nested_too_deep_to_print_is_not_a_record(tmp_path: Path) -> None:
    deep = "[" * 900 + "]" * 900  # json.loads takes it; printing it with indent overflows the stack
    found = read_provenance(_png(tmp_path / "deep.png", '{"generator": "Atelier", "seed": ' + deep + "}"))
    assert found["record"] is None
    check_report(found)


@pytest.mark.parametrize("suffix", ["md", "txt", "css", "gpl"])
def test_text_records_thousands_of_brackets_deep_are_read_as_text(suffix: str, tmp_path: Path) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    body = {
        "md": f'---\ngenerator: "Atelier"\nmodel_lines: {deep}\n---\nla (AI)\n',
        "txt": f"---\nmodel_lines: {deep}\n---\nla\n",
        "css": f':root {{\n/* atelier: {{"a": {deep}}} */\n',
        "gpl": f'GIMP Palette\n# atelier: {{"a": {deep}}}\n',
    }[suffix]
    path = tmp_path / f"deep.{suffix}"
    path.write_text(body, encoding="utf-8")
    check_report(read_provenance(path))


def test_a_midi_file_larger_than_atelier_writes_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.mid"
    with open(path, "wb") as handle:
        handle.write(b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x01\xe0")
        handle.truncate(MAX_MIDI_BYTES + 1)
    with pytest.raises(InputFileError, match="larger than any MIDI file"):
        read_provenance(path)
