#!/usr/bin/env bash
# Build the desktop bundle with PyInstaller into dist/atelier/ (run after installer/setup.sh app).
#   bash installer/build_bundle.sh          CPU bundle
#   bash installer/build_bundle.sh --gpu    NVIDIA bundle: run installer/gpu/setup_gpu.sh first (it swaps the
#                                           CPU onnxruntime packages for the CUDA ones in .venv)
# Steps: ready the first-use packs (converted once, then reused from the cache keyed by their inputs'
# hash), PyInstaller, then installer/check_bundle.py (no torch & co inside, every default pack verified),
# then doctor from the bundle itself. The check records the inputs' hash in dist/atelier.inputs.json.
set -euo pipefail
cd "$(dirname "$0")/.."
flavour=cpu
for arg in "$@"; do
  case "$arg" in
    --gpu) flavour=gpu ;;
    -h|--help) sed -n 2,8p "$0"; exit 0 ;;
    *) echo "build_bundle.sh: unknown option $arg (use --gpu or nothing)" >&2; exit 2 ;;
  esac
done
python=.venv/bin/python
if [ "$flavour" = gpu ] && ! "$python" -c "import onnxruntime, sys; sys.exit('CUDAExecutionProvider' not in onnxruntime.get_available_providers())"; then
  echo "build_bundle.sh: .venv has no CUDA onnxruntime; run bash installer/gpu/setup_gpu.sh first." >&2
  exit 1
fi
"$python" -m PyInstaller --version >/dev/null 2>&1 || "$python" -m pip install -q "pyinstaller==6.22.3"
started=$(date +%s)
"$python" installer/bundle_packs.py --out build/bundle-packs.json
ATELIER_BUNDLE_FLAVOUR=$flavour ATELIER_BUNDLE_PACKS=build/bundle-packs.json \
  "$python" -m PyInstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build/pyinstaller \
  installer/atelier.spec
"$python" installer/check_bundle.py dist/atelier --stamp "$flavour"
# The bundle must find its own packs and report its providers without a display. Its own HOME-free cache
# would hash every pack file once; that is the point: what a first start does.
QT_QPA_PLATFORM=offscreen dist/atelier/atelier doctor --json > dist/doctor.json
echo "bundle ($flavour): dist/atelier ($(du -sh dist/atelier | cut -f1)) in $(( $(date +%s) - started )) s;" \
  "doctor report in dist/doctor.json"
