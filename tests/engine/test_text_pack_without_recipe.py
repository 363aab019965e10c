"""An installed bundle has no model recipes: an already-built text pack must still be found."""

from __future__ import annotations

from pathlib import Path

import pytest

from atelier.engine import packs, text_embedding


def test_built_pack_is_found_without_the_recipe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.onnx_builders import scale_model, write_pack

    monkeypatch.setenv("ATELIER_CACHE_DIR", str(tmp_path / "cache"))
    write_pack(tmp_path / "cache" / "packs" / "minilm-abc", scale_model(), pack_id="minilm-text", kind="text-embedding")
    monkeypatch.setattr(packs, "bundled_models_dir", lambda: tmp_path / "bundle-without-recipes")
    monkeypatch.setattr(text_embedding, "bundled_models_dir", lambda: tmp_path / "bundle-without-recipes")
    text_embedding._expected_folder.cache_clear()
    try:
        pack = text_embedding.built_pack()
    finally:
        text_embedding._expected_folder.cache_clear()
    assert pack is not None and pack.id == "minilm-text"


def test_built_language_pack_is_found_without_the_recipe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from atelier.engine import smollm2
    from tests.onnx_builders import scale_model, write_pack

    monkeypatch.setenv("ATELIER_CACHE_DIR", str(tmp_path / "cache"))
    write_pack(tmp_path / "cache" / "packs" / "smollm2-abc", scale_model(), pack_id="smollm2-135m-instruct", kind="llm")
    monkeypatch.setattr(smollm2, "bundled_models_dir", lambda: tmp_path / "bundle-without-recipes")
    smollm2._recipe.cache_clear()
    smollm2.input_hash.cache_clear()
    try:
        pack = smollm2.built_pack()
    finally:
        smollm2._recipe.cache_clear()
        smollm2.input_hash.cache_clear()
    assert pack is not None and pack.id == "smollm2-135m-instruct"
