"""Text -> palette with the real MiniLM pack (built once per machine from the installed package)."""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path

import pytest

from atelier.core.color.spaces import delta_e_2000, hex_to_rgb, rgb_to_cielab
from atelier.core.errors import InvalidRequestError
from atelier.core.requests.palette import PaletteFromTextRequest, PaletteResult
from atelier.engine.runner import Engine
from atelier.engine.text_embedding import built_pack
from tests.engine.palette_families import families

PROMPTS = json.loads((Path(__file__).parent / "palette_prompts.json").read_text())["prompts"]


@pytest.fixture(scope="module")
def engine() -> Engine:
    if built_pack() is None:
        pytest.importorskip("torch")  # building the pack needs the build extra
    return Engine()


def run(engine: Engine, text: str, count: int = 6, seed: int = 0, locked=()) -> PaletteResult:
    result = engine.run_to_end(PaletteFromTextRequest(text=text, count=count, seed=seed, locked=locked))
    assert isinstance(result, PaletteResult)
    return result


def min_pairwise_de(colors: tuple[str, ...]) -> float:
    lab = rgb_to_cielab(hex_to_rgb(list(colors)))
    return min(float(delta_e_2000(lab[i], lab[j])) for i, j in combinations(range(len(colors)), 2))


@pytest.mark.slow
@pytest.mark.parametrize("case", PROMPTS, ids=[p["text"] for p in PROMPTS])
def test_palette_meets_the_quality_bar(engine: Engine, case: dict) -> None:
    result = run(engine, case["text"], case["count"])
    assert len(result.colors) == case["count"]
    assert len(set(result.colors)) == case["count"]
    found = [families(c) for c in result.colors]
    for expectation in case["expect"]:
        matching = sum(1 for f in found if f & set(expectation["any"]))
        assert matching >= expectation["min"], (case["text"], expectation, result.colors, found)
    assert min_pairwise_de(result.colors) >= 8.0, result.colors


@pytest.mark.slow
def test_same_seed_same_palette_and_new_seed_regenerates_around_locks(engine: Engine) -> None:
    first = run(engine, "autumn forest", 6, seed=1)
    assert run(engine, "autumn forest", 6, seed=1).colors == first.colors
    locked = ((0, first.colors[0]), (3, "#123456"))
    other = run(engine, "autumn forest", 6, seed=2, locked=locked)
    assert other.colors[0] == first.colors[0] and other.colors[3] == "#123456"
    assert other.colors != first.colors
    assert min_pairwise_de(other.colors) >= 8.0


@pytest.mark.slow
def test_lyric_lines_colour_the_palette(engine: Engine) -> None:
    lyric = "The rain keeps falling on the empty street\nGrey skies over me\nI miss you every night"
    result = run(engine, lyric, 5)
    assert sum(1 for c in result.colors if families(c) & {"grey", "blue"}) >= 2
    assert result.names and all(result.names)
    assert result.device.provider == "CPUExecutionProvider"


def test_empty_text_and_bad_count_are_clear_errors() -> None:
    with pytest.raises(InvalidRequestError, match="empty"):
        PaletteFromTextRequest(text="   \n ")
    with pytest.raises(InvalidRequestError, match="3 to 12"):
        PaletteFromTextRequest(text="sea", count=2)
    with pytest.raises(InvalidRequestError, match="outside"):
        PaletteFromTextRequest(text="sea", count=3, locked=((5, "#ffffff"),))
