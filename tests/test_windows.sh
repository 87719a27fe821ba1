#!/usr/bin/env bash
# test_windows.sh BINARY TESTDATA BUILD_DIR — the Windows cross build (tools/build-windows.sh,
# default build-win/, or $VKB_WIN_BUILD) run under wine: its CPU op tests on every kernel
# table (the CPU's best, AVX2, plain C, and "openblas": the plain C sgemm fallback) against
# double-precision loops, `vkbridge.exe info`, and `vkbridge.exe embed`, `tokenize`,
# `bertscore` and `gen-model` compared with the Linux binary's output (vectors and scores
# within 1e-6, tokens and model files identical) and embed with the tiny-bert oracle;
# `vkbridge.exe pull` from tests/test_pull_server.py on 127.0.0.1 (resume, sha256 refusal);
# `bench ops` and `bench encode` on the CPU backend (exit 0, a plausible result). The CPU
# backend always; lavapipe through wine's winevulkan (wine's Vulkan goes through its X11
# driver, so an Xvfb display is started here); vkbridge-service.exe under wine's service
# manager. Prints SKIP lines when mingw-w64's build, wine or Xvfb is missing or wine reaches
# no Vulkan device; under VKB_REQUIRE_ALL=1 (CI) each of those fails the test
# (tests/skiplib.sh). Without the testdata (../shared absent) it skips.
set -uo pipefail
BIN=$1
TESTDATA=$2
BUILD=$3
SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$SRC/tests/skiplib.sh"
WIN=${VKB_WIN_BUILD:-$SRC/build-win}
# The .exe files are the same in both of tools/test.sh's ctest runs; the Release run compares
# them, the sanitizer build's run would only repeat it (a minute of CI).
if vkb_sanitizer_build "$BUILD"; then
    vkb_skip_always "Windows build under wine: sanitizer build (the Release build's ctest runs it)"
fi
[ -f "$WIN/vkbridge.exe" ] || vkb_skip "Windows build under wine: no $WIN/vkbridge.exe (tools/build-windows.sh)"
command -v wine >/dev/null || vkb_skip "Windows build under wine: no wine (tools/install-windows-deps.sh)"
[ -f "$TESTDATA/oracle/tiny-bert.json" ] || vkb_skip_shared "Windows build under wine: no testdata at $TESTDATA"
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
WORK=$(cd "$(mktemp -d "${BUILD:-/tmp}/test-windows.XXXXXX")" && pwd)
# A prefix of its own, kept in the build folder (creating one takes ~15 s); no desktop
# integration; wine's own chatter off. The Khronos validation layer is a Linux library the
# Windows loader cannot load, so VKB_VALIDATION stays off for the .exe runs.
export WINEPREFIX=$BUILD/wine-prefix WINEDEBUG=-all WINEDLLOVERRIDES="winemenubuilder.exe=d"
unset VKB_VALIDATION
XPID=""
cleanup() { # the hub stand-in and wine's processes, then the display they talk to
    [ -n "${SPID:-}" ] && kill "$SPID" 2>/dev/null
    wineserver -k 2>/dev/null
    [ -n "$XPID" ] && kill "$XPID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
# Create (or update) the prefix now and wait for it to settle: wineboot fills a fresh prefix
# in the background, and a service started before it finished found no ping.exe in
# C:\windows\system32 (exit 9009, the service STOPPED: seen in CI under load).
wineboot -i >/dev/null 2>&1 || true
wineserver -w
MODEL=$TESTDATA/models/tiny-bert
ORACLE=$TESTDATA/oracle/tiny-bert.json
pass=0
fail=0
check() {
    local what=$1
    shift
    if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $what"; fi
}
runs_clean() { # runs_clean LOG EXE: exit 0 and a "0 failed" line
    wine "$2" >"$1" 2>&1 && grep -q " 0 failed" "$1" || { tail -20 "$1"; return 1; }
}

check "test_half.exe under wine" runs_clean "$WORK/half.log" "$WIN/test_half.exe"
# test_cpu_ops.exe on each kernel table (runtime/cpu/cpu_isa.c): the CPU's best (AVX-512 here),
# AVX2 and plain C, and "openblas", which on Windows is the plain C sgemm
# (runtime/cpu/fallback/sgemm.c). A few seconds each.
check "test_cpu_ops.exe under wine (the CPU's best kernels)" runs_clean "$WORK/cpu_ops.log" "$WIN/test_cpu_ops.exe"
for isa in avx2 generic openblas; do
    VKB_CPU_ISA=$isa check "test_cpu_ops.exe under wine, VKB_CPU_ISA=$isa" runs_clean \
        "$WORK/cpu_ops-$isa.log" "$WIN/test_cpu_ops.exe"
done

python3 - "$ORACLE" "$WORK" <<'PY'
import json, sys
texts = json.load(open(sys.argv[1]))["embeddings"]["texts"]
with open(sys.argv[2] + "/texts.jsonl", "w") as f:
    for t in texts:
        f.write(json.dumps({"text": t}) + "\n")
PY
cat >"$WORK/compare.py" <<'PY'
# compare.py ORACLE WINDOWS.json LINUX.json: the same /embed response within 1e-6, and the
# oracle's vectors within the CLI test's 1e-4.
import json, sys
oracle = json.load(open(sys.argv[1]))["embeddings"]["embeddings"]
raw = open(sys.argv[2], "rb").read()
assert raw.endswith(b"}\n") and b"\r" not in raw, "one line ending in \\n, as on Linux"
win, lin = (json.load(open(p)) for p in sys.argv[2:4])
assert win["dimensions"] == lin["dimensions"] and win["model"] == lin["model"], (win["model"], lin["model"])
a, b = win["embeddings"], lin["embeddings"]
assert len(a) == len(b) == len(oracle), (len(a), len(b), len(oracle))
worst = max(abs(x - y) for u, v in zip(a, b) for x, y in zip(u, v))
assert worst <= 1e-6, "Windows vs Linux differ by %.3g" % worst
ref = max(abs(x - y) for u, v in zip(a, oracle) for x, y in zip(u, v))
assert ref <= 1e-4, "Windows vs oracle differ by %.3g" % ref
print("%d vectors: Windows vs Linux %.3g, vs oracle %.3g" % (len(a), worst, ref))
PY

# embed_both DEV: the oracle's texts through both binaries on DEV, compared.
embed_both() {
    wine "$WIN/vkbridge.exe" embed --quiet --device "$1" --model "$MODEL" <"$WORK/texts.jsonl" \
        >"$WORK/win-$1.json" 2>"$WORK/win-$1.err" || { cat "$WORK/win-$1.err"; return 1; }
    "$BIN" embed --quiet --device "$1" --model "$MODEL" <"$WORK/texts.jsonl" \
        >"$WORK/linux-$1.json" 2>"$WORK/linux-$1.err" || { cat "$WORK/linux-$1.err"; return 1; }
    echo -n "embed $1: "
    python3 "$WORK/compare.py" "$ORACLE" "$WORK/win-$1.json" "$WORK/linux-$1.json"
}

# Without a display wine has no Vulkan driver: info must say so and still answer JSON.
info_json() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["vkbridge"], d' "$1"; }
wine "$WIN/vkbridge.exe" info >"$WORK/info-nox.json" 2>"$WORK/info-nox.err"
check "info without a display answers JSON" info_json "$WORK/info-nox.json"
check "embed on the CPU backend: Windows = Linux" embed_both cpu

# By name under VKB_MODEL_DIR: resolve.c's containment check through vkb_realpath's
# Windows path ("Z:/..."), and a name outside the root refused.
by_name() {
    VKB_MODEL_DIR=$TESTDATA/models wine "$WIN/vkbridge.exe" embed --quiet --device cpu \
        --model tiny-bert <"$WORK/texts.jsonl" >"$WORK/win-name.json" 2>"$WORK/win-name.err" &&
        python3 -c 'import json,sys; a,b=(json.load(open(p)) for p in sys.argv[1:]); assert a["model"]=="tiny-bert" and a["embeddings"]==b["embeddings"]' \
            "$WORK/win-name.json" "$WORK/win-cpu.json" || { cat "$WORK/win-name.err"; return 1; }
}
check "embed --model tiny-bert under VKB_MODEL_DIR" by_name
refused() {
    ! VKB_MODEL_DIR=$TESTDATA/models wine "$WIN/vkbridge.exe" embed --quiet --device cpu \
        --model ../models/tiny-bert x >/dev/null 2>"$WORK/refused.err" && [ -s "$WORK/refused.err" ]
}
check "a name leading outside VKB_MODEL_DIR is refused with a message" refused
tokens_same() {
    wine "$WIN/vkbridge.exe" tokenize --tokenizer "$MODEL" <"$WORK/texts.jsonl" >"$WORK/win-tok.jsonl" &&
        "$BIN" tokenize --tokenizer "$MODEL" <"$WORK/texts.jsonl" >"$WORK/linux-tok.jsonl" &&
        [ -s "$WORK/win-tok.jsonl" ] && cmp "$WORK/win-tok.jsonl" "$WORK/linux-tok.jsonl"
}
check "tokenize: Windows = Linux, byte for byte" tokens_same

# No vulkan-1.dll at all: a warning and the CPU backend, same vectors.
no_loader() {
    VKB_VULKAN_LOADER=missing-1.dll wine "$WIN/vkbridge.exe" embed --verbose --model "$MODEL" \
        <"$WORK/texts.jsonl" >"$WORK/win-noloader.json" 2>"$WORK/noloader.err" &&
        grep -q "auto: cpu, the CPU backend; no Vulkan device (no Vulkan loader" \
            "$WORK/noloader.err" &&
        python3 -c 'import json,sys; a,b=(json.load(open(p))["embeddings"] for p in sys.argv[1:]); assert a==b' \
            "$WORK/win-noloader.json" "$WORK/win-cpu.json"
}
check "without vulkan-1.dll embed runs on the CPU backend" no_loader
# `vkbridge.exe pull` (WinHTTP, BCrypt's sha256, snapshot files copied from blobs/) against
# tests/test_pull_server.py on 127.0.0.1: layout, embed by the pulled name (Windows and the
# Linux binary on the same cache), re-pull without downloads, resume across runs and within
# one, a corrupted download refused, HF_TOKEN, and embed --pull.
SPID=""
stop_hub() { if [ -n "$SPID" ]; then kill "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null; fi; SPID=""; }
start_hub() { # start_hub [server flags...]
    stop_hub
    rm -f "$WORK/hub.port"
    python3 "$SRC/tests/test_pull_server.py" --root "$WORK/repos" --port-file "$WORK/hub.port" \
        --log "$WORK/hub.log" "$@" &
    SPID=$!
    for _ in $(seq 100); do [ -s "$WORK/hub.port" ] && break; sleep 0.05; done
    PORT=$(cat "$WORK/hub.port")
    : >"$WORK/hub.log"
}
wpull() { # wpull CACHE NAME: the .exe's pull into CACHE (a Windows path) -> $OUT $ERR $RC
    OUT=$(HF_ENDPOINT="http://127.0.0.1:$PORT" HF_HUB_CACHE="$(winepath -w "$1")" \
        wine "$WIN/vkbridge.exe" pull "$2" 2>"$WORK/pull.err" | tr -d '\r')
    RC=$?
    ERR=$(cat "$WORK/pull.err")
}
mkdir -p "$WORK/repos/org"
cp -r "$MODEL" "$WORK/repos/org/tiny-bert" && chmod -R u+w "$WORK/repos"
PSHA=$(printf %s org/tiny-bert | sha1sum | cut -c1-40)
WSHA=$(sha256sum "$MODEL/model.safetensors" | cut -c1-64)
start_hub
C1=$WORK/cache1
mkdir -p "$C1"
wpull "$C1" org/tiny-bert
SNAP=$C1/models--org--tiny-bert/snapshots/$PSHA
check "pull under wine exits 0 ($ERR)" [ "$RC" = 0 ]
check "pull prints the snapshot folder ($OUT)" [ "$(winepath -u "$OUT" 2>/dev/null)" -ef "$SNAP" ]
pulled_files_ok() {
    local f
    for f in config.json model.safetensors tokenizer.json vocab.txt tokenizer_config.json \
        special_tokens_map.json modules.json sentence_bert_config.json 1_Pooling/config.json; do
        cmp -s "$MODEL/$f" "$SNAP/$f" || { echo "$f differs"; return 1; }
        [ -f "$SNAP/$f" ] && [ ! -L "$SNAP/$f" ] || { echo "$f is not a plain file"; return 1; }
    done
    cmp -s "$MODEL/model.safetensors" "$C1/models--org--tiny-bert/blobs/$WSHA" &&
        [ "$(cat "$C1/models--org--tiny-bert/refs/main")" = "$PSHA" ] &&
        [ -z "$(find "$C1" -name '*.incomplete' -o -name '*.tmp')" ]
}
check "pulled files identical, copies of blobs/<sha256>, refs/main written" pulled_files_ok
embed_pulled() { # the pulled name through resolve.c: Windows .exe and Linux binary = Linux on the folder
    HF_HUB_CACHE="$(winepath -w "$C1")" wine "$WIN/vkbridge.exe" embed --quiet --device cpu \
        --model org/tiny-bert <"$WORK/texts.jsonl" >"$WORK/win-pulled.json" 2>"$WORK/pulled.err" &&
        HF_HUB_CACHE="$C1" "$BIN" embed --quiet --device cpu --model org/tiny-bert \
            <"$WORK/texts.jsonl" >"$WORK/linux-pulled.json" 2>>"$WORK/pulled.err" &&
        python3 -c '
import json, sys
ref = json.load(open(sys.argv[3]))["embeddings"]
for p in sys.argv[1:3]:
    d = json.load(open(p))
    assert d["model"] == "org/tiny-bert" and len(d["embeddings"]) == len(ref), p
    worst = max(abs(x - y) for u, v in zip(d["embeddings"], ref) for x, y in zip(u, v))
    assert worst <= 1e-6, (p, worst)' "$WORK/win-pulled.json" "$WORK/linux-pulled.json" "$WORK/linux-cpu.json" ||
        { cat "$WORK/pulled.err"; return 1; }
}
check "embed --model org/tiny-bert from the pulled cache: Windows = Linux" embed_pulled
: >"$WORK/hub.log"
wpull "$C1" org/tiny-bert
check "re-pull exits 0 and fetches no file ($ERR)" eval '[ "$RC" = 0 ] && ! grep -q -e /resolve/ -e /cdn/ "$WORK/hub.log"'

# Resume across runs: a partial blob from an earlier run is continued with Range.
C2=$WORK/cache2
mkdir -p "$C2/models--org--tiny-bert/blobs"
head -c 1000000 "$MODEL/model.safetensors" >"$C2/models--org--tiny-bert/blobs/$WSHA.incomplete"
: >"$WORK/hub.log"
wpull "$C2" org/tiny-bert
check "resumed pull exits 0 ($ERR)" [ "$RC" = 0 ]
check "asked for the rest only (Range bytes=1000000-)" grep -q "GET /cdn/$WSHA bytes=1000000-" "$WORK/hub.log"
check "resumed weights identical" cmp -s "$MODEL/model.safetensors" "$C2/models--org--tiny-bert/snapshots/$PSHA/model.safetensors"

# A transfer that breaks off is resumed within the same run.
start_hub --cut-after 500000
C3=$WORK/cache3
mkdir -p "$C3"
wpull "$C3" org/tiny-bert
check "pull over a broken transfer exits 0 ($ERR)" [ "$RC" = 0 ]
check "the broken transfer was resumed past byte 0" grep -q "GET /cdn/$WSHA bytes=[1-9]" "$WORK/hub.log"
check "weights identical after the resume" cmp -s "$MODEL/model.safetensors" "$C3/models--org--tiny-bert/snapshots/$PSHA/model.safetensors"

# Corrupted bytes fail BCrypt's sha256 check and leave nothing behind.
start_hub --corrupt model.safetensors
C4=$WORK/cache4
mkdir -p "$C4"
wpull "$C4" org/tiny-bert
check "corrupt weights: exit 1, says sha256 mismatch ($ERR)" eval '[ "$RC" = 1 ] && grep -q "sha256 mismatch" <<<"$ERR"'
check "corrupt weights: no blob, no snapshot file, no refs/main" eval \
    '[ -z "$(find "$C4/models--org--tiny-bert/blobs" -name "$WSHA*")" ] && [ ! -e "$C4/models--org--tiny-bert/snapshots/$PSHA/model.safetensors" ] && [ ! -e "$C4/models--org--tiny-bert/refs/main" ]'

# HF_TOKEN goes out as a Bearer token.
start_hub --token s3cret
C5=$WORK/cache5
mkdir -p "$C5"
wpull "$C5" org/tiny-bert
check "no token: exit 1, names HF_TOKEN ($ERR)" eval '[ "$RC" = 1 ] && grep -q HF_TOKEN <<<"$ERR"'
OUT=$(HF_TOKEN=s3cret HF_ENDPOINT="http://127.0.0.1:$PORT" HF_HUB_CACHE="$(winepath -w "$C5")" \
    wine "$WIN/vkbridge.exe" pull org/tiny-bert 2>"$WORK/pull.err" | tr -d '\r')
check "with HF_TOKEN: pulls ($(cat "$WORK/pull.err"))" cmp -s "$MODEL/model.safetensors" "$(winepath -u "$OUT")/model.safetensors"

# embed --pull: the engine pulls a missing model itself.
start_hub
C6=$WORK/cache6
mkdir -p "$C6"
embed_pull() {
    HF_ENDPOINT="http://127.0.0.1:$PORT" HF_HUB_CACHE="$(winepath -w "$C6")" wine "$WIN/vkbridge.exe" \
        embed --pull --quiet --device cpu --model org/tiny-bert <"$WORK/texts.jsonl" \
        >"$WORK/win-embedpull.json" 2>"$WORK/embedpull.err" &&
        python3 -c 'import json,sys; a,b=(json.load(open(p))["embeddings"] for p in sys.argv[1:]); assert a==b' \
            "$WORK/win-embedpull.json" "$WORK/win-pulled.json" || { cat "$WORK/embedpull.err"; return 1; }
}
check "embed --pull under wine fetches and embeds the same vectors" embed_pull
stop_hub

# gen-model writes the same folder, byte for byte (files in binary mode, sharded safetensors),
# and embed reads it back; bertscore gives Linux's scores within 1e-6.
gen_same() {
    wine "$WIN/vkbridge.exe" gen-model --out "$WORK/gen-win" --shape tiny --dtype f16 --shards 2 \
        --seed 7 --vocab-from "$MODEL" >/dev/null &&
        "$BIN" gen-model --out "$WORK/gen-linux" --shape tiny --dtype f16 --shards 2 --seed 7 \
            --vocab-from "$MODEL" >/dev/null && diff -r "$WORK/gen-win" "$WORK/gen-linux"
}
check "gen-model: Windows = Linux, byte for byte" gen_same
gen_embed() {
    wine "$WIN/vkbridge.exe" embed --quiet --device cpu --model "$WORK/gen-win" "Hello world!" \
        >"$WORK/gen-win.json" && "$BIN" embed --quiet --device cpu --model "$WORK/gen-win" \
        "Hello world!" >"$WORK/gen-linux.json" &&
        python3 -c 'import json,sys; a,b=(json.load(open(p))["embeddings"][0] for p in sys.argv[1:]); assert max(abs(x-y) for x,y in zip(a,b)) <= 1e-6' \
            "$WORK/gen-win.json" "$WORK/gen-linux.json"
}
check "embed of the generated f16 model: Windows = Linux" gen_embed
bertscore_same() {
    wine "$WIN/vkbridge.exe" bertscore -c "the cat sat" -r "a cat was sitting" --model "$MODEL" \
        --num-layers 2 --device cpu --json >"$WORK/bs-win.json" 2>/dev/null &&
        "$BIN" bertscore -c "the cat sat" -r "a cat was sitting" --model "$MODEL" --num-layers 2 \
            --device cpu --json >"$WORK/bs-linux.json" 2>/dev/null &&
        python3 -c 'import json,sys; a,b=(json.load(open(p)) for p in sys.argv[1:]); assert all(abs(a[k][0]-b[k][0]) <= 1e-6 for k in ("precision","recall","f1")), (a,b)' \
            "$WORK/bs-win.json" "$WORK/bs-linux.json"
}
check "bertscore: Windows = Linux" bertscore_same

# bench on the CPU backend, a second or so each: exit 0 and a plausible JSON result (times
# above 0 and the throughput finite and positive; the numbers themselves are wine's).
bench_ops_ok() {
    wine "$WIN/vkbridge.exe" bench ops --json --device cpu --op matmul --shape 128x128x128 \
        --repeats 3 >"$WORK/bench-ops.json" 2>"$WORK/bench-ops.err" || { cat "$WORK/bench-ops.err"; return 1; }
    python3 - "$WORK/bench-ops.json" <<'PY'
import json, math, sys
d = json.load(open(sys.argv[1]))
rows = [r for r in d["results"] if r["op"] == "matmul" and r.get("device") == "cpu"]
assert rows and d["device"]["id"] == "cpu", d
for r in rows:
    assert (r["M"], r["N"], r["K"]) == (128, 128, 128), r
    assert r["ms"] > 0 and 0 < r["gflops"] < 1e5 and math.isfinite(r["gflops"]), r
print("bench ops under wine: " + ", ".join("%s %.3f ms %.2f GFLOP/s" % (r["weights"], r["ms"], r["gflops"]) for r in rows))
PY
}
check "bench ops --device cpu under wine: exit 0, a plausible matmul result" bench_ops_ok
bench_encode_ok() {
    wine "$WIN/vkbridge.exe" bench encode --json --device cpu --weights f32 --model "$MODEL" \
        --batches 2 --lengths 16 --seconds 0.5 >"$WORK/bench-encode.json" 2>"$WORK/bench-encode.err" ||
        { cat "$WORK/bench-encode.err"; return 1; }
    python3 - "$WORK/bench-encode.json" <<'PY'
import json, math, sys
d = json.load(open(sys.argv[1]))
rows = d["results"]
assert d["bench"] == "encode" and len(rows) == 1, d
r = rows[0]
assert (r["device"], r["batch"], r["length"]) == ("cpu", 2, 16), r
assert r["reps"] >= 1 and r["latency_ms"] > 0, r
assert math.isfinite(r["sentences_per_s"]) and r["sentences_per_s"] > 0, r
assert abs(r["sentences_per_s"] * r["latency_ms"] / 1000 - 2) < 0.01, r  # B=2 per batch
print("bench encode under wine: B=2 L=16 %.3f ms/batch, %.0f sentences/s, %d reps" %
      (r["latency_ms"], r["sentences_per_s"], r["reps"]))
PY
}
check "bench encode --device cpu under wine: exit 0, a plausible result" bench_encode_ok

# vkbridge-service.exe under wine's service manager: install, start, stop (the child's whole
# tree goes), uninstall; and a service running vkbridge.exe itself, its output in the log.
SVC=$WIN/vkbridge-service.exe
svc_state() { wine sc query "$1" 2>/dev/null | tr -d '\r' | awk '/STATE/ {print $4; exit}'; }
wait_state() { # wait_state NAME STATE: up to 120 polls (each query is a wine process start)
    for _ in $(seq 120); do [ "$(svc_state "$1")" = "$2" ] && return 0; sleep 0.5; done
    echo "service $1 is $(svc_state "$1"), not $2"
    return 1
}
if [ -f "$SVC" ]; then
    LOG1=$(winepath -w "$WORK/svc-ping.log")
    check "service install" wine "$SVC" install vkbtest-ping --log "$LOG1" -- \
        'C:\windows\system32\cmd.exe' /c 'echo started & ping -n 120 127.0.0.1'
    # wine's service manager on a fresh prefix can drop the first start request (seen under
    # load: the service stayed STOPPED though started by hand it runs): ask again while waiting.
    start_running() {
        for _ in $(seq 6); do
            wine sc start "$1" >/dev/null 2>&1
            for _ in $(seq 20); do [ "$(svc_state "$1")" = RUNNING ] && return 0; sleep 0.5; done
        done
        echo "service $1 is $(svc_state "$1"), not RUNNING"
        return 1
    }
    check "service running" start_running vkbtest-ping
    log_says_started() {
        for _ in $(seq 50); do grep -q started "$WORK/svc-ping.log" 2>/dev/null && return 0; sleep 0.2; done
        return 1
    }
    check "service's child started, output in the log" log_says_started
    wine sc stop vkbtest-ping >/dev/null 2>&1
    check "service stops on request" wait_state vkbtest-ping STOPPED
    check "service uninstall" wine "$SVC" uninstall vkbtest-ping
    LOG2=$(winepath -w "$WORK/svc-embed.log")
    check "service install (vkbridge.exe embed)" wine "$SVC" install vkbtest-embed --log "$LOG2" -- \
        "$(winepath -w "$WIN/vkbridge.exe")" embed --quiet --device cpu --model "$(winepath -w "$MODEL")" \
        "Hello world!"
    wine sc start vkbtest-embed >/dev/null 2>&1
    check "service stops when its command exits" wait_state vkbtest-embed STOPPED
    svc_embed_ok() {
        wine "$WIN/vkbridge.exe" embed --quiet --device cpu --model "$(winepath -w "$MODEL")" \
            "Hello world!" >"$WORK/direct.json" &&
            cmp "$WORK/svc-embed.log" "$WORK/direct.json"
    }
    check "the service's vkbridge.exe wrote the same /embed response" svc_embed_ok
    check "service uninstall (vkbridge.exe embed)" wine "$SVC" uninstall vkbtest-embed
else
    vkb_skip_part "vkbridge-service: not built" || fail=$((fail + 1))
fi

# lavapipe through winevulkan: needs an X display (wine's null driver has no Vulkan).
if ! command -v Xvfb >/dev/null; then
    vkb_skip_part "Windows Vulkan: no Xvfb (tools/install-windows-deps.sh); CPU backend only" ||
        fail=$((fail + 1))
else
    Xvfb -displayfd 3 -nolisten tcp -screen 0 640x480x24 3>"$WORK/display" 2>"$WORK/xvfb.err" &
    XPID=$!
    for _ in $(seq 50); do [ -s "$WORK/display" ] && break; sleep 0.1; done
    export DISPLAY=:$(cat "$WORK/display")
    # End the wine session the runs above started without a display: its desktop (explorer.exe)
    # chose the null driver, and every later process in the session uses that desktop's driver,
    # so with the session still up `info` said "the Vulkan loader is 1.0" even with DISPLAY set.
    wineserver -k 2>/dev/null
    wineserver -w
    wine "$WIN/vkbridge.exe" info >"$WORK/info.json" 2>"$WORK/info.err"
    if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["devices"] else 1)' "$WORK/info.json"; then
        check "info lists a Vulkan device through winevulkan" grep -q '"type": "cpu"' "$WORK/info.json"
        echo "Windows Vulkan device: $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["devices"][0]; print(d["name"], d["driver_info"])' "$WORK/info.json")"
        check "embed on lavapipe through winevulkan: Windows = Linux" embed_both vulkan:0
        # Without HOME and XDG_CACHE_HOME (as on Windows) the pipeline cache goes under
        # %USERPROFILE%\.cache\vkbridge.
        profile_cache() {
            local dir
            dir=$(winepath -u "$(wine cmd /c 'echo %USERPROFILE%' 2>/dev/null | tr -d '\r')")/.cache/vkbridge
            rm -rf "$dir"
            env -u HOME -u XDG_CACHE_HOME wine "$WIN/vkbridge.exe" embed --quiet --device vulkan:0 \
                --model "$MODEL" hi >/dev/null && ls "$dir"/pipelines-*.bin >/dev/null
        }
        check "pipeline cache under %USERPROFILE% without HOME" profile_cache
    else
        vkb_skip_part "Windows Vulkan: wine reached no device: $(cat "$WORK/info.err")" ||
            fail=$((fail + 1))
    fi
fi
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
