#!/usr/bin/env bash
# test_mesa_cache_full.sh BINARY TESTDATA BUILD_DIR — issue 18 item 7: with $XDG_CACHE_HOME on
# a full filesystem, a Vulkan embedding still works (Mesa's shader disk cache is turned off
# instead of dying of SIGBUS in the driver), and says so; with room to spare the cache stays
# on. Needs a 2 MB tmpfs (root and mount rights) and a Vulkan device (lavapipe): SKIP without.
set -uo pipefail
BIN=$1
BUILD=${3:-/tmp}
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
WORK=$(cd "$(mktemp -d "$BUILD/test-mesa-cache.XXXXXX")" && pwd)
FULL=$WORK/full
mkdir -p "$FULL" "$WORK/models" "$WORK/roomy"
cleanup() { umount "$FULL" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
skip() { echo "SKIP mesa cache: $1"; echo "0 passed, 0 failed"; exit 0; }
mount -t tmpfs -o size=2M tmpfs "$FULL" 2>/dev/null || skip "cannot mount a tmpfs here"
dd if=/dev/zero of="$FULL/fill" bs=4k 2>/dev/null
"$BIN" gen-model --out "$WORK/models/tiny" --shape tiny >/dev/null || { echo "FAIL: gen-model"; exit 1; }
echo '{"text":"hello world"}' > "$WORK/in.jsonl"
# a roomy cache first: is there a Vulkan device at all?
XDG_CACHE_HOME=$WORK/roomy VKB_MODEL_DIR=$WORK/models timeout 120 "$BIN" embed --model tiny \
    --device vulkan:0 < "$WORK/in.jsonl" > "$WORK/roomy.out" 2> "$WORK/roomy.err"
rc=$?
[ $rc -eq 0 ] || { grep -qi "vulkan" "$WORK/roomy.err" && skip "no Vulkan device ($(head -c 200 "$WORK/roomy.err"))"; }
pass=0
fail=0
check() {
    local what=$1
    shift
    if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $what"; fi
}
check "roomy cache: embeds (rc $rc)" test $rc -eq 0
check "roomy cache: Mesa's cache stays on" test -d "$WORK/roomy/mesa_shader_cache"
XDG_CACHE_HOME=$FULL VKB_MODEL_DIR=$WORK/models timeout 120 "$BIN" embed --model tiny \
    --device vulkan:0 < "$WORK/in.jsonl" > "$WORK/full.out" 2> "$WORK/full.err"
rc=$?
check "full filesystem: embeds instead of SIGBUS (rc $rc)" test $rc -eq 0
check "full filesystem: same embedding" cmp -s "$WORK/roomy.out" "$WORK/full.out"
check "full filesystem: says the cache is off" grep -q "shader disk cache is off" "$WORK/full.err"
MESA_SHADER_CACHE_DISABLE=false XDG_CACHE_HOME=$FULL "$BIN" --version > /dev/null 2> "$WORK/user.err"
check "a value the user set is left alone" test ! -s "$WORK/user.err"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
