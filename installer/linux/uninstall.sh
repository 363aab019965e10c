#!/usr/bin/env bash
# Remove a per-user Atelier installed by install.sh: the app folder, the command, the menu entry and the icons it
# listed when it installed them. Projects, settings, autosaves and model caches are left where they are.
#   uninstall.sh [--prefix DIR]     (default: the prefix this copy was installed under, else ~/.local)
set -euo pipefail

main() {
  local here prefix app_dir marker path
  here="$(cd "$(dirname "$0")" && pwd)"
  prefix=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --prefix) [ $# -ge 2 ] || { echo "uninstall.sh: --prefix needs a folder" >&2; exit 2; }; prefix="$2"; shift 2 ;;
      -h|--help) sed -n '2,4p' "$0"; exit 0 ;;
      *) echo "uninstall.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
    esac
  done
  marker=".atelier-install"
  if [ -z "$prefix" ]; then
    # Run from the installed folder (prefix/lib/atelier/uninstall.sh): that is the copy to remove.
    if [ -f "$here/$marker" ]; then prefix="$(dirname "$(dirname "$here")")"; else prefix="$HOME/.local"; fi
  fi
  app_dir="$prefix/lib/atelier"
  if [ ! -f "$app_dir/$marker" ]; then
    echo "uninstall.sh: no Atelier installed by install.sh in $app_dir (nothing removed)" >&2
    exit 1
  fi
  # Only the files install.sh listed, and only inside the prefix: a damaged list cannot reach anything else.
  while IFS= read -r path; do
    case "$path" in "$prefix"/bin/*|"$prefix"/share/applications/*|"$prefix"/share/icons/*|"$prefix"/share/man/*) ;; *) continue ;; esac
    case "$path" in *..*) continue ;; esac
    if [ -L "$path" ] || [ -f "$path" ]; then rm -f "$path"; fi
  done < "$app_dir/$marker"
  rm -rf "$app_dir"
  command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$prefix/share/applications" || true
  command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t -f "$prefix/share/icons/hicolor" || true
  echo "Atelier is removed from $prefix."
  echo "Kept: your projects, and Atelier's settings and data in ${XDG_CONFIG_HOME:-$HOME/.config}/atelier," \
    "${XDG_DATA_HOME:-$HOME/.local/share}/atelier and ${XDG_CACHE_HOME:-$HOME/.cache}/atelier (delete them yourself if you want)."
}

main "$@"
