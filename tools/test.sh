#!/usr/bin/env bash
# Builds vkbridge twice (Release, and ASan+UBSan) and runs the whole ctest suite on both.
# The README's test command and .ci/run both end here.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$JOBS"
# The Windows cross build, which tests/test_windows.sh runs under wine (about a minute).
tools/build-windows.sh build-win
ctest --test-dir build --output-on-failure -j 2
# The Debian package: built, installed with dpkg, run end to end, purged (needs root).
tools/test_deb.sh build
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DVKB_SANITIZE=ON
cmake --build build-asan -j "$JOBS"
# Leak checking is on (sanitizer builds pin the Vulkan driver so LSan can see its globals at
# exit: see runtime/vulkan/vk_loader.c).
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1 ctest --test-dir build-asan --output-on-failure -j 2
# Tokenizer fuzzing (libFuzzer needs clang): a fixed number of runs from the seed corpus; new
# inputs go to a temp dir so the checked-in corpus stays as it is. About 10-20 s.
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DVKB_FUZZ=ON
cmake --build build-fuzz -j "$JOBS" --target fuzz_tokenizer
FUZZ_OUT=$(mktemp -d)
VKB_TESTDATA="$PWD/../shared/testdata" build-fuzz/fuzz_tokenizer -runs=20000 -seed=1 \
  "$FUZZ_OUT" tests/fuzz_corpus/tokenizer
rm -rf "$FUZZ_OUT"
echo "vkbridge: all test suites passed"
