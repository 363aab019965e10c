"""`atelier doctor` smoke test for text-embedding packs (real sentences, not zeros)."""

from __future__ import annotations

from atelier.engine.doctor import smoke_test
from atelier.engine.packs import Pack
from atelier.engine.runner import Engine
from atelier.engine.text_embedding import PACK_KIND, smoke


@smoke_test(PACK_KIND)
def text_embedding_smoke(engine: Engine, pack: Pack) -> str:
    return smoke(engine.pool, pack)
