"""Train the melody GRU on the prepared corpus; resumable, capped by wall-clock time.

Run: PYTHONPATH=desktop python models/melody/train.py [--minutes 30] [--ckpt /tmp/melody-ckpt]
Uses a GPU when torch sees one, else one CPU thread (the build machine has 2 shared cores).
Checkpoints (safetensors + JSON, never pickle) live outside the repository; a rerun resumes.
At the end the best checkpoint is exported to models/melody/ (see export.py).
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
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from melody_model import MelodyModel, ModelConfig

from atelier.core.music import START_TOKEN

HERE = Path(__file__).resolve().parent
LOG = HERE / "training_log.txt"
CHUNK = 128


def log(message: str) -> None:
    line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}"
    print(line, flush=True)
    with LOG.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")


def load_split(path: Path, split: int) -> dict[str, np.ndarray]:
    """Tunes of one split cut into chunks of CHUNK notes, with the previous pitch as input."""
    data = np.load(path)
    notes, offsets, meta = data["notes"].astype(np.int64), data["offsets"], data["meta"].astype(np.int64)
    rows: dict[str, list[np.ndarray]] = {k: [] for k in ("prev", "dur", "str", "end", "target", "mask")}
    modes, meters = [], []
    for index in np.flatnonzero(meta[:, 3] == split):
        tune = notes[offsets[index] : offsets[index + 1]]
        prev = np.concatenate([[START_TOKEN], tune[:-1, 0]])
        for start in range(0, len(tune), CHUNK):
            piece = slice(start, start + CHUNK)
            length = len(tune[piece])
            pad = CHUNK - length
            rows["prev"].append(np.pad(prev[piece], (0, pad)))
            rows["dur"].append(np.pad(tune[piece, 1], (0, pad)))
            rows["str"].append(np.pad(tune[piece, 2], (0, pad)))
            rows["end"].append(np.pad(tune[piece, 3], (0, pad)))
            rows["target"].append(np.pad(tune[piece, 0], (0, pad)))
            rows["mask"].append(np.pad(np.ones(length), (0, pad)))
            modes.append(meta[index, 0])
            meters.append(meta[index, 1])
    out = {k: np.stack(v) for k, v in rows.items()}
    out["mode"] = np.array(modes)[:, None]
    out["meter"] = np.array(meters)[:, None]
    return out


def batch_tensors(data: dict[str, np.ndarray], index: np.ndarray, device: torch.device) -> dict[str, torch.Tensor]:
    return {k: torch.as_tensor(v[index], device=device) for k, v in data.items()}


def batch_loss(model: MelodyModel, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    logits, _ = model(batch["prev"], batch["dur"], batch["str"], batch["end"], batch["mode"], batch["meter"])
    losses = nn.functional.cross_entropy(logits.transpose(1, 2), batch["target"], reduction="none")
    mask = batch["mask"].float()
    return (losses * mask).sum(), mask.sum()


def evaluate_nll(model: MelodyModel, data: dict[str, np.ndarray], device: torch.device) -> float:
    model.eval()
    total, count = 0.0, 0.0
    with torch.no_grad():
        for start in range(0, len(data["prev"]), 256):
            index = np.arange(start, min(start + 256, len(data["prev"])))
            loss, n = batch_loss(model, batch_tensors(data, index, device))
            total, count = total + float(loss), count + float(n)
    model.train()
    return total / count


def save_checkpoint(folder: Path, model: MelodyModel, optimizer: torch.optim.Optimizer, state: dict) -> None:
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    for index, param_state in enumerate(optimizer.state_dict()["state"].values()):
        for name, value in param_state.items():
            tensors[f"opt.{index}.{name}"] = (
                torch.as_tensor(value).detach().cpu().contiguous().reshape(-1)
                if name == "step"
                else value.detach().cpu().contiguous()
            )
    tmp = folder / "latest.safetensors.tmp"
    save_file(tensors, str(tmp))
    tmp.replace(folder / "latest.safetensors")
    (folder / "latest.json").write_text(json.dumps(state, indent=2))


def load_checkpoint(folder: Path, model: MelodyModel, optimizer: torch.optim.Optimizer) -> dict | None:
    if not (folder / "latest.safetensors").exists():
        return None
    tensors = load_file(str(folder / "latest.safetensors"))
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    opt_state = optimizer.state_dict()
    for index, param_id in enumerate(opt_state["param_groups"][0]["params"]):
        prefix = f"opt.{index}."
        entries = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
        if entries:
            entries["step"] = entries["step"].reshape(())
            opt_state["state"][param_id] = entries
    optimizer.load_state_dict(opt_state)
    return json.loads((folder / "latest.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default="/tmp/melody-data/corpus.npz")
    parser.add_argument("--ckpt", default="/tmp/melody-ckpt")
    parser.add_argument("--minutes", type=float, default=30.0, help="total training time, across resumes")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-export", action="store_true")
    args = parser.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    folder = Path(args.ckpt)
    folder.mkdir(parents=True, exist_ok=True)
    train = load_split(Path(args.data), 0)
    valid = load_split(Path(args.data), 1)
    config = ModelConfig()
    model = MelodyModel(config).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    state = load_checkpoint(folder, model, optimizer) or {
        "elapsed": 0.0,
        "epoch": 0,
        "step": 0,
        "best_valid": math.inf,
        "config": config.to_dict(),
    }
    budget = args.minutes * 60
    params = sum(p.numel() for p in model.parameters())
    log(
        f"start: device={device}, {params} parameters, {len(train['prev'])} train chunks, "
        f"{len(valid['prev'])} validation chunks, resumed at epoch {state['epoch']} "
        f"({state['elapsed'] / 60:.1f} of {args.minutes:.0f} minutes used)"
    )
    rng = np.random.default_rng(args.seed + state["epoch"])
    session_start = time.time() - state["elapsed"]
    while state["elapsed"] < budget:
        order = rng.permutation(len(train["prev"]))
        total, count = 0.0, 0.0
        for start in range(0, len(order), args.batch):
            state["elapsed"] = time.time() - session_start
            if state["elapsed"] >= budget:
                break
            # Warm up, then cosine decay over the wall-clock budget (the budget is the schedule).
            fraction = state["elapsed"] / budget
            lr = args.lr * min(1.0, (state["step"] + 1) / 100) * 0.5 * (1 + math.cos(math.pi * fraction))
            for group in optimizer.param_groups:
                group["lr"] = max(lr, args.lr * 0.02)
            loss, n = batch_loss(model, batch_tensors(train, order[start : start + args.batch], device))
            optimizer.zero_grad()
            (loss / n).backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            total, count = total + float(loss), count + float(n)
            state["step"] += 1
        state["epoch"] += 1
        valid_nll = evaluate_nll(model, valid, device)
        if valid_nll < state["best_valid"]:
            state["best_valid"] = valid_nll
            save_file(
                {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()},
                str(folder / "best.safetensors"),
            )
        state["elapsed"] = time.time() - session_start
        save_checkpoint(folder, model, optimizer, state)
        log(
            f"epoch {state['epoch']}: train nll {total / max(count, 1):.4f}, valid nll {valid_nll:.4f} "
            f"(best {state['best_valid']:.4f}), lr {lr:.2e}, {state['elapsed'] / 60:.1f} min"
        )
    log(f"done: best validation nll/note {state['best_valid']:.4f} after {state['epoch']} epochs")
    if not args.no_export:
        from export import export_pack

        export_pack(folder / "best.safetensors", config)


if __name__ == "__main__":
    main()
