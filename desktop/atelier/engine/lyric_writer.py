"""Writing with a language model, line by line: prompts per mode, section headers and list numbers
forced into the answer, and a guard that rewinds and resamples any line that repeats an earlier
one or is chatter ("Sure! Here is..."), so small models neither loop nor ignore the requested shape.

The shape (sections, line counts, numbering) is written by this code, never left to the model:
a 135M model does not count lines reliably, and with this the output always has what was asked.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

from atelier.core.prosody import near_key, rhyme_key
from atelier.core.requests.lyrics import FORM_LINES, LyricRequest

log = logging.getLogger(__name__)

SYSTEM = (
    "You are a songwriter and poet. You write vivid, concrete lines in plain words, "
    "each line short (5 to 10 words). Reply with the lines only, no titles and no comments."
)
FORM_HINTS = {
    "free verse": "free verse (no rhyme needed, strong images)",
    "haiku": "a haiku: 3 lines of 5, 7 and 5 syllables, about nature and a moment",
    "sonnet": "a sonnet: 14 lines in iambic pentameter, rhyming ABAB CDCD EFEF GG",
    "limerick": "a limerick: 5 lines rhyming AABBA, playful, with a twist at the end",
    "ballad stanza": "a ballad stanza: 4 lines rhyming ABCB, telling a story",
}
SCHEME_HINTS = {
    "AABB": "lines 1 and 2 rhyme, lines 3 and 4 rhyme",
    "ABAB": "lines 1 and 3 rhyme, lines 2 and 4 rhyme",
    "ABCB": "lines 2 and 4 rhyme",
    "free": "rhyme is optional",
}
MAX_LINE_CHARS = 90
# Small models write prose; a lyric line ends at a clause break once it has a few words, and is
# cut at a word limit otherwise (the cut is what the model then sees, so it keeps lines short).
MIN_BREAK_WORDS = 4
MAX_LINE_WORDS = 11
_BREAK_RE = re.compile(r"[,.;!?…]+(?=\s|$)")
RETRIES_PER_LINE = 6
PREVIEW_EVERY = 3
RHYME_TRIES = 8  # resamples of a line's last word to meet the rhyme scheme
RHYME_WORD_TOKENS = 4
# Which earlier line of a 4-line group each line rhymes with (None: free), per scheme.
# Poem forms: line index -> the earlier line it rhymes with.
FORM_PARTNERS = {
    "limerick": {1: 0, 3: 2, 4: 0},  # AABBA
    "ballad stanza": {3: 1},  # ABCB
    "sonnet": {2: 0, 3: 1, 6: 4, 7: 5, 10: 8, 11: 9, 13: 12},  # ABAB CDCD EFEF GG
}
RHYME_PARTNERS = {
    "AABB": (None, 0, None, 2),
    "ABAB": (None, None, 0, 1),
    "ABCB": (None, None, None, 1),
}  # tokens between streamed previews
_CHATTER_RE = re.compile(
    r"^(sure|here('s| is| are)|certainly|i hope|note|title|this (song|poem)|verse|chorus|bridge|"
    r"pre-chorus|outro|intro|as an ai|i('m| am) (sorry|happy))\b",
    re.IGNORECASE,
)
_BULLET_RE = re.compile(r"^\s*(?:[-*•]+|\d{1,2}[.)]|\(\d{1,2}\))\s*")


def normalise(line: str) -> str:
    return re.sub(r"[^a-z0-9 ]", "", line.lower()).strip()


_BRACKETED_RE = re.compile(r"\[[^\]]*\]?|\([^)]*\)?|[\[\]{}()]")
_LABEL_RE = re.compile(
    r"^\s*(intro|verse|pre-chorus|chorus|bridge|outro|hook|refrain)\s*\d*\s*[:\-–]\s*", re.IGNORECASE
)


def clean_line(raw: str) -> str:
    """The line without list bullets, quotes, stage directions in brackets or a 'Chorus:' label."""
    line = _BRACKETED_RE.sub(" ", raw)
    line = _LABEL_RE.sub("", line)
    line = re.sub(r"\s{2,}", " ", line)
    line = _BULLET_RE.sub("", line.strip())
    line = line.strip().strip('"“”*_').strip().rstrip(",;-—").rstrip()
    return line[:1].upper() + line[1:]


def line_end(pending: str) -> str | None:
    """Where the line being sampled ends: at a newline; at a clause break (comma, full stop, ...)
    once it has MIN_BREAK_WORDS words; or after MAX_LINE_WORDS words. None while it goes on."""
    if "\n" in pending:
        return pending.split("\n", 1)[0]
    for match in _BREAK_RE.finditer(pending):
        if len(pending[: match.start()].split()) >= MIN_BREAK_WORDS:
            return pending[: match.end()]
    words = pending.split()
    if len(words) > MAX_LINE_WORDS:
        return " ".join(words[:MAX_LINE_WORDS])
    return None


def last_word(line: str) -> str:
    words = re.findall(r"[A-Za-z']+", line)
    return words[-1].lower().strip("'") if words else ""


def rhymes(word: str, target: str) -> bool:
    """Perfect or near rhyme by the CMU dictionary (the same test as the editor's rhyme letters)."""
    word, target = word.lower(), last_word(target)
    if not word or not target or word == target:
        return False
    key, other = rhyme_key(word), rhyme_key(target)
    return bool(key and other and (key == other or near_key(key) == near_key(other)))


def line_problem(line: str, accepted: list[str], original: str = "") -> str:
    """Why a generated line is rejected ('' when it is fine)."""
    if not line:
        return "empty"
    if "<|" in line or "[" in line or "]" in line or line.endswith(":"):
        return "markup"
    if _CHATTER_RE.match(line):
        return "chatter"
    if len(line) > MAX_LINE_CHARS:
        return "too long"
    key = normalise(line)
    if not key:
        return "no words"
    if original and key == normalise(original):
        return "same as the original"
    if any(normalise(other) == key for other in accepted):
        return "repeats an earlier line"
    return ""


def user_prompt(request: LyricRequest) -> str:
    r = request
    if r.mode == "song":
        details = [f"Write song lyrics about: {r.prompt.strip()}."]
        if r.mood:
            details.append(f"Mood: {r.mood}.")
        if r.point_of_view:
            details.append(f"Point of view: {r.point_of_view}.")
        details.append(f"Rhyme scheme {r.rhyme_scheme}: {SCHEME_HINTS[r.rhyme_scheme]}.")
        details.append(f"Sections: {', '.join(r.sections)}; {r.lines_per_section} lines each.")
        return " ".join(details)
    if r.mode == "poem":
        count = FORM_LINES.get(r.form, r.lines)
        return f"Write {FORM_HINTS[r.form]}, {count} lines, about: {r.prompt.strip()}."
    if r.mode == "brainstorm":
        what = {"ideas": "song ideas", "titles": "song titles", "plot hooks": "story hooks for a song"}
        return (
            f"List {r.lines} different {what[r.brainstorm_kind]} about: {r.prompt.strip()}. "
            "One short line each, numbered."
        )
    if r.mode == "continue":
        extra = f" Theme: {r.prompt.strip()}." if r.prompt.strip() else ""
        return (
            f"Here is the start of a lyric:\n\n{r.context.strip()[-1500:]}\n\n"
            f"Continue it with {r.lines} new lines in the same style and rhythm.{extra}"
        )
    around = f"The lyric around it:\n{r.context.strip()[-1200:]}\n\n" if r.context.strip() else ""
    return (
        f'{around}Original line: "{r.line.strip()}"\n'
        f"Write {r.alternatives} new versions of this song line. Each version is one short line "
        "with the same meaning and a fresh image."
    )


def chat_prompt(tokenizer: Any, request: LyricRequest) -> str:
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user_prompt(request)}]
    return str(tokenizer.apply_chat_template(json.dumps(messages), add_generation_prompt=True))


@dataclass
class Sampling:
    temperature: float
    top_p: float
    top_k: int
    repetition_penalty: float
    max_tokens: int
    seed: int

    @classmethod
    def of(cls, request: LyricRequest) -> Sampling:
        return cls(
            request.temperature,
            request.top_p,
            request.top_k,
            request.repetition_penalty,
            request.max_tokens,
            request.seed,
        )


@dataclass
class Stats:
    prompt_tokens: int = 0
    generated_tokens: int = 0
    started: float = field(default_factory=time.perf_counter)
    first_token_at: float | None = None
    ended: float | None = None

    @property
    def ttft_s(self) -> float:
        return (self.first_token_at or self.started) - self.started

    @property
    def decode_tokens_per_s(self) -> float:
        if self.first_token_at is None or self.generated_tokens < 2:
            return 0.0
        elapsed = (self.ended or time.perf_counter()) - self.first_token_at
        return (self.generated_tokens - 1) / elapsed if elapsed > 0 else 0.0


class OutOfTokens(Exception):
    """The max-tokens budget is spent (or the context is full)."""


Preview = str  # partial text streamed to the caller
LineStream = Generator[Preview, None, str | None]


class LineWriter:
    """One onnxruntime-genai Generator; text is either forced (appended) or sampled line by line."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        prompt: str,
        sampling: Sampling,
        context_length: int,
        check_cancel: Callable[[], None],
    ) -> None:
        import onnxruntime_genai as og

        self.tokenizer = tokenizer
        self.sampling = sampling
        self.check_cancel = check_cancel
        self.stats = Stats()
        prompt_ids = tokenizer.encode(prompt)
        self.stats.prompt_tokens = len(prompt_ids)
        params = og.GeneratorParams(model)
        options: dict[str, Any] = {
            "do_sample": sampling.temperature > 0,
            "temperature": max(sampling.temperature, 1e-3),
            "top_p": sampling.top_p,
            "top_k": sampling.top_k if sampling.top_k > 0 else 0,
            "repetition_penalty": sampling.repetition_penalty,
            # Forced headers and rewound lines also take room, hence the margin over max_tokens.
            "max_length": min(context_length, len(prompt_ids) + 2 * sampling.max_tokens + 256),
            "random_seed": sampling.seed,
        }
        if sampling.top_k <= 0:
            options.pop("top_k")
        params.set_search_options(**options)
        self.generator = og.Generator(model, params)
        self.max_length = int(options["max_length"])
        self.generator.append_tokens(prompt_ids)
        self.text = ""  # everything after the prompt: forced and accepted sampled text
        self._rhyme_cache: dict[str, list[int]] = {}

    def force(self, text: str) -> None:
        ids = self.tokenizer.encode(text)
        if self.generator.token_count() + len(ids) >= self.max_length:
            raise OutOfTokens
        self.generator.append_tokens(ids)
        self.text += text

    def _sample_raw_line(self) -> LineStream:
        """Sample until a newline; returns the raw line, or None at end-of-sequence."""
        stream = self.tokenizer.create_stream()
        pending = ""
        since_preview = 0
        while True:
            self.check_cancel()  # each token is a point where Stop is honoured
            if self.stats.generated_tokens >= self.sampling.max_tokens:
                raise OutOfTokens
            if self.generator.token_count() >= self.max_length - 1:
                raise OutOfTokens
            self.generator.generate_next_token()
            self.stats.generated_tokens += 1
            if self.stats.first_token_at is None:
                self.stats.first_token_at = time.perf_counter()
            if self.generator.is_done():
                return pending if pending.strip() else None
            piece = stream.decode(int(self.generator.get_next_tokens()[0]))
            pending += piece
            ended = line_end(pending)
            if ended is not None:
                return ended
            if len(pending) > MAX_LINE_CHARS:
                return pending  # a runaway line: stop spending tokens on it (rejected as too long)
            since_preview += 1
            if since_preview >= PREVIEW_EVERY:
                since_preview = 0
                yield self.text + pending

    def line(
        self, accepted: list[str], original: str = "", prefix: str = "", rhyme_with: str = "", reserve: int = 0
    ) -> LineStream:
        """One accepted line (also appended, with its newline), or None when the model is done.

        With `rhyme_with`, a line whose last word does not rhyme gets its last word resampled a few
        times (a handful of tokens each, never eating into `reserve`, the tokens later lines need)."""
        start = self.generator.token_count()
        for attempt in range(RETRIES_PER_LINE + 1):
            raw = yield from self._sample_raw_line()
            if raw is None:
                log.debug("end of sequence at attempt %d", attempt)
                # End of sequence before the shape is complete: resample unless it keeps insisting.
                self.generator.rewind_to(start)
                if attempt == RETRIES_PER_LINE:
                    return None
                continue
            line = clean_line(raw)
            problem = line_problem(line, accepted, original)
            last_chance = attempt == RETRIES_PER_LINE
            if problem:
                log.debug("line rejected (%s): %r", problem, raw)
            if problem and not (last_chance and problem in ("too long", "chatter")):
                # Rewind the KV cache to the line's start; the sampler's state has moved on, so the
                # retry differs, and the same seed still gives the same text on every run.
                self.generator.rewind_to(start)
                continue
            if len(line) > MAX_LINE_CHARS:
                line = line[:MAX_LINE_CHARS].rsplit(" ", 1)[0]  # end on a whole word
            if rhyme_with and not rhymes(last_word(line), rhyme_with):
                line = self._rhyme_ending(start, prefix, line, rhyme_with, accepted, reserve)
            self.generator.rewind_to(start)  # re-append the cleaned line, so the model sees what we keep
            self.force(prefix + line + "\n")
            yield self.text
            return line
        return None

    def _rhyme_ending(self, start: int, prefix: str, line: str, target: str, accepted: list[str], reserve: int) -> str:
        """Re-sample the line's last word among words that rhyme with `target`: the model's own
        scores decide which rhyme fits (logits of every other token are masked for that one step)."""
        import numpy as np

        words = line.rstrip(",.;!?… ").split()
        candidates = self._rhyme_tokens(target)
        if len(words) < 4 or not candidates:
            return line
        stem = " ".join(words[:-1])
        text_before = self.text
        banned: set[int] = set()
        for _ in range(RHYME_TRIES):
            allowed = [token for token in candidates if token not in banned]
            if not allowed or self.stats.generated_tokens + RHYME_WORD_TOKENS + reserve > self.sampling.max_tokens:
                break
            self.generator.rewind_to(start)
            self.force(prefix + stem)
            self.text = text_before
            logits = self.generator.get_logits()
            masked = np.full_like(logits, -1e9)
            masked[..., allowed] = logits[..., allowed]
            self.generator.set_logits(masked)
            word, first_token = self._sample_word()
            candidate = f"{stem} {word}"
            if word and rhymes(word, target) and not line_problem(candidate, accepted):
                log.debug("rhymed %r with %r", word, target)
                return candidate
            banned.add(first_token)  # it grew into a longer word that does not rhyme
        return line

    def _rhyme_tokens(self, target: str) -> list[int]:
        """Vocabulary tokens that are a whole rhyming word with its leading space ('Ġpain')."""
        from atelier.core.rhymes import find_rhymes

        word = last_word(target)
        if word not in self._rhyme_cache:
            by_kind: dict[str, list[int]] = {"perfect": [], "near": []}
            for rhyme in find_rhymes(word, limit=200):
                ids = self.tokenizer.encode(" " + rhyme.word)
                if len(ids) == 1:
                    by_kind[rhyme.kind].append(int(ids[0]))
            # Perfect rhymes when the vocabulary has a few; near ones only to widen a thin choice.
            perfect = by_kind["perfect"]
            self._rhyme_cache[word] = perfect if len(perfect) >= 3 else perfect + by_kind["near"]
        return self._rhyme_cache[word]

    def _sample_word(self) -> tuple[str, int]:
        """Up to RHYME_WORD_TOKENS tokens: the next whole word, and the first token sampled."""
        stream = self.tokenizer.create_stream()
        pending = ""
        first = -1
        for _ in range(RHYME_WORD_TOKENS):
            self.check_cancel()
            self.generator.generate_next_token()
            self.stats.generated_tokens += 1
            if self.generator.is_done():
                break
            token = int(self.generator.get_next_tokens()[0])
            first = token if first < 0 else first
            pending += stream.decode(token)
            match = re.match(r"\s*([A-Za-z']+)(?=[^A-Za-z'])", pending)
            if match:
                return match.group(1), first
        return "", first

    def finish(self) -> None:
        self.stats.ended = time.perf_counter()


@dataclass
class Written:
    text: str
    items: tuple[str, ...]  # rewrite alternatives / brainstorm items; empty for lyrics


def section_labels(sections: tuple[str, ...]) -> list[str]:
    """'Verse', 'Chorus', 'Verse' -> 'Verse 1', 'Chorus', 'Verse 2' (choruses repeat, unnumbered)."""
    totals = {name: sections.count(name) for name in sections}
    seen: dict[str, int] = {}
    labels = []
    for name in sections:
        seen[name] = seen.get(name, 0) + 1
        repeats = totals[name] > 1 and "chorus" not in name.lower()
        labels.append(f"{name} {seen[name]}" if repeats else name)
    return labels


def write(request: LyricRequest, writer: LineWriter) -> Generator[Preview, None, Written]:
    """Drive the writer for the request's mode; yields previews, returns the text."""
    accepted: list[str] = []
    items: list[str] = []
    try:
        if request.mode == "song":
            written_sections: dict[str, list[str]] = {}
            for index, (name, label) in enumerate(zip(request.sections, section_labels(request.sections), strict=True)):
                writer.force(("\n" if index else "") + f"[{label}]\n")
                if "chorus" in name.lower() and name in written_sections:
                    # A chorus comes back word for word, as in songs; it is forced, not resampled.
                    writer.force("\n".join(written_sections[name]) + "\n")
                    yield writer.text
                    continue
                section_lines: list[str] = []
                partners = RHYME_PARTNERS.get(request.rhyme_scheme, (None,) * 4)
                for index_in_section in range(request.lines_per_section):
                    group_start = index_in_section - index_in_section % 4
                    partner = partners[index_in_section % 4]
                    target = section_lines[group_start + partner] if partner is not None else ""
                    remaining = request.expected_lines() - len(accepted) - 1
                    line = yield from writer.line(accepted, rhyme_with=target, reserve=remaining * 12)
                    if line is None:
                        break
                    accepted.append(line)
                    section_lines.append(line)
                written_sections.setdefault(name, section_lines)
        elif request.mode in ("brainstorm", "rewrite"):
            count = request.alternatives if request.mode == "rewrite" else request.lines
            for number in range(1, count + 1):
                # No trailing space: BPE vocabularies attach the space to the next word, and a
                # forced "1. " makes the model continue with digits ("12 Minute ...").
                writer.force(f"{number}.")
                line = yield from writer.line(accepted, original=request.line, prefix=" ")
                if line is None:
                    writer.text = writer.text.rsplit(f"{number}.", 1)[0]
                    break
                accepted.append(line)
                items.append(line)
        else:  # poem, continue
            form_partners = FORM_PARTNERS.get(request.form, {}) if request.mode == "poem" else {}
            for index in range(request.expected_lines()):
                target = accepted[form_partners[index]] if index in form_partners else ""
                remaining = request.expected_lines() - index - 1
                line = yield from writer.line(accepted, rhyme_with=target, reserve=remaining * 12)
                if line is None:
                    break
                accepted.append(line)
    except OutOfTokens:
        pass
    writer.finish()
    return Written(writer.text.strip("\n"), tuple(items))
