#!/usr/bin/env bash
# Build the desktop bundle with PyInstaller into dist/atelier/ (run after installer/setup.sh app).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m pip install -q "pyinstaller>=6"
.venv/bin/python -m PyInstaller --noconfirm --clean installer/atelier.spec
# The bundle must find its own packs and report its providers without a display.
QT_QPA_PLATFORM=offscreen dist/atelier/atelier doctor --json > dist/doctor.json
echo "bundle: dist/atelier ($(du -sh dist/atelier | cut -f1)); doctor report in dist/doctor.json"
