#!/usr/bin/env bash
# Smoke-test Atelier's Linux package as an artist gets it, on this machine:
#   bash installer/smoke.sh [--tarball] [--keep] [--no-build] [--out DIR]
# Builds (or reuses) the packages with installer/build.sh linux, installs the .deb with apt-get (root needed;
# removed again afterwards unless --keep or it was installed before) or, with --tarball, unpacks the tarball
# and runs its install.sh into a clean HOME. Then, with a clean HOME, no network (a new network namespace:
# unshare -n, in which only a down loopback exists) and PATH=/usr/sbin:/usr/bin:/sbin:/bin (no Python but
# the system's): atelier doctor --json, atelier --self-test, and the window under Xvfb with a screenshot.
# Exits 0 only if every check passes. Reports land in dist/smoke/ (or --out). --no-build takes the packages
# already in dist/ as they are.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
mode=deb
keep=0
build=1
reports="$root/dist/smoke"
while [ $# -gt 0 ]; do
  case "$1" in
    --tarball) mode=tarball; shift ;;
    --keep) keep=1; shift ;;
    --no-build) build=0; shift ;;
    --out) [ $# -ge 2 ] || { echo "smoke.sh: --out needs a folder" >&2; exit 2; }; reports="$2"; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "smoke.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
done
for tool in unshare Xvfb xdotool import jq; do
  command -v "$tool" >/dev/null || { echo "smoke.sh: $tool is missing (Debian: apt-get install util-linux xvfb xdotool imagemagick jq)" >&2; exit 1; }
done
if [ "$(id -u)" != 0 ]; then
  # Both the .deb install and a new network namespace need root here.
  echo "smoke.sh: run as root (sudo bash installer/smoke.sh): apt-get install and unshare -n need it" >&2
  exit 1
fi

mkdir -p "$reports"
reports="$(cd "$reports" && pwd)"
rm -f "$reports"/*.json "$reports"/*.png "$reports"/*.log
results=()
failed=0
check() {  # check NAME OK|FAIL DETAIL
  results+=("$(printf '%-4s  %-22s %s' "$2" "$1" "$3")")
  [ "$2" = OK ] || failed=1
  printf 'smoke.sh: %-4s %-22s %s\n' "$2" "$1" "$3"
}

# -- build ---------------------------------------------------------------------------------------------------
started=$(date +%s)
[ "$build" = 0 ] || bash "$root/installer/build.sh" linux
version="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/pyproject.toml" | head -n 1)"
deb="$(ls "$root"/dist/atelier_*_amd64.deb | head -n 1)"
tarball="$root/dist/atelier-$version-linux-x86_64.tar.gz"
check build OK "$(basename "$deb") $(du -h "$deb" | cut -f1), $(basename "$tarball") $(du -h "$tarball" | cut -f1) ($(( $(date +%s) - started )) s)"

# -- a clean user ------------------------------------------------------------------------------------------
home="$(mktemp -d /tmp/atelier-smoke-home.XXXXXX)"
chmod 755 "$home"
xvfb_pid=""
installed_here=0
cleanup() {
  [ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null || true
  if [ "$installed_here" = 1 ] && [ "$keep" = 0 ]; then
    echo "smoke.sh: removing the package again (apt-get remove atelier)"
    DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq atelier >/dev/null || echo "smoke.sh: apt-get remove atelier failed" >&2
  fi
  rm -rf "$home"
}
trap cleanup EXIT
clean_path=/usr/sbin:/usr/bin:/sbin:/bin
# Everything the app runs with: no network, a fresh HOME, no variables from this shell (no venv, no PYTHONPATH).
isolated() {
  unshare -n -- env -i HOME="$home" USER=artist LOGNAME=artist LANG=C.UTF-8 PATH="$clean_path" TMPDIR="$home/tmp" "$@"
}
mkdir -p "$home/tmp"

if isolated bash -c 'exec 3<>/dev/tcp/1.1.1.1/53' 2>/dev/null; then
  check no-network FAIL "a TCP connection to 1.1.1.1:53 succeeded inside the namespace"
else
  check no-network OK "unshare -n: a TCP connection to 1.1.1.1:53 fails ('Network is unreachable')"
fi
# Each folder on PATH once (with merged /usr, /bin is /usr/bin), and the Python interpreters in it.
pythons="$(isolated bash -c 'IFS=:; for d in $PATH; do readlink -f "$d"; done | sort -u | while read -r d; do
  ls "$d" 2>/dev/null | grep -E "^python[0-9.]*$" | sed "s|^|$d/|"; done' | tr '\n' ' ')"
case " $pythons" in
  *" /usr/local/"*|*"/.venv/"*|*"/.pyenv/"*) check system-python-only FAIL "PATH has: $pythons" ;;
  *) check system-python-only OK "PATH=$clean_path (python on it: ${pythons:-none})" ;;
esac

# -- install -------------------------------------------------------------------------------------------------
if [ "$mode" = deb ]; then
  dpkg-query -W -f='${Status}' atelier 2>/dev/null | grep -q "install ok installed" && keep=1  # not ours to remove
  if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb" > "$reports/apt-install.log" 2>&1; then
    installed_here=1
    command_path=/usr/bin/atelier
    check install OK "apt-get install $(basename "$deb")"
  else
    check install FAIL "apt-get install failed: see $reports/apt-install.log"
  fi
  desktop_file=/usr/share/applications/atelier.desktop
  icon_dir=/usr/share/icons/hicolor
else
  unpacked="$home/Downloads"
  mkdir -p "$unpacked"
  tar -xzf "$tarball" -C "$unpacked"
  if isolated "$unpacked/atelier-$version-linux-x86_64/install.sh" > "$reports/install.log" 2>&1; then
    command_path="$home/.local/bin/atelier"
    check install OK "tarball unpacked and install.sh run into $home/.local"
  else
    check install FAIL "install.sh failed: see $reports/install.log"
  fi
  desktop_file="$home/.local/share/applications/atelier.desktop"
  icon_dir="$home/.local/share/icons/hicolor"
  rm -rf "$unpacked"  # the installed copy must not lean on the unpacked one
fi
if [ -z "${command_path:-}" ]; then
  printf '%s\n' "${results[@]}"; exit 1
fi
if desktop-file-validate "$desktop_file" > "$reports/desktop-file-validate.log" 2>&1; then
  icons="$(ls "$icon_dir"/*/apps/atelier.* 2>/dev/null | wc -l)"
  check menu-entry OK "$desktop_file valid; $icons icon sizes in $icon_dir"
else
  check menu-entry FAIL "desktop-file-validate: $(head -n 1 "$reports/desktop-file-validate.log")"
fi
if [ "$(head -c 4 "$(readlink -f "$command_path")" | od -An -c | tr -d ' ')" = '177ELF' ]; then
  check native-command OK "$command_path -> $(readlink -f "$command_path") (ELF, not a Python script)"
else
  check native-command FAIL "$command_path is not the bundle's executable"
fi

# -- doctor --------------------------------------------------------------------------------------------------
if isolated QT_QPA_PLATFORM=offscreen "$command_path" doctor --json > "$reports/doctor.json" 2> "$reports/doctor.log"; then
  doctor_rc=0
else
  doctor_rc=$?
fi
if jq -e . "$reports/doctor.json" >/dev/null 2>&1; then
  packs="$(jq -r '[.packs[] | "\(.id):\(if .verified then (.device // "verified") else "FAILED" end)"] | join(" ")' "$reports/doctor.json")"
  bad="$(jq -r '[.packs[] | select(.verified != true or .error != null) | .id] | join(" ")' "$reports/doctor.json")"
  providers="$(jq -r '.providers | join(",")' "$reports/doctor.json")"
  if [ "$doctor_rc" = 0 ] && [ -z "$bad" ] && [ -n "$packs" ]; then
    check doctor OK "onnxruntime $(jq -r .onnxruntime "$reports/doctor.json") [$providers]; $packs"
  else
    check doctor FAIL "exit $doctor_rc; packs failing: ${bad:-none}; $(tail -n 1 "$reports/doctor.log")"
  fi
else
  check doctor FAIL "exit $doctor_rc, no JSON: $(tail -n 1 "$reports/doctor.log")"
fi

# -- self-test -----------------------------------------------------------------------------------------------
if ! isolated QT_QPA_PLATFORM=offscreen "$command_path" --help 2>&1 | grep -q -- '--self-test'; then
  check self-test FAIL "atelier --self-test is missing from this build (issue 16 item 3 is not in the bundle yet)"
else
  started=$(date +%s)
  if isolated QT_QPA_PLATFORM=offscreen "$command_path" --self-test --report "$home/self-test.json" \
      > "$reports/self-test.log" 2>&1; then
    check self-test OK "all checks passed in $(( $(date +%s) - started )) s (report: $reports/self-test.json)"
  else
    check self-test FAIL "exit $?: $(tail -n 1 "$reports/self-test.log")"
  fi
  cp "$home/self-test.json" "$reports/self-test.json" 2>/dev/null || true
fi

# -- the window under Xvfb -----------------------------------------------------------------------------------
display_number=""
for n in $(seq 90 99); do
  [ -e "/tmp/.X11-unix/X$n" ] || [ -e "/tmp/.X$n-lock" ] || { display_number=$n; break; }
done
screenshot="$reports/window.png"
if [ -z "$display_number" ]; then
  check window FAIL "no free X display between :90 and :99"
else
  # Xvfb and the app share the network namespace: X's abstract socket belongs to it.
  cat > "$home/window.sh" <<'EOF'
set -u
Xvfb ":$1" -screen 0 1600x1000x24 -nolisten tcp >"$HOME/xvfb.log" 2>&1 &
xvfb=$!
for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X$1" ] && break; sleep 0.1; done
export DISPLAY=":$1"
start=$(date +%s.%N)
"$2" >"$HOME/app.log" 2>&1 &
app=$!
status=1
if window=$(timeout 90 xdotool search --sync --onlyvisible --class '^atelier$' 2>/dev/null | head -n 1) && [ -n "$window" ]; then
  shown=$(date +%s.%N)
  sleep 3  # let the first paint and the status bar settle
  import -window root "$3"
  echo "seconds_to_window=$(awk -v a="$start" -v b="$shown" 'BEGIN { printf "%.1f", b - a }')"
  echo "title=$(xdotool getwindowname "$window")"
  echo "geometry=$(xdotool getwindowgeometry "$window" | sed -n 's/ *Geometry: //p')"
  # The icon the window hands to the desktop: _NET_WM_ICON holds each size as width, height, pixels.
  if command -v xprop >/dev/null; then
    echo "wm_class=$(xprop -id "$window" WM_CLASS | sed 's/.*= //')"
    echo "icon_sizes=$(xprop -id "$window" -notype 32c _NET_WM_ICON | tr -d ' ' | sed 's/^_NET_WM_ICON=//' \
      | awk -F, '{ i = 1; while (i < NF) { w = $i; h = $(i + 1); printf "%sx%s ", w, h; i += 2 + w * h } }')"
  fi
  status=0
else
  echo "no Atelier window within 90 s; app log:"; tail -n 5 "$HOME/app.log"
fi
kill "$app" 2>/dev/null; wait "$app" 2>/dev/null
kill "$xvfb" 2>/dev/null; wait "$xvfb" 2>/dev/null
exit $status
EOF
  if isolated bash "$home/window.sh" "$display_number" "$command_path" "$screenshot" > "$reports/window.log" 2>&1; then
    # A screenshot of one flat colour means nothing was drawn.
    spread="$(convert "$screenshot" -colorspace Gray -format '%[fx:standard_deviation]' info: 2>/dev/null || echo 0)"
    details="$(grep -E '^(seconds_to_window|title|geometry|wm_class|icon_sizes)=' "$reports/window.log" | tr '\n' ' ')"
    if awk -v s="$spread" 'BEGIN { exit !(s > 0.02) }'; then
      check window OK "$details screenshot $screenshot"
    else
      check window FAIL "the screenshot is blank (grey spread $spread)"
    fi
  else
    check window FAIL "$(tail -n 3 "$reports/window.log" | tr '\n' ' ')"
  fi
  cp "$home/app.log" "$reports/app.log" 2>/dev/null || true
fi

echo
echo "smoke.sh ($mode) on $(. /etc/os-release && echo "$PRETTY_NAME"), $(nproc) cores:"
printf '  %s\n' "${results[@]}"
if [ "$failed" = 0 ]; then echo "smoke.sh: PASS"; else echo "smoke.sh: FAIL"; fi
exit "$failed"
