"""Train the colorizer on synthetic line art from pictures.npz (prepare_data.py), resumable, wall-clock capped.

Run:   python models/colorizer/train.py --minutes 60          (continues from --ckpt if present)
Export: python models/colorizer/train.py --export             (writes colorizer.onnx + pack.json here)
Checkpoints (state dicts of this network, never shipped) live outside the repo in --ckpt; the shipped
artefact is the ONNX file. Uses CUDA when present, otherwise --threads CPU threads (default 1: the build
machine is shared). --workers N makes batches in N processes beside training.
"""

from __future__ import annotations

import argparse
import io
import itertools
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from network import FIRST_WIDTHS, N_CLASSES, WIDTHS, Colorizer  # noqa: E402
from synth import WHITE, flooded_hints, make_sample  # noqa: E402

from atelier.engine.colorizing import model_inputs, region_maps  # noqa: E402

LOG = HERE / "training_log.txt"


def log(line: str) -> None:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    with LOG.open("a", encoding="utf-8") as handle:
        handle.write(f"{stamp} {line}\n")
    print(line, flush=True)


def batch(pictures: np.ndarray, rng: np.random.Generator, size: int, crop: int, augment: bool = True):
    feeds: dict[str, list[np.ndarray]] = {"image": [], "hint_classes": [], "colours": [], "valid": []}
    targets, weights = [], []
    for index in rng.integers(0, len(pictures), size):
        sample = make_sample(pictures[index], rng, augment=augment, crop=crop)
        maps = region_maps(sample.labels, sample.count)
        inputs = model_inputs(sample.ink, flooded_hints(sample), maps, sample.colours, sample.valid)
        for key in feeds:
            feeds[key].append(inputs[key][0])
        target = sample.target
        # Fill pixels (not paper, not line) count triple: they are what an artist judges, and the
        # paper around a picture would otherwise teach "white" as the safe answer.
        weights.append(np.where((target != WHITE) & (sample.ink < 0.5), 3.0, 1.0))
        targets.append(target)
    tensors = {k: torch.from_numpy(np.stack(v)) for k, v in feeds.items()}
    return tensors, torch.from_numpy(np.stack(targets)), torch.from_numpy(np.stack(weights).astype(np.float32))


class Batches(torch.utils.data.IterableDataset):
    """An endless stream of training batches; each data worker draws from its own seeded generator.

    Making line art (scipy labelling, wobble, k-means palettes) costs more than a training step of this
    small network, so on a machine with spare cores the batches are made in parallel with training.
    """

    def __init__(self, pictures: np.ndarray, seed: int, size: int, crop: int) -> None:
        self.pictures, self.seed, self.size, self.crop = pictures, seed, size, crop

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        rng = np.random.default_rng([self.seed, info.id if info else 0])
        while True:
            yield batch(self.pictures, rng, self.size, self.crop)


def load_pictures(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(images, split) from prepare_data.py's pictures.npz or its lossless-WebP copy (compact_data.py)."""
    data = np.load(path)
    if "images" in data.files:
        return data["images"], data["split"]
    blob, offsets = data["blob"].tobytes(), data["offsets"]
    images = np.stack(
        [np.asarray(Image.open(io.BytesIO(blob[a:b])).convert("RGB")) for a, b in itertools.pairwise(offsets)]
    )
    return images, data["split"]


def learning_rate(progress: float, peak: float) -> float:
    warm = min(1.0, progress / 0.03)
    return peak * warm * (0.5 * (1 + np.cos(np.pi * min(progress, 1.0))) * 0.95 + 0.05)


def train(args: argparse.Namespace) -> None:
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu":
        torch.set_num_threads(args.threads)
    images, split = load_pictures(args.data)
    train_pictures, test_pictures = images[split == 0], images[split == 1]
    args.ckpt.mkdir(parents=True, exist_ok=True)
    last = args.ckpt / "last.pt"
    earlier = last if last.exists() else args.init_from  # a resumed or warm-started run
    # Our own checkpoints, tensors only; loaded once for their widths and their weights.
    state = torch.load(earlier, map_location=device, weights_only=True) if earlier else {}
    widths = tuple(state.get("widths", FIRST_WIDTHS)) if earlier else (args.widths or WIDTHS)
    model = Colorizer(widths).to(device)
    optimiser = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    step, elapsed = 0, 0.0
    if last.exists():
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        step, elapsed = int(state["step"]), float(state["elapsed"])
        log(f"resumed at step {step} after {elapsed / 60:.1f} min")
    elif args.init_from:
        # Warm start from an earlier run whose class embedding lacked the rank input: that input's
        # weights start at zero, so the network begins exactly where the earlier one stopped.
        state = state["model"]
        first = state["embed.0.weight"]
        if first.shape[1] == 5:
            state["embed.0.weight"] = torch.cat([first, torch.zeros(first.shape[0], 1)], 1)
        state["flags"] = model.flags
        model.load_state_dict(state)
        log(
            f"start from {args.init_from}: {len(train_pictures)} train / {len(test_pictures)} held-out pictures, "
            f"batch {args.batch}, crop {args.crop}, budget {args.minutes} min, device {device}, "
            f"{args.workers} data workers"
        )
    else:
        params = sum(p.numel() for p in model.parameters())
        log(
            f"start: widths {widths}, {params} parameters, {len(train_pictures)} train / {len(test_pictures)} "
            f"held-out pictures, batch {args.batch}, crop {args.crop}, budget {args.minutes} min, device {device}, "
            f"{args.workers} data workers"
        )
    budget = args.minutes * 60.0
    stream = torch.utils.data.DataLoader(
        Batches(train_pictures, 1000 + step, args.batch, args.crop),
        batch_size=None,
        num_workers=args.workers,
        prefetch_factor=4 if args.workers else None,
        persistent_workers=bool(args.workers),
    )
    batches = iter(stream)
    held_out = held_out_batch(test_pictures)
    criterion = nn.CrossEntropyLoss(reduction="none")
    started, saved, running = time.monotonic() - elapsed, time.monotonic(), []
    while (elapsed := time.monotonic() - started) < budget:
        for group in optimiser.param_groups:
            group["lr"] = float(learning_rate(elapsed / budget, args.lr))
        feeds, target, weight = next(batches)
        feeds = {k: v.to(device) for k, v in feeds.items()}
        model.train()
        logits = model(**feeds)
        loss = (criterion(logits, target.to(device)) * weight.to(device)).sum() / weight.sum().to(device)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        step += 1
        running.append(loss.item())
        if step % 25 == 0:
            lr = optimiser.param_groups[0]["lr"]
            log(f"step {step} {elapsed / 60:.1f} min loss {np.mean(running):.4f} lr {lr:.2e}")
            running = []
        if time.monotonic() - saved > 300:
            save(model, optimiser, step, elapsed, last)
            saved = time.monotonic()
        if step % args.validate_every == 0:
            log(f"step {step} held-out fill accuracy {validate(model, held_out, device):.3f}")
    save(model, optimiser, step, time.monotonic() - started, last)
    log(
        f"stopped at step {step} after {(time.monotonic() - started) / 60:.1f} min; "
        f"held-out fill accuracy {validate(model, held_out, device):.3f}"
    )


def save(model: nn.Module, optimiser: torch.optim.Optimizer, step: int, elapsed: float, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    state = {"model": model.state_dict(), "optimiser": optimiser.state_dict(), "step": step, "elapsed": elapsed}
    device = next(model.parameters()).device
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else "a shared CPU"
    torch.save({**state, "widths": list(model.widths), "device": where}, tmp)
    tmp.replace(path)


def held_out_batch(pictures: np.ndarray, count: int = 48):
    """A fixed batch of held-out samples (made once: the same seed gives the same batch every time)."""
    return batch(pictures[:count], np.random.default_rng(7), count, 128, augment=False)


@torch.no_grad()
def validate(model: nn.Module, held_out, device: str) -> float:
    """Per-pixel class accuracy on fill pixels of the fixed held-out batch (no region vote)."""
    model.eval()
    feeds, target, weight = held_out
    predicted = model(**{k: v.to(device) for k, v in feeds.items()}).argmax(1).cpu()
    fill = weight > 2.5
    return float((predicted == target)[fill].float().mean())


def export(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(HERE.parents[1] / "desktop"))
    from atelier.engine.packs import write_manifest

    torch.set_num_threads(1)
    state = torch.load(args.ckpt / "last.pt", map_location="cpu", weights_only=True)
    model = Colorizer(tuple(state.get("widths", FIRST_WIDTHS)))
    model.load_state_dict(state["model"])
    model.eval()
    h = w = 64
    example = (
        torch.zeros(1, 7, h, w),
        torch.zeros(1, N_CLASSES, h, w),
        torch.zeros(1, N_CLASSES, 3),
        torch.ones(1, N_CLASSES),
    )
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / "colorizer.onnx"
    spatial = {0: "batch", 2: "height", 3: "width"}
    torch.onnx.export(
        model,
        example,
        str(out),
        dynamo=False,
        opset_version=17,
        input_names=["image", "hint_classes", "colours", "valid"],
        output_names=["logits"],
        dynamic_axes={
            "image": spatial,
            "hint_classes": spatial,
            "colours": {0: "batch"},
            "valid": {0: "batch"},
            "logits": spatial,
        },
    )
    meta = {
        "id": "atelier-colorizer",
        "name": "Palette colorizer (line art to flat colour)",
        "kind": "colorize",
        "version": "1",
        "licence": "MIT (weights trained here from public-domain clip art and OFL-licensed Noto emoji)",
        "source": "Trained by models/colorizer/train.py on openclipart-png and fonts-noto-color-emoji; "
        f"{state['step']} steps, {state['elapsed'] / 60:.0f} min on {state.get('device', 'a shared CPU')}.",
        "providers": ["CUDAExecutionProvider", "DmlExecutionProvider", "CoreMLExecutionProvider"],
        "components": {"model": "colorizer.onnx"},
        "size_multiple": 2 ** (len(model.widths) - 1),
        "work_size": {"preview": 192, "full": 192},
    }
    write_manifest(args.out, meta, ["colorizer.onnx"])
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB) and pack.json")


def main() -> int:
    parser = argparse.ArgumentParser(description="Train or export the colorizer.")
    parser.add_argument("--data", type=Path, default=Path("/tmp/colorizer-data/pictures.npz"))
    parser.add_argument("--ckpt", type=Path, default=Path("/tmp/colorizer-ckpt"))
    parser.add_argument("--minutes", type=float, default=60.0, help="total wall-clock budget, resumes included")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--crop", type=int, default=96)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument(
        "--widths", type=lambda text: tuple(int(v) for v in text.split(",")), help="U-Net widths, e.g. 8,16,32,64,96"
    )
    parser.add_argument("--workers", type=int, default=0, help="processes making batches beside training")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for the network (1: shared machine)")
    parser.add_argument("--validate-every", type=int, default=200, help="steps between held-out checks")
    parser.add_argument("--init-from", type=Path, help="warm start from another run's last.pt")
    parser.add_argument("--export", action="store_true")
    parser.add_argument("--out", type=Path, default=HERE, help="where --export writes the pack")
    args = parser.parse_args()
    if args.export:
        export(args)
    else:
        train(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
