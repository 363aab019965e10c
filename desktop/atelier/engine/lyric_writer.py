"""Writing with a language model, line by line: prompts per mode, section headers and list numbers
forced into the answer, and guards that rewind and resample any line that repeats an earlier one,
echoes the instructions ("Sure! Here is...", "Line 2:"), is mostly non-words, loops on a word stem,
strays into another script, or misses its syllable target (haiku 5/7/5; verse 2 follows verse 1).

The shape (sections, line counts, numbering, syllables) is written by this code, never left to the
model: a 135M model does not count lines or syllables reliably, and with this the output has what
was asked.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from atelier.core import prosody
from atelier.core.lyrics import line_checks
from atelier.core.lyrics.meter import DANGLING, Fit, Meter, fit_line, partner_meter, poem_meter
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
# A line with a syllable target misses it more often than it fails the other checks (a haiku line
# is cut at its count and resampled when no word boundary hits it): it gets more tries.
METER_RETRIES_PER_LINE = 12
# A line with a syllable target ends where its count meets the target if the model itself gives a
# line end (a newline or a pause: comma, full stop, ...) at least this probability there; a line
# stopped where the model does not see an end reads cut off ("Those days of endless").
METER_END_PROBABILITY = 0.1
END_STRINGS = ("\n", "\n\n", ",", ".", "!", "?", ";", "...", "…")
PREVIEW_EVERY = 3  # tokens between streamed previews
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
}
_BULLET_RE = re.compile(r"^\s*(?:[-*•]+|\d{1,2}[.)]|\(\d{1,2}\))\s*")

OFF_METER = "off meter"
TOO_LONG = "too long"
# Problems that end the line's tries without keeping it: the model is looping or writing markup,
# and a line kept anyway would be worse than a shorter answer.
HARD_PROBLEMS = ("empty", "markup", "no words", "same as the original", "repeats an earlier line")
# When every try of a line fails, the least bad try is kept: the shape asked for matters, and a
# model that cannot write a clean line there (the tiny test model, a prompt it cannot handle)
# would otherwise write nothing. Earlier in this order is better.
FALLBACK_ORDER = (
    OFF_METER,
    TOO_LONG,
    line_checks.STEM_LOOP,
    line_checks.GIBBERISH,
    line_checks.INSTRUCTION_ECHO,
    line_checks.MIXED_SCRIPT,
)


def normalise(line: str) -> str:
    """The line's letters, digits and spaces, lower case (letters of any script: a lyric in
    Russian or Japanese has words too)."""
    return re.sub(r"[^\w ]|_", "", line.lower()).strip()


_BRACKETED_RE = re.compile(r"\[[^\]]*\]?|\([^)]*\)?|[\[\]{}()]")
_LABEL_RE = re.compile(
    r"^\s*(intro|verse|pre-chorus|chorus|bridge|outro|hook|refrain)\s*\d*\s*[:\-–]\s*", re.IGNORECASE
)


def clean_line(raw: str) -> str:
    """The line without list bullets, quotes, stage directions in brackets or a 'Chorus:' label, and
    with straight apostrophes (the syllable counter reads "life’s" as two words)."""
    line = _BRACKETED_RE.sub(" ", raw.replace("\u2019", "'").replace("\u2018", "'"))
    line = _LABEL_RE.sub("", line)
    line = re.sub(r"\s{2,}", " ", line)
    line = _BULLET_RE.sub("", line.strip())
    line = line.strip().strip('"“”*_').strip().rstrip(",;-—").rstrip()
    return line[:1].upper() + line[1:]


def line_end(pending: str, min_syllables: int = 0) -> str | None:
    """Where the line being sampled ends: at a newline; at a clause break (comma, full stop, ...)
    once it has MIN_BREAK_WORDS words, or `min_syllables` syllables when it has a syllable target;
    or after MAX_LINE_WORDS words. None while it goes on."""
    if "\n" in pending:
        return pending.split("\n", 1)[0]
    for match in _BREAK_RE.finditer(pending):
        before = pending[: match.start()]
        if min_syllables:
            long_enough = prosody.line_syllables(before) >= min_syllables
        else:
            long_enough = len(before.split()) >= MIN_BREAK_WORDS
        if long_enough:
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


@dataclass(frozen=True)
class Guards:
    """How strictly lines are checked for this request: `english` turns on the script and
    dictionary checks (off for a prompt in another language), and `known` are the request's own
    words, which count as English (a name or coinage in the prompt is not gibberish)."""

    english: bool = True
    known: frozenset[str] = frozenset()

    @classmethod
    def of(cls, request: LyricRequest) -> Guards:
        given = " ".join((request.prompt, request.mood, request.context, request.line))
        return cls(line_checks.looks_english(given), frozenset(line_checks.words(given)))


def line_problem(
    line: str, accepted: list[str], original: str = "", guards: Guards | None = None, meter: Meter | None = None
) -> str:
    """Why a generated line is rejected ('' when it is fine)."""
    guards = guards or Guards()
    if not line:
        return "empty"
    if "<|" in line or "[" in line or "]" in line or line.endswith(":"):
        return "markup"
    if line_checks.echoes_instructions(line):
        return line_checks.INSTRUCTION_ECHO
    if len(line) > MAX_LINE_CHARS:
        return TOO_LONG
    key = normalise(line)
    if not key:
        return "no words"
    if original and key == normalise(original):
        return "same as the original"
    if any(normalise(other) == key for other in accepted):
        return "repeats an earlier line"
    problems = line_checks.line_problems(line, guards.known, guards.english)
    if problems:
        return problems[0]
    if meter is not None and not meter.fits(prosody.line_syllables(line)):
        return OFF_METER
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
    generated_tokens: int = 0  # every token sampled, kept or not (the speed is over these)
    kept_tokens: int = 0  # tokens of the lines kept: what max_tokens limits
    rejections: list[str] = field(default_factory=list)  # one reason per resampled line
    started: float = field(default_factory=time.perf_counter)
    first_token_at: float | None = None
    ended: float | None = None

    @property
    def wasted_tokens(self) -> int:
        """Tokens sampled for lines that were rejected, and for rhyme words that were not kept."""
        return self.generated_tokens - self.kept_tokens

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
    """The max-tokens budget is spent (or the context is full).

    max_tokens limits the kept text; resampled lines may spend as many tokens again (so a guard
    that rejects lines does not shorten the answer), and no more: a run samples at most twice
    max_tokens."""


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
        self._end_ids: list[int] = []
        self._first_token = -1  # the first token of the line sampled last

    def force(self, text: str) -> None:
        ids = self.tokenizer.encode(text)
        if self.generator.token_count() + len(ids) >= self.max_length:
            raise OutOfTokens
        self.generator.append_tokens(ids)
        self.text += text

    def restart_at(self, length: int) -> None:
        """Go back to the first `length` tokens to sample again from there.

        onnxruntime-genai's rewind_to keeps the next-token scores of the longer sequence: in a trial
        the first token sampled after rewinding continued the discarded text (a retried line began
        "ed by skerry", "'s a possible"). Re-appending the last kept token computes them afresh."""
        last = int(self.generator.get_sequence(0)[length - 1])
        self.generator.rewind_to(length - 1)
        self.generator.append_tokens([last])

    def _sample_raw_line(self, meter: Meter | None = None, banned_first: frozenset[int] = frozenset()) -> LineStream:
        """Sample until the line ends; returns the raw line, or None at end-of-sequence.

        `banned_first` are tokens the line may not start with (those that began an echo of the
        instructions in an earlier try: "Here" of "Here's a haiku...").

        With a `meter`, a clause break ends the line only once it has the target's syllables, and a
        line that has passed its target with no place to cut it there is returned at once."""
        stream = self.tokenizer.create_stream()
        pending = ""
        since_preview = 0
        sampled = 0
        while True:
            self.check_cancel()  # each token is a point where Stop is honoured
            if self.stats.kept_tokens + sampled >= self.sampling.max_tokens:
                raise OutOfTokens
            if self.stats.generated_tokens >= 2 * self.sampling.max_tokens:
                raise OutOfTokens
            if self.generator.token_count() >= self.max_length - 1:
                raise OutOfTokens
            if sampled == 0 and banned_first:
                self._mask(banned=banned_first)
            elif meter is not None and self._meter_met(pending, meter):
                self._mask(allowed=self._end_tokens())
            self.generator.generate_next_token()
            self.stats.generated_tokens += 1
            sampled += 1
            if sampled == 1:
                self._first_token = int(self.generator.get_next_tokens()[0])
            if self.stats.first_token_at is None:
                self.stats.first_token_at = time.perf_counter()
            if self.generator.is_done():
                return pending if pending.strip() else None
            piece = stream.decode(int(self.generator.get_next_tokens()[0]))
            pending += piece
            ended = line_end(pending, meter.low if meter else 0)
            if ended is not None:
                return ended
            if meter is not None and fit_line(pending, meter, ended=False).fit is Fit.OVER:
                return pending  # past its syllable target with no place to cut: judged off meter
            if len(pending) > MAX_LINE_CHARS:
                return pending  # a runaway line: stop spending tokens on it (rejected as too long)
            since_preview += 1
            if since_preview >= PREVIEW_EVERY:
                since_preview = 0
                yield self.text + pending

    def _end_tokens(self) -> list[int]:
        if not self._end_ids:
            ids = (self.tokenizer.encode(text) for text in END_STRINGS)
            self._end_ids = sorted({int(found[0]) for found in ids if len(found) == 1})
        return self._end_ids

    def _meter_met(self, pending: str, meter: Meter) -> bool:
        """Whether the line has just met its syllable target and the model sees a line end there:
        then the next token is sampled among line ends only (the line stops at its target)."""
        if not pending or not pending[-1].isalpha():
            return False
        count = prosody.line_syllables(pending)
        if count < meter.syllables or not meter.fits(count) or last_word(pending) in DANGLING:
            return False
        logits = np.asarray(self.generator.get_logits(), dtype=np.float64).ravel()
        scores = logits / max(self.sampling.temperature, 1e-3)
        probabilities = np.exp(scores - scores.max())
        share = float(probabilities[self._end_tokens()].sum() / probabilities.sum())
        return share >= METER_END_PROBABILITY

    def _mask(self, allowed: list[int] | None = None, banned: frozenset[int] = frozenset()) -> None:
        """Only `allowed` tokens (or all but `banned`) may be sampled next."""
        logits = self.generator.get_logits()
        if allowed is not None:
            masked = np.full_like(logits, -1e9)
            masked[..., allowed] = logits[..., allowed]
        else:
            masked = logits.copy()
            masked[..., sorted(banned)] = -1e9
        self.generator.set_logits(masked)

    def _may_resample(self, attempt: int, meter: Meter | None) -> bool:
        """Whether a failed try may be followed by another: tries per line are bounded, and so are
        the tokens all rejected lines may spend (max_tokens); greedy decoding would only repeat itself."""
        retries = METER_RETRIES_PER_LINE if meter is not None else RETRIES_PER_LINE
        if self.sampling.temperature <= 0:
            retries = 0
        return attempt < retries and self.stats.wasted_tokens < self.sampling.max_tokens

    def line(
        self,
        accepted: list[str],
        original: str = "",
        prefix: str = "",
        rhyme_with: str = "",
        guards: Guards | None = None,
        meter: Meter | None = None,
    ) -> LineStream:
        """One kept line (also appended, with its newline), or None when the model is done.

        A line that fails a check (line_problem) is rewound and resampled while _may_resample
        allows. When every try failed, the least bad one is kept (FALLBACK_ORDER), unless all failed
        for one of the HARD_PROBLEMS: then None, as at the end of the model's text. Each rejected try
        is counted in `stats.rejections` (a try kept as the fallback is not).

        With `rhyme_with`, a line whose last word does not rhyme gets its last word resampled a few
        times among rhyming words; an ending that would make the line fail a check is never chosen."""
        guards = guards or Guards()
        start = self.generator.token_count()
        fallback: tuple[tuple[int, int], str, str, int] | None = None  # rank, line, problem, tokens
        attempt = 0
        line = ""
        banned_first: set[int] = set()
        while True:
            if attempt:
                # Resample from the line's start: the sampler's state has moved on, so the retry
                # differs, and the same seed still gives the same text on every run.
                self.restart_at(start)
            before = self.stats.generated_tokens
            raw = yield from self._sample_raw_line(meter, frozenset(banned_first))
            tokens = self.stats.generated_tokens - before
            if raw is None:
                log.debug("end of sequence at attempt %d", attempt)
                problem = "end of text"  # before the shape is complete: resample unless it insists
            else:
                line, problem = self._judge(raw, accepted, original, guards, meter)
                if not problem:
                    break
                self.stats.rejections.append(problem)
                log.debug("line rejected (%s): %r", problem, raw)
                if problem in (line_checks.INSTRUCTION_ECHO, "markup"):
                    # The model insists on talking about the task: the next try starts otherwise.
                    banned_first.add(self._first_token)
                if problem in FALLBACK_ORDER:
                    distance = meter.distance(prosody.line_syllables(line)) if meter is not None else 0
                    rank = (FALLBACK_ORDER.index(problem), distance)
                    if fallback is None or rank < fallback[0]:
                        fallback = (rank, line, problem, tokens)
            if self._may_resample(attempt, meter):
                attempt += 1
                continue
            if fallback is None:
                return None
            _rank, line, problem, tokens = fallback
            self.stats.rejections.remove(problem)  # kept after all, so not a resampled line
            log.info("kept a line that fails a check (%s) after %d tries: %r", problem, attempt + 1, line)
            break
        self.stats.kept_tokens += tokens
        if len(line) > MAX_LINE_CHARS:
            line = line[:MAX_LINE_CHARS].rsplit(" ", 1)[0]  # end on a whole word
        if rhyme_with and not rhymes(last_word(line), rhyme_with):
            line = self._rhyme_ending(start, prefix, line, rhyme_with, accepted, guards, meter)
        self.generator.rewind_to(start)  # re-append the cleaned line, so the model sees what is kept
        self.force(prefix + line + "\n")
        yield self.text
        return line

    @staticmethod
    def _judge(raw: str, accepted: list[str], original: str, guards: Guards, meter: Meter | None) -> tuple[str, str]:
        """The line to keep from a sampled one, and its problem ('' when none).

        With a syllable target the line is checked whole first (so "Here's a possible haiku" is an
        echo even though "Here's a possible" has five syllables), then cut to its target."""
        line = clean_line(raw)
        problem = line_problem(line, accepted, original, guards)
        if meter is None or problem not in ("", TOO_LONG):
            return line, problem
        fit = fit_line(line, meter, ended=True)
        if fit.fit is not Fit.END:
            return line, problem or OFF_METER
        line = clean_line(fit.text)
        return line, line_problem(line, accepted, original, guards, meter)

    def _rhyme_ending(
        self,
        start: int,
        prefix: str,
        line: str,
        target: str,
        accepted: list[str],
        guards: Guards,
        meter: Meter | None,
    ) -> str:
        """Re-sample the line's last word among words that rhyme with `target`: the model's own
        scores decide which rhyme fits (logits of every other token are masked for that one step).
        A rhyme that makes the line fail a check (a loop, a missed syllable target) is not taken."""
        words = line.rstrip(",.;!?… ").split()
        candidates = self._rhyme_tokens(target)
        if len(words) < 4 or not candidates:
            return line
        stem = " ".join(words[:-1])
        text_before = self.text
        banned: set[int] = set()
        for _ in range(RHYME_TRIES):
            allowed = [token for token in candidates if token not in banned]
            if not allowed or self.stats.wasted_tokens + RHYME_WORD_TOKENS > self.sampling.max_tokens:
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
            if word and rhymes(word, target) and not line_problem(candidate, accepted, "", guards, meter):
                log.debug("rhymed %r with %r", word, target)
                return candidate
            banned.add(first_token)  # it grew into a longer word that does not rhyme, or fails a check
        return line

    def _rhyme_tokens(self, target: str) -> list[int]:
        """Vocabulary tokens that are a whole rhyming word with its leading space ('Ġpain')."""
        from atelier.core.rhymes import find_rhymes

        word = last_word(target)
        if word not in self._rhyme_cache:
            perfect: list[int] = []
            near: list[int] = []
            for rhyme in find_rhymes(word, limit=200):
                ids = self.tokenizer.encode(" " + rhyme.word)
                if len(ids) == 1 and rhymes(rhyme.word, word):
                    # Near rhymes (and any looser kind the rhyme list offers) are kept apart.
                    (perfect if rhyme.kind == "perfect" else near).append(int(ids[0]))
            # Perfect rhymes when the vocabulary has a few; near ones only to widen a thin choice.
            self._rhyme_cache[word] = perfect if len(perfect) >= 3 else perfect + near
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
    guards = Guards.of(request)
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
                # Verse 2 sings to verse 1's tune: its line N aims at verse 1's line N syllables.
                first_instance = written_sections.get(name, [])
                section_lines: list[str] = []
                partners = RHYME_PARTNERS.get(request.rhyme_scheme, (None,) * 4)
                for index_in_section in range(request.lines_per_section):
                    group_start = index_in_section - index_in_section % 4
                    partner = partners[index_in_section % 4]
                    target = section_lines[group_start + partner] if partner is not None else ""
                    meter = partner_meter(first_instance, index_in_section)
                    line = yield from writer.line(accepted, rhyme_with=target, guards=guards, meter=meter)
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
                line = yield from writer.line(accepted, original=request.line, prefix=" ", guards=guards)
                if line is None:
                    writer.text = writer.text.rsplit(f"{number}.", 1)[0]
                    break
                accepted.append(line)
                items.append(line)
        else:  # poem, continue
            form_partners = FORM_PARTNERS.get(request.form, {}) if request.mode == "poem" else {}
            for index in range(request.expected_lines()):
                target = accepted[form_partners[index]] if index in form_partners else ""
                meter = poem_meter(request.form, index) if request.mode == "poem" else None
                line = yield from writer.line(accepted, rhyme_with=target, guards=guards, meter=meter)
                if line is None:
                    break
                accepted.append(line)
    except OutOfTokens:
        pass
    writer.finish()
    return Written(writer.text.strip("\n"), tuple(items))
