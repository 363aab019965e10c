#!/usr/bin/env bash
# Build Atelier for macOS (Apple silicon): Atelier.app with ONNX Runtime's CoreML provider, checked, in a .dmg.
#   bash installer/macos/build.sh
# Needs Python 3.11 (python.org or Homebrew) and the Xcode command-line tools (codesign, hdiutil). Output:
#   dist/Atelier.app, dist/doctor.json, dist/self-test.json, dist/atelier-<version>-macos-arm64.dmg
# The app is signed ad hoc, not notarized: a Developer ID and notarization need an Apple account (see
# installer/README.md). Not run here (written on Linux): .github/workflows/installers.yml runs it on macos-14.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(uname -s)" = Darwin ] || { echo "macos/build.sh: run this on macOS" >&2; exit 1; }
version="$(sed -n 's/^version = "\(.*\)"$/\1/p' pyproject.toml | head -n 1)"
python_bin="${PYTHON:-python3.11}"
[ -x .venv/bin/python ] || "$python_bin" -m venv .venv
pip=(.venv/bin/python -m pip --disable-pip-version-check -q)
"${pip[@]}" install --upgrade pip
# torch only to convert the first-use packs before bundling; the bundle excludes it.
"${pip[@]}" install "torch==2.13.0"
"${pip[@]}" install -e ".[build]"
"${pip[@]}" install --no-deps -r installer/no-deps.txt
"${pip[@]}" install "pyinstaller==6.22.3"
.venv/bin/python -c "import onnxruntime as o, sys; p = o.get_available_providers(); print('providers:', p); sys.exit('CoreMLExecutionProvider' not in p)"

if [ -f installer/bundle_packs.py ]; then
  .venv/bin/python installer/bundle_packs.py --out build/bundle-packs.json
  export ATELIER_BUNDLE_PACKS="$PWD/build/bundle-packs.json"
fi
ATELIER_BUNDLE_FLAVOUR=cpu .venv/bin/python -m PyInstaller --noconfirm --clean --log-level WARN --distpath dist \
  --workpath build/pyinstaller-macos installer/macos/atelier.spec
binary=dist/Atelier.app/Contents/MacOS/atelier
[ -x "$binary" ] || { echo "macos/build.sh: $binary is missing" >&2; exit 1; }
# PyInstaller keeps the plain folder beside the .app; the checks and the .dmg use the .app.
[ -f installer/check_bundle.py ] && .venv/bin/python installer/check_bundle.py dist/atelier
# Apple silicon refuses unsigned code: an ad hoc signature by default; with a Developer ID in
# ATELIER_CODESIGN_IDENTITY, the hardened runtime that notarization requires, with the entitlements Python needs.
if [ -n "${ATELIER_CODESIGN_IDENTITY:-}" ]; then
  codesign --force --deep --timestamp --options runtime --entitlements installer/macos/entitlements.plist \
    --sign "$ATELIER_CODESIGN_IDENTITY" dist/Atelier.app
else
  codesign --force --deep --sign - dist/Atelier.app
fi
codesign --verify --deep --strict dist/Atelier.app

# The app itself, with no Python on PATH: its doctor must list CoreML, its self-test must pass.
env -i HOME="$HOME" PATH=/usr/bin:/bin QT_QPA_PLATFORM=offscreen "$binary" doctor --json > dist/doctor.json
grep -q '"CoreMLExecutionProvider"' dist/doctor.json || { echo "macos/build.sh: the app's onnxruntime has no CoreML provider" >&2; exit 1; }
if "$binary" --help 2>&1 | grep -q -- --self-test; then
  env -i HOME="$HOME" PATH=/usr/bin:/bin QT_QPA_PLATFORM=offscreen "$binary" --self-test --report "$PWD/dist/self-test.json"
else
  echo "macos/build.sh: --self-test is missing from this build" >&2; exit 1
fi

# The disk image: the app and a link to /Applications to drag it onto.
staging="$(mktemp -d)"
trap 'rm -rf "$staging"' EXIT
cp -R dist/Atelier.app "$staging/"
ln -s /Applications "$staging/Applications"
dmg="dist/atelier-$version-macos-arm64.dmg"
rm -f "$dmg"
hdiutil create -volname "Atelier $version" -srcfolder "$staging" -fs HFS+ -format UDZO -imagekey zlib-level=9 "$dmg"
echo "macos/build.sh: $dmg ($(du -h "$dmg" | cut -f1))"
