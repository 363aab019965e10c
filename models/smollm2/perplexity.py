"""Perplexity of genai model folders on one fixed English paragraph: how much a quantization
choice costs, measured rather than guessed (used to choose the SmolLM2 pack's precision).

    python models/smollm2/perplexity.py FOLDER [FOLDER ...]

Runs each folder's model.onnx once over the whole paragraph with plain onnxruntime (empty KV cache).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

TEXT = (
    "The rain kept falling on the old town all night. In the morning the streets were quiet, and the river "
    "had risen to the edge of the bridge. People came out of their houses to look at the water. A woman sold "
    "coffee from a cart near the station, and children threw stones into the brown current. By noon the sun "
    "broke through the clouds, and the whole town seemed to breathe again. I remember walking home that "
    "evening, thinking about how small we are beside the weather, and how quickly we forget."
)


def perplexity(folder: Path, threads: int = 2) -> tuple[int, float]:
    ids = Tokenizer.from_file(str(folder / "tokenizer.json")).encode(TEXT).ids
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
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
    logits = session.run(["logits"], feeds)[0][0].astype(np.float64)
    logits -= logits.max(-1, keepdims=True)
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    nll = -np.mean([log_probs[t, ids[t + 1]] for t in range(len(ids) - 1)])
    return len(ids), float(np.exp(nll))


if __name__ == "__main__":
    for name in sys.argv[1:]:
        count, value = perplexity(Path(name))
        size = sum(p.stat().st_size for p in Path(name).iterdir()) / 1e6
        print(f"{name}: perplexity {value:.2f} over {count} tokens, {size:.0f} MB")
