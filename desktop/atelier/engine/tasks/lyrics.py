"""Lyrics, poems and ideas from a language model pack (onnxruntime-genai), streamed as they come."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import replace

from atelier.core import rhymes
from atelier.core.errors import AtelierError, PackNotFoundError
from atelier.core.lyrics import line_checks
from atelier.core.progress import Progress
from atelier.core.requests import DeviceInfo, provider_label
from atelier.core.requests.lyrics import LyricRequest, LyricResult
from atelier.engine import smollm2
from atelier.engine.doctor import smoke_test
from atelier.engine.genai import LANGUAGE_MODELS, LoadedLanguageModel
from atelier.engine.lyric_writer import LineWriter, Sampling, Written, chat_prompt, write
from atelier.engine.packs import Pack
from atelier.engine.providers import CPU, first_line
from atelier.engine.runner import Engine, TaskContext, TaskGenerator, task

LLM_KIND = "llm"


def choose_pack(request: LyricRequest, context: TaskContext) -> Generator[Progress, None, Pack]:
    """The asked-for pack, else the bundled SmolLM2 (built on first use), else any llm pack."""
    if request.pack_id and request.pack_id != smollm2.PACK_ID:
        return context.pack_of_kind(LLM_KIND, request.pack_id)
    try:
        pack = yield from smollm2.ensure_pack(context.cancel)
    except PackNotFoundError:
        others = context.catalog.of_kind(LLM_KIND)
        if request.pack_id or not others:
            raise
        return others[0]
    context.catalog.packs.setdefault(pack.id, pack)
    return pack


@task(LyricRequest)
def run_lyrics(request: LyricRequest, context: TaskContext) -> TaskGenerator:
    pack = yield from choose_pack(request, context)
    settings = context.settings
    yield Progress(0, request.max_tokens, f"Loading {pack.name}")
    loaded = LANGUAGE_MODELS.load(pack, settings.device, settings.threads, context.pool.degraded)
    if not rhymes.index_ready():
        # Rhyming line ends look words up; built here, the index costs no pause mid-stream and is
        # not counted as decoding time.
        yield Progress(0, request.max_tokens, "Loading the rhyme dictionary")
        rhymes.load_index()
    if not line_checks.english_words_ready():
        # The same for the word list the line checks use (about half a second).
        yield Progress(0, request.max_tokens, "Loading the word list")
        line_checks.english_words()
    try:
        result = yield from _generate(request, context, loaded)
    except AtelierError:
        raise
    except Exception as exc:
        # A GPU that fails mid-generation: disable it for this session and start again on the CPU.
        if loaded.device.provider == CPU:
            raise
        reason = first_line(exc)
        context.pool.degraded.mark(loaded.device.provider, reason)
        LANGUAGE_MODELS.unload()
        retry = LANGUAGE_MODELS.load(pack, settings.device, settings.threads, context.pool.degraded)
        failed = provider_label(loaded.device.provider)
        note = f"{failed}: failed during the run ({reason}); retried on {retry.device.label}"
        device = replace(retry.device, fallbacks=(*retry.device.fallbacks, note))
        result = yield from _generate(request, context, retry, device)
    return result


def _generate(
    request: LyricRequest, context: TaskContext, loaded: LoadedLanguageModel, device: DeviceInfo | None = None
) -> TaskGenerator:
    device = device or loaded.device
    prompt = chat_prompt(loaded.tokenizer, request)
    writer = LineWriter(
        loaded.model,
        loaded.tokenizer,
        prompt,
        Sampling.of(request),
        loaded.context_length,
        context.cancel.raise_if_cancelled,
    )
    message = f"Writing on {device.label}"
    yield Progress(0, request.max_tokens, message, preview="")
    written = yield from _with_progress(write(request, writer), writer, request.max_tokens, message)
    stats = writer.stats
    return LyricResult(
        text=written.text,
        mode=request.mode,
        alternatives=written.items,
        pack=loaded.pack.id,
        prompt_tokens=stats.prompt_tokens,
        generated_tokens=stats.generated_tokens,
        ttft_s=stats.ttft_s,
        decode_tokens_per_s=stats.decode_tokens_per_s,
        rejected_lines=len(stats.rejections),
        rejections=tuple(stats.rejections),
        device=device,
    )


def _with_progress(
    previews: Generator[str, None, Written], writer: LineWriter, total: int, message: str
) -> Generator[Progress, None, Written]:
    """Turn the writer's text previews into Progress reports (step = tokens kept so far)."""
    while True:
        try:
            preview = next(previews)
        except StopIteration as stop:
            return stop.value
        yield Progress(min(writer.stats.kept_tokens, total), total, message, preview=preview)


@smoke_test(LLM_KIND)
def smoke_llm(engine: Engine, pack: Pack) -> str:
    """`atelier doctor`: load the language model and sample two tokens; returns the provider used."""
    import onnxruntime_genai as og

    settings = engine.settings
    loaded = LANGUAGE_MODELS.load(pack, settings.device, settings.threads, engine.pool.degraded)
    params = og.GeneratorParams(loaded.model)
    params.set_search_options(max_length=16, do_sample=False)
    generator = og.Generator(loaded.model, params)
    generator.append_tokens(loaded.tokenizer.encode("Hello"))
    for _ in range(2):
        generator.generate_next_token()
    engine.pool.last_device = loaded.device
    LANGUAGE_MODELS.unload()  # doctor checks every pack; do not keep this one in memory
    return loaded.device.provider
