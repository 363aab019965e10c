"""Next-token logits, one step at a time, from an onnxruntime-genai model folder and from llama.cpp on a
GGUF, and one numpy sampler for both: side by side, only the model's numbers differ.

Used by quality.py (the same chat prompt sampled by both runtimes) and perplexity.py (both runtimes'
logits on the same text). llama.cpp comes from llama-cpp-python (the `bench` extra; see
bench/lyrics_vs_llamacpp.py for the build flags these machines need).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

LLAMA_CPP_HINT = (
    'llama-cpp-python is not installed. Install it with CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON '
    "-DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=ON -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF "
    '-DGGML_AMX_BF16=OFF" .venv/bin/pip install llama-cpp-python (compiles for 8-15 minutes).'
)


class StepModel(Protocol):
    name: str

    def start(self, prompt_ids: list[int]) -> np.ndarray:
        """Forget earlier text, read the prompt; the logits for the token after it."""
        ...

    def step(self, token: int) -> np.ndarray:
        """Append one token; the logits for the next."""
        ...

    def all_logits(self, ids: list[int]) -> np.ndarray:
        """Logits after every position of `ids` ([len(ids), vocab]), from an empty cache."""
        ...


class GenaiStepModel:
    """An onnxruntime-genai folder (the app's runtime)."""

    def __init__(self, folder: Path, threads: int = 2, name: str = "") -> None:
        import json

        import onnxruntime_genai as og

        self.og = og
        self.folder = folder
        self.name = name or folder.name
        config = og.Config(str(folder))
        session = {"intra_op_num_threads": threads, "inter_op_num_threads": 1}
        config.overlay(json.dumps({"model": {"decoder": {"session_options": session}}}))
        self.model = og.Model(config)
        self.tokenizer = og.Tokenizer(self.model)
        self.threads = threads
        self.generator: Any = None

    def start(self, prompt_ids: list[int], max_length: int = 2048) -> np.ndarray:
        params = self.og.GeneratorParams(self.model)
        params.set_search_options(do_sample=False, max_length=max_length)
        self.generator = self.og.Generator(self.model, params)
        self.generator.append_tokens(prompt_ids)
        return np.asarray(self.generator.get_logits()).reshape(-1)

    def step(self, token: int) -> np.ndarray:
        self.generator.append_tokens([token])
        return np.asarray(self.generator.get_logits()).reshape(-1)

    def all_logits(self, ids: list[int]) -> np.ndarray:
        return self.all_logits_of(self.folder, ids, self.threads)

    @staticmethod
    def all_logits_of(folder: Path, ids: list[int], threads: int = 2) -> np.ndarray:
        """One pass of the folder's plain ONNX graph over the whole text (the KV cache empty)."""
        import json

        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.log_severity_level = 3
        session = ort.InferenceSession(str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"])
        feeds: dict[str, np.ndarray] = {
            "input_ids": np.array([ids], np.int64),
            "attention_mask": np.ones((1, len(ids)), np.int64),
        }
        decoder = json.loads((folder / "genai_config.json").read_text())["model"]["decoder"]
        for spec in session.get_inputs():
            if spec.name.startswith("past_key_values"):
                shape = (1, decoder["num_key_value_heads"], 0, decoder["head_size"])
                feeds[spec.name] = np.zeros(shape, np.float32)
        return np.asarray(session.run(["logits"], feeds)[0][0])


class LlamaCppStepModel:
    """llama.cpp (llama-cpp-python) on a GGUF, fed token ids (so both runtimes see the same tokens)."""

    def __init__(self, gguf: Path, threads: int = 2, n_ctx: int = 2048, logits_all: bool = False) -> None:
        try:
            from llama_cpp import Llama
        except ImportError:
            raise SystemExit(LLAMA_CPP_HINT) from None
        self.name = f"llama.cpp ({gguf.name})"
        self.llm = Llama(
            model_path=str(gguf),
            n_threads=threads,
            n_threads_batch=threads,
            n_ctx=n_ctx,
            n_batch=512,
            logits_all=logits_all,
            verbose=False,
        )
        self.vocab = self.llm.n_vocab()

    def _last(self) -> np.ndarray:
        pointer = self.llm._ctx.get_logits_ith(-1)
        return np.ctypeslib.as_array(pointer, shape=(self.vocab,)).copy()

    def start(self, prompt_ids: list[int]) -> np.ndarray:
        self.llm.reset()
        self.llm.eval(prompt_ids)
        return self._last()

    def step(self, token: int) -> np.ndarray:
        self.llm.eval([token])
        return self._last()

    def all_logits(self, ids: list[int]) -> np.ndarray:
        if not self.llm._logits_all:
            raise ValueError("open llama.cpp with logits_all=True to read every position's logits")
        self.llm.reset()
        self.llm.eval(ids)
        return np.array(self.llm.scores[: len(ids)])


@dataclass(frozen=True)
class Sampler:
    """Repetition penalty (over the prompt and the text so far, as onnxruntime-genai and Hugging Face
    apply it), temperature, top-k, then top-p; one numpy generator per sample, so a seed gives the same
    draws to both runtimes."""

    temperature: float = 0.8
    top_p: float = 0.92
    top_k: int = 40
    repetition_penalty: float = 1.1

    def pick(self, logits: np.ndarray, seen: np.ndarray, rng: np.random.Generator) -> int:
        scores = logits.astype(np.float64)
        if self.repetition_penalty != 1.0 and seen.size:
            values = scores[seen]
            scores[seen] = np.where(values > 0, values / self.repetition_penalty, values * self.repetition_penalty)
        if self.temperature <= 0:
            return int(np.argmax(scores))
        scores = scores / self.temperature
        k = min(self.top_k, scores.size) if self.top_k > 0 else scores.size
        candidates = np.argpartition(-scores, k - 1)[:k]
        candidates = candidates[np.argsort(-scores[candidates], kind="stable")]
        probs = np.exp(scores[candidates] - scores[candidates[0]])
        probs /= probs.sum()
        keep = min(int(np.searchsorted(np.cumsum(probs), self.top_p)) + 1, probs.size)
        probs = probs[:keep] / probs[:keep].sum()
        return int(candidates[rng.choice(keep, p=probs)])


def sample(
    model: StepModel, prompt_ids: list[int], sampler: Sampler, seed: int, max_new: int, stop: set[int]
) -> list[int]:
    """Up to `max_new` tokens after the prompt, drawn by `sampler` from `model`'s logits."""
    rng = np.random.default_rng(seed)
    seen = set(prompt_ids)
    logits = model.start(prompt_ids)
    out: list[int] = []
    for _ in range(max_new):
        token = sampler.pick(logits, np.fromiter(seen, np.int64), rng)
        if token in stop:
            break
        out.append(token)
        seen.add(token)
        if len(out) < max_new:
            logits = model.step(token)
    return out


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits.astype(np.float64) - logits.max(-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


def perplexity_of(logits: np.ndarray, ids: list[int]) -> float:
    """exp of the mean negative log-likelihood of ids[1:] given the logits at ids[:-1]."""
    log_probs = log_softmax(logits[: len(ids) - 1])
    nll = -log_probs[np.arange(len(ids) - 1), ids[1:]].mean()
    return float(np.exp(nll))


def compare_logits(ours: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    """How far one runtime's logits are from another's on the same tokens."""
    p_log, q_log = log_softmax(reference), log_softmax(ours)
    kl = (np.exp(p_log) * (p_log - q_log)).sum(-1)
    return {
        "max_abs_diff": float(np.abs(ours - reference).max()),
        "mean_abs_diff": float(np.abs(ours - reference).mean()),
        "top1_agreement": float((ours.argmax(-1) == reference.argmax(-1)).mean()),
        "mean_kl": float(kl.mean()),
    }
