"""The colorizer network: a small U-Net that scores each palette colour (plus paper and ink) per pixel.

Scores are dot products between a per-pixel feature and an embedding of each class colour, so the
network treats palette slots alike apart from their rank (most used first), and any 1..8 colours work.
Feeds: image (B,7,H,W) = ink, flood-filled hint Lab (3), hint mask, outside, region size;
hint_classes (B,10,H,W) one-hot; colours (B,10,3) normalised Lab; valid (B,10).
H, W are multiples of 2**(levels-1): 16 for five levels, 32 for six.
"""

from __future__ import annotations

import torch
from torch import nn

N_CLASSES = 10
EMBED = 32
WIDTHS = (8, 16, 32, 64, 96, 128)  # the shipped network; checkpoints record the widths they were trained with
FIRST_WIDTHS = (8, 16, 32, 64, 96)  # checkpoints from before widths were recorded


def block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class Colorizer(nn.Module):
    def __init__(self, widths: tuple[int, ...] = WIDTHS) -> None:
        super().__init__()
        w = self.widths = tuple(widths)
        self.encoders = nn.ModuleList([block(7, w[0])] + [block(w[i], w[i + 1]) for i in range(len(w) - 1)])
        self.pool = nn.MaxPool2d(2)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.decoders = nn.ModuleList([block(w[i] + w[i + 1], w[i]) for i in range(len(w) - 1)])
        # Class colour embedding: Lab, two flags (paper, ink) and the slot's rank in the palette
        # (palettes list their most used colour first), shared by every class.
        self.embed = nn.Sequential(nn.Linear(6, 64), nn.ReLU(inplace=True), nn.Linear(64, EMBED + 1))
        # Palette context (mean and max of the palette slots' embeddings) modulates the bottleneck.
        self.film = nn.Linear(2 * (EMBED + 1), 2 * w[-1])
        self.head = nn.Conv2d(w[0], EMBED + 1, 1)
        flags = torch.zeros(N_CLASSES, 3)
        flags[8, 0] = flags[9, 1] = 1.0
        flags[:8, 2] = torch.arange(8) / 7.0
        self.register_buffer("flags", flags)

    def forward(
        self, image: torch.Tensor, hint_classes: torch.Tensor, colours: torch.Tensor, valid: torch.Tensor
    ) -> torch.Tensor:
        b = colours.shape[0]
        flags = self.flags.unsqueeze(0).expand(b, -1, -1)
        emb = self.embed(torch.cat([colours, flags], -1))  # (B,10,E+1)
        slot_mask = valid[:, :8].unsqueeze(-1)
        slots = emb[:, :8]
        mean = (slots * slot_mask).sum(1) / slot_mask.sum(1).clamp(min=1.0)
        peak = (slots - 1e4 * (1 - slot_mask)).amax(1)
        gamma, beta = self.film(torch.cat([mean, peak], -1)).chunk(2, -1)

        skips = []
        x = image
        for i, encoder in enumerate(self.encoders):
            x = encoder(x if i == 0 else self.pool(x))
            skips.append(x)
        x = x * (1 + gamma[:, :, None, None]) + beta[:, :, None, None]
        for i in reversed(range(len(self.decoders))):
            x = self.decoders[i](torch.cat([self.up(x), skips[i]], 1))
        features = self.head(x)  # (B,E+1,H,W): E for matching, 1 for how much to trust hints
        pixel, trust = features[:, :EMBED], features[:, EMBED:]
        logits = torch.einsum("bdhw,bkd->bkhw", pixel, emb[:, :, :EMBED]) + emb[:, :, EMBED, None, None]
        logits = logits + nn.functional.softplus(trust + 2.0) * 4.0 * hint_classes
        return logits - 1e4 * (1 - valid[:, :, None, None])
