"""A generated PNG's record gives back its settings; accepted results make later sketch exports composites."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from atelier.core.documents.sketch import SketchDocument
from atelier.core.provenance import COMPOSITE, read_parameters, save_png
from atelier.core.provenance_read import read_provenance
from atelier.core.provenance_sketch import (
    MAX_ACCEPTED,
    accepted_record,
    composite_record,
    generation_mode,
    record_summary,
    restore_accepted,
    sketch_request_from_record,
    with_accepted,
)

PARAMS = {
    "prompt": "a lighthouse",
    "negative": "fog",
    "seed": 4_000_000_001,
    "steps": 12,
    "scheduler": "ddim",
    "guidance": 5.5,
    "strength": 0.45,
    "control_scale": 0.8,
    "mode": "img2img+controlnet",
    "width": 768,
    "height": 512,
    "pack_id": "sd15-lcm",
    "pack_name": "SD 1.5 LCM",
    "app_version": "0.1.0",
}


def test_a_generated_pngs_settings_come_back_as_a_request(tmp_path: Path) -> None:
    save_png(tmp_path / "made.png", np.zeros((64, 64, 3), np.uint8), PARAMS)
    record = read_parameters(tmp_path / "made.png")
    request = sketch_request_from_record(record, known_packs={"sd15-lcm"})
    assert request is not None and record is not None
    assert (request.prompt, request.negative, request.seed, request.steps) == ("a lighthouse", "fog", 4_000_000_001, 12)
    assert (request.width, request.height, request.guidance, request.strength) == (768, 512, 5.5, 0.45)
    assert (request.scheduler, request.control_scale, request.pack_id) == ("ddim", 0.8, "sd15-lcm")
    assert generation_mode(record) == "controlnet"
    # Applied through the document exactly as a job's Recall is (one undo step).
    document = SketchDocument()
    assert document.apply_request(request)
    assert document.generation.prompt == "a lighthouse" and document.generation.seed == 4_000_000_001
    assert sketch_request_from_record(record, known_packs={"other"}).pack_id == ""  # type: ignore[union-attr]
    assert "SD 1.5 LCM" in record_summary(record) and "a lighthouse" in record_summary(record)


def test_records_that_are_not_sketch_settings_give_none() -> None:
    assert sketch_request_from_record(None) is None
    assert sketch_request_from_record({"seed": 1, "palette": ["#000000"]}) is None
    assert sketch_request_from_record({"app_version": "0.1.0", "task": "colorize", "prompt": ""}) is None
    assert sketch_request_from_record({**PARAMS, "width": 100}) is None  # out of range: not half a request
    assert generation_mode({"mode": "txt2img"}) == "txt2img" and generation_mode({"mode": "inpaint"}) == "inpaint"


def test_accepted_results_make_the_sketch_a_composite(tmp_path: Path) -> None:
    assert composite_record([]) is None  # the user's own drawing carries no record
    accepted = with_accepted([], {**PARAMS, "mode": "txt2img"})
    accepted = with_accepted(accepted, None, "lineart")  # a traced result has no parameters of its own
    assert [a["task"] for a in accepted] == ["sketch", "lineart"] and all("accepted" in a for a in accepted)
    record = composite_record(accepted)
    assert record is not None and record["ai"] == COMPOSITE and record["accepted"] == accepted
    save_png(tmp_path / "sketch.png", np.zeros((32, 32, 3), np.uint8), record)
    found = read_provenance(tmp_path / "sketch.png")
    assert found["ai"] == COMPOSITE and found["record"]["accepted"][0]["prompt"] == "a lighthouse"
    assert restore_accepted(found["record"]["accepted"]) == accepted
    assert restore_accepted("damaged") == [] and restore_accepted([1, {"task": "x"}]) == [{"task": "x"}]
    many: list[dict] = []
    for _ in range(MAX_ACCEPTED + 5):
        many = with_accepted(many, PARAMS)
    assert len(many) == MAX_ACCEPTED
    assert accepted_record(PARAMS)["pack"]["name"] == "SD 1.5 LCM"
