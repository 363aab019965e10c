"""The masked-palette network: a small transformer over a palette's OKLab swatches (a set: no positions).

Each swatch is a token: a known swatch carries its colour, a masked one a learned "masked" vector;
absent slots (shorter palettes) are left out of attention. Every token is scored against a codebook of
K OKLab colours (k-means over the training colours), so sampling with a temperature is one softmax.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

# OKLab's a and b span about -0.3..0.3 and L 0..1: scaled so each axis spans about 2.
SCALE = (2.0, 4.0, 4.0)
SHIFT = (-1.0, 0.0, 0.0)


@dataclass(frozen=True)
class NetworkConfig:
    width: int = 96
    layers: int = 3
    heads: int = 4
    ff: int = 192
    codes: int = 512
    dropout: float = 0.1

    def to_dict(self) -> dict[str, int | float]:
        return asdict(self)


class Block(nn.Module):
    """A pre-norm transformer layer written out: nn.TransformerEncoderLayer's fused inference path
    exports to ONNX with the traced batch and slot counts baked in, so the graph would take one shape only."""

    def __init__(self, width: int, heads: int, ff: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)
        self.norm2 = nn.LayerNorm(width)
        self.ff = nn.Sequential(nn.Linear(width, ff), nn.GELU(), nn.Linear(ff, width))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """x (B,N,W); bias (B,1,1,N): 0 for a present slot, -1e4 for an absent one."""
        batch, slots, width = x.shape
        q, k, v = self.qkv(self.norm1(x)).reshape(batch, slots, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        scores = q @ k.transpose(-1, -2) * (width // self.heads) ** -0.5 + bias
        attended = (torch.softmax(scores, -1) @ v).transpose(1, 2).reshape(batch, slots, width)
        x = x + self.drop(self.out(attended))
        return x + self.drop(self.ff(self.norm2(x)))


class PaletteInfill(nn.Module):
    def __init__(self, config: NetworkConfig) -> None:
        super().__init__()
        self.config = config
        self.colour = nn.Sequential(nn.Linear(3, config.width), nn.GELU(), nn.Linear(config.width, config.width))
        self.masked = nn.Parameter(torch.zeros(config.width))
        self.known = nn.Parameter(torch.zeros(config.width))
        self.blocks = nn.ModuleList(
            Block(config.width, config.heads, config.ff, config.dropout) for _ in range(config.layers)
        )
        self.norm = nn.LayerNorm(config.width)
        self.head = nn.Linear(config.width, config.codes)
        self.register_buffer("scale", torch.tensor(SCALE))
        self.register_buffer("shift", torch.tensor(SHIFT))
        self.register_buffer("codebook", torch.zeros(config.codes, 3))
        nn.init.normal_(self.masked, std=0.02)
        nn.init.normal_(self.known, std=0.02)

    def forward(self, colors: torch.Tensor, known: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        """colors (B,N,3) OKLab, known (B,N) 1/0, present (B,N) 1/0 -> logits (B,N,codes)."""
        known = known.unsqueeze(-1)
        tokens = self.colour(colors * self.scale + self.shift) * known + self.known * known
        tokens = tokens + self.masked * (1 - known)
        bias = ((present - 1.0) * 1e4)[:, None, None, :]
        for block in self.blocks:
            tokens = block(tokens, bias)
        return self.head(self.norm(tokens))


class ExportedInfill(nn.Module):
    """The graph shipped in the pack: logits, the codebook they index, and the codebook's pairwise
    CIEDE2000 (of its colours as 8-bit sRGB, as the runtime shows them), so the runtime's distance rules
    between new swatches are table look-ups instead of K x K colour maths on every press."""

    def __init__(self, model: PaletteInfill, pairwise: torch.Tensor) -> None:
        super().__init__()
        self.model = model
        self.register_buffer("pairwise", pairwise)

    def forward(
        self, colors: torch.Tensor, known: torch.Tensor, present: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.model(colors, known, present), self.model.codebook * 1.0, self.pairwise * 1.0
