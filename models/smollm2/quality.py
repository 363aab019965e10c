"""The lyric quality bar: fixed prompts across modes x seeds with default settings, through Atelier's own
engine, counting the lines nobody would keep; and the same chat prompts sampled side by side by
onnxruntime-genai packs and llama.cpp on the GGUF, to tell the model's precision from the writer.

    python models/smollm2/quality.py                          # the bundled pack, through the engine
    python models/smollm2/quality.py --pack DIR --pack DIR2   # compare packs (genai folders)
    python models/smollm2/quality.py --raw --llama-cpp --pack DIR   # same prompt and sampler, both runtimes
    ... --json results.json --seeds 2 --limit 10

Reported per pack or runtime: lines, the share with under 70% dictionary words (CMU + wordfreq top
50k), with one word stem 3+ times, echoing the instructions, in mixed script, rhyme-scheme adherence
(pairs the scheme asks to rhyme that do), lines the writer's guards resampled (engine only: what the
guards hid), tokens sampled, and perplexity of a held-out English text (perplexity.py's).
Goal (issue 14): gibberish <= 1%, stem loops <= 1%, instruction echoes 0.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "desktop"))
sys.path.insert(0, str(HERE))

SEEDS = (11, 12)
RAW_TOKENS = 120
# 44 prompts over the seven kinds the issue names; every field not given keeps its default.
PROMPTS: list[dict[str, Any]] = [
    # song (default sections Verse, Chorus, Verse, Chorus; 4 lines each; AABB)
    {"mode": "song", "prompt": "rain on a city window"},
    {"mode": "song", "prompt": "a lullaby for a lighthouse keeper"},
    {"mode": "song", "prompt": "a summer road trip with old friends", "mood": "joyful"},
    {"mode": "song", "prompt": "leaving home for the first time", "rhyme_scheme": "ABAB"},
    {"mode": "song", "prompt": "the last train at midnight", "point_of_view": "first person"},
    {"mode": "song", "prompt": "dancing in the kitchen", "sections": ("Verse", "Chorus")},
    {"mode": "song", "prompt": "a factory town after the mill closed", "mood": "defiant"},
    # poem (free verse, ballad stanza, sonnet)
    {"mode": "poem", "prompt": "the sea at dawn"},
    {"mode": "poem", "prompt": "snow falling on a quiet street", "lines": 4},
    {"mode": "poem", "prompt": "my grandmother's hands"},
    {"mode": "poem", "prompt": "an old soldier coming home", "form": "ballad stanza"},
    {"mode": "poem", "prompt": "a shipwreck and a lost ring", "form": "ballad stanza"},
    {"mode": "poem", "prompt": "time and a garden", "form": "sonnet"},
    # haiku
    {"mode": "poem", "prompt": "autumn leaves", "form": "haiku"},
    {"mode": "poem", "prompt": "first love", "form": "haiku"},
    {"mode": "poem", "prompt": "a frog in a pond", "form": "haiku"},
    {"mode": "poem", "prompt": "the moon over the mountains", "form": "haiku"},
    {"mode": "poem", "prompt": "a city at night", "form": "haiku"},
    {"mode": "poem", "prompt": "morning coffee", "form": "haiku"},
    # limerick
    {"mode": "poem", "prompt": "a cat who wants to be king", "form": "limerick"},
    {"mode": "poem", "prompt": "a baker who burns every loaf", "form": "limerick"},
    {"mode": "poem", "prompt": "a dog who learned to drive", "form": "limerick"},
    {"mode": "poem", "prompt": "a wizard who lost his hat", "form": "limerick"},
    {"mode": "poem", "prompt": "a fish who wanted to fly", "form": "limerick"},
    {"mode": "poem", "prompt": "a very polite robot", "form": "limerick"},
    # brainstorm
    {"mode": "brainstorm", "prompt": "a song about a lost dog", "lines": 5},
    {"mode": "brainstorm", "prompt": "heartbreak", "lines": 5, "brainstorm_kind": "titles"},
    {"mode": "brainstorm", "prompt": "a haunted radio", "lines": 4, "brainstorm_kind": "plot hooks"},
    {"mode": "brainstorm", "prompt": "growing up in a small town", "lines": 5},
    {"mode": "brainstorm", "prompt": "the ocean", "lines": 5, "brainstorm_kind": "titles"},
    {"mode": "brainstorm", "prompt": "two strangers on a bus", "lines": 4, "brainstorm_kind": "plot hooks"},
    # continue
    {
        "mode": "continue",
        "context": "[Verse]\nThe streetlights hum a lonely tune\nI count the cracks beneath the moon",
        "lines": 4,
    },
    {"mode": "continue", "context": "We were young and the summer was long", "lines": 4},
    {"mode": "continue", "context": "My father kept his tools in a rusty box\nHe said a man should fix what he breaks"},
    {"mode": "continue", "context": "Morning comes in through the kitchen door\nThe kettle sings", "lines": 4},
    {"mode": "continue", "context": "[Chorus]\nHold on, hold on, the night is almost over", "lines": 4},
    {"mode": "continue", "context": "She drove all night to see the ocean", "prompt": "freedom", "lines": 4},
    # rewrite
    {"mode": "rewrite", "line": "I walk alone under the neon light"},
    {
        "mode": "rewrite",
        "line": "My heart is heavy like the rain",
        "context": "My heart is heavy like the rain\nI call your name again",
    },
    {"mode": "rewrite", "line": "The river runs to the sea tonight"},
    {"mode": "rewrite", "line": "We danced until the morning came"},
    {"mode": "rewrite", "line": "Your voice is a candle in the dark", "alternatives": 4},
    {"mode": "rewrite", "line": "The old house remembers every name"},
    {"mode": "rewrite", "line": "I lost my keys and found the stars"},
]

_SECTION_RE = re.compile(r"^\s*\[[^\]]+\]\s*$")


# ---------------------------------------------------------------------------------------------
# Line checks: core/lyrics/line_checks.py when present (the writer's own guards), else a small
# stand-in with the same thresholds, so this bar runs on an older checkout too.


@dataclass(frozen=True)
class LineChecks:
    dictionary_share: Callable[[str, Iterable[str]], float]
    stem_loop: Callable[[str], bool]
    echo: Callable[[str], bool]
    mixed_script: Callable[[str], bool]
    source: str


def line_checks() -> LineChecks:
    try:
        from atelier.core.lyrics import line_checks as checks
    except ImportError:
        return _fallback_checks()
    return LineChecks(
        lambda line, known: checks.dictionary_share(line, set(known)),
        checks.has_stem_loop,
        checks.echoes_instructions,
        checks.is_mixed_script_junk,
        "atelier.core.lyrics.line_checks",
    )


def _fallback_checks() -> LineChecks:
    from functools import lru_cache

    @lru_cache(maxsize=1)
    def vocabulary() -> frozenset[str]:
        import pronouncing
        from wordfreq import top_n_list

        pronouncing.init_cmu()
        return frozenset(pronouncing.lookup or ()) | frozenset(top_n_list("en", 50_000))

    def tokens(line: str) -> list[str]:
        return [w.lower().strip("'") for w in re.findall(r"[^\W\d_]+(?:'[^\W\d_]+)*", line)]

    def share(line: str, known: Iterable[str]) -> float:
        found = tokens(line)
        extra = {k.lower() for k in known}
        return sum(w in vocabulary() or w in extra for w in found) / len(found) if found else 1.0

    def loop(line: str) -> bool:
        stems = [re.sub(r"(ing|ed|es|s)$", "", w) for w in tokens(line) if len(w) > 3]
        return any(stems.count(s) >= 3 for s in set(stems)) or bool(re.search(r"(\w{3,}?)\1\1", line.lower()))

    def echo(line: str) -> bool:
        return bool(re.search(r"\blines?\s*\d|^\W*(verse|chorus|bridge)\s*\d*\s*:|^\W*here (is|are)\b", line, re.I))

    def mixed(line: str) -> bool:
        import unicodedata

        return any(c.isalpha() and not unicodedata.name(c, "").startswith("LATIN") for c in line)

    return LineChecks(share, loop, echo, mixed, "quality.py stand-in")


# ---------------------------------------------------------------------------------------------
# Scoring


@dataclass
class Sample:
    """One prompt x seed: the kept lines and what is wrong with each."""

    prompt: dict[str, Any]
    seed: int
    lines: list[str]
    problems: list[list[str]]
    rhyme_pairs: int = 0
    rhymed_pairs: int = 0
    tokens: int = 0
    tokens_per_s: float = 0.0
    seconds: float = 0.0
    rejections: list[str] = field(default_factory=list)  # lines the writer's guards resampled, and why


@dataclass
class Summary:
    name: str
    samples: int = 0
    lines: int = 0
    gibberish: int = 0
    stem_loops: int = 0
    echoes: int = 0
    mixed_script: int = 0
    rhyme_pairs: int = 0
    rhymed_pairs: int = 0
    rejected: int = 0
    tokens: int = 0
    perplexity: float | None = None
    tokens_per_s: float | None = None
    worst: list[str] = field(default_factory=list)

    def share(self, count: int) -> float:
        return count / self.lines if self.lines else 0.0

    @property
    def rhyme_adherence(self) -> float | None:
        return self.rhymed_pairs / self.rhyme_pairs if self.rhyme_pairs else None


def known_words(fields: dict[str, Any]) -> set[str]:
    """The request's own words count as English in its lyric (names, coinages)."""
    text = " ".join(str(fields.get(key, "")) for key in ("prompt", "context", "line"))
    return {w.lower() for w in re.findall(r"[A-Za-z']+", text)}


def check_lines(lines: list[str], fields: dict[str, Any], checks: LineChecks) -> list[list[str]]:
    known = known_words(fields)
    found = []
    for line in lines:
        problems = []
        if checks.dictionary_share(line, known) < 0.70:
            problems.append("gibberish")
        if checks.stem_loop(line):
            problems.append("stem loop")
        if checks.echo(line):
            problems.append("instruction echo")
        if checks.mixed_script(line):
            problems.append("mixed script")
        found.append(problems)
    return found


def rhyme_pairs(request: Any, text: str) -> tuple[int, int]:
    """(pairs the scheme or form asks to rhyme, pairs whose last words do), by the writer's test."""
    from atelier.engine.lyric_writer import FORM_PARTNERS, RHYME_PARTNERS, last_word, rhymes

    pairs: list[tuple[str, str]] = []
    if request.mode == "song" and request.rhyme_scheme in RHYME_PARTNERS:
        partners = RHYME_PARTNERS[request.rhyme_scheme]
        seen_sections: set[str] = set()
        for name, lines in sections(text):
            if name in seen_sections:
                continue  # a repeated chorus is a copy
            seen_sections.add(name)
            for index, line in enumerate(lines):
                partner = partners[index % 4]
                if partner is not None and index - index % 4 + partner < len(lines):
                    pairs.append((line, lines[index - index % 4 + partner]))
    elif request.mode == "poem" and request.form in FORM_PARTNERS:
        lines = [line for _, body in sections(text) for line in body]
        for index, partner in FORM_PARTNERS[request.form].items():
            if index < len(lines):
                pairs.append((lines[index], lines[partner]))
    return len(pairs), sum(rhymes(last_word(a), b) for a, b in pairs)


def sections(text: str) -> list[tuple[str, list[str]]]:
    found: list[tuple[str, list[str]]] = [("", [])]
    for raw in text.split("\n"):
        line = raw.strip()
        if _SECTION_RE.match(line):
            found.append((re.sub(r"[\[\]\d\s]+", "", line).lower(), []))
        elif line:
            found[-1][1].append(line)
    return [(name, lines) for name, lines in found if lines]


def summarise(name: str, samples: list[Sample]) -> Summary:
    summary = Summary(name, samples=len(samples))
    speeds = []
    for sample in samples:
        summary.lines += len(sample.lines)
        summary.rhyme_pairs += sample.rhyme_pairs
        summary.rhymed_pairs += sample.rhymed_pairs
        summary.rejected += len(sample.rejections)
        summary.tokens += sample.tokens
        if sample.tokens_per_s:
            speeds.append(sample.tokens_per_s)
        for line, problems in zip(sample.lines, sample.problems, strict=True):
            summary.gibberish += "gibberish" in problems
            summary.stem_loops += "stem loop" in problems
            summary.echoes += "instruction echo" in problems
            summary.mixed_script += "mixed script" in problems
            if problems and len(summary.worst) < 12:
                summary.worst.append(f"{', '.join(problems)}: {line}")
    summary.tokens_per_s = statistics.median(speeds) if speeds else None
    return summary


# ---------------------------------------------------------------------------------------------
# Through Atelier's engine (the writer with its guards)


def make_request(fields: dict[str, Any], seed: int, pack_id: str = "") -> Any:
    from atelier.core.requests.lyrics import LyricRequest

    return LyricRequest(**{**fields, "seed": seed, "pack_id": pack_id})


def engine_samples(
    pack_dir: Path | None, prompts: list[dict[str, Any]], seeds: tuple[int, ...], threads: int
) -> list[Sample]:
    """Every prompt x seed through Engine.run_to_end; `pack_dir` None means the bundled pack."""
    from atelier.core.requests.lyrics import LyricResult
    from atelier.core.settings import Settings
    from atelier.engine.runner import Engine

    engine = Engine(Settings(threads=threads))
    pack_id = ""
    if pack_dir is not None:
        pack_id = f"quality-{pack_dir.resolve().name}"
        engine.catalog.packs[pack_id] = replace(open_pack(pack_dir), id=pack_id)
    checks = line_checks()
    samples = []
    for fields in prompts:
        for seed in seeds:
            request = make_request(fields, seed, pack_id)
            started = time.perf_counter()
            result = engine.run_to_end(request)
            assert isinstance(result, LyricResult)
            if request.mode in ("rewrite", "brainstorm"):
                lines = list(result.alternatives)
            else:
                lines = [line for _, body in sections(result.text) for line in body]
            pairs, rhymed = rhyme_pairs(request, result.text)
            samples.append(
                Sample(
                    fields,
                    seed,
                    lines,
                    check_lines(lines, fields, checks),
                    pairs,
                    rhymed,
                    result.generated_tokens,
                    result.decode_tokens_per_s,
                    time.perf_counter() - started,
                    list(getattr(result, "rejections", ())),
                )
            )
            print(f"  {request.summary()} seed {seed}: {len(lines)} lines", file=sys.stderr, flush=True)
    return samples


def open_pack(folder: Path) -> Any:
    from atelier.engine.packs import genai_folder_pack, read_manifest

    return read_manifest(folder) if (folder / "pack.json").is_file() else genai_folder_pack(folder)


def bundled_pack_dir() -> Path:
    from atelier.core.cancel import CancelToken
    from atelier.engine import smollm2

    generator = smollm2.ensure_pack(CancelToken())
    while True:
        try:
            print(next(generator).message, file=sys.stderr)
        except StopIteration as stop:
            return Path(stop.value.folder)


# ---------------------------------------------------------------------------------------------
# Raw: the writer's chat prompt, sampled freely by the same numpy sampler in each runtime


def split_lines(text: str) -> list[str]:
    """Lines as the writer cuts them while streaming (each newline, then a clause break after 4 words,
    or 11 words), cleaned as the writer cleans them; section headers dropped."""
    from atelier.engine.lyric_writer import clean_line, line_end

    lines = []
    for paragraph in text.split("\n"):
        rest = paragraph.strip()
        while rest:
            # Grown a character at a time, as the stream grows: the first place the writer would cut.
            cut = next((c for c in (line_end(rest[:i]) for i in range(1, len(rest) + 1)) if c), rest)
            rest = rest[len(cut) :].strip() if rest.startswith(cut) else " ".join(rest.split()[len(cut.split()) :])
            if _SECTION_RE.match(cut.strip()):
                continue
            line = clean_line(cut)
            if line:
                lines.append(line)
    return lines


def raw_samples(
    model: Any, tokenizer: Any, prompts: list[dict[str, Any]], seeds: tuple[int, ...], tokens: int
) -> list[Sample]:
    from side_by_side import Sampler, sample

    from atelier.engine.lyric_writer import chat_prompt

    checks = line_checks()
    sampler = Sampler()  # the request defaults: temperature 0.8, top-p 0.92, top-k 40, penalty 1.1
    stop = {int(tokenizer.encode("<|im_end|>")[0]), int(tokenizer.encode("<|endoftext|>")[0])}
    samples = []
    for fields in prompts:
        for seed in seeds:
            request = make_request(fields, seed)
            prompt_ids = [int(t) for t in tokenizer.encode(chat_prompt(tokenizer, request))]
            started = time.perf_counter()
            ids = sample(model, prompt_ids, sampler, seed, tokens, stop)
            elapsed = time.perf_counter() - started
            lines = split_lines(tokenizer.decode(ids))
            samples.append(
                Sample(fields, seed, lines, check_lines(lines, fields, checks), 0, 0, len(ids), len(ids) / elapsed)
            )
        print(f"  {model.name}: {request.summary()}", file=sys.stderr, flush=True)
    return samples


# ---------------------------------------------------------------------------------------------


def print_table(title: str, summaries: list[Summary]) -> None:
    print(f"\n{title}")
    header = f"{'pack / runtime':<34} {'lines':>5} {'gibberish':>10} {'stem loop':>10} {'echoes':>7} {'mixed':>6}"
    header += f" {'rhyme':>6} {'resampled':>9} {'tokens':>6} {'ppl':>6} {'tok/s':>6}"
    print(header)
    for s in summaries:
        rhyme = f"{s.rhyme_adherence:.0%}" if s.rhyme_adherence is not None else "-"
        ppl = f"{s.perplexity:.2f}" if s.perplexity is not None else "-"
        speed = f"{s.tokens_per_s:.0f}" if s.tokens_per_s else "-"
        print(
            f"{s.name[:34]:<34} {s.lines:>5} {s.gibberish:>4} {s.share(s.gibberish):>5.1%}"
            f" {s.stem_loops:>4} {s.share(s.stem_loops):>5.1%} {s.echoes:>7} {s.mixed_script:>6}"
            f" {rhyme:>6} {s.rejected:>9} {s.tokens:>6} {ppl:>6} {speed:>6}"
        )


def write_report(path: Path | None, report: dict[str, Any]) -> None:
    """Written after each pack or runtime, so a long run interrupted keeps what it measured."""
    if path:
        path.write_text(json.dumps(report, indent=1, default=str), encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pack", action="append", type=Path, default=[], help="genai pack folder (repeatable)")
    parser.add_argument("--raw", action="store_true", help="sample the chat prompts freely, no writer")
    parser.add_argument("--llama-cpp", action="store_true", help="with --raw: llama.cpp on the GGUF too")
    parser.add_argument("--no-engine", action="store_true", help="skip the engine runs")
    parser.add_argument("--seeds", type=int, default=len(SEEDS))
    parser.add_argument("--limit", type=int, default=0, help="only the first N prompts")
    parser.add_argument("--stride", type=int, default=1, help="every Nth prompt (a smaller set over all modes)")
    parser.add_argument("--only-llama-cpp", action="store_true", help="with --raw: skip the packs' raw runs")
    parser.add_argument("--raw-tokens", type=int, default=RAW_TOKENS)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, help="write every line and figure here")
    args = parser.parse_args()

    from perplexity import TEXT
    from side_by_side import GenaiStepModel, LlamaCppStepModel, perplexity_of

    prompts = (PROMPTS[: args.limit] if args.limit else PROMPTS)[:: args.stride]
    seeds = tuple(SEEDS[0] + i for i in range(args.seeds))
    packs = args.pack or [bundled_pack_dir()]
    print(f"line checks: {line_checks().source}; {len(prompts)} prompts x {len(seeds)} seeds", file=sys.stderr)
    report: dict[str, Any] = {"prompts": len(prompts), "seeds": list(seeds), "engine": {}, "raw": {}}
    engine_rows, raw_rows = [], []
    tokenizer = None
    for folder in packs:
        step_model = GenaiStepModel(folder, args.threads)
        tokenizer = tokenizer or step_model.tokenizer  # the packs share SmolLM2's vocabulary
        ids = [int(t) for t in step_model.tokenizer.encode(TEXT)]
        ppl = perplexity_of(step_model.all_logits(ids), ids)
        name = f"{folder.name} ({open_pack(folder).name})" if (folder / "pack.json").is_file() else folder.name
        if not args.no_engine:
            samples = engine_samples(folder if args.pack else None, prompts, seeds, args.threads)
            summary = summarise(name, samples)
            summary.perplexity = ppl
            engine_rows.append(summary)
            report["engine"][str(folder)] = {"summary": asdict(summary), "samples": [asdict(s) for s in samples]}
        if args.raw and not args.only_llama_cpp:
            samples = raw_samples(step_model, step_model.tokenizer, prompts, seeds, args.raw_tokens)
            summary = summarise(name, samples)
            summary.perplexity = ppl
            raw_rows.append(summary)
            report["raw"][str(folder)] = {"summary": asdict(summary), "samples": [asdict(s) for s in samples]}
        del step_model
        write_report(args.json, report)
    if args.raw and args.llama_cpp:
        from atelier.engine import smollm2

        gguf = smollm2.source_gguf_path()
        assert tokenizer is not None  # there is always at least one pack
        ids = [int(t) for t in tokenizer.encode(TEXT)]
        scorer = LlamaCppStepModel(gguf, args.threads, n_ctx=1024, logits_all=True)
        ppl = perplexity_of(scorer.all_logits(ids), ids)
        del scorer
        llama = LlamaCppStepModel(gguf, args.threads)
        samples = raw_samples(llama, tokenizer, prompts, seeds, args.raw_tokens)
        summary = summarise(llama.name, samples)
        summary.perplexity = ppl
        raw_rows.append(summary)
        report["raw"]["llama.cpp"] = {"summary": asdict(summary), "samples": [asdict(s) for s in samples]}
        write_report(args.json, report)
    if engine_rows:
        print_table(f"Through Atelier's engine ({len(prompts)} prompts x {len(seeds)} seeds, defaults)", engine_rows)
    if raw_rows:
        print_table(f"Raw chat prompts, one sampler for all ({args.raw_tokens} tokens)", raw_rows)
    for summary in engine_rows + raw_rows:
        if summary.worst:
            print(f"\n{summary.name}: lines with problems (first {len(summary.worst)})")
            for line in summary.worst:
                print(f"  {line}")
    if args.json:
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
