#!/usr/bin/env bash
# build-windows.sh [BUILD_DIR] — the x86_64 Windows cross build (default build-win/):
# jansson, utf8proc and Oniguruma first (tools/build-windows-deps.sh, skipped when current),
# then vkbridge.exe, vkbridge-service.exe, test_cpu_ops.exe and test_half.exe with
# cmake/mingw-w64-x86_64.cmake.
# tests/test_windows.sh runs them under wine. Prints SKIP and exits 0 without mingw-w64 or
# without Debian's source packages (CI installs both: tools/install-deps.sh), or exits 1
# after the SKIP line under VKB_REQUIRE_ALL=1 (.ci/run: tests/skiplib.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/skiplib.sh
BUILD=${1:-build-win}
if ! command -v x86_64-w64-mingw32-gcc-posix >/dev/null; then
  vkb_skip "Windows cross build: no x86_64-w64-mingw32-gcc-posix (tools/install-windows-deps.sh)"
fi
if [ ! -f build-win-deps/prefix/.stamp ] && [ -z "$(apt-cache showsrc jansson 2>/dev/null)" ]; then
  vkb_skip "Windows cross build: no deb-src line for apt-get source (tools/install-windows-deps.sh)"
fi
tools/build-windows-deps.sh
cmake -S . -B "$BUILD" -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64-x86_64.cmake -DCMAKE_BUILD_TYPE=Release
cmake --build "$BUILD" -j "$(nproc)"
