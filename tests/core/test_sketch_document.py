"""The Sketch document: undoable settings, requests of three kinds, recall, saving and the schema-1 migration."""

from __future__ import annotations

import numpy as np
import pytest

from atelier.core.documents.sketch import MAX_SEED, SCHEMA, CanvasPixels, SketchDocument, migrate_v1
from atelier.core.errors import InvalidRequestError
from atelier.core.requests.colorize import ColorizeRequest
from atelier.core.requests.lineart import LineArtRequest
from atelier.core.requests.sketch import SketchRequest


def pixels(hints: bool = False) -> CanvasPixels:
    sketch = np.full((64, 64, 4), 255, np.uint8)
    sketch[20:40, 20:40, :3] = 0
    layer = None
    if hints:
        layer = np.zeros((64, 64, 4), np.uint8)
        layer[5:10, 5:10] = (255, 0, 0, 255)
    return CanvasPixels(sketch, layer)


def test_edits_of_one_field_merge_and_undo_emits_the_old_value() -> None:
    doc = SketchDocument()
    seen: list[tuple[str, object]] = []
    doc.changed.connect(lambda path, value: seen.append((path, value)))
    for value in (0.7, 0.8, 0.9):  # a spin box stepped three times
        doc.set("generation.strength", value)
    doc.set("generation.prompt", "a lighthouse")
    assert len(doc.undo) == 2 and doc.undo.undo_text == "Change prompt"
    assert doc.undo.undo() and doc.generation.prompt == ""
    assert doc.undo.undo() and doc.generation.strength == 0.6
    assert seen[-1] == ("generation.strength", 0.6)
    assert not doc.undo.can_undo
    assert doc.undo.redo() and doc.generation.strength == 0.9


def test_toggles_are_steps_of_their_own_and_unchanged_values_are_no_step() -> None:
    doc = SketchDocument()
    doc.set("generation.live", True)
    doc.set("generation.live", False)
    assert len(doc.undo) == 2
    doc.set("generation.steps", 20)  # already 20
    assert len(doc.undo) == 2


def test_set_clamps_and_refuses_wrong_types() -> None:
    doc = SketchDocument()
    doc.set("generation.seed", 99999999999)
    assert doc.generation.seed == MAX_SEED
    doc.set("generation.width", 500)
    assert doc.generation.width == 512  # the nearest multiple of 64
    doc.set("tools.colour", "ABCDEF")
    assert doc.tools.colour == "#abcdef"
    with pytest.raises(ValueError):
        doc.set("generation.mode", "sideways")
    with pytest.raises(ValueError):
        doc.set("generation.steps", "many")


def test_preferences_and_the_canvas_size_are_not_undo_steps() -> None:
    doc = SketchDocument()
    doc.set("pictures.other_size", "new")
    doc.set_canvas_size(300, 200)
    assert doc.pictures.other_size == "new" and (doc.canvas.width, doc.canvas.height) == (300, 200)
    assert not doc.undo.can_undo


def test_sketch_requests_follow_the_mode() -> None:
    doc = SketchDocument()
    doc.set_many({"generation.prompt": "a cat", "generation.control_scale": 0.4, "generation.seed": 7}, "setup")
    doc.set("generation.mode", "txt2img")
    request = doc.to_request("sketch", pixels())
    assert isinstance(request, SketchRequest) and request.image is None and request.control is None
    assert request.origin == "sketch" and not request.supersedes and request.count == 4
    assert request.control_scale == 0.4 and request.seed == 7 and request.prompt == "a cat"
    doc.set("generation.mode", "img2img")
    assert doc.to_request("sketch", pixels()).image is not None
    doc.set("generation.mode", "controlnet")
    request = doc.to_request("sketch", pixels())
    assert isinstance(request, SketchRequest) and request.control is not None and request.image is None
    doc.set("generation.mode", "inpaint")
    with pytest.raises(InvalidRequestError, match="Hints layer"):
        doc.to_request("sketch", pixels())
    request = doc.to_request("sketch", pixels(hints=True))
    assert isinstance(request, SketchRequest) and request.mask is not None
    assert request.mask[7, 7] == 255 and request.mask[30, 30] == 0
    live = doc.to_request("sketch", pixels(hints=True), live=True)
    assert live.origin == "sketch-live" and live.supersedes and isinstance(live, SketchRequest) and live.count == 1


def test_batch_seeds_never_repeat_an_image_and_wrap_at_the_largest_seed() -> None:
    doc = SketchDocument()
    doc.set_many({"generation.seed": 10, "generation.count": 4, "generation.batch": 3}, "setup")
    assert doc.seeds_for_batch() == [10, 14, 18]
    doc.set("generation.seed", MAX_SEED - 1)
    assert doc.seeds_for_batch() == [MAX_SEED - 1, 2, 6]
    request = doc.to_request("sketch", pixels(), seed=2)
    assert isinstance(request, SketchRequest) and request.seed == 2


def test_colorize_and_line_art_requests() -> None:
    doc = SketchDocument()
    doc.set("generation.sensitivity", 0.8)
    colours = [f"#0000{i:02x}" for i in range(10)]
    request = doc.to_request("colorize", pixels(hints=True), colours)
    assert isinstance(request, ColorizeRequest) and len(request.palette) == 8 and request.hints is not None
    assert request.lines.shape == (64, 64, 3) and not request.preview and request.count == 4
    preview = doc.to_request("colorize", pixels(), colours[:3], live=True)
    assert isinstance(preview, ColorizeRequest) and preview.preview and preview.count == 1
    assert preview.origin == "sketch-live"
    trace = doc.to_request("lineart", pixels())
    assert isinstance(trace, LineArtRequest) and trace.sensitivity == 0.8 and trace.origin == "sketch"
    with pytest.raises(ValueError):
        doc.to_request("melody", pixels())


def test_recall_of_each_kind_is_one_undo_step() -> None:
    doc = SketchDocument()
    picture = np.full((64, 64, 3), 200, np.uint8)
    request = SketchRequest(
        prompt="dusk", negative="blur", pack_id="/packs/tiny", width=128, height=192, steps=3, guidance=1.5,
        seed=4_000_000_000, count=2, strength=0.3, control=picture, control_scale=0.7, scheduler="lcm",
    )  # fmt: skip
    assert doc.apply_request(request)
    g = doc.generation
    assert (g.prompt, g.negative, g.pack_id, g.mode) == ("dusk", "blur", "/packs/tiny", "controlnet")
    assert (g.width, g.height, g.steps, g.guidance, g.seed, g.count) == (128, 192, 3, 1.5, 4_000_000_000, 2)
    assert (g.strength, g.control_scale, g.scheduler) == (0.3, 0.7, "lcm")
    assert len(doc.undo) == 1 and doc.undo.undo_text == "Recall sketch settings"
    doc.undo.undo()
    assert doc.generation.prompt == "" and doc.generation.seed == 0 and doc.generation.mode == "img2img"
    assert doc.apply_request(ColorizeRequest(lines=picture, palette=("#111111", "#222222", "#333333"), seed=9, count=3))
    assert (doc.generation.seed, doc.generation.count) == (9, 3)
    assert doc.apply_request(LineArtRequest(image=picture, sensitivity=0.25))
    assert doc.generation.sensitivity == 0.25
    assert len(doc.undo) == 2
    from atelier.core.requests import Request

    assert not doc.apply_request(Request())


def test_save_and_load_round_trip() -> None:
    doc = SketchDocument()
    doc.set_many(
        {"generation.prompt": "a boat", "generation.batch": 3, "tools.tool": "eraser", "tools.colour": "#ff0000"},
        "setup",
    )
    doc.set("pictures.other_size", "place")
    doc.set_canvas_size(320, 240)
    data = doc.to_dict()
    assert data["schema"] == SCHEMA == 2
    loaded = SketchDocument.from_dict(data)
    assert loaded.values() == doc.values()
    assert not loaded.undo.can_undo


def test_migration_from_the_schema_1_session_section() -> None:
    old = {
        "sensitivity": 70,
        "prompt": "a lighthouse",
        "negative": "fog",
        "steps": 12,
        "guidance": 3.5,
        "strength": 0.45,
        "seed": 1234,
        "count": 2,
        "width": 384,
        "height": 256,
        "mode": 2,
        "pack": "sd-turbo",
        "brush": [30, 50, 20],
        "colour": "#00ff00",
    }
    doc = SketchDocument.from_dict(old)
    g, t = doc.generation, doc.tools
    assert (g.prompt, g.negative, g.steps, g.guidance, g.strength) == ("a lighthouse", "fog", 12, 3.5, 0.45)
    assert (g.seed, g.count, g.width, g.height, g.mode, g.pack_id) == (1234, 2, 384, 256, "controlnet", "sd-turbo")
    assert g.sensitivity == pytest.approx(0.7)
    assert (t.size, t.opacity, t.hardness, t.colour) == (30, 0.5, 0.2, "#00ff00")
    assert migrate_v1(old)["schema"] == 2


def test_bad_or_out_of_range_values_fall_back_to_defaults() -> None:
    defaults = SketchDocument().values()
    old = {
        "seed": 99999999999,
        "steps": "twenty",
        "guidance": float("nan"),
        "width": 500,
        "mode": 9,
        "brush": [1, 2],
        "colour": "green",
        "count": True,
    }
    assert SketchDocument.from_dict(old).values() == defaults
    bad = {"schema": 2, "generation": {"seed": -1, "mode": "up", "live": "yes"}, "tools": ["not", "a", "dict"]}
    assert SketchDocument.from_dict(bad).values() == defaults
    assert SketchDocument.from_dict(None).values() == defaults
    assert SketchDocument.from_dict({"schema": 2, "generation": {"seed": MAX_SEED}}).generation.seed == MAX_SEED


def test_variations_of_each_result_kind() -> None:
    from atelier.core.documents.sketch import variations_of
    from atelier.core.requests.colorize import ColorizeResult
    from atelier.core.requests.lineart import LineArtResult
    from atelier.core.requests.lyrics import RhymeResult
    from atelier.core.requests.sketch import SketchResult

    images = (np.zeros((8, 8, 3), np.uint8), np.ones((8, 8, 3), np.uint8))
    sketch = variations_of(SketchResult(images=images, seeds=(3, 4), parameters={"prompt": "p"}))
    assert sketch is not None and [p for _, p in sketch] == [{"prompt": "p", "seed": 3}, {"prompt": "p", "seed": 4}]
    colorized = variations_of(ColorizeResult(images=images))  # kept by a version without parameters
    assert colorized is not None and [p for _, p in colorized] == [{}, {}] and colorized[1][0] is images[1]
    lines = variations_of(LineArtResult(lines=np.zeros((8, 8), np.uint8)))
    assert lines is not None and lines[0][1] == {"kind": "lineart"}
    assert variations_of(RhymeResult(word="rain")) is None


def test_colorize_needs_three_palette_colours_and_uses_at_most_eight() -> None:
    doc = SketchDocument()
    with pytest.raises(InvalidRequestError, match="palette has 2: add some in the Palette tab"):
        doc.to_request("colorize", pixels(), ("#111111", "#222222"))
    many = tuple(f"#0000{i:02x}" for i in range(10))
    request = doc.to_request("colorize", pixels(), many)
    assert isinstance(request, ColorizeRequest) and request.palette == many[:8]


def test_restore_replaces_every_field_announces_it_and_clears_the_undo_history() -> None:
    doc = SketchDocument()
    doc.set("generation.prompt", "a harbour")
    doc.set("tools.size", 40)
    seen: dict[str, object] = {}
    doc.changed.connect(lambda path, value: seen.__setitem__(path, value))
    doc.restore({"schema": SCHEMA, "generation": {"steps": 9}, "canvas": {"width": 64, "height": 48}})
    assert (doc.generation.prompt, doc.generation.steps, doc.tools.size) == ("", 9, 8)  # the rest: defaults
    assert (doc.canvas.width, doc.canvas.height) == (64, 48) and not doc.undo.can_undo
    assert seen["generation.prompt"] == "" and seen["generation.steps"] == 9 and len(seen) == len(doc.values())


def test_size_for_canvas_keeps_the_pixel_count_in_the_canvas_shape_and_fitting_is_one_step() -> None:
    doc = SketchDocument()
    doc.set_canvas_size(640, 480)
    assert doc.size_for_canvas() == (576, 448)  # 4:3 in multiples of 64, about 512×512 pixels
    doc.set_canvas_size(4096, 8)
    assert doc.size_for_canvas() == (2048, 64)  # clamped to what a request accepts
    doc.set_canvas_size(500, 500)
    assert doc.size_for_canvas() == (512, 512)  # already the canvas's shape
    doc.set_canvas_size(1920, 1080)
    doc.fit_size_to_canvas()
    assert (doc.generation.width, doc.generation.height) == (704, 384) and len(doc.undo) == 1
    assert doc.undo.undo() and (doc.generation.width, doc.generation.height) == (512, 512)


def test_restore_can_keep_the_preferences_the_tools_and_the_picture_choice() -> None:
    doc = SketchDocument()
    doc.set("tools.size", 40)
    doc.set("pictures.other_size", "new")
    doc.set("generation.steps", 30)
    doc.restore({"schema": SCHEMA, "tools": {"size": 2}}, keep_preferences=True)
    assert doc.tools.size == 40 and doc.pictures.other_size == "new" and doc.generation.steps == 20
    doc.restore({"schema": SCHEMA, "tools": {"size": 2}})
    assert doc.tools.size == 2 and doc.pictures.other_size == "ask"


def test_requests_generate_at_the_packs_size_in_the_canvas_shape_and_come_back_at_the_canvas_size() -> None:
    doc = SketchDocument()
    canvas = CanvasPixels(np.full((1080, 1920, 4), 255, np.uint8))
    request = doc.to_request("sketch", canvas)
    assert isinstance(request, SketchRequest)
    assert (request.width, request.height) == (0, 0)  # auto: the engine knows the pack's native area
    assert (request.out_width, request.out_height) == (1920, 1080) and request.detail_upscale
    assert not doc.to_request("sketch", canvas, live=True).detail_upscale  # type: ignore[attr-defined]
    doc.set_many({"generation.auto_size": False, "generation.width": 768, "generation.height": 448}, "size")
    request = doc.to_request("sketch", canvas)
    assert (request.width, request.height, request.out_width) == (768, 448, 1920)  # type: ignore[attr-defined]
    fresh = SketchDocument()
    fresh.apply_request(request)
    g = fresh.generation
    assert (g.auto_size, g.width, g.height) == (False, 768, 448)
    fresh.apply_request(SketchRequest(prompt="x", width=0, height=0))
    assert fresh.generation.auto_size and (fresh.generation.width, fresh.generation.height) == (768, 448)


def test_locked_aspect_follows_the_typed_side_within_the_limits() -> None:
    from atelier.core.documents.sketch import CANVAS_PRESETS, MAX_CANVAS_SIDE, locked_size

    assert (1216, 832) in CANVAS_PRESETS and (1920, 1080) in CANVAS_PRESETS
    assert locked_size(1280, 1080, "width", 16 / 9) == (1280, 720)
    assert locked_size(1920, 2160, "height", 16 / 9) == (3840, 2160)
    width, height = locked_size(1920, 4000, "height", 16 / 9)  # 7111 wide would pass the limit
    assert width == MAX_CANVAS_SIDE and abs(width / height - 16 / 9) < 0.01


def test_upscale_request_carries_the_shown_pictures_parameters() -> None:
    doc = SketchDocument()
    doc.set_many({"generation.pack_id": "sd-turbo", "generation.prompt": "mine"}, "settings")
    picture = np.zeros((64, 96, 4), np.uint8)
    request = doc.upscale_request(picture, {"prompt": "a result's prompt", "seed": 7})
    assert request.output_size() == (192, 128) and request.pack_id == "sd-turbo"
    assert request.prompt == "a result's prompt" and request.source_parameters["seed"] == 7
    assert doc.upscale_request(picture).prompt == "mine"  # the sketch itself: the panel's prompt
