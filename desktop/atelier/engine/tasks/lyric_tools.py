"""Model-free lyric tools on the light lane: rhymes, and the first line analysis (which loads the
pronouncing dictionary, about 2 s, so it must not run on the GUI thread)."""

from __future__ import annotations

from atelier.core.prosody import analyse, load_dictionary
from atelier.core.requests.lyrics import (
    LyricAnalysisRequest,
    LyricAnalysisResult,
    RhymeRequest,
    RhymeResult,
)
from atelier.core.rhymes import find_rhymes
from atelier.engine.runner import TaskContext, TaskGenerator, task


@task(RhymeRequest)
def run_rhymes(request: RhymeRequest, context: TaskContext) -> TaskGenerator:
    return RhymeResult(word=request.word.strip().lower(), rhymes=tuple(find_rhymes(request.word, request.limit)))
    yield  # a generator like every task, though it reports no progress


@task(LyricAnalysisRequest)
def run_analysis(request: LyricAnalysisRequest, context: TaskContext) -> TaskGenerator:
    load_dictionary()
    return LyricAnalysisResult(lines=tuple(analyse(request.text)))
    yield
