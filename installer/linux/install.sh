#!/usr/bin/env bash
# Install Atelier for this user from the unpacked tarball: the app folder into ~/.local/lib/atelier, the command
# ~/.local/bin/atelier, a menu entry and icons under ~/.local/share. No root needed; nothing outside the prefix
# is touched. Remove it again with ~/.local/lib/atelier/uninstall.sh (projects and settings stay).
#   ./install.sh [--prefix DIR]     (default: ~/.local)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
prefix="$HOME/.local"
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) [ $# -ge 2 ] || { echo "install.sh: --prefix needs a folder" >&2; exit 2; }; prefix="$2"; shift 2 ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
done
case "$prefix" in /*) ;; *) prefix="$PWD/$prefix" ;; esac
[ -x "$here/atelier/atelier" ] || { echo "install.sh: $here/atelier/atelier is missing; run install.sh from the unpacked tarball" >&2; exit 1; }

app_dir="$prefix/lib/atelier"
marker=".atelier-install"  # written below; an existing folder without it is not ours to replace
if [ -e "$app_dir" ] && [ ! -f "$app_dir/$marker" ]; then
  echo "install.sh: $app_dir exists and was not made by this installer; move it away first" >&2
  exit 1
fi
mkdir -p "$prefix/lib" "$prefix/bin" "$prefix/share/applications" "$prefix/share/man/man1"
# Copy next to the old folder, then swap: an interrupted copy leaves the installed version working.
staging="$(mktemp -d "$prefix/lib/.atelier-new.XXXXXX")"
trap 'rm -rf "$staging"' EXIT
cp -a "$here/atelier/." "$staging/"
cp "$here/uninstall.sh" "$staging/uninstall.sh"
chmod 755 "$staging" "$staging/uninstall.sh"

installed=()
# The command: a link, so the app finds its own folder from /proc/self/exe.
ln -sfn "$app_dir/atelier" "$prefix/bin/atelier.new" && mv -Tf "$prefix/bin/atelier.new" "$prefix/bin/atelier"
installed+=("$prefix/bin/atelier")
# The menu entry names the command by its full path: ~/.local/bin is not on the desktop's PATH everywhere.
quoted_exec="$prefix/bin/atelier"
case "$quoted_exec" in *[[:space:]]*) quoted_exec="\"$quoted_exec\"" ;; esac
while IFS= read -r line; do
  case "$line" in
    Exec=atelier) printf 'Exec=%s\nTryExec=%s\n' "$quoted_exec" "$prefix/bin/atelier" ;;
    *) printf '%s\n' "$line" ;;
  esac
done < "$here/share/applications/atelier.desktop" > "$prefix/share/applications/atelier.desktop"
installed+=("$prefix/share/applications/atelier.desktop")
for icon in "$here"/share/icons/hicolor/*/apps/atelier.*; do
  relative="${icon#"$here/share/"}"
  mkdir -p "$(dirname "$prefix/share/$relative")"
  cp "$icon" "$prefix/share/$relative"
  installed+=("$prefix/share/$relative")
done
if [ -f "$here/share/man/man1/atelier.1.gz" ]; then
  cp "$here/share/man/man1/atelier.1.gz" "$prefix/share/man/man1/atelier.1.gz"
  installed+=("$prefix/share/man/man1/atelier.1.gz")
fi
printf '%s\n' "${installed[@]}" > "$staging/$marker"

if [ -e "$app_dir" ]; then
  old="$(mktemp -d "$prefix/lib/.atelier-old.XXXXXX")"
  mv -T "$app_dir" "$old/atelier"
  mv -T "$staging" "$app_dir"
  rm -rf "$old"
else
  mv -T "$staging" "$app_dir"
fi
trap - EXIT

# Refresh the menu and icon caches where the desktop has the tools; without them the entry still appears
# after the next login.
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$prefix/share/applications" || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t -f "$prefix/share/icons/hicolor" || true

echo "Atelier is installed in $app_dir."
echo "Start it from the applications menu (Graphics), or run: $prefix/bin/atelier"
case ":$PATH:" in *":$prefix/bin:"*) ;; *) echo "($prefix/bin is not on your PATH; add it to run 'atelier' by name.)" ;; esac
echo "To remove it: $app_dir/uninstall.sh   (your projects and settings stay)"
