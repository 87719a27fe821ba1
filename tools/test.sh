#!/usr/bin/env bash
# Builds vkbridge twice (Release, and ASan+UBSan) and runs the whole ctest suite on both.
# The README's test command and .ci/run both end here.
# On Debian, where tools/install-deps.sh installs every dependency, VKB_REQUIRE_ALL defaults to
# 1: a test or step that would SKIP for a missing dependency fails instead (tests/skiplib.sh),
# so a green run means every check ran. Elsewhere (Ubuntu: chromium is a snap, no deb-src
# line) it defaults to 0 and those checks skip. VKB_REQUIRE_ALL=0 or 1 overrides either.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${VKB_REQUIRE_ALL:-}" ]; then
  VKB_REQUIRE_ALL=0
  if [ -r /etc/os-release ] && (. /etc/os-release && [ "${ID:-}" = debian ]); then
    VKB_REQUIRE_ALL=1
  fi
fi
export VKB_REQUIRE_ALL
echo "tools/test.sh: VKB_REQUIRE_ALL=$VKB_REQUIRE_ALL (1: a skipped check fails)"
JOBS=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$JOBS"
# The Windows cross build, which tests/test_windows.sh runs under wine (about a minute).
tools/build-windows.sh build-win
ctest --test-dir build --output-on-failure -j 2
# What the validation layer checked and found in that run (every Vulkan test process logs one
# summary line at exit; test_vk_sync's positive control logs what it caught).
echo "== Vulkan validation layer in the Release run: processes per summary =="
LOG=build/Testing/Temporary/LastTest.log
grep -h "validation layer on:" "$LOG" | sed 's/^.*validation layer on: //' | sort | uniq -c || true
grep -h "validation summary:" "$LOG" | sed 's/^.*validation summary: //' | sort | uniq -c || true
grep -h "^positive control" "$LOG" || echo "positive control: NOT RUN"
# The Debian package: built, installed with dpkg, run end to end, purged (needs root).
tools/test_deb.sh build
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DVKB_SANITIZE=ON
cmake --build build-asan -j "$JOBS"
# Leak checking is on (sanitizer builds pin the Vulkan driver so LSan can see its globals at
# exit: see runtime/vulkan/vk_loader.c).
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1 ctest --test-dir build-asan --output-on-failure -j 2
# Fuzzing (libFuzzer needs clang): a fixed number of runs from the seed corpus; new inputs go
# to a temp dir so the checked-in corpus stays as it is. About 10-20 s per target.
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DVKB_FUZZ=ON
cmake --build build-fuzz -j "$JOBS" --target fuzz_tokenizer fuzz_request fuzz_model_files
FUZZ_OUT=$(mktemp -d)
VKB_TESTDATA="$PWD/../shared/testdata" build-fuzz/fuzz_tokenizer -runs=20000 -seed=1 \
  "$FUZZ_OUT" tests/fuzz_corpus/tokenizer
rm -rf "$FUZZ_OUT"
# Request validation and the model-folder loaders (docs/SECURITY.md): a few seconds each.
for target in request model_files; do
  FUZZ_OUT=$(mktemp -d)
  build-fuzz/fuzz_$target -runs=50000 -seed=1 "$FUZZ_OUT" tests/fuzz_corpus/$target
  rm -rf "$FUZZ_OUT"
done
echo "vkbridge: all test suites passed"
