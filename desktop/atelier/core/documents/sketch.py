"""The Sketch panel's document: canvas size, generation and tool settings, changed through undoable commands.

The pixels stay in the view (QImages paint fast); the view records its pixel steps on this document's
`undo` stack, so one Undo walks back strokes and setting changes in the order they happened.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

import numpy as np
from psygnal import Signal

from atelier.core.documents.palette import normalise_hex
from atelier.core.errors import InvalidRequestError
from atelier.core.provenance_sketch import restore_accepted, with_accepted
from atelier.core.requests import Request, Result
from atelier.core.requests.colorize import PALETTE_SIZES, ColorizeRequest, ColorizeResult
from atelier.core.requests.lineart import LineArtRequest, LineArtResult
from atelier.core.requests.sketch import SCHEDULERS, SketchRequest, SketchResult
from atelier.core.requests.upscale import UpscaleRequest, UpscaleResult
from atelier.core.undo import Command, UndoStack

SCHEMA = 2
MODES = ("txt2img", "img2img", "controlnet", "inpaint")
LIVE_TARGETS = ("generate", "colorize")
TOOLS = ("brush", "eraser", "fill")
LAYERS = ("sketch", "hints")
# What to do with a picture of another size than the canvas: ask, place it scaled on this canvas,
# or start a new canvas of the picture's size.
OTHER_SIZE_CHOICES = ("ask", "place", "new")
MAX_SEED = 2**32 - 1
MAX_CANVAS_SIDE = 4096
ORIGIN = "sketch"
LIVE_ORIGIN = "sketch-live"  # live jobs replace only earlier live jobs, never a queued Generate
COLORIZE_COLOURS = PALETTE_SIZES  # the palette sizes ColorizeRequest accepts (more are cut to the first 8)
# New canvas sizes: the SD 1.x and SDXL native squares, SDXL's portrait and landscape buckets, and HD video.
CANVAS_PRESETS: tuple[tuple[int, int], ...] = ((512, 512), (768, 768), (1024, 1024), (1216, 832), (832, 1216),
                                               (1920, 1080))  # fmt: skip
UPSCALE_FACTOR = 2.0


def locked_size(width: int, height: int, changed: str, aspect: float) -> tuple[int, int]:
    """The new canvas size when one side was typed with the aspect locked: the other side follows
    (`changed` is "width" or "height"), both kept within 8..MAX_CANVAS_SIDE."""
    if changed == "width":
        height = round(width / aspect)
    else:
        width = round(height * aspect)
    if max(width, height) > MAX_CANVAS_SIDE:  # the side that follows may not pass the limit either
        scale = MAX_CANVAS_SIDE / max(width, height)
        width, height = round(width * scale), round(height * scale)
    return max(8, width), max(8, height)


@dataclass(frozen=True)
class CanvasSettings:
    width: int = 512
    height: int = 512


@dataclass(frozen=True)
class GenerationSettings:
    prompt: str = ""
    negative: str = ""
    pack_id: str = ""  # a pack id or an ONNX folder; "" = the first diffusion pack
    mode: str = "img2img"
    strength: float = 0.6
    guidance: float = 7.5
    steps: int = 20
    width: int = 512
    height: int = 512
    auto_size: bool = True  # generate at the pack's native area in the canvas's shape (width/height unused)
    detail_upscale: bool = True  # a canvas much larger than the generation gets the tiled detail pass
    scheduler: str = ""  # "" = the pack's own
    seed: int = 0
    count: int = 4
    batch: int = 1  # Generate queues this many jobs, each with fresh seeds
    control_scale: float = 1.0
    sensitivity: float = 0.5  # line art
    live: bool = False
    live_target: str = "generate"


@dataclass(frozen=True)
class ToolSettings:
    tool: str = "brush"
    layer: str = "sketch"
    size: int = 8
    opacity: float = 1.0
    hardness: float = 0.8
    pressure_size: bool = True
    pressure_opacity: bool = False
    colour: str = "#1b2a41"


@dataclass(frozen=True)
class PictureSettings:
    other_size: str = "ask"


@dataclass(frozen=True)
class Spec:
    """What a field accepts and how the panel presents it (the form is built from these).

    Numbers outside [low, high] are clamped when set and refused when loaded; whole numbers must be
    multiples of `step` (sizes step by 64), which is also the spin boxes' step.
    """

    label: str
    low: float | None = None
    high: float | None = None
    step: float = 1
    choices: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()  # what the panel shows for each choice
    tip: str = ""
    colour: bool = False
    # The canvas size only mirrors the view's pixel step (which is the undo step); tool settings and
    # the picture choice are preferences, not part of the work: as in Krita, Undo after changing the
    # brush size undoes the last stroke, not the size.
    undoable: bool = True


SPECS: dict[str, Spec] = {
    "canvas.width": Spec("canvas width", 8, MAX_CANVAS_SIDE, undoable=False),
    "canvas.height": Spec("canvas height", 8, MAX_CANVAS_SIDE, undoable=False),
    "generation.prompt": Spec("prompt", tip="e.g. a lighthouse at dusk"),
    "generation.negative": Spec("negative prompt", tip="what to avoid"),
    "generation.pack_id": Spec("pack"),
    "generation.mode": Spec(
        "mode",
        choices=MODES,
        labels=("Text to image", "Image to image", "ControlNet (lines)", "Inpaint (hints layer = mask)"),
    ),
    "generation.strength": Spec("strength", 0.05, 1.0, 0.05, tip="How much is redrawn: low keeps the sketch"),
    "generation.guidance": Spec("guidance", 0.0, 30.0, 0.5, tip="Guidance scale; 0-1.5 for SD-Turbo and LCM packs"),
    "generation.steps": Spec("steps", 1, 150),
    "generation.width": Spec("width", 64, 2048, 64),
    "generation.height": Spec("height", 64, 2048, 64),
    "generation.auto_size": Spec(
        "auto size",
        tip="Generate at the pack's own size (512² for SD 1.x, 1024² for SDXL) in the canvas's shape, then map "
        "the result onto the canvas without stretching",
    ),
    "generation.detail_upscale": Spec(
        "detail for large canvases",
        tip="A canvas much larger than the generation is filled by upscaling: Lanczos, then the pack redraws it "
        "tile by tile at low strength (slower, sharper). Off: Lanczos only",
    ),
    "generation.scheduler": Spec(
        "scheduler", choices=SCHEDULERS, labels=("pack default", *SCHEDULERS[1:]), tip="How noise is removed"
    ),
    "generation.seed": Spec("seed", 0, MAX_SEED, tip=f"The first image's seed (0 to {MAX_SEED})"),
    "generation.count": Spec("count", 1, 16, tip="Images per job"),
    "generation.batch": Spec("batch", 1, 16, tip="Jobs per Generate; each continues the seeds of the one before"),
    "generation.control_scale": Spec(
        "control strength", 0.0, 2.0, 0.1, tip="How closely ControlNet follows the lines (0 ignores them, 2 insists)"
    ),
    "generation.sensitivity": Spec("line sensitivity", 0.0, 1.0, tip="Higher keeps fainter edges"),
    "generation.live": Spec(
        "live", tip="Regenerate shortly after each stroke or setting change (best with LCM / SD-Turbo packs)"
    ),
    "generation.live_target": Spec("live target", choices=LIVE_TARGETS, labels=("Generate", "Colorize (preview)")),
    "tools.tool": Spec("tool", choices=TOOLS, undoable=False),
    "tools.layer": Spec(
        "layer",
        choices=LAYERS,
        labels=("Sketch layer", "Hints layer"),
        tip="Hints: colour scribbles for Colorize, and the mask for Inpaint",
        undoable=False,
    ),
    "tools.size": Spec("brush size", 1, 200, tip="Brush size (pixels)", undoable=False),
    "tools.opacity": Spec("brush opacity", 0.01, 1.0, tip="Brush opacity", undoable=False),
    "tools.hardness": Spec("brush hardness", 0.0, 1.0, tip="Brush hardness", undoable=False),
    "tools.pressure_size": Spec("pressure to size", tip="Pen pressure changes the brush size", undoable=False),
    "tools.pressure_opacity": Spec("pressure to opacity", tip="Pen pressure changes the brush opacity", undoable=False),
    "tools.colour": Spec("brush colour", colour=True, undoable=False),
    "pictures.other_size": Spec(
        "pictures of another size",
        choices=OTHER_SIZE_CHOICES,
        labels=("Ask each time", "Place on this canvas", "New canvas"),
        tip="What to do with a picture that is not the canvas's size",
        undoable=False,
    ),
}
# The artist's, not the work's: they stay as they are when another project opens, as Krita keeps the
# brush when another document opens.
PREFERENCES = tuple(path for path in SPECS if path.startswith(("tools.", "pictures.")))
GROUPS: dict[str, type] = {
    "canvas": CanvasSettings,
    "generation": GenerationSettings,
    "tools": ToolSettings,
    "pictures": PictureSettings,
}


@dataclass(frozen=True)
class CanvasPixels:
    """The layers a request is built from, as the view hands them over."""

    sketch: np.ndarray  # HxWx4 RGBA uint8, opaque (drawn on white paper)
    hints: np.ndarray | None = None  # HxWx4 RGBA uint8; None when nothing was scribbled


def _defaults() -> dict[str, Any]:
    values: dict[str, Any] = {}
    for group, kind in GROUPS.items():
        for f in dataclasses.fields(kind):
            values[f"{group}.{f.name}"] = f.default
    return values


DEFAULTS = _defaults()


def colorize_palette_problem(colours: int) -> str:
    """What to do when a palette of `colours` colours cannot colorize; "" when it can."""
    low, high = COLORIZE_COLOURS
    if colours >= low:
        return ""
    return f"Colorize needs {low} to {high} palette colours and the palette has {colours}: add some in the Palette tab."


def _finite(value: float) -> bool:
    """A finite number that fits a float (a saved 10**400 is an int math.isfinite cannot take)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def coerce(path: str, value: Any, clamp: bool = True) -> Any:
    """`value` as the field's type; out of range is clamped (`clamp`) or a ValueError; a wrong type is one too."""
    spec, default = SPECS[path], DEFAULTS[path]
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ValueError(f"{spec.label}: not a yes/no value")
        return value
    if isinstance(default, (int, float)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not _finite(value):
            raise ValueError(f"{spec.label}: not a number")
        if isinstance(default, int):
            if isinstance(value, float) and not (clamp or value.is_integer()):
                raise ValueError(f"{spec.label}: not a whole number")
            value = round(value)
        else:
            value = float(value)
        low = spec.low if spec.low is not None else value
        high = spec.high if spec.high is not None else value
        if not low <= value <= high:
            if not clamp:
                raise ValueError(f"{spec.label}: {value} is outside {low}..{high}")
            value = type(value)(min(max(value, low), high))
        step = int(spec.step)
        if isinstance(value, int) and value % step:
            if not clamp:
                raise ValueError(f"{spec.label}: {value} is not a multiple of {step}")
            value = max(int(low), round(value / step) * step)
        return value
    if not isinstance(value, str):
        raise ValueError(f"{spec.label}: not text")
    if spec.choices and value not in spec.choices:
        raise ValueError(f"{spec.label}: '{value}' is not one of {', '.join(spec.choices)}")
    if spec.colour:
        try:
            return normalise_hex(value)
        except InvalidRequestError as exc:
            raise ValueError(str(exc)) from exc
    return value


class SketchDocument:
    """Every setting of the Sketch panel; each change is a command on `undo` (edits of one field merge)."""

    changed = Signal(str, object)  # the field's path ("generation.steps") and its new value

    def __init__(self, values: Mapping[str, Any] | None = None, undo: UndoStack | None = None) -> None:
        self.undo = undo if undo is not None else UndoStack()
        self.canvas = CanvasSettings()
        self.generation = GenerationSettings()
        self.tools = ToolSettings()
        self.pictures = PictureSettings()
        # What made each result accepted into the sketch: exports of the sketch then say it is a composite.
        self.accepted: list[dict[str, Any]] = []
        for path, value in (values or {}).items():
            self._assign(path, coerce(path, value), emit=False)

    # -- reading -----------------------------------------------------------------------------
    def get(self, path: str) -> Any:
        group, name = path.split(".")
        return getattr(getattr(self, group), name)

    def values(self) -> dict[str, Any]:
        return {path: self.get(path) for path in SPECS}

    # -- changing ----------------------------------------------------------------------------
    def set(self, path: str, value: Any) -> None:
        """Change one field as an undo step (consecutive changes of the same field make one step)."""
        new = coerce(path, value)
        old = self.get(path)
        if new == old:
            return
        if not SPECS[path].undoable:
            self._assign(path, new)
            return
        self.undo.push(self._command(path, old, new, merge=_merges(path)))

    def set_many(self, values: Mapping[str, Any], text: str) -> None:
        """Change several fields as one undo step named `text`."""
        with self.undo.macro(text):
            for path, value in values.items():
                new, old = coerce(path, value), self.get(path)
                if new == old:
                    continue
                if SPECS[path].undoable:
                    self.undo.push(self._command(path, old, new, merge=False))
                else:
                    self._assign(path, new)

    def set_canvas_size(self, width: int, height: int) -> None:
        """Mirror the view's canvas size (its pixel step is the undo step, so this is none)."""
        self.set("canvas.width", width)
        self.set("canvas.height", height)

    def _command(self, path: str, old: Any, new: Any, merge: bool) -> Command:
        return Command(
            f"Change {SPECS[path].label}",
            redo=lambda: self._assign(path, new),
            undo=lambda: self._assign(path, old),
            merge_key=f"sketch.{path}" if merge else "",
        )

    def _assign(self, path: str, value: Any, emit: bool = True) -> None:
        group, name = path.split(".")
        setattr(self, group, dataclasses.replace(getattr(self, group), **{name: value}))
        if emit:
            self.changed.emit(path, value)

    def size_for_canvas(self) -> tuple[int, int]:
        """The image size of the canvas's shape with about as many pixels as the current one (multiples
        of 64): images of another shape are stretched over the canvas, and so is what they show."""
        g, c = self.generation, self.canvas
        aspect = c.width / c.height
        width = math.sqrt(g.width * g.height * aspect)
        return coerce("generation.width", width), coerce("generation.height", width / aspect)

    def fit_size_to_canvas(self) -> None:
        width, height = self.size_for_canvas()
        self.set_many({"generation.width": width, "generation.height": height}, "Fit the image size to the canvas")

    # -- requests ----------------------------------------------------------------------------
    def seeds_for_batch(self) -> list[int]:
        """The first seed of each job of a batch: job i starts where job i-1's images ended."""
        g = self.generation
        return [(g.seed + i * g.count) % (MAX_SEED + 1) for i in range(g.batch)]

    def to_request(
        self,
        kind: str,
        pixels: CanvasPixels,
        palette: Iterable[str] = (),
        live: bool = False,
        seed: int | None = None,
    ) -> Request:
        """A request of `kind` ("sketch", "colorize", "lineart") from the settings and the view's pixels."""
        g = self.generation
        common: dict[str, Any] = {"origin": LIVE_ORIGIN if live else ORIGIN, "supersedes": live}
        if kind == SketchRequest.kind:
            image = control = mask = None
            if g.mode in ("img2img", "inpaint"):
                image = pixels.sketch
            if g.mode == "controlnet":
                control = pixels.sketch
            if g.mode == "inpaint":
                hints = pixels.hints
                if hints is None or not hints[:, :, 3].any():
                    raise InvalidRequestError("Paint the region to regenerate on the Hints layer first.")
                mask = np.where(hints[:, :, 3] > 0, 255, 0).astype(np.uint8)
            canvas_height, canvas_width = pixels.sketch.shape[:2]
            return SketchRequest(
                prompt=g.prompt,
                negative=g.negative,
                pack_id=g.pack_id,
                width=0 if g.auto_size else g.width,
                height=0 if g.auto_size else g.height,
                out_width=canvas_width,  # results come back at the canvas's size, never stretched
                out_height=canvas_height,
                detail_upscale=g.detail_upscale and not live,  # a stroke must not wait for a detail pass
                steps=g.steps,
                guidance=g.guidance,
                seed=g.seed if seed is None else seed,
                count=1 if live else g.count,
                strength=g.strength,
                image=image,
                control=control,
                mask=mask,
                control_scale=g.control_scale,
                scheduler=g.scheduler,
                **common,
            )
        if kind == ColorizeRequest.kind:
            colours = tuple(palette)
            if problem := colorize_palette_problem(len(colours)):
                raise InvalidRequestError(problem)
            return ColorizeRequest(
                lines=np.ascontiguousarray(pixels.sketch[:, :, :3]),
                palette=colours[: COLORIZE_COLOURS[1]],
                hints=pixels.hints,
                count=1 if live else g.count,
                seed=g.seed if seed is None else seed,
                preview=live,
                **common,
            )
        if kind == LineArtRequest.kind:
            return LineArtRequest(image=pixels.sketch, sensitivity=g.sensitivity, **common)
        raise ValueError(f"The sketch document makes no '{kind}' requests.")

    def upscale_request(self, image: np.ndarray, parameters: Mapping[str, Any] | None = None) -> UpscaleRequest:
        """Upscale 2x what is shown (a result, or the sketch) with this document's pack and prompt; the
        picture's own parameters (a result's) go into the upscaled PNG's."""
        g = self.generation
        source = dict(parameters or {})
        return UpscaleRequest(
            image=np.ascontiguousarray(image),
            scale=UPSCALE_FACTOR,
            pack_id=g.pack_id,
            prompt=str(source.get("prompt", g.prompt)),
            negative=str(source.get("negative", g.negative)),
            seed=g.seed,
            scheduler=g.scheduler,
            source_parameters=source,
            origin=ORIGIN,
        )

    def apply_request(self, request: Request) -> bool:
        """Put back every setting a past request of this document's kinds carried, as one undo step."""
        values: dict[str, Any]
        if isinstance(request, SketchRequest):
            mode = (
                "inpaint"
                if request.mask is not None
                else "controlnet"
                if request.control is not None
                else "img2img"
                if request.image is not None
                else "txt2img"
            )
            values = {
                "generation.prompt": request.prompt,
                "generation.negative": request.negative,
                "generation.pack_id": request.pack_id,
                "generation.mode": mode,
                "generation.strength": request.strength,
                "generation.guidance": request.guidance,
                "generation.steps": request.steps,
                "generation.auto_size": request.width == 0,
                "generation.detail_upscale": request.detail_upscale,
                "generation.scheduler": request.scheduler,
                "generation.seed": request.seed,
                "generation.count": request.count,
                "generation.control_scale": request.control_scale,
            }
            if request.width:  # an auto-size request keeps the explicit size the artist had
                values.update({"generation.width": request.width, "generation.height": request.height})
        elif isinstance(request, ColorizeRequest):
            values = {"generation.seed": request.seed, "generation.count": request.count}
        elif isinstance(request, LineArtRequest):
            values = {"generation.sensitivity": request.sensitivity}
        else:
            return False
        self.set_many(values, f"Recall {request.kind} settings")
        return True

    def keep_accepted(self, params: dict[str, Any] | None, what: str = "") -> None:
        """Record what made a result the artist accepts into the sketch, as an undo step (push it inside
        the accept's macro, so Undo takes the record back with the pixels)."""
        before, after = list(self.accepted), with_accepted(self.accepted, params, what)

        def become(records: list[dict[str, Any]]) -> None:
            self.accepted = records

        self.undo.push(Command("Keep the result's record", lambda: become(after), lambda: become(before)))

    # -- saving ------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"schema": SCHEMA}
        for group in GROUPS:
            data[group] = dataclasses.asdict(getattr(self, group))
        data["accepted"] = list(self.accepted)
        return data

    @classmethod
    def from_dict(cls, data: Any) -> SketchDocument:
        """A document from a saved dict (schema 2, or today's schema-1 session section); bad values keep defaults."""
        document = cls(_saved_values(data))
        document.accepted = restore_accepted(data.get("accepted") if isinstance(data, dict) else None)
        return document

    def restore(self, data: Any, keep_preferences: bool = False) -> None:
        """Become the saved document `data` (read as `from_dict` reads it), with an empty undo history:
        what opening another project does (`keep_preferences`: the tools and the picture choice stay).
        Every field is announced, so views show the new values."""
        values = {**DEFAULTS, **_saved_values(data)}
        if keep_preferences:
            values.update({path: self.get(path) for path in PREFERENCES})
        for path, value in values.items():
            self._assign(path, value)
        self.accepted = restore_accepted(data.get("accepted") if isinstance(data, dict) else None)
        self.undo.clear()


def _saved_values(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        return {}
    if "schema" not in data:
        data = migrate_v1(data)
    values: dict[str, Any] = {}
    for path in SPECS:
        group, name = path.split(".")
        section = data.get(group)
        if isinstance(section, dict) and name in section:
            with contextlib.suppress(ValueError):  # a damaged or hand-edited value keeps the default
                values[path] = coerce(path, section[name], clamp=False)
    return values


def variations_of(result: Result) -> list[tuple[np.ndarray, dict[str, Any]]] | None:
    """A result's images, each with its parameters (what the variations grid shows); None if not a sketch result."""
    if isinstance(result, SketchResult):
        images, params = list(result.images), [{**result.parameters, "seed": seed} for seed in result.seeds]
    elif isinstance(result, ColorizeResult):
        images, params = list(result.images), [dict(p) for p in result.parameters]
    elif isinstance(result, LineArtResult):
        images, params = [result.lines], [{"kind": "lineart"}]
    elif isinstance(result, UpscaleResult):
        images, params = [result.image], [dict(result.parameters)]
    else:
        return None
    params = (params + [{} for _ in images])[: len(images)]  # results kept by older versions may lack some
    return list(zip(images, params, strict=True))


_V1_GENERATION = ("prompt", "negative", "steps", "guidance", "strength", "seed", "count", "width", "height")


def migrate_v1(old: dict[str, Any]) -> dict[str, Any]:
    """Today's session "sketch" section (no schema; sliders in percent, mode as a combo index) as schema 2."""
    generation: dict[str, Any] = {key: old[key] for key in _V1_GENERATION if key in old}
    tools: dict[str, Any] = {}
    sensitivity = old.get("sensitivity")
    if _is_number(sensitivity):
        generation["sensitivity"] = sensitivity / 100
    mode = old.get("mode")
    if isinstance(mode, int) and not isinstance(mode, bool) and 0 <= mode < len(MODES):
        generation["mode"] = MODES[mode]
    if "pack" in old:
        generation["pack_id"] = old["pack"]
    brush = old.get("brush")
    if isinstance(brush, list) and len(brush) == 3:
        size, opacity, hardness = brush
        tools["size"] = size
        if _is_number(opacity):
            tools["opacity"] = opacity / 100
        if _is_number(hardness):
            tools["hardness"] = hardness / 100
    if "colour" in old:
        tools["colour"] = old["colour"]
    return {"schema": SCHEMA, "generation": generation, "tools": tools}


def _merges(path: str) -> bool:
    # Typing, dragging a slider or stepping a spin box is one step; toggles and choices are one each
    # (merged, a toggle on and off again would leave an undo step that changes nothing).
    default = DEFAULTS[path]
    return not isinstance(default, bool) and not SPECS[path].choices


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
