# skiplib.sh — sourced by the shell tests that can skip (and by tools/test_deb.sh and
# tools/build-windows.sh). A check whose dependency is missing (a package, root, the npm
# registry, the cross build) prints one SKIP line and passes, so that a developer can run a
# single test anywhere; under VKB_REQUIRE_ALL=1 (.ci/run sets it) the same line is followed by
# a FAIL line and the test fails, so a green CI run means every such check ran.
# A skip that is not a missing dependency stays a skip under VKB_REQUIRE_ALL too:
# ../shared (testdata, clients) absent, or a check the other ctest run already makes.

# vkb_skip MESSAGE: the whole test skips (exit 0), or fails under VKB_REQUIRE_ALL=1 (exit 1).
vkb_skip() {
  echo "SKIP $1"
  if vkb_require_all; then
    echo "FAIL: VKB_REQUIRE_ALL=1: this check must run, not skip (see the SKIP line above)"
    exit 1
  fi
  exit 0
}

# vkb_skip_always MESSAGE: the whole test skips (exit 0) whatever VKB_REQUIRE_ALL says.
vkb_skip_always() {
  echo "SKIP $1"
  exit 0
}

# vkb_skip_part MESSAGE: one part of a test is left out and the test goes on; returns 1 under
# VKB_REQUIRE_ALL=1 (after a FAIL line) so that the caller can count a failure, else 0.
vkb_skip_part() {
  echo "SKIP $1"
  if vkb_require_all; then
    echo "FAIL: VKB_REQUIRE_ALL=1: this part must run, not skip (see the SKIP line above)"
    return 1
  fi
  return 0
}

vkb_require_all() { [ "${VKB_REQUIRE_ALL:-0}" = 1 ]; }

# vkb_sanitizer_build BUILD_DIR: true when that build is the ASan+UBSan one (VKB_SANITIZE).
vkb_sanitizer_build() { grep -qs '^VKB_SANITIZE:BOOL=ON' "$1/CMakeCache.txt"; }

# ../shared beside the checkout (tests/../../shared): the testdata and the OpenClaw clients.
VKB_SHARED=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/shared

# vkb_skip_shared MESSAGE: for a check that needs something under ../shared: a plain skip when
# ../shared itself is absent (a checkout without it), else vkb_skip (it is there in CI, so
# what is missing under it is a missing dependency).
vkb_skip_shared() {
  if [ ! -d "$VKB_SHARED" ]; then vkb_skip_always "$1 (no $VKB_SHARED)"; fi
  vkb_skip "$1"
}
