"""Perplexity of genai model folders on five fixed English paragraphs (529 tokens): how much a quantization
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

TEXT = "\n".join(
    [
        (
            "The summer I turned twelve, my grandmother taught me how to bake bread. She did not use a recipe. "
            "She measured flour with her hands and water with her eyes, and when I asked her how she knew it was "
            "right, she told me to listen to the dough. I thought she was joking until I felt it change under my "
            "palms, from sticky and loose to smooth and alive. We let it rise by the window while the radio "
            "played old songs, and she sang along to the ones she knew, changing the words when she forgot them."
        ),
        (
            "In the evening we walked down to the harbour to watch the fishing boats come in. The gulls followed "
            "them, crying and wheeling, and the men threw the smallest fish back into the water. My grandmother "
            "bought two mackerel from a man she had known since school. He asked about my mother, and she said "
            "she was working in the city and would come home for the festival in August. On the way back she "
            "pointed out the houses where her friends had lived, and told me who had married whom, and who had "
            "moved away, and who had never come back."
        ),
        (
            "Writing a song is a little like that walk. You begin with a place and a feeling, and then you let "
            "the details carry you. A good verse shows the listener something small and true: a cup left on a "
            "table, a coat on the back of a door, the sound of rain on a tin roof. The chorus says the thing the "
            "verse could not say directly. It should be simple enough to sing after hearing it once, and it "
            "should mean a little more each time it comes around."
        ),
        (
            "Many writers keep a notebook for lines that arrive at odd moments, on a bus or in the middle of the "
            "night. Most of those lines will never be used, but a few of them will become the seed of something "
            "larger. Rhyme helps the ear, but it should never force a word that the song does not need. When in "
            "doubt, read the lyric aloud. If a line feels awkward in your mouth, it will feel awkward to the "
            "listener too."
        ),
        (
            "The museum was closed on Mondays, so we went on Tuesday morning, before the crowds. The first room "
            "held maps of the coast drawn three hundred years ago, with sea monsters in the margins and towns "
            "that no longer exist. In the second room there were paintings of storms, ships tilted against grey "
            "water, and a small portrait of a woman holding a letter she had not yet opened. I stood in front of "
            "that painting for a long time, wondering what the letter said and whether she was afraid to read it."
        ),
    ]
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
