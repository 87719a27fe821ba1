#!/usr/bin/env bash
# Builds vkbridge twice (Release, and ASan+UBSan) and runs the whole ctest suite on both.
# The README's test command and .ci/run both end here.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$JOBS"
ctest --test-dir build --output-on-failure -j 2
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DVKB_SANITIZE=ON
cmake --build build-asan -j "$JOBS"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -j 2
echo "vkbridge: all test suites passed"
