"""Licence consent: licence classes, acceptance remembered per pack hash, the command line's --accept-licence
on a real engine, and `import-diffusers` refusing an unstated licence."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from atelier.cli.models import licensed_engine, pack_summaries_here
from atelier.core.pack_consent import (
    NON_COMMERCIAL,
    OPEN,
    RESTRICTED,
    UNKNOWN,
    ConsentStore,
    PackLicenceError,
    check_cli_consent,
    licence_class,
    licence_label,
    needs_attention,
    pack_for_request,
    pack_key,
)
from atelier.core.requests.colorize import ColorizeRequest
from atelier.core.requests.lineart import LineArtRequest
from atelier.core.requests.lyrics import LyricRequest, RhymeRequest
from atelier.core.settings import Settings, save_settings

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("licence", "kind"),
    [
        ("MIT", OPEN),
        ("MIT (weights trained here on public-domain tunes; see MODEL_CARD.md)", OPEN),
        ("see the model folder", UNKNOWN),  # what a genai folder without a manifest says
        ("Apache-2.0", OPEN),
        ("CC0-1.0", OPEN),
        ("cc-by-4.0", OPEN),
        ("BSD-3-Clause", OPEN),
        ("CC-BY-NC-4.0", NON_COMMERCIAL),
        ("cc-by-nc-sa-4.0", NON_COMMERCIAL),
        ("Non-commercial research licence", NON_COMMERCIAL),
        ("creativeml-openrail-m", RESTRICTED),
        ("llama2", RESTRICTED),
        ("", UNKNOWN),
        ("unknown", UNKNOWN),
        ("Other", UNKNOWN),
        ("my-own-terms", UNKNOWN),
    ],
)
def test_licence_classes(licence: str, kind: str) -> None:
    assert licence_class(licence) == kind
    assert needs_attention(licence) == (kind in (NON_COMMERCIAL, UNKNOWN))


def test_choosers_label_marks_what_needs_attention() -> None:
    assert licence_label("MIT") == "MIT"
    assert licence_label("CC-BY-NC-4.0") == "CC-BY-NC-4.0 — non-commercial"
    assert licence_label("unknown") == "licence unknown"
    assert licence_label("creativeml-openrail-m") == "creativeml-openrail-m"


def nc_colorizer(folder: Path) -> Path:
    """A copy of the shipped colorizer pack under another id and a non-commercial licence."""
    pack = folder / "nc-colorizer"
    shutil.copytree(REPO / "models" / "colorizer", pack)
    manifest = json.loads((pack / "pack.json").read_text())
    manifest.update(id="nc-colorizer", name="NC colorizer", licence="CC-BY-NC-4.0", source="a test copy")
    (pack / "pack.json").write_text(json.dumps(manifest, indent=2))
    return pack


def test_acceptance_is_remembered_per_pack_hash(isolated_dirs: Path) -> None:
    pack = nc_colorizer(isolated_dirs / "models")
    summary = {"id": "nc-colorizer", "kind": "colorize", "licence": "CC-BY-NC-4.0", "folder": str(pack)}
    store = ConsentStore()
    assert not store.is_accepted(summary)
    store.accept(summary)
    assert ConsentStore().is_accepted(summary)  # a new store (another run) reads it back
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert store.path.parent == isolated_dirs / "data"
    assert str(pack) not in store.path.read_text()  # ids and hashes only, no paths
    # Changing the pack's manifest (here its licence) is another pack: asked again.
    manifest = json.loads((pack / "pack.json").read_text())
    manifest["licence"] = "CC-BY-NC-SA-4.0"
    (pack / "pack.json").write_text(json.dumps(manifest))
    assert not ConsentStore().is_accepted(summary)
    # A pack not built yet is known by its description.
    pending = {"id": "smollm2", "kind": "llm", "licence": "Apache-2.0", "source": "PyPI", "folder": ""}
    assert pack_key(pending) == pack_key(dict(pending)) != pack_key({**pending, "licence": "MIT"})


def test_the_pack_a_request_runs(isolated_dirs: Path) -> None:
    summaries = [
        {"id": "sd-a", "kind": "diffusion", "licence": "unknown", "folder": ""},
        {"id": "lines", "kind": "lineart", "licence": "MIT", "folder": ""},
        {"id": "llm-b", "kind": "llm", "licence": "Apache-2.0", "folder": ""},
        {"id": "llm-c", "kind": "llm", "licence": "llama2", "folder": ""},
    ]
    picture = np.zeros((16, 16, 3), np.uint8)
    assert pack_for_request(LineArtRequest(image=picture), summaries)["id"] == "lines"
    assert pack_for_request(LyricRequest(prompt="rain"), summaries)["id"] == "llm-b"  # the engine's default: first
    assert pack_for_request(LyricRequest(prompt="rain", pack_id="llm-c"), summaries)["id"] == "llm-c"
    assert pack_for_request(RhymeRequest(word="rain"), summaries) is None  # no model pack
    folder = isolated_dirs / "my onnx folder"
    folder.mkdir()
    chosen = pack_for_request(LyricRequest(prompt="x", pack_id=str(folder)), summaries)
    assert chosen is not None and (chosen["id"], chosen["licence"]) == ("my onnx folder", "unknown")


def colorize_request(pack_id: str) -> ColorizeRequest:
    lines = np.full((48, 48), 255, np.uint8)
    lines[10:12, :] = 0
    return ColorizeRequest(lines=lines, palette=("#223344", "#dd8844", "#eeeeee"), pack_id=pack_id, origin="cli")


def test_cli_needs_accept_licence_once_for_a_non_open_pack(isolated_dirs: Path, capsys) -> None:
    from atelier.engine.runner import Engine

    models = isolated_dirs / "models"
    nc_colorizer(models)
    settings = Settings(models_folder=str(models), threads=1)
    save_settings(settings)  # the command line finds packs through the user's settings, as here
    engine = Engine(settings)
    asking = argparse.Namespace(server=None, accept_licence=False)
    with pytest.raises(PackLicenceError) as refused:
        licensed_engine(engine, asking).run_to_end(colorize_request("nc-colorizer"))
    message = refused.value.user_message()
    assert "'CC-BY-NC-4.0'" in message and "Non-commercial" in message and "a test copy" in message
    assert "--accept-licence" in message
    # The shipped colorizer is MIT: it runs without asking.
    assert licensed_engine(engine, asking).run_to_end(colorize_request("atelier-colorizer")).kind == "colorize"
    accepting = argparse.Namespace(server=None, accept_licence=True)
    assert licensed_engine(engine, accepting).run_to_end(colorize_request("nc-colorizer")).kind == "colorize"
    assert "Accepted (remembered for this pack)" in capsys.readouterr().err
    # Remembered: the next run needs no flag and prints nothing.
    assert licensed_engine(engine, asking).run_to_end(colorize_request("nc-colorizer")).kind == "colorize"
    assert capsys.readouterr().err == ""
    assert any(s["id"] == "nc-colorizer" for s in pack_summaries_here())


def test_check_cli_consent_passes_open_and_unpacked_requests(isolated_dirs: Path) -> None:
    summaries = [{"id": "lines", "kind": "lineart", "licence": "MIT", "folder": ""}]
    assert check_cli_consent(LineArtRequest(image=np.zeros((16, 16, 3), np.uint8)), summaries, False) == ""
    assert check_cli_consent(RhymeRequest(word="rain"), summaries, False) == ""
    assert not (isolated_dirs / "data" / "accepted-packs.json").exists()  # nothing to remember


def atelier(*args: str, env_dir: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ATELIER_DATA_DIR": str(env_dir / "data"), "ATELIER_CONFIG_DIR": str(env_dir / "config")}
    return subprocess.run(
        [sys.executable, "-m", "atelier", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        input=stdin,
    )


def test_import_diffusers_refuses_an_unstated_licence(isolated_dirs: Path) -> None:
    checkpoint = isolated_dirs / "model.safetensors"
    checkpoint.write_bytes(b"not really a checkpoint")
    # No --licence and no terminal to ask on: refused before any conversion starts.
    refused = atelier("models", "import-diffusers", str(checkpoint), env_dir=isolated_dirs, stdin="")
    assert refused.returncode == 1
    assert "Which licence is this model under?" in refused.stderr
    assert "--licence unknown" in refused.stderr
    empty = atelier("models", "import-diffusers", str(checkpoint), "--licence", " ", env_dir=isolated_dirs)
    assert empty.returncode == 1 and "--licence is empty" in empty.stderr
    assert not (isolated_dirs / "data" / "models").exists()


def test_import_diffusers_takes_unknown_only_when_typed(isolated_dirs: Path) -> None:
    from atelier.cli.models import ask_licence

    assert ask_licence("creativeml-openrail-m") == "creativeml-openrail-m"
    assert ask_licence("unknown") == "unknown"  # typed on purpose: taken, with a note
