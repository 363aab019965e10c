"""Provenance on the sketch: a generated PNG's settings rebuilt as a request (to reuse them), and the
records of results accepted into the sketch, so a later export of the sketch says it is a composite."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from atelier import __version__
from atelier.core.errors import InvalidRequestError
from atelier.core.provenance import COMPOSITE, build_record, now_iso
from atelier.core.requests.sketch import SketchRequest

MAX_ACCEPTED = 200  # records kept per sketch (each a few hundred bytes); the oldest go first
# What an accepted result's record keeps: enough to say what made it, not every setting.
ACCEPTED_KEYS = ("task", "mode", "pack", "prompt", "seed", "date", "ai", "generator", "sources", "control_scale")


# -- reusing a generated picture's settings ---------------------------------------------------------
def generation_mode(record: dict[str, Any]) -> str:
    """The Sketch panel's mode for a record: txt2img, img2img, controlnet or inpaint."""
    mode = str(record.get("mode") or "")
    if "controlnet" in mode:
        return "controlnet"
    for name in ("inpaint", "img2img"):
        if mode.startswith(name):
            return name
    return "txt2img"


def sketch_request_from_record(
    record: dict[str, Any] | None, known_packs: Collection[str] | None = None
) -> SketchRequest | None:
    """The settings of a generated image's record as a SketchRequest (for Panel.recall), or None when the
    record is not an Atelier sketch record or its settings are out of range. Pictures are not in a record:
    the request is text-to-image; `generation_mode(record)` gives the mode to set beside it. A pack id
    not in `known_packs` (another computer's, or a folder's name) becomes "" (the first installed pack)."""
    if not isinstance(record, dict) or build_record(record).get("task") != "sketch" or "prompt" not in record:
        return None
    pack: dict[str, Any] = record["pack"] if isinstance(record.get("pack"), dict) else {}
    pack_id = str(record.get("pack_id") or pack.get("id") or "")
    if known_packs is not None and pack_id not in known_packs:
        pack_id = ""

    def number(key: str, kind: type, default: Any) -> Any:
        value = record.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return default
        return kind(value)

    try:
        return SketchRequest(
            prompt=str(record.get("prompt") or ""),
            negative=str(record.get("negative") or ""),
            pack_id=pack_id,
            width=number("width", int, 512),
            height=number("height", int, 512),
            steps=number("steps", int, 20),
            guidance=number("guidance", float, 7.5),
            seed=number("seed", int, 0),
            strength=number("strength", float, 0.6),
            control_scale=number("control_scale", float, 1.0),
            scheduler=str(record.get("scheduler") or ""),
            origin="sketch",
        )
    except InvalidRequestError:
        return None


def record_summary(record: dict[str, Any]) -> str:
    """One or two lines naming what made a picture, for the drop dialog."""
    made = build_record(record)
    pack: dict[str, Any] = made["pack"] if isinstance(made.get("pack"), dict) else {}
    parts = [str(made.get("generator") or "Atelier")]
    if pack:
        parts.append(str(pack.get("name") or pack.get("id")))
    if made.get("seed") is not None:
        parts.append(f"seed {made['seed']}")
    prompt = str(made.get("prompt") or "")
    prompt = prompt if len(prompt) <= 80 else prompt[:79] + "…"
    return ", ".join(parts) + (f"\n“{prompt}”" if prompt else "")


# -- results accepted into the sketch ------------------------------------------------------------
def accepted_record(params: dict[str, Any] | None, what: str = "") -> dict[str, Any]:
    """The record kept when a shown result is accepted into the sketch (`what`: e.g. "lineart" when the
    result carries no parameters of its own, as a traced result)."""
    made = build_record(params or {"app_version": __version__, "task": what or "result"})
    kept = {key: made[key] for key in ACCEPTED_KEYS if key in made}
    kept.setdefault("task", what or "result")
    kept["accepted"] = now_iso()
    return kept


def with_accepted(records: Iterable[dict[str, Any]], params: dict[str, Any] | None, what: str = "") -> list[dict]:
    """`records` plus one accepted result, at most MAX_ACCEPTED (the oldest dropped)."""
    return [*records, accepted_record(params, what)][-MAX_ACCEPTED:]


def restore_accepted(saved: Any) -> list[dict[str, Any]]:
    """Accepted-result records from a saved project (anything else there is dropped)."""
    if not isinstance(saved, list):
        return []
    return [dict(entry) for entry in saved if isinstance(entry, dict)][-MAX_ACCEPTED:]


def composite_record(accepted: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    """The record of an export of a sketch holding accepted results: the user's drawing with a model's
    work in it (compositeWithTrainedAlgorithmicMedia), listing what made each accepted part. None when
    nothing generated was ever accepted: the sketch is then the user's own and carries no record."""
    parts = list(accepted)
    if not parts:
        return None
    return build_record(
        {
            "app_version": __version__,
            "task": "sketch",
            "mode": "composite",
            "ai": COMPOSITE,
            "date": now_iso(),
            "accepted": parts,
        }
    )
