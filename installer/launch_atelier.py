"""Entry script for the PyInstaller bundle: the same `atelier` command as the console script."""

import contextlib
import sys
from pathlib import Path

from atelier.cli import main


def preload_cuda_libraries() -> None:
    """The GPU bundle carries the CUDA and cuDNN libraries of the nvidia wheels under nvidia/, where
    onnxruntime.preload_dlls() looks (beside onnxruntime/); loading them before the first session lets the
    CUDA provider start on a machine without a CUDA toolkit. A CPU bundle has no nvidia/ and skips this."""
    if not (Path(getattr(sys, "_MEIPASS", "")) / "nvidia").is_dir():
        return
    from atelier.engine.offline_runtime import ort

    preload = getattr(ort, "preload_dlls", None)
    if preload is None:
        return
    # preload_dlls prints its failures to stdout, which would corrupt `--json` output; doctor reports
    # what really loaded, so its messages go to stderr.
    with contextlib.redirect_stdout(sys.stderr):
        try:
            preload()
        except Exception as exc:  # a failed preload leaves the CPU, and doctor says why
            print(f"atelier: could not preload the CUDA libraries: {exc}", file=sys.stderr)


if __name__ == "__main__":
    preload_cuda_libraries()
    sys.exit(main())
