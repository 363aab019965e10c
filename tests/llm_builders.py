"""A tiny random Llama built in the test (transformers, no download) and converted by the same
onnxruntime-genai builder path as the bundled SmolLM2, cached by its inputs under cache_dir()."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TINY_PACK_ID = "tiny-llama"
CHAT_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + "
    "'<|im_end|>' + '\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
CORPUS = [
    "rain on the window and the city lights",
    "I walk alone under the neon light",
    "the river runs to the sea tonight",
    "hold me close before the morning comes",
] * 4
RECIPE = "tiny-llama-1"


def recipe_module():
    path = REPO / "models" / "smollm2" / "build_smollm2.py"
    spec = importlib.util.spec_from_file_location("build_smollm2_for_tests", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tokenizer(folder: Path) -> int:
    """A byte-level BPE tokenizer trained on a few lines, saved as tokenizer.json + config."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=320,
        special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator(CORPUS, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        unk_token="<|endoftext|>",
        pad_token="<|im_end|>",
    )
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(folder)
    return tokenizer.get_vocab_size()


def build_tiny_llama(cache_root: Path) -> Path:
    """A genai folder with pack.json (kind llm) for a 2-layer random Llama; cached by recipe hash."""
    import onnxruntime_genai

    key = hashlib.sha256(f"{RECIPE}|{onnxruntime_genai.__version__}".encode()).hexdigest()[:12]
    out = cache_root / "test-builds" / f"tiny-llama-{key}"
    if (out / "pack.json").is_file():
        return out
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    torch.set_num_threads(1)
    work = cache_root / "test-builds" / f"work-{key}"
    shutil.rmtree(work, ignore_errors=True)
    hf = work / "hf"
    hf.mkdir(parents=True)
    vocab = _tokenizer(hf)
    config = LlamaConfig(
        vocab_size=vocab,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=2,
        tie_word_embeddings=False,
    )
    config.architectures = ["LlamaForCausalLM"]
    LlamaForCausalLM(config).eval().save_pretrained(hf, safe_serialization=True)
    staged = work / "pack"
    recipe_module().run_builder(hf, hf, staged, work, "int4")
    from atelier.engine.packs import write_manifest

    files = [p.name for p in sorted(staged.iterdir()) if p.is_file()]
    meta = {
        "id": TINY_PACK_ID,
        "name": "Tiny random Llama (tests)",
        "kind": "llm",
        "version": "1",
        "licence": "MIT",
        "source": "random weights built by tests/llm_builders.py",
        "components": {"model": "genai_config.json"},
    }
    write_manifest(staged, meta, files)
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(out, ignore_errors=True)
    staged.rename(out)
    shutil.rmtree(work, ignore_errors=True)
    return out


def genai_copy_without_manifest(pack: Path, target: Path) -> Path:
    """The same genai folder as a user would drop it in: no pack.json."""
    shutil.copytree(pack, target, ignore=shutil.ignore_patterns("pack.json"))
    return target


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())
