#!/usr/bin/env bash
# install-windows-deps.sh — what the Windows cross build and its wine test need (as root or
# via sudo; tools/install-deps.sh runs it): Debian's mingw-w64 (posix threads: winpthreads),
# wine64 (its vulkan-1.dll hands Vulkan to the host's loader and lavapipe through the X11
# driver, hence Xvfb), dpkg-dev (dpkg-source), and a deb-src line so that
# tools/build-windows-deps.sh can `apt-get source` jansson, utf8proc and libonig (Oniguruma).
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y --no-install-recommends \
  gcc-mingw-w64-x86-64-posix mingw-w64-x86-64-dev wine wine64 xvfb xauth dpkg-dev
# Source packages: the mirror the binary packages come from, same suites, main only.
. /etc/os-release
SRC=/etc/apt/sources.list.d/vkbridge-deb-src.sources
if [ "${ID:-}" != debian ]; then
  echo "install-windows-deps: not Debian; enable deb-src lines for apt-get source yourself" \
    "(tools/build-windows.sh prints SKIP without them)"
elif ! grep -rqs '^Types:.*deb-src\|^deb-src ' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  printf 'Types: deb-src\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "${mirror:-http://deb.debian.org/debian}" "$VERSION_CODENAME" | $SUDO tee "$SRC" >/dev/null
fi
# Only the source index is fetched here (the binary lists are current: install-deps.sh).
if [ -f "$SRC" ]; then
  $SUDO apt-get update -o Dir::Etc::sourcelist="$SRC" -o Dir::Etc::sourceparts=- \
    -o APT::Get::List-Cleanup=0
else
  $SUDO apt-get update
fi
