#!/usr/bin/env bash
# Install the Debian packages Qt's xcb platform plugin needs (and Xvfb for headless screens), when
# missing. As root we install; otherwise we list what is missing and how to install it.
set -u
pkgs="libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-xinerama0 libxcb-image0 libxcb-randr0
libxcb-render-util0 libxcb-shape0 libxcb-xkb1 libxkbcommon-x11-0 libxkbcommon0 libegl1 libgl1
libfontconfig1 libdbus-1-3 libglib2.0-0 xvfb xauth"
command -v dpkg-query >/dev/null 2>&1 || exit 0   # not Debian/Ubuntu: nothing we can check
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = "0" ]; then
  echo "Installing system packages for Qt:$missing"
  export DEBIAN_FRONTEND=noninteractive
  (apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing) >/tmp/pinspect-apt.log 2>&1 \
    || { echo "apt-get failed (see /tmp/pinspect-apt.log); the offscreen tests still run"; exit 0; }
else
  echo "Missing system packages for Qt:$missing"
  echo "Install them with: sudo apt-get install$missing"
fi
exit 0
