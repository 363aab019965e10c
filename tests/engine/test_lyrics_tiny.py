"""The generation loop on a tiny random Llama built in the test and converted by the same
onnxruntime-genai builder path as the bundled SmolLM2 (cached by its inputs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from atelier.core.cancel import CancelToken
from atelier.core.errors import CancelledError, PackVerificationError
from atelier.core.lyrics.meter import Meter
from atelier.core.requests.lyrics import LyricRequest, LyricResult
from atelier.core.settings import Settings, cache_dir
from atelier.engine.genai import LANGUAGE_MODELS
from atelier.engine.lyric_writer import Guards, clean_line, line_problem, section_labels
from atelier.engine.packs import discover
from atelier.engine.runner import Engine
from tests.llm_builders import TINY_PACK_ID, build_tiny_llama, genai_copy_without_manifest


@pytest.fixture(scope="module")
def tiny_pack() -> Path:
    pytest.importorskip("torch")
    return build_tiny_llama(cache_dir())


@pytest.fixture
def engine(tiny_pack: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    monkeypatch.setenv("ATELIER_MODELS", str(tiny_pack))
    return Engine(Settings(threads=1))


def song(**kw: object) -> LyricRequest:
    base: dict[str, object] = dict(
        mode="song",
        prompt="rain",
        sections=("Verse", "Chorus", "Verse", "Chorus"),
        lines_per_section=1,
        pack_id=TINY_PACK_ID,
        max_tokens=120,
        seed=3,
    )
    base.update(kw)
    return LyricRequest(**base)  # type: ignore[arg-type]


def test_streams_previews_and_reports_tokens_and_device(engine: Engine) -> None:
    generator = engine.run(song(), CancelToken())
    previews = []
    while True:
        try:
            progress = next(generator)
        except StopIteration as stop:
            result = stop.value
            break
        if isinstance(progress.preview, str):
            previews.append(progress.preview)
    assert isinstance(result, LyricResult)
    assert result.pack == TINY_PACK_ID and result.device.provider == "CPUExecutionProvider"
    # max_tokens limits the kept text; resampled lines may spend as much again, no more.
    assert 0 < result.generated_tokens <= 2 * 120 and result.rejected_lines == len(result.rejections)
    assert result.prompt_tokens > 10 and result.ttft_s > 0 and result.decode_tokens_per_s > 0
    assert len(previews) >= 3 and result.text.startswith("[Verse 1]")
    assert any(len(p) > len(previews[0]) for p in previews)  # the preview grows as tokens come


def test_the_rhyme_dictionary_and_word_list_load_before_the_first_token(engine: Engine) -> None:
    """Rhyming line ends need the rhyme index and the line checks a word list; both are loaded
    before decoding starts, so the stream has no pause after its first line and the reported
    decode speed is the model's."""
    from atelier.core import rhymes
    from atelier.core.lyrics import line_checks

    rhymes._index.cache_clear()  # as in a fresh process
    line_checks.english_words.cache_clear()
    messages: list[str] = []
    generator = engine.run(song(), CancelToken())
    while True:
        try:
            progress = next(generator)
        except StopIteration:
            break
        if progress.message not in messages:
            messages.append(progress.message)
        if progress.message.startswith("Writing"):
            assert rhymes.index_ready() and line_checks.english_words_ready()
    writing = next(i for i, m in enumerate(messages) if m.startswith("Writing"))
    assert messages.index("Loading the rhyme dictionary") < writing
    assert messages.index("Loading the word list") < writing
    again = engine.run(song(seed=4), CancelToken())
    seen = []
    while True:
        try:
            seen.append(next(again).message)
        except StopIteration:
            break
    assert "Loading the rhyme dictionary" not in seen and "Loading the word list" not in seen  # once per process


def test_same_seed_same_text_and_another_seed_differs(engine: Engine) -> None:
    first = engine.run_to_end(song(seed=11))
    again = engine.run_to_end(song(seed=11))
    other = engine.run_to_end(song(seed=12))
    assert isinstance(first, LyricResult) and isinstance(again, LyricResult) and isinstance(other, LyricResult)
    assert first.text == again.text
    assert first.text != other.text


def test_stop_cancels_between_tokens(engine: Engine) -> None:
    cancel = CancelToken()
    generator = engine.run(song(max_tokens=400), cancel)
    seen = 0
    with pytest.raises(CancelledError):
        while True:
            progress = next(generator)
            if isinstance(progress.preview, str):
                seen += 1
                if seen == 2:
                    cancel.cancel("stopped by the user")


def test_a_genai_folder_without_manifest_is_an_llm_pack(
    tiny_pack: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = genai_copy_without_manifest(tiny_pack, tmp_path / "models" / "My-Tiny-Model")
    monkeypatch.setenv("ATELIER_MODELS", str(tmp_path / "models"))
    catalog = discover([tmp_path / "models"])
    pack = catalog.get("genai-my-tiny-model")
    assert pack.kind == "llm" and pack.components == {"model": "genai_config.json"}
    assert {f.path for f in pack.files} >= {"model.onnx", "model.onnx.data", "genai_config.json"}
    result = Engine(Settings(threads=1)).run_to_end(song(pack_id=pack.id))
    assert isinstance(result, LyricResult) and result.pack == pack.id
    # Trust on first use: a file changed afterwards fails verification like in any pack.
    LANGUAGE_MODELS.unload()
    config = json.loads((folder / "genai_config.json").read_text())
    config["search"]["top_k"] = 7
    (folder / "genai_config.json").write_text(json.dumps(config))
    engine = Engine(Settings(threads=1))
    LANGUAGE_MODELS._verified.clear()  # a new process would verify again
    with pytest.raises(PackVerificationError):
        engine.run_to_end(song(pack_id=pack.id))


def test_line_guard_rejects_echoes_repeats_markup_and_the_line_checks() -> None:
    accepted = ["Rain on the window"]
    assert line_problem("rain on the window!", accepted) == "repeats an earlier line"
    assert line_problem("Sure! Here is a song about rain", accepted) == "instruction echo"
    assert line_problem("[Verse 2] the night", accepted) == "markup"
    assert line_problem("Here's a poem:", accepted) in ("markup", "instruction echo")
    assert line_problem("x" * 120, accepted) == "too long"
    assert line_problem("The same line", [], original="the same line.") == "same as the original"
    assert line_problem("Cold streets shine", accepted) == ""
    assert line_problem("Toleberaufe des leis djelbewegionen", accepted) == "gibberish"
    assert line_problem("Steps walk steps stepping steps", accepted) == "stem loop"
    assert line_problem("Любовь moon", accepted) == "mixed script"
    # A prompt in another language: no English word list, no script check.
    assert line_problem("Любовь и кровь", accepted, guards=Guards(english=False)) == ""
    assert line_problem("Zorblax sails the neon sea", accepted, guards=Guards.of(song(prompt="Zorblax"))) == ""
    assert line_problem("Cold streets shine", accepted, meter=Meter(5)) == "off meter"  # 3 syllables
    assert line_problem("Cold streets shine at night", accepted, meter=Meter(5)) == ""
    assert clean_line('  2. "Cold streets shine"  ') == "Cold streets shine"
    assert clean_line("life\u2019s a dream") == "Life's a dream"  # the syllable counter reads "'" only
    assert section_labels(("Verse", "Chorus", "Verse", "Chorus", "Bridge")) == [
        "Verse 1",
        "Chorus",
        "Verse 2",
        "Chorus",
        "Bridge",
    ]


def test_asking_for_a_gpu_that_is_not_there_says_so(tiny_pack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATELIER_MODELS", str(tiny_pack))
    LANGUAGE_MODELS.unload()
    engine = Engine(Settings(threads=1, device="CUDAExecutionProvider"))
    result = engine.run_to_end(song(max_tokens=16))
    assert isinstance(result, LyricResult)
    assert result.device.provider == "CPUExecutionProvider"
    assert result.device.fell_back and "CUDA" in result.device.fallbacks[0]
    LANGUAGE_MODELS.unload()


def test_doctor_smoke_runs_the_language_model(tiny_pack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from atelier.engine.doctor import doctor_report

    monkeypatch.setenv("ATELIER_MODELS", str(tiny_pack))
    report = doctor_report(Engine(Settings(threads=1)))
    entry = next(p for p in report["packs"] if p["id"] == TINY_PACK_ID)
    assert entry["verified"] and entry["device"] == "CPUExecutionProvider" and entry["error"] is None
