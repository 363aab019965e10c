"""Export the trained melody GRU as a one-note-per-call ONNX model and write the pack manifest.

Run: PYTHONPATH=desktop python models/melody/export.py [--weights /tmp/melody-ckpt/best.safetensors]
The step model takes the GRU state in and returns it, so sampling a note is one small run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
from melody_model import MelodyModel, MelodyStep, ModelConfig

from atelier.core.music import (
    DURATIONS,
    METERS,
    MODES,
    PITCH_HIGH,
    PITCH_LOW,
    START_TOKEN,
)
from atelier.engine.packs import write_manifest

HERE = Path(__file__).resolve().parent
ONNX_NAME = "melody_step.onnx"
INPUTS = ["prev_pitch", "duration", "strength", "phrase_end", "mode", "meter", "hidden"]


def load_model(weights: Path, config: ModelConfig) -> MelodyModel:
    model = MelodyModel(config)
    model.load_state_dict(load_file(str(weights)))
    return model.eval()


def export_pack(weights: Path, config: ModelConfig, folder: Path = HERE) -> Path:
    torch.set_num_threads(1)
    model = load_model(weights, config)
    step = MelodyStep(model).eval()
    batch = 2
    feeds = (
        *(torch.zeros(batch, dtype=torch.int64) for _ in range(6)),
        torch.zeros(config.layers, batch, config.hidden),
    )
    target = folder / ONNX_NAME
    torch.onnx.export(
        step,
        feeds,
        str(target),
        input_names=INPUTS,
        output_names=["log_probs", "hidden_out"],
        dynamic_axes={
            **{name: {0: "batch"} for name in INPUTS[:-1]},
            "hidden": {1: "batch"},
            "hidden_out": {1: "batch"},
        },
        opset_version=17,
        dynamo=False,
    )
    meta = {
        "id": "atelier-melody",
        "name": "Melody for lyrics (GRU trained on public-domain folk tunes)",
        "kind": "melody",
        "version": "1",
        "licence": "MIT (weights trained here on public-domain tunes; see MODEL_CARD.md)",
        "source": "Trained by models/melody/train.py on the music21 corpus collections oneills1850, "
        "ryansMammoth, airdsAirs and miscFolk; exported by models/melody/export.py.",
        "providers": [],
        "components": {"step": ONNX_NAME},
        "tokens": {
            "pitch_low": PITCH_LOW,
            "pitch_high": PITCH_HIGH,
            "start_token": START_TOKEN,
            "durations": [str(d) for d in DURATIONS],
            "modes": list(MODES),
            "meters": list(METERS),
        },
        "hidden_shape": [config.layers, config.hidden],
        "max_threads": 1,
    }
    check_parity(model, target, config)
    write_manifest(folder, meta, [ONNX_NAME])
    size = target.stat().st_size
    print(f"wrote {target} ({size / 1e6:.2f} MB) and pack.json")
    return target


def check_parity(model: MelodyModel, path: Path, config: ModelConfig, steps: int = 24) -> None:
    """The ONNX step model, run note by note with 3 rows, must match the torch sequence model."""
    import numpy as np
    import onnxruntime as ort

    generator = torch.Generator().manual_seed(0)
    batch = 3

    def tokens(high: int) -> torch.Tensor:
        return torch.randint(0, high, (batch, steps), generator=generator)

    inputs = [tokens(38), tokens(9), tokens(4), tokens(2)]
    mode, meter = tokens(4)[:, :1], tokens(7)[:, :1]
    with torch.no_grad():
        logits, _ = model(*inputs, mode, meter)
        expected = torch.log_softmax(logits, dim=-1).numpy()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    hidden = np.zeros((config.layers, batch, config.hidden), np.float32)
    for t in range(steps):
        feeds = {name: inputs[i][:, t].numpy() for i, name in enumerate(INPUTS[:4])}
        feeds |= {"mode": mode[:, 0].numpy(), "meter": meter[:, 0].numpy(), "hidden": hidden}
        log_probs, hidden = session.run(None, feeds)
        error = float(np.abs(log_probs - expected[:, t]).max())
        if error > 1e-3:
            raise SystemExit(f"ONNX step model differs from torch at step {t} by {error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--weights", default="/tmp/melody-ckpt/best.safetensors")
    args = parser.parse_args()
    export_pack(Path(args.weights), ModelConfig())


if __name__ == "__main__":
    main()
