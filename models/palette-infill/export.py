"""Export the trained palette model to ONNX and write the pack manifest (sha256 of every file).

Run: PYTHONPATH=desktop python models/palette-infill/export.py [--ckpt /tmp/palette-infill-ckpt]
The graph takes (colors B x N x 3 OKLab, known B x N, present B x N) and returns the codebook logits
for every slot and the codebook itself, so the runtime needs nothing but the pack.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from network import ExportedInfill, NetworkConfig, PaletteInfill  # noqa: E402

from atelier.core.color.spaces import delta_e_2000, oklab_to_rgb, rgb_to_cielab  # noqa: E402
from atelier.engine.packs import write_manifest  # noqa: E402

ONNX_NAME = "palette_infill.onnx"
MAX_BYTES = 5_000_000
OUTPUTS = ["logits", "codebook", "codebook_de"]


def name_outputs(path: Path, names: list[str]) -> None:
    """The exporter folds a constant output into an initializer and keeps the initializer's number as the
    output's name; an Identity node gives each output the name the runtime asks for."""
    import onnx

    model = onnx.load(str(path))
    for output, name in zip(model.graph.output, names, strict=True):
        if output.name != name:
            model.graph.node.append(onnx.helper.make_node("Identity", [output.name], [name]))
            output.name = name
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def load_model(ckpt: Path) -> PaletteInfill:
    state = json.loads((ckpt / "state.json").read_text())
    model = PaletteInfill(NetworkConfig(**state["config"]))
    tensors = load_file(str(ckpt / "latest.safetensors"))
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    return model.eval()


def check_parity(model: PaletteInfill, path: Path) -> float:
    """ONNX Runtime and torch agree on random palettes of several sizes (with padding)."""
    import onnxruntime as ort

    model = model.eval()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    worst = 0.0
    for slots in (1, 3, 5, 8, 12):
        colors = np.stack([rng.uniform(0, 1, (4, slots)), *rng.uniform(-0.2, 0.2, (2, 4, slots))], -1)
        known = (rng.uniform(size=(4, slots)) < 0.6).astype(np.float32)
        present = np.ones((4, slots), np.float32)
        present[0, slots // 2 + 1 :] = 0
        feeds = {"colors": colors.astype(np.float32), "known": known, "present": present}
        logits, codebook, pairwise = session.run(None, feeds)
        with torch.no_grad():
            expected = model(*(torch.from_numpy(feeds[k]) for k in ("colors", "known", "present"))).numpy()
        keep = present > 0
        worst = max(worst, float(np.abs(logits[keep] - expected[keep]).max()))
        assert np.allclose(codebook, model.codebook.numpy()) and np.allclose(pairwise, codebook_de(model))
    if worst > 1e-3:
        raise SystemExit(f"ONNX and torch differ by {worst} in logits")
    return worst


def codebook_de(model: PaletteInfill) -> np.ndarray:
    """CIEDE2000 between every two codebook colours, as 8-bit sRGB (what the runtime shows and compares)."""
    lab = rgb_to_cielab(oklab_to_rgb(model.codebook.numpy().astype(np.float64)))
    return delta_e_2000(lab[:, None, :], lab[None, :, :]).astype(np.float32)


def export_pack(ckpt: Path, folder: Path = HERE) -> Path:
    torch.set_num_threads(1)
    model = load_model(ckpt)
    state = json.loads((ckpt / "state.json").read_text())
    target = folder / ONNX_NAME
    feeds = (torch.zeros(2, 5, 3), torch.ones(2, 5), torch.ones(2, 5))
    torch.onnx.export(
        ExportedInfill(model, torch.from_numpy(codebook_de(model))).eval(),
        feeds,
        str(target),
        input_names=["colors", "known", "present"],
        output_names=OUTPUTS,
        dynamic_axes={
            "colors": {0: "batch", 1: "slots"},
            "known": {0: "batch", 1: "slots"},
            "present": {0: "batch", 1: "slots"},
            "logits": {0: "batch", 1: "slots"},
        },
        opset_version=17,
        dynamo=False,
    )
    name_outputs(target, OUTPUTS)
    size = target.stat().st_size
    if size > MAX_BYTES:
        raise SystemExit(f"{target} is {size / 1e6:.2f} MB; the limit is {MAX_BYTES / 1e6:.0f} MB")
    error = check_parity(model, target)
    cpu_minutes, minutes = state["cpu"] / 60, state["elapsed"] / 60
    meta = {
        "id": "atelier-palette-infill",
        "name": "Palette infill (masked-palette transformer over OKLab)",
        "kind": "palette-infill",
        "version": "1",
        "licence": "MIT (weights trained here; data: public-domain clip art, OFL emoji, GPL/LGPL application "
        "palettes, ColorBrewer (Apache-2.0-style) and CARTOColors (CC BY 3.0) palette sets; see MODEL_CARD.md)",
        "source": f"Trained by models/palette-infill/train.py on palettes built by prepare_data.py; "
        f"{state['step']} steps, {cpu_minutes:.0f} CPU minutes ({minutes:.0f} min wall time on a shared 2-core "
        "machine).",
        "providers": [],
        "components": {"model": ONNX_NAME},
        "max_threads": 1,
    }
    write_manifest(folder, meta, [ONNX_NAME])
    print(f"wrote {target} ({size / 1e6:.2f} MB, parity {error:.1e}) and pack.json")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ckpt", type=Path, default=Path("/tmp/palette-infill-ckpt"))
    args = parser.parse_args()
    export_pack(args.ckpt)


if __name__ == "__main__":
    main()
