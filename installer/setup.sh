#!/usr/bin/env bash
# Set up Atelier in ./.venv on a fresh machine (Python >= 3.11 and the package registries only).
#   bash installer/setup.sh app    runtime + model-building extras (first-use conversions need torch CPU)
#   bash installer/setup.sh test   the same plus the test and lint tools
# System libraries (PortAudio for sound, the libraries Qt's X11 plugin needs, Xvfb for tests) are
# installed with apt-get when running as root on Debian/Ubuntu; otherwise the exact command is printed.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-app}"

python_bin="${PYTHON:-}"
if [ -z "$python_bin" ]; then
  for candidate in python3.11 python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
      python_bin="$candidate"; break
    fi
  done
fi
if [ -z "$python_bin" ]; then
  echo "setup: Atelier needs Python 3.11 or newer; install it (Debian/Ubuntu: sudo apt-get install python3.11 python3.11-venv)." >&2
  exit 1
fi

system_packages=(libportaudio2 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-render-util0
  libxcb-xkb1 libxkbcommon-x11-0 libxcb-shape0 libxcb-xinerama0 libxcb-randr0 libegl1 libgl1 libfontconfig1
  libdbus-1-3)
[ "$mode" = test ] && system_packages+=(xvfb)
if command -v dpkg-query >/dev/null 2>&1; then
  missing=()
  for package in "${system_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "setup: installing system libraries: ${missing[*]}"
      apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
      echo "setup: Atelier needs these system libraries; install them with:" >&2
      echo "  sudo apt-get install ${missing[*]}" >&2
    fi
  fi
fi

[ -x .venv/bin/python ] || "$python_bin" -m venv .venv
pip=(.venv/bin/python -m pip --disable-pip-version-check -q)
"${pip[@]}" install --upgrade pip >/dev/null
# torch first and pinned: a looser request would pull a multi-GB CUDA build.
"${pip[@]}" install "torch==2.13.0"
if [ "$mode" = test ]; then
  "${pip[@]}" install -e ".[build,dev,server,credentials]"
else
  "${pip[@]}" install -e ".[build]"
fi
# Packages whose declared dependencies cannot be installed here but which work without them.
if [ -f installer/no-deps.txt ]; then
  "${pip[@]}" install --no-deps -r installer/no-deps.txt
fi
echo "setup: done ($mode). Python: $(.venv/bin/python --version)"
