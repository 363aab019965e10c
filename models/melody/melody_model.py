"""The melody model: a small GRU that predicts each note's pitch (relative to the tonic) from the
notes before it, the note's own length, beat strength and phrase-end flag, and the tune's mode
and meter. The rhythm comes from the lyric, so the model only has to choose pitches.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from atelier.core.music import (
    DURATION_COUNT,
    METER_COUNT,
    MODE_COUNT,
    PITCH_COUNT,
    PITCH_INPUT_COUNT,
    STRENGTH_COUNT,
)


@dataclass(frozen=True)
class ModelConfig:
    embed: int = 96
    hidden: int = 192
    layers: int = 2
    dropout: float = 0.15

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


class MelodyModel(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        e = config.embed
        self.pitch = nn.Embedding(PITCH_INPUT_COUNT, e)
        self.duration = nn.Embedding(DURATION_COUNT, e)
        self.strength = nn.Embedding(STRENGTH_COUNT, e)
        self.phrase_end = nn.Embedding(2, e)
        self.mode = nn.Embedding(MODE_COUNT, e)
        self.meter = nn.Embedding(METER_COUNT, e)
        self.dropout = nn.Dropout(config.dropout)
        self.gru = nn.GRU(e, config.hidden, config.layers, batch_first=True, dropout=config.dropout)
        self.head = nn.Linear(config.hidden, PITCH_COUNT)

    def embed_inputs(
        self,
        prev_pitch: torch.Tensor,
        duration: torch.Tensor,
        strength: torch.Tensor,
        phrase_end: torch.Tensor,
        mode: torch.Tensor,
        meter: torch.Tensor,
    ) -> torch.Tensor:
        x = (
            self.pitch(prev_pitch)
            + self.duration(duration)
            + self.strength(strength)
            + self.phrase_end(phrase_end)
            + self.mode(mode)
            + self.meter(meter)
        )
        return torch.tanh(x)

    def forward(
        self,
        prev_pitch: torch.Tensor,  # [B, T]
        duration: torch.Tensor,  # [B, T]
        strength: torch.Tensor,  # [B, T]
        phrase_end: torch.Tensor,  # [B, T]
        mode: torch.Tensor,  # [B, 1]
        meter: torch.Tensor,  # [B, 1]
        hidden: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.dropout(self.embed_inputs(prev_pitch, duration, strength, phrase_end, mode, meter))
        out, hidden_out = self.gru(x, hidden)
        return self.head(self.dropout(out)), hidden_out


class MelodyStep(nn.Module):
    """One note per call with the GRU state passed in and out: what the app runs (ONNX)."""

    def __init__(self, model: MelodyModel) -> None:
        super().__init__()
        self.model = model

    def forward(
        self,
        prev_pitch: torch.Tensor,  # [B] int64
        duration: torch.Tensor,
        strength: torch.Tensor,
        phrase_end: torch.Tensor,
        mode: torch.Tensor,
        meter: torch.Tensor,
        hidden: torch.Tensor,  # [layers, B, hidden] float32
    ) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.model.embed_inputs(prev_pitch, duration, strength, phrase_end, mode, meter)
        out, hidden_out = self.model.gru(x.unsqueeze(1), hidden)
        logits = self.model.head(out[:, 0])
        return torch.log_softmax(logits, dim=-1), hidden_out
