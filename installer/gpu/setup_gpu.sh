#!/usr/bin/env bash
# Switch Atelier's environment (.venv) to the NVIDIA GPU runtime, correctly:
#   onnxruntime-gpu[cuda,cudnn]==1.31.1 and onnxruntime-genai-cuda==0.18.0 replace BOTH CPU packages,
#   onnxruntime and onnxruntime-genai. (Swapping only onnxruntime leaves onnxruntime-genai on the CPU
#   package, whose dependency brings the CPU onnxruntime back on the next install; the two onnxruntime
#   packages write the same module folder, so whichever came last wins and removing one breaks the other.)
# Needs: an NVIDIA driver 580 or newer (onnxruntime-gpu 1.31 is built for CUDA 13). The CUDA and cuDNN
# libraries come from the nvidia wheels the [cuda,cudnn] extras install (about 2.5 GB); no CUDA toolkit is
# needed. Never installs torch. Undo: bash installer/gpu/setup_gpu.sh --cpu
#   bash installer/gpu/setup_gpu.sh [--cpu] [--force]   (--force: skip the driver check)
set -euo pipefail
cd "$(dirname "$0")/../.."
python=${ATELIER_PYTHON:-.venv/bin/python}
ORT_GPU="onnxruntime-gpu[cuda,cudnn]==1.31.1"
GENAI_GPU="onnxruntime-genai-cuda==0.18.0"
MIN_DRIVER=580
mode=gpu force=0
for arg in "$@"; do
  case "$arg" in
    --cpu) mode=cpu ;;
    --force) force=1 ;;
    -h|--help) sed -n 2,10p "$0"; exit 0 ;;
    *) echo "setup_gpu.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done
[ -x "$python" ] || { echo "setup_gpu.sh: no $python; run bash installer/setup.sh app first." >&2; exit 1; }
pip() { "$python" -m pip "$@"; }
installed() { pip show "$1" >/dev/null 2>&1; }

if [ "$mode" = cpu ]; then
  pip uninstall -y onnxruntime-gpu onnxruntime-genai-cuda >/dev/null 2>&1 || true
  # --force-reinstall: uninstalling onnxruntime-gpu removed the module folder the CPU package shares.
  pip install -q --force-reinstall --no-deps "onnxruntime==1.31.1" "onnxruntime-genai==0.18.0"
  "$python" -m atelier doctor --no-smoke
  exit 0
fi

if [ "$force" = 0 ]; then
  if ! command -v nvidia-smi >/dev/null 2>&1; then
    echo "setup_gpu.sh: no NVIDIA driver found (nvidia-smi is missing). Install the NVIDIA driver $MIN_DRIVER or newer," >&2
    echo "  then run this again (or --force to install the GPU packages anyway)." >&2
    exit 1
  fi
  driver=$(nvidia-smi --query-gpu=driver_version --format=csv,noheader | head -n1 | tr -d ' ')
  if [ "${driver%%.*}" -lt "$MIN_DRIVER" ] 2>/dev/null; then
    echo "setup_gpu.sh: NVIDIA driver $driver is too old: onnxruntime-gpu 1.31 is built for CUDA 13, which needs" >&2
    echo "  driver $MIN_DRIVER or newer. Update the driver (or --force)." >&2
    exit 1
  fi
  echo "NVIDIA driver $driver"
fi

# Both CPU packages go first, then the GPU pair; pip never sees the CPU onnxruntime as satisfying anything.
pip uninstall -y onnxruntime onnxruntime-genai onnxruntime-directml onnxruntime-genai-directml >/dev/null 2>&1 || true
pip install -q "$ORT_GPU" "$GENAI_GPU"
if installed onnxruntime || installed onnxruntime-genai; then
  # Something (an extra, a stale constraint) brought a CPU package back: remove it and restore the GPU
  # files it shares a folder with.
  echo "setup_gpu.sh: a CPU onnxruntime package came back; removing it." >&2
  pip uninstall -y onnxruntime onnxruntime-genai >/dev/null
  pip install -q --force-reinstall --no-deps "onnxruntime-gpu==1.31.1" "$GENAI_GPU"
fi
pip check >/dev/null || pip check || true
# What really loads (doctor starts a session on each provider and says why one does not).
"$python" - <<'PY'
from atelier.engine.offline_runtime import ort

ort.preload_dlls()  # the CUDA and cuDNN libraries from the nvidia wheels, before the first session
from atelier.engine.doctor import provider_checks

for check in provider_checks():
    print(f"{check['label']:<16} {'loads' if check['loads'] else 'does not load: ' + check['reason']}")
    if "language_model" in check:
        print(f"{'':<16} {check['language_model']}")
PY
echo "Done. Build the GPU bundle with: bash installer/build_bundle.sh --gpu"
