#!/usr/bin/env bash
# build-windows-deps.sh [PREFIX] — jansson, utf8proc and Oniguruma (libonig) for the mingw-w64 cross build, from
# Debian's source packages (apt-get source: tools/install-windows-deps.sh adds the deb-src
# line), as static libraries under PREFIX (default build-win-deps/prefix). A stamp names the
# source versions, so a second run with the same Debian versions does nothing (CI caches
# the folder; from scratch it takes well under a minute). OpenBLAS is not built: the
# Windows CPU backend uses runtime/cpu/fallback/sgemm.c. Nothing lands in the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
PREFIX=$(mkdir -p "${1:-build-win-deps/prefix}" && cd "${1:-build-win-deps/prefix}" && pwd)
WORK=$(dirname "$PREFIX")/src
CC=x86_64-w64-mingw32-gcc-posix
AR=x86_64-w64-mingw32-gcc-ar-posix
JOBS=$(nproc)
for tool in "$CC" dpkg-source; do
  command -v "$tool" >/dev/null || { echo "build-windows-deps: $tool missing (tools/install-windows-deps.sh)" >&2; exit 1; }
done
mkdir -p "$WORK"
cd "$WORK"
# The source versions Debian has now; the stamp says which ones PREFIX was built from.
versions=""
for pkg in jansson utf8proc libonig; do
  v=$(apt-cache showsrc "$pkg" | awk '/^Version:/ {print $2; exit}')
  if [ -z "$v" ] && [ -f "$PREFIX/.stamp" ]; then
    echo "build-windows-deps: cannot see Debian's $pkg source version; keeping $(cat "$PREFIX/.stamp")"
    exit 0
  fi
  [ -n "$v" ] || { echo "build-windows-deps: no source package for $pkg (deb-src missing?)" >&2; exit 1; }
  versions="$versions $pkg=$v"
done
if [ -f "$PREFIX/.stamp" ] && [ "$(cat "$PREFIX/.stamp")" = "$versions" ]; then
  echo "build-windows-deps: up to date ($versions)"
  exit 0
fi
rm -rf "$WORK"/* "$PREFIX"/*
apt-get source --download-only jansson utf8proc libonig >/dev/null 2>&1 ||
  apt-get source --download-only jansson utf8proc libonig
# (apt-get checked the files against the signed Sources index; dpkg-source cannot check the
# uploaders' signatures without their keys, hence its warnings are dropped.)
for dsc in jansson_*.dsc utf8proc_*.dsc libonig_*.dsc; do dpkg-source -x "$dsc" >/dev/null 2>&1; done

# jansson: its own CMake build, static, no docs or tests.
cmake -S jansson-*/ -B jansson-build -DCMAKE_TOOLCHAIN_FILE="$REPO/cmake/mingw-w64-x86_64.cmake" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$PREFIX" -DJANSSON_BUILD_DOCS=OFF \
  -DJANSSON_WITHOUT_TESTS=ON -DJANSSON_EXAMPLES=OFF -DJANSSON_BUILD_SHARED_LIBS=OFF >/dev/null
cmake --build jansson-build -j "$JOBS" >/dev/null
cmake --install jansson-build >/dev/null

# Oniguruma (the tokenizer's Split/Replace regexes, the engine Hugging Face tokenizers uses):
# its own CMake build, static.
cmake -S libonig-*/ -B onig-build -DCMAKE_TOOLCHAIN_FILE="$REPO/cmake/mingw-w64-x86_64.cmake" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$PREFIX" -DBUILD_SHARED_LIBS=OFF \
  -DENABLE_BINARY_COMPATIBLE_POSIX_API=OFF -DINSTALL_DOCUMENTATION=OFF -DINSTALL_EXAMPLES=OFF \
  -DBUILD_TEST=OFF >/dev/null
cmake --build onig-build -j "$JOBS" >/dev/null
cmake --install onig-build >/dev/null

# utf8proc: one C file (it #includes its data table); UTF8PROC_STATIC drops the dllimports.
mkdir -p "$PREFIX/include" "$PREFIX/lib"
$CC -O2 -DUTF8PROC_STATIC -c utf8proc-*/utf8proc.c -o utf8proc.o
$AR rcs "$PREFIX/lib/libutf8proc.a" utf8proc.o
cp utf8proc-*/utf8proc.h "$PREFIX/include/"
# Vulkan headers only (the loader, vulkan-1.dll, is opened at run time): the host's
# /usr/include cannot be put on the cross compiler's include path.
cp -r /usr/include/vulkan /usr/include/vk_video "$PREFIX/include/"
echo "$versions" > "$PREFIX/.stamp"
echo "build-windows-deps: built$versions into $PREFIX"
