#!/usr/bin/env bash
# Add Panoptic Inspector to the desktop of the current user: the menu entry, the icon, and the
# project file type (*.pinspect opens in the app on a double-click).
#
#   install.sh [--bundle DIR] [--data-dir DIR] [--uninstall]
#
# --bundle DIR    the bundle folder whose panoptic-inspector the entry starts. Default: the bundle
#                 this script sits in (DIR/_internal/packaging/linux/), else `panoptic-inspector`
#                 found on PATH (pip install).
# --data-dir DIR  where to install (default ${XDG_DATA_HOME:-~/.local/share}; /usr/local/share for
#                 all users, as root).
# Nothing outside DIR is changed; the desktop's caches are refreshed when the tools are there.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
icons="$here/../../resources/icons"          # the same relative place in a checkout and a bundle
data="${XDG_DATA_HOME:-$HOME/.local/share}"
bundle=""
uninstall=0
while [ $# -gt 0 ]; do
  case "$1" in
    --bundle) bundle="$(cd "$2" && pwd)"; shift 2 ;;
    --data-dir) data="$2"; shift 2 ;;
    --uninstall) uninstall=1; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
name=panoptic-inspector
mime=application-x-panoptic-inspector-project
sizes="16 24 32 48 64 128 256 512"

if [ "$uninstall" = 1 ]; then
  rm -f "$data/applications/$name.desktop" "$data/mime/packages/$name.xml" \
        "$data/icons/hicolor/scalable/apps/$name.svg"
  for n in $sizes; do
    rm -f "$data/icons/hicolor/${n}x${n}/apps/$name.png" "$data/icons/hicolor/${n}x${n}/mimetypes/$mime.png"
  done
else
  if [ -z "$bundle" ] && [ -x "$here/../../../$name" ]; then
    bundle="$(cd "$here/../../.." && pwd)"
  fi
  if [ -n "$bundle" ]; then
    exe="$bundle/$name"
    [ -x "$exe" ] || { echo "no $name in $bundle" >&2; exit 2; }
    case "$exe" in *[\"\`\$\\]*) echo "the bundle's path may not contain \" \` \$ or \\: $exe" >&2; exit 2 ;; esac
  else
    command -v "$name" >/dev/null || echo "warning: $name is not on PATH; the menu entry will not start" >&2
    exe="$name"
  fi
  mkdir -p "$data/applications" "$data/mime/packages" "$data/icons/hicolor/scalable/apps"
  # The entry as shipped runs `panoptic-inspector` from PATH; point it at the bundle when there is one.
  sed -e "s|^Exec=.*|Exec=\"$exe\" %f|" -e "s|^TryExec=.*|TryExec=$exe|" \
    "$here/$name.desktop" > "$data/applications/$name.desktop"
  cp "$here/$name.xml" "$data/mime/packages/$name.xml"
  cp "$icons/$name.svg" "$data/icons/hicolor/scalable/apps/$name.svg"
  for n in $sizes; do
    for kind in apps mimetypes; do mkdir -p "$data/icons/hicolor/${n}x${n}/$kind"; done
    cp "$icons/$name-$n.png" "$data/icons/hicolor/${n}x${n}/apps/$name.png"
    cp "$icons/$name-$n.png" "$data/icons/hicolor/${n}x${n}/mimetypes/$mime.png"
  done
fi

command -v update-mime-database >/dev/null && update-mime-database "$data/mime" || true
command -v update-desktop-database >/dev/null && update-desktop-database -q "$data/applications" || true
command -v gtk-update-icon-cache >/dev/null && [ -f "$data/icons/hicolor/index.theme" ] \
  && gtk-update-icon-cache -q -t "$data/icons/hicolor" || true
if [ "$uninstall" = 1 ]; then
  echo "removed Panoptic Inspector from $data"
else
  echo "installed Panoptic Inspector into $data (starts: $exe)"
fi
