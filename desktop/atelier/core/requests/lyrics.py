"""Lyric requests: text from the language model (song, poem, brainstorm, continue, rewrite), and the
model-free tools (rhymes, line analysis) that run on the light lane."""

from __future__ import annotations

from dataclasses import dataclass

from atelier.core.errors import InvalidRequestError
from atelier.core.prosody import LineInfo
from atelier.core.requests import Lane, Request, Result, check_text
from atelier.core.rhymes import Rhyme

MODES = ("song", "poem", "brainstorm", "continue", "rewrite")
SECTION_NAMES = ("Intro", "Verse", "Pre-Chorus", "Chorus", "Bridge", "Outro")
RHYME_SCHEMES = ("AABB", "ABAB", "ABCB", "free")
POEM_FORMS = ("free verse", "haiku", "sonnet", "limerick", "ballad stanza")
BRAINSTORM_KINDS = ("ideas", "titles", "plot hooks")
POINTS_OF_VIEW = ("", "first person", "second person", "third person")
# Lines each poem form has; free verse uses `lines`.
FORM_LINES = {"haiku": 3, "sonnet": 14, "limerick": 5, "ballad stanza": 4}
# Text limits, checked before the model: a theme is a sentence or two (2,000 characters are about 500
# tokens, well inside the language model's context with room for the answer; a 120 KB prompt failed
# inside the model); the writer reads only the last 1,500 characters of the context (the lyric so far).
MAX_PROMPT_CHARS = 2000
MAX_MOOD_CHARS = 200
MAX_LINE_CHARS = 500
MAX_CONTEXT_CHARS = 200_000


@dataclass(frozen=True)
class LyricRequest(Request):
    kind = "lyrics"
    lane = Lane.HEAVY
    prompt: str = ""  # the theme, topic or idea
    mode: str = "song"
    # song
    sections: tuple[str, ...] = ("Verse", "Chorus", "Verse", "Chorus")
    lines_per_section: int = 4
    mood: str = ""
    point_of_view: str = ""
    rhyme_scheme: str = "AABB"
    # poem
    form: str = "free verse"
    # poem (free verse), brainstorm (items) and continue (new lines)
    lines: int = 6
    brainstorm_kind: str = "ideas"
    # continue: the text before the cursor; rewrite: the lyric around the line
    context: str = ""
    line: str = ""  # rewrite: the line to rewrite
    alternatives: int = 3
    # sampling (defaults tuned against loops on SmolLM2-135M; see tests/engine/test_lyrics_real.py)
    temperature: float = 0.8
    top_p: float = 0.92
    top_k: int = 40
    repetition_penalty: float = 1.1
    max_tokens: int = 256
    seed: int = 7
    pack_id: str = ""

    def __post_init__(self) -> None:
        check_text(self.prompt, "theme", MAX_PROMPT_CHARS)
        check_text(self.mood, "mood", MAX_MOOD_CHARS)
        check_text(self.line, "line to rewrite", MAX_LINE_CHARS)
        check_text(self.context, "lyric to continue", MAX_CONTEXT_CHARS)
        if self.mode not in MODES:
            raise InvalidRequestError(f"Mode must be one of {', '.join(MODES)} (got '{self.mode}').")
        if self.mode in ("song", "poem", "brainstorm") and not self.prompt.strip():
            raise InvalidRequestError("Write a theme or idea for the model to work from.")
        if self.mode == "continue" and not (self.context.strip() or self.prompt.strip()):
            raise InvalidRequestError("There is no text to continue: write a line first.")
        if self.mode == "rewrite" and not self.line.strip():
            raise InvalidRequestError("Put the cursor on (or select) the line to rewrite.")
        if self.mode == "song":
            if not 1 <= len(self.sections) <= 12:
                raise InvalidRequestError("A song needs between 1 and 12 sections.")
            if any(not s.strip() or len(s) > 30 or "]" in s for s in self.sections):
                raise InvalidRequestError("Section names must be short words like Verse or Chorus.")
            if self.rhyme_scheme not in RHYME_SCHEMES:
                raise InvalidRequestError(f"Rhyme scheme must be one of {', '.join(RHYME_SCHEMES)}.")
        if self.mode == "poem" and self.form not in POEM_FORMS:
            raise InvalidRequestError(f"Poem form must be one of {', '.join(POEM_FORMS)}.")
        if self.mode == "brainstorm" and self.brainstorm_kind not in BRAINSTORM_KINDS:
            raise InvalidRequestError(f"Brainstorm must be one of {', '.join(BRAINSTORM_KINDS)}.")
        checks = (
            (1 <= self.lines_per_section <= 16, "Lines per section must be between 1 and 16."),
            (1 <= self.lines <= 40, "Lines must be between 1 and 40."),
            (1 <= self.alternatives <= 10, "Alternatives must be between 1 and 10."),
            (0.0 <= self.temperature <= 2.0, "Temperature must be between 0 and 2."),
            (0.0 < self.top_p <= 1.0, "Top-p must be above 0 and at most 1."),
            (0 <= self.top_k <= 1000, "Top-k must be between 0 (off) and 1000."),
            (1.0 <= self.repetition_penalty <= 2.0, "Repetition penalty must be between 1 and 2."),
            (8 <= self.max_tokens <= 4096, "Max tokens must be between 8 and 4096."),
            (0 <= self.seed < 2**31, "Seed must be between 0 and 2147483647."),
        )
        for ok, message in checks:
            if not ok:
                raise InvalidRequestError(message)

    def expected_lines(self) -> int:
        """How many lines (or list items) the answer will have."""
        if self.mode == "song":
            return len(self.sections) * self.lines_per_section
        if self.mode == "poem":
            return FORM_LINES.get(self.form, self.lines)
        if self.mode == "rewrite":
            return self.alternatives
        return self.lines

    def summary(self) -> str:
        what = {
            "song": "Song",
            "poem": self.form.capitalize(),
            "brainstorm": f"Brainstorm {self.brainstorm_kind}",
            "continue": "Continue",
            "rewrite": "Rewrite line",
        }[self.mode]
        topic = (self.line if self.mode == "rewrite" else self.prompt or self.context[-40:]).strip()
        return f"{what}: {topic[:48]}" if topic else what


@dataclass(frozen=True)
class LyricResult(Result):
    kind = "lyrics"
    text: str
    mode: str = "song"
    alternatives: tuple[str, ...] = ()  # rewrite: the candidate lines; brainstorm: the items
    pack: str = ""
    prompt_tokens: int = 0
    generated_tokens: int = 0
    ttft_s: float = 0.0
    decode_tokens_per_s: float = 0.0
    # Lines the writer's checks rejected and resampled, and why, one reason per line ("gibberish",
    # "off meter", ...); tokens spent on them are in generated_tokens.
    rejected_lines: int = 0
    rejections: tuple[str, ...] = ()

    def summary(self) -> str:
        first = next((line for line in self.text.splitlines() if line.strip()), "")
        return f"{first[:60]} ({self.generated_tokens} tokens, {self.decode_tokens_per_s:.0f} tok/s)"


@dataclass(frozen=True)
class RhymeRequest(Request):
    kind = "rhymes"
    lane = Lane.LIGHT
    in_history = False
    word: str = ""
    limit: int = 60

    def __post_init__(self) -> None:
        if not self.word.strip() or " " in self.word.strip():
            raise InvalidRequestError("Give one word to rhyme with.")
        if not 1 <= self.limit <= 500:
            raise InvalidRequestError("The rhyme limit must be between 1 and 500.")

    def summary(self) -> str:
        return f"Rhymes for '{self.word}'"


@dataclass(frozen=True)
class RhymeResult(Result):
    kind = "rhymes"
    word: str
    rhymes: tuple[Rhyme, ...] = ()

    def summary(self) -> str:
        return f"{len(self.rhymes)} rhymes for '{self.word}'"


@dataclass(frozen=True)
class LyricAnalysisRequest(Request):
    """Syllables and rhyme letters per line; on the light lane because the first call loads the
    pronouncing dictionary (about 2 s). Later analyses are a few dictionary look-ups per line,
    so the panel then runs them directly."""

    kind = "lyric-analysis"
    lane = Lane.LIGHT
    in_history = False
    text: str = ""

    def summary(self) -> str:
        return "Loading the pronouncing dictionary"


@dataclass(frozen=True)
class LyricAnalysisResult(Result):
    kind = "lyric-analysis"
    lines: tuple[LineInfo, ...] = ()
