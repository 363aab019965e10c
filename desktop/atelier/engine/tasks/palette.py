"""Palette tasks: from a mood text (MiniLM embeddings), an image (OKLab k-means), a harmony rule, the palette model."""

from __future__ import annotations

import threading

import numpy as np

from atelier.core.cancel import CancelToken
from atelier.core.color.harmony import harmony
from atelier.core.color.names import nearest_names
from atelier.core.progress import Progress
from atelier.core.requests import NO_DEVICE
from atelier.core.requests.palette import (
    HarmonyRequest,
    PaletteFromImageRequest,
    PaletteFromTextRequest,
    PaletteInfillRequest,
    PaletteResult,
)
from atelier.engine.doctor import smoke_test
from atelier.engine.packs import Pack
from atelier.engine.palette_extract import extract
from atelier.engine.palette_infill import Codebook, infill
from atelier.engine.palette_text import ColorIndex, load_index, palette_for_vector, text_vector
from atelier.engine.runner import Engine, TaskContext, TaskGenerator, task
from atelier.engine.sessions import SessionPool
from atelier.engine.text_embedding import build_text_pack, embed, find_text_pack

# Lines of a text embedded one by one; the text is at most 4,000 characters, which could be 2,000 lines.
MAX_LINES = 64
# One colour index per text-model pack, shared by every job in this process.
_indexes: dict[str, ColorIndex] = {}
_index_lock = threading.Lock()
INFILL_KIND = "palette-infill"
INFILL_ROLE = "model"


@task(PaletteFromTextRequest)
def run_text_palette(request: PaletteFromTextRequest, context: TaskContext) -> TaskGenerator:
    pack = find_text_pack(context.catalog)
    if pack is None:
        yield Progress(0, 3, "Building the text model (first use)…")
        pack = build_text_pack(report=lambda message: None)
    cancel = context.cancel
    key = f"{pack.id}@{pack.folder}"
    with _index_lock:
        index = _indexes.get(key)
    if index is None:
        yield Progress(1, 3, "Indexing colour names (first use)…")

        def embed_texts(texts: list[str]) -> np.ndarray:
            return embed(context.pool, pack, texts, cancel)[0]

        index = load_index(pack, embed_texts)
        with _index_lock:
            _indexes[key] = index
    lines = [line.strip() for line in request.text.splitlines() if line.strip()]
    whole = " ".join(lines)
    if len(lines) > MAX_LINES:  # each line is one model run: a long text's lines are sampled evenly
        lines = [lines[index * len(lines) // MAX_LINES] for index in range(MAX_LINES)]
    # One line: its embedding. Several (a lyric): the whole text (its first 128 tokens) and the mean
    # of the lines count equally, so one vivid line cannot outvote the song's overall mood.
    texts = lines if len(lines) == 1 else [whole, *lines]
    vectors, device = embed(context.pool, pack, texts, cancel)
    vector = vectors[0] if len(lines) == 1 else text_vector(np.stack([vectors[0], text_vector(vectors[1:])]))
    colors, moods = palette_for_vector(index, vector, request.count, request.seed, request.locked)
    return PaletteResult(
        colors=tuple(colors),
        names=tuple(nearest_names(colors)),
        source="text",
        detail="Matched: " + ", ".join(moods) if moods else "",
        device=device,
    )


@task(PaletteFromImageRequest)
def run_image_palette(request: PaletteFromImageRequest, context: TaskContext) -> TaskGenerator:
    yield Progress(0, 1, "Finding the dominant colours")
    found = extract(request.image, request.count, request.seed, request.locked)
    colors = found.colors
    # Fewer colours than asked when the picture has fewer: a locked swatch may then sit before its slot.
    locks = tuple(index in found.locked_at for index in range(len(colors))) if found.short else ()
    return PaletteResult(
        colors=tuple(colors),
        names=tuple(nearest_names(colors)),
        source="image",
        detail=found.note(),
        device=NO_DEVICE,
        locks=locks,
    )


@task(HarmonyRequest)
def run_harmony(request: HarmonyRequest, context: TaskContext) -> TaskGenerator:
    yield Progress(0, 1, f"{request.mode.capitalize()} harmony")
    free = request.count - len(request.locked)
    generated = harmony(request.base, request.mode, request.count, request.seed) if free > 0 else []
    locked_colors = {c for _, c in request.locked}
    fill = iter([c for c in generated if c not in locked_colors] + generated)
    slots: dict[int, str] = dict(request.locked)
    colors = [slots[i] if i in slots else next(fill) for i in range(request.count)]
    kept = len(request.locked)
    detail = f"Built around {request.base}; {kept} locked swatch{'es' if kept > 1 else ''} kept" if kept else ""
    return PaletteResult(
        colors=tuple(colors), names=tuple(nearest_names(colors)), source="harmony", detail=detail, device=NO_DEVICE
    )


def _infill_with(pool: SessionPool, pack: Pack, cancel: CancelToken, request: PaletteInfillRequest) -> PaletteResult:
    def feeds(colors: np.ndarray, known: np.ndarray, present: np.ndarray) -> dict[str, np.ndarray]:
        return {"colors": colors, "known": known, "present": present}

    def run(colors: np.ndarray, known: np.ndarray, present: np.ndarray) -> np.ndarray:
        return pool.run(pack, INFILL_ROLE, feeds(colors, known, present), cancel, ["logits"])[0][0]

    # The graph returns its codebook and their distances beside the logits: read once, from a one-slot run.
    one = feeds(np.zeros((1, 1, 3), np.float32), np.zeros((1, 1), np.float32), np.ones((1, 1), np.float32))
    (codes, pairwise), device = pool.run(pack, INFILL_ROLE, one, cancel, ["codebook", "codebook_de"])
    codebook = Codebook.from_outputs(codes, pairwise)
    colors = infill(run, codebook, request.count, request.locked, request.avoid, request.temperature, request.seed)
    return PaletteResult(
        colors=tuple(colors),
        names=tuple(nearest_names(colors)),
        source="model",
        detail=f"Unlocked swatches from the palette model (temperature {request.temperature:g})",
        device=device,
    )


@task(PaletteInfillRequest)
def run_palette_infill(request: PaletteInfillRequest, context: TaskContext) -> TaskGenerator:
    pack = context.pack_of_kind(INFILL_KIND, request.pack_id)
    yield Progress(0, 1, "Filling the unlocked swatches")
    return _infill_with(context.pool, pack, context.cancel, request)


@smoke_test(INFILL_KIND)
def smoke_palette_infill(engine: Engine, pack: Pack) -> str:
    """A real fill around two colours (zeros everywhere would mark every slot absent)."""
    request = PaletteInfillRequest(count=5, locked=((0, "#1b2a41"), (1, "#c9a227")))
    return _infill_with(engine.pool, pack, CancelToken(), request).device.provider
