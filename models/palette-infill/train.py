"""Train the masked-palette model on palettes.npz (prepare_data.py), wall-clock capped and resumable.

Run: PYTHONPATH=desktop python models/palette-infill/train.py [--data /tmp/palette-data] [--minutes 18]
     [--wall-minutes 60] [--ckpt /tmp/palette-infill-ckpt] [--threads 1]
The budget is the process's CPU time (--minutes, across resumes): on a 2-core machine shared with
other jobs, wall-clock time says more about the neighbours than about the training.
Each step takes a batch of training palettes, masks 1 to all of each palette's swatches (1-3 most
often: that is what Regenerate with locks asks) and learns to score the codebook for the masked ones.
The target is soft: every codebook colour near the true one gets some weight (a Gaussian of the OKLab
distance), so near misses cost less than far ones and sampling spreads over plausible neighbours.
Checkpoints are safetensors + JSON (never pickle), outside the repository; a rerun resumes.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from scipy.cluster.vq import kmeans2

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from network import NetworkConfig, PaletteInfill  # noqa: E402

SIGMA = 0.025  # OKLab distance at which a codebook colour still gets e^-1/2 of the target weight
MASK_WEIGHTS = np.array([0.0, 0.35, 0.25, 0.2, 0.08, 0.05, 0.04, 0.03, 0.0])  # how many swatches to mask, 0..8


def load_data(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def make_codebook(lab: np.ndarray, size: np.ndarray, codes: int, seed: int = 0) -> np.ndarray:
    colours = np.concatenate([row[:n] for row, n in zip(lab, size, strict=True)]).astype(np.float64)
    centres, _ = kmeans2(colours, codes, minit="++", seed=seed, iter=30)
    return centres.astype(np.float32)


def sample_batch(
    lab: np.ndarray, size: np.ndarray, batch: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(colours, known, present) for `batch` random palettes, each with some swatches masked."""
    rows = rng.integers(0, len(lab), batch)
    colours = lab[rows].copy()
    n = size[rows].astype(int)
    present = (np.arange(lab.shape[1])[None, :] < n[:, None]).astype(np.float32)
    known = present.copy()
    for i in range(batch):
        weights = MASK_WEIGHTS[: n[i] + 1].copy()
        weights[n[i]] += 0.03  # sometimes all of them: Regenerate with nothing locked
        masked = rng.choice(len(weights), p=weights / weights.sum())
        known[i, rng.permutation(n[i])[:masked]] = 0.0
        # Swatches come dark to light; shuffled, the model cannot lean on slot order (it has none anyway).
        order = np.concatenate([rng.permutation(n[i]), np.arange(n[i], lab.shape[1])])
        colours[i], known[i] = colours[i][order], known[i][order]
    colours += rng.normal(0, 0.004, colours.shape).astype(np.float32)  # a little jitter: no exact recall
    return colours.astype(np.float32), known, present


def soft_targets(colours: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
    distance = torch.cdist(colours.reshape(-1, 3), codebook).reshape(*colours.shape[:2], -1)
    return torch.softmax(-(distance**2) / (2 * SIGMA**2), dim=-1)


def save_checkpoint(folder: Path, model: PaletteInfill, optimizer: torch.optim.Optimizer, state: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {f"model.{k}": v.contiguous() for k, v in model.state_dict().items()}
    for index, group_state in optimizer.state_dict()["state"].items():
        for name, value in group_state.items():
            if isinstance(value, torch.Tensor):
                tensors[f"opt.{index}.{name}"] = value.contiguous()
    tmp = folder / "latest.safetensors.tmp"
    save_file(tensors, str(tmp))
    tmp.replace(folder / "latest.safetensors")
    (folder / "state.json").write_text(json.dumps(state, indent=1))


def load_checkpoint(folder: Path, model: PaletteInfill, optimizer: torch.optim.Optimizer) -> dict | None:
    if not (folder / "latest.safetensors").exists():
        return None
    tensors = load_file(str(folder / "latest.safetensors"))
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    opt_state = optimizer.state_dict()
    for key, value in tensors.items():
        if key.startswith("opt."):
            _, index, name = key.split(".", 2)
            opt_state["state"].setdefault(int(index), {})[name] = value
    optimizer.load_state_dict(opt_state)
    return json.loads((folder / "state.json").read_text())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("/tmp/palette-data"))
    parser.add_argument("--ckpt", type=Path, default=Path("/tmp/palette-infill-ckpt"))
    parser.add_argument("--minutes", type=float, default=18.0, help="CPU minutes of training, across resumes")
    parser.add_argument("--wall-minutes", type=float, default=60.0, help="wall-clock limit, across resumes")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    data = load_data(args.data / "palettes.npz")
    train = data["split"] == 0
    lab, size = data["lab"][train], data["size"][train]
    config = NetworkConfig()
    model = PaletteInfill(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    state = load_checkpoint(args.ckpt, model, optimizer)
    if state is None:
        started = time.time()
        model.codebook.copy_(torch.from_numpy(make_codebook(lab, size, config.codes, args.seed)))
        state = {"step": 0, "elapsed": time.time() - started, "cpu": time.process_time(), "config": config.to_dict()}
        state["log"] = []
        print(f"codebook: {config.codes} colours in {state['elapsed']:.1f} s", flush=True)
    params = sum(p.numel() for p in model.parameters())
    print(f"{len(lab)} training palettes, {params} parameters, resuming at step {state['step']}", flush=True)
    rng = np.random.default_rng(args.seed + state["step"])
    codebook = model.codebook
    budget, wall_budget = args.minutes * 60, args.wall_minutes * 60
    start, last_log, running = time.time() - state["elapsed"], time.time(), []
    cpu_start = time.process_time() - state.setdefault("cpu", 0.0)
    model.train()
    while time.process_time() - cpu_start < budget and time.time() - start < wall_budget:
        step = state["step"]
        # Cosine over the budget, whichever of CPU time and wall time runs out first: on a shared machine the
        # number of steps that fit is not known in advance.
        done = min(1.0, max((time.process_time() - cpu_start) / budget, (time.time() - start) / wall_budget))
        lr = args.lr * min(1.0, (step + 1) / 300) * 0.5 * (1 + math.cos(math.pi * done))
        for group in optimizer.param_groups:
            group["lr"] = max(lr, args.lr * 0.02)
        colours, known, present = (torch.from_numpy(x) for x in sample_batch(lab, size, args.batch, rng))
        logits = model(colours, known, present)
        target = soft_targets(colours, codebook)
        weight = (1 - known) * present
        loss = -(target * torch.log_softmax(logits, -1)).sum(-1)
        loss = (loss * weight).sum() / weight.sum()
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        running.append(float(loss.detach()))
        state["step"] = step + 1
        if time.time() - last_log > 30 or state["step"] % 2000 == 0:
            state["elapsed"], state["cpu"] = time.time() - start, time.process_time() - cpu_start
            line = (
                f"step {state['step']} loss {np.mean(running):.4f} lr {lr:.2e} "
                f"{state['cpu'] / 60:.1f} CPU min, {state['elapsed'] / 60:.1f} min"
            )
            print(line, flush=True)
            state["log"].append(line)
            running, last_log = [], time.time()
            save_checkpoint(args.ckpt, model, optimizer, state)
    state["elapsed"], state["cpu"] = time.time() - start, time.process_time() - cpu_start
    save_checkpoint(args.ckpt, model, optimizer, state)
    print(f"done: {state['step']} steps, {state['cpu'] / 60:.1f} CPU min, {state['elapsed'] / 60:.1f} min", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
