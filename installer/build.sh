#!/usr/bin/env bash
# Build Atelier's installable packages from the PyInstaller bundle (dist/atelier, made by build_bundle.sh).
#   bash installer/build.sh linux [--bundle DIR] [--out DIR] [--rebuild] [--no-lintian]
# linux: dist/atelier_<version>_amd64.deb (/opt/atelier, /usr/bin/atelier, menu entry, hicolor icons, man page)
#        and dist/atelier-<version>-linux-x86_64.tar.gz (the same folder with install.sh for a per-user install).
# The bundle is rebuilt only when its inputs changed (sources, models, resources, spec, installed packages:
# their sha256 is kept in dist/atelier.inputs.sha256). --bundle DIR packages an existing folder as it is;
# --rebuild forces a new bundle; --no-lintian skips the lintian run. Windows and macOS: installer/windows,
# installer/macos (built on their own runners by .github/workflows/installers.yml).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
linux="$root/installer/linux"

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
target="${1:-}"
[ $# -gt 0 ] && shift
case "$target" in
  linux) ;;
  windows|macos) echo "build.sh: $target packages are built on $target itself: see installer/$target/ and installer/README.md" >&2; exit 2 ;;
  *) usage ;;
esac
bundle=""
out="$root/dist"
rebuild=0
lintian_run=1
while [ $# -gt 0 ]; do
  case "$1" in
    --bundle) [ $# -ge 2 ] || usage; bundle="$(cd "$2" && pwd)"; shift 2 ;;
    --out) [ $# -ge 2 ] || usage; mkdir -p "$2"; out="$(cd "$2" && pwd)"; shift 2 ;;
    --rebuild) rebuild=1; shift ;;
    --no-lintian) lintian_run=0; shift ;;
    *) echo "build.sh: unknown option '$1'" >&2; usage ;;
  esac
done
for tool in dpkg-deb tar gzip; do
  command -v "$tool" >/dev/null || { echo "build.sh: $tool is missing (Debian/Ubuntu: apt-get install dpkg tar gzip)" >&2; exit 1; }
done

# -- version: the package's own, and the module's must agree -------------------------------------------------
version="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/pyproject.toml" | head -n 1)"
module_version="$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$root/desktop/atelier/__init__.py")"
if [ -z "$version" ] || [ "$version" != "$module_version" ]; then
  echo "build.sh: pyproject.toml says version '$version' but atelier.__version__ is '$module_version'; make them equal" >&2
  exit 1
fi
# PEP 440 pre-releases sort before the release in Debian only with a tilde: 0.2.0rc1 -> 0.2.0~rc1.
deb_version="$(printf '%s' "$version" | sed -E 's/^([0-9.]+)(a|b|rc|\.dev)([0-9]+)$/\1~\2\3/')"
# Dates inside the packages come from the last commit, so the same source gives the same files.
epoch="${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || date +%s)}"
maintainer="${ATELIER_MAINTAINER:-Atelier maintainers <atelier@example.org>}"

# -- the bundle: reuse it when its inputs are unchanged ------------------------------------------------------
# installer/check_bundle.py (when present) records what a checked bundle was built from in
# dist/atelier.inputs.json; without it, the sha256 of the bundle's input files and installed packages is kept
# in dist/atelier.inputs.sha256.
bundle_is_current() {
  cd "$root"
  if [ -f installer/check_bundle.py ]; then
    .venv/bin/python - <<'PY'
import json
import sys
from pathlib import Path

sys.path.insert(0, "installer")
from check_bundle import bundle_is_current, stamp_path

bundle = Path("dist/atelier")
try:
    flavour = json.loads(stamp_path(bundle).read_text(encoding="utf-8")).get("flavour")
except (OSError, ValueError):
    flavour = None
sys.exit(0 if flavour == "cpu" and bundle_is_current(bundle) else 1)
PY
  else
    [ "$(cat dist/atelier.inputs.sha256 2>/dev/null)" = "$(bundle_inputs_hash)" ]
  fi
}
bundle_inputs_hash() {
  cd "$root"
  {
    git ls-files -z --cached --others --exclude-standard -- desktop models resources pyproject.toml installer \
      ':(exclude)installer/build.sh' ':(exclude)installer/smoke.sh' ':(exclude)installer/README.md' \
      ':(exclude)installer/linux' ':(exclude)installer/windows' ':(exclude)installer/macos' \
      | sort -z | xargs -0 -r sha256sum 2>/dev/null || true
    .venv/bin/python -m pip freeze --all 2>/dev/null || true
  } | sha256sum | cut -d' ' -f1
}
if [ -z "$bundle" ]; then
  bundle="$root/dist/atelier"
  [ -x "$root/.venv/bin/python" ] || { echo "build.sh: .venv is missing; run 'bash installer/setup.sh app' first" >&2; exit 1; }
  if [ "$rebuild" = 0 ] && [ -x "$bundle/atelier" ] && bundle_is_current; then
    echo "build.sh: reusing $bundle (its inputs are unchanged)"
  else
    echo "build.sh: building the bundle with installer/build_bundle.sh (several minutes)"
    rm -f "$root/dist/atelier.inputs.sha256"
    bash "$root/installer/build_bundle.sh"
    [ -f "$root/installer/check_bundle.py" ] || bundle_inputs_hash > "$root/dist/atelier.inputs.sha256"
  fi
fi
[ -x "$bundle/atelier" ] || { echo "build.sh: $bundle/atelier is missing or not executable; is $bundle a bundle folder?" >&2; exit 1; }

# The packages are remade only when the bundle (its file list, sizes and times) or the packaging files changed:
# compressing half a gigabyte takes minutes.
deb="$out/atelier_${deb_version}_amd64.deb"
name="atelier-$version-linux-x86_64"
tarball="$out/$name.tar.gz"
packages_stamp="$out/atelier_${deb_version}_amd64.inputs.sha256"
packages_hash="$(
  {
    (cd "$bundle" && find . -printf '%P %s %T@ %m\n' | sort)
    cd "$root" && sha256sum installer/build.sh installer/setup.sh installer/linux/* resources/icons/hicolor/*/apps/*
    printf '%s %s %s\n' "$version" "$epoch" "$maintainer"
  } | sha256sum | cut -d' ' -f1
)"
if [ -f "$deb" ] && [ -f "$tarball" ] && [ "$(cat "$packages_stamp" 2>/dev/null)" = "$packages_hash" ]; then
  echo "build.sh: reusing $deb and $tarball (bundle and packaging files unchanged)"
  lintian_run=0
  reused=1
else
  reused=0
  rm -f "$packages_stamp"
fi

work="$(mktemp -d "$out/.build-packages.XXXXXX")"
trap 'rm -rf "$work"' EXIT
if [ "$reused" = 0 ]; then

# Copy the bundle with ordinary permissions: folders 755, programs 755, everything else (shared libraries too,
# which lintian wants non-executable) 644.
copy_bundle() {
  local from="$1" to="$2"
  mkdir -p "$to"
  cp -a "$from/." "$to/"
  find "$to" -type d -exec chmod 755 {} +
  find "$to" -type f \( -name '*.so' -o -name '*.so.*' -o ! -perm -u+x \) -exec chmod 644 {} +
  find "$to" -type f -perm -u+x ! -name '*.so' ! -name '*.so.*' -exec chmod 755 {} +
}

# Debian packages for the shared libraries the bundle links to but does not carry, found as dpkg-shlibdeps
# would (NEEDED entries resolved through ldconfig, then dpkg -S), plus libc6 at the newest GLIBC_ symbol version
# the bundle asks for. Run on this build machine, so it names this distribution's packages.
linked_packages() {
  local folder="$1" carried needed soname path package glibc
  command -v objdump >/dev/null || { echo "build.sh: objdump is missing (apt-get install binutils); Depends lists only the known libraries" >&2; return 0; }
  carried="$(find "$folder" -type f -printf '%f\n' | sort -u)"
  objdump -p $(find "$folder" -type f \( -name '*.so' -o -name '*.so.*' -o -perm -u+x \) -print) \
    > "$work/objdump.txt" 2>/dev/null || true
  needed="$(sed -n 's/^ *NEEDED *//p' "$work/objdump.txt" | sort -u)"
  for soname in $needed; do
    grep -qxF "$soname" <<< "$carried" && continue
    path="$(ldconfig -p | awk -v name="$soname" '$1 == name && /x86-64/ { print $NF; exit }')"
    [ -n "$path" ] || continue  # an optional plugin's library this machine lacks (e.g. Wayland): not required
    package="$(dpkg -S "$path" 2>/dev/null || dpkg -S "$(readlink -f "$path")" 2>/dev/null || true)"
    package="${package%%:*}"
    [ -n "$package" ] && [ "$package" != libc6 ] && echo "$package"
  done | sort -u
  glibc="$(grep -o 'GLIBC_[0-9][0-9.]*' "$work/objdump.txt" | sed 's/GLIBC_//' | sort -t. -k1,1n -k2,2n -k3,3n | tail -n 1)"
  echo "libc6 (>= ${glibc:-2.17})"
}

# -- the .deb ------------------------------------------------------------------------------------------------
deb_root="$work/deb"
echo "build.sh: laying out the .deb"
copy_bundle "$bundle" "$deb_root/opt/atelier"
install -d -m 755 "$deb_root/usr/bin" "$deb_root/usr/share/applications" "$deb_root/usr/share/man/man1" \
  "$deb_root/usr/share/doc/atelier" "$deb_root/usr/share/lintian/overrides" "$deb_root/DEBIAN"
ln -s /opt/atelier/atelier "$deb_root/usr/bin/atelier"
install -m 644 "$linux/atelier.desktop" "$deb_root/usr/share/applications/atelier.desktop"
for icon in "$root"/resources/icons/hicolor/*/apps/atelier.*; do
  relative="${icon#"$root/resources/icons/"}"
  install -D -m 644 "$icon" "$deb_root/usr/share/icons/$relative"
done
gzip -9n -c "$linux/atelier.1" > "$deb_root/usr/share/man/man1/atelier.1.gz"
install -m 644 "$linux/copyright" "$deb_root/usr/share/doc/atelier/copyright"
{
  printf 'atelier (%s) unstable; urgency=medium\n\n' "$deb_version"
  printf '  * Atelier %s, built from commit %s.\n\n' "$version" "$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  printf ' -- %s  %s\n' "$maintainer" "$(date -u -R -d "@$epoch")"
} | gzip -9n > "$deb_root/usr/share/doc/atelier/changelog.gz"
install -m 644 "$linux/lintian-overrides" "$deb_root/usr/share/lintian/overrides/atelier"
chmod 644 "$deb_root"/usr/share/man/man1/atelier.1.gz "$deb_root"/usr/share/doc/atelier/changelog.gz

# Depends: the libraries installer/setup.sh installs for the app (Qt's X11 plugin, PortAudio, loaded at run time
# so not seen by objdump) and the ones the bundle links to.
eval "$(sed -n '/^system_packages=(/,/)$/p' "$root/installer/setup.sh")"
depends="$( { printf '%s\n' "${system_packages[@]}"; linked_packages "$deb_root/opt/atelier"; } \
  | awk '!seen[$1]++' | sort | paste -sd, | sed 's/,/, /g')"
installed_size="$(du -sk --apparent-size --exclude=DEBIAN "$deb_root" | cut -f1)"
cat > "$deb_root/DEBIAN/control" <<EOF
Package: atelier
Version: $deb_version
Architecture: amd64
Maintainer: $maintainer
Installed-Size: $installed_size
Depends: $depends
Section: graphics
Priority: optional
Homepage: https://example.org/atelier
Description: offline creative assistant for sketching, lyrics and palettes
 Atelier is a desktop assistant for artists with three panels: Sketch (draw,
 then trace line art, colorize or generate images from the drawing), Lyric
 (write lyrics and poems with a local language model, with rhyme and syllable
 help and a melody for the words) and Palette (colour palettes from a mood, a
 picture or a harmony rule, with contrast and colour-blindness checks).
 .
 Every model runs on this computer through ONNX Runtime and ships inside the
 package; nothing is downloaded at run time.
EOF
(cd "$deb_root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) > "$deb_root/DEBIAN/md5sums"
chmod 644 "$deb_root/DEBIAN/control" "$deb_root/DEBIAN/md5sums"
find "$deb_root" -depth -newermt "@$epoch" -exec touch --no-dereference -d "@$epoch" {} +
SOURCE_DATE_EPOCH="$epoch" dpkg-deb --root-owner-group -Zxz --build "$deb_root" "$deb" >/dev/null
echo "build.sh: $deb ($(du -h "$deb" | cut -f1))"

# -- the tarball: the same folder, with install.sh for a per-user install ------------------------------------
tar_root="$work/tar/$name"
mkdir -p "$tar_root/share/applications" "$tar_root/share/man/man1"
# Hard links to the .deb's copy: the same files and permissions without a second copy on disk.
cp -al "$deb_root/opt/atelier" "$tar_root/atelier"
cp -a "$deb_root/usr/share/icons" "$tar_root/share/icons"
install -m 644 "$linux/atelier.desktop" "$tar_root/share/applications/atelier.desktop"
cp -a "$deb_root/usr/share/man/man1/atelier.1.gz" "$tar_root/share/man/man1/"
install -m 755 "$linux/install.sh" "$linux/uninstall.sh" "$tar_root/"
find "$tar_root" -depth -newermt "@$epoch" -exec touch --no-dereference -d "@$epoch" {} +
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" -C "$work/tar" -cf - "$name" \
  | gzip -6n > "$tarball"
echo "build.sh: $tarball ($(du -h "$tarball" | cut -f1))"

fi

# -- checks --------------------------------------------------------------------------------------------------
if command -v desktop-file-validate >/dev/null; then
  desktop-file-validate "$linux/atelier.desktop"
  echo "build.sh: desktop-file-validate: atelier.desktop is valid"
fi
if [ "$lintian_run" = 1 ] && command -v lintian >/dev/null; then
  echo "build.sh: lintian (a few minutes on the full bundle)"
  # Errors and warnings fail the build; each overridden tag is explained in installer/README.md.
  lintian --fail-on error,warning "$deb"
  echo "build.sh: lintian: no errors or warnings"
fi
[ "$reused" = 1 ] || printf '%s\n' "$packages_hash" > "$packages_stamp"
