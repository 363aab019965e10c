"""The CLIP tokenizer of a Stable Diffusion folder, run by the `tokenizers` library (no transformers).

A folder with `tokenizer.json` is used as is; one with only `vocab.json` + `merges.txt` is converted
once (the same construction transformers uses for CLIP) and the result cached by the files' hash,
so nothing is ever written inside the user's folder.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
from tokenizers.models import BPE

from atelier.core.errors import PackError
from atelier.core.settings import cache_dir


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _token_text(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("content")
    return str(value) if value else None


def build_clip_tokenizer(vocab_path: Path, merges_path: Path, bos: str, eos: str, unk: str) -> Tokenizer:
    vocab = json.loads(vocab_path.read_text(encoding="utf-8"))
    lines = merges_path.read_text(encoding="utf-8").splitlines()
    pairs = (line.split() for line in lines if line and not line.startswith("#version"))
    merges = [(pair[0], pair[1]) for pair in pairs if len(pair) == 2]
    tokenizer = Tokenizer(
        BPE(vocab=vocab, merges=merges, dropout=None, continuing_subword_prefix="",
            end_of_word_suffix="</w>", fuse_unk=False, unk_token=unk)
    )  # fmt: skip
    tokenizer.normalizer = normalizers.Sequence(
        [normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Lowercase()]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(
                Regex(r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""),
                behavior="removed",
                invert=True,
            ),
            pre_tokenizers.ByteLevel(add_prefix_space=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = processors.RobertaProcessing(
        (eos, vocab[eos]), (bos, vocab[bos]), trim_offsets=False, add_prefix_space=False
    )
    return tokenizer


class ClipTokenizer:
    """Prompt -> a [1, max_length] row of token ids, padded like the pipeline's own tokenizer."""

    def __init__(self, folder: Path) -> None:
        config = {
            **_read_json(folder / "special_tokens_map.json"),
            **_read_json(folder / "tokenizer_config.json"),
        }
        bos = _token_text(config.get("bos_token")) or "<|startoftext|>"
        eos = _token_text(config.get("eos_token")) or "<|endoftext|>"
        unk = _token_text(config.get("unk_token")) or eos
        pad = _token_text(config.get("pad_token")) or eos
        self.max_length = int(config.get("model_max_length", 77))
        if self.max_length > 1024:  # "no limit" placeholders in some configs
            self.max_length = 77
        if (folder / "tokenizer.json").is_file():
            self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        elif (folder / "vocab.json").is_file() and (folder / "merges.txt").is_file():
            self.tokenizer = self._converted(folder, bos, eos, unk)
        else:
            raise PackError(f"{folder} has neither tokenizer.json nor vocab.json + merges.txt.")
        pad_id = self.tokenizer.token_to_id(pad)
        if pad_id is None:
            raise PackError(f"The tokenizer in {folder} has no pad token '{pad}'.")
        self.tokenizer.enable_truncation(self.max_length)
        self.tokenizer.enable_padding(length=self.max_length, pad_id=pad_id, pad_token=pad)

    @staticmethod
    def _converted(folder: Path, bos: str, eos: str, unk: str) -> Tokenizer:
        digest = hashlib.sha256()
        for name in ("vocab.json", "merges.txt"):
            digest.update((folder / name).read_bytes())
        digest.update(f"{bos}|{eos}|{unk}".encode())
        cached = cache_dir() / "tokenizers" / f"clip-{digest.hexdigest()[:24]}.json"
        if cached.is_file():
            return Tokenizer.from_file(str(cached))
        tokenizer = build_clip_tokenizer(folder / "vocab.json", folder / "merges.txt", bos, eos, unk)
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tokenizer.save(str(cached))
        except OSError:
            pass  # converting again next time only costs a moment
        return tokenizer

    def __call__(self, text: str) -> np.ndarray:
        return np.array([self.tokenizer.encode(text).ids], dtype=np.int64)
