#!/usr/bin/env bash
# test_pull.sh BINARY TESTDATA BUILD_DIR — `vkbridge pull` against a local stand-in for the
# Hugging Face hub (tests/test_pull_server.py on 127.0.0.1, a free port): the cache layout,
# file selection, re-pull without downloads, resume after a broken transfer (in one run and
# across runs), sha256 / git-sha1 checks failing on corrupted bytes, HF_TOKEN, the
# sentence-transformers short-name mapping, sharded checkpoints, and clear errors.
set -uo pipefail
BIN=$1
TESTDATA=$2
BUILD=$3
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d "${BUILD:-/tmp}/test-pull.XXXXXX")
SPID=""
pass=0
fail=0

cleanup() {
    if [ -n "$SPID" ]; then kill "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

check() { # check "what" command...
    local what=$1
    shift
    if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $what"; fi
}

said() { # said RC WANT_RC PATTERN: the last pull exited WANT_RC and its stderr has PATTERN
    [ "$1" = "$2" ] && grep -q -- "$3" <<<"$ERR"
}

start_server() { # start_server [server flags...]
    stop_server
    rm -f "$WORK/port" "$WORK/log"
    python3 "$HERE/test_pull_server.py" --root "$WORK/repos" --port-file "$WORK/port" \
        --log "$WORK/log" "$@" &
    SPID=$!
    for _ in $(seq 100); do [ -s "$WORK/port" ] && break; sleep 0.05; done
    PORT=$(cat "$WORK/port")
    touch "$WORK/log"
}

stop_server() {
    if [ -n "$SPID" ]; then kill "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null; fi
    SPID=""
}

pull() { # pull CACHE NAME [more args] -> $OUT, $ERR, $RC
    local cache=$1
    shift
    OUT=$(HF_ENDPOINT="http://127.0.0.1:$PORT" HF_HUB_CACHE="$cache" "$BIN" pull "$@" 2>"$WORK/stderr")
    RC=$?
    ERR=$(cat "$WORK/stderr")
}

sha1_of() { printf %s "$1" | sha1sum | cut -c1-40; }
sha256_file() { sha256sum "$1" | cut -c1-64; }

# ---- repositories the stand-in serves
R=$WORK/repos
mkdir -p "$R/org/model/1_Pooling" "$R/org/model/onnx" "$R/org/sharded" \
    "$R/sentence-transformers/short" "$R/org/nosafe" "$R/org/badshard"
m=$R/org/model
echo '{"model_type": "bert", "hidden_size": 32}' >"$m/config.json"
head -c 300000 /dev/urandom >"$m/model.safetensors"
echo '{"version": "1.0", "model": {"type": "WordPiece"}}' >"$m/tokenizer.json"
printf '[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n' >"$m/vocab.txt"
echo '{"do_lower_case": true}' >"$m/tokenizer_config.json"
echo '{"cls_token": "[CLS]"}' >"$m/special_tokens_map.json"
echo '[{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"}]' >"$m/modules.json"
echo '{"max_seq_length": 128}' >"$m/sentence_bert_config.json"
echo '{"pooling_mode_mean_tokens": true}' >"$m/1_Pooling/config.json"
echo 'model card' >"$m/README.md"
head -c 1000 /dev/urandom >"$m/pytorch_model.bin"
head -c 1000 /dev/urandom >"$m/onnx/model.onnx"
echo '*.bin filter=lfs' >"$m/.gitattributes"

s=$R/org/sharded
echo '{"model_type": "bert"}' >"$s/config.json"
echo '{"metadata": {}, "weight_map": {"a.weight": "model-00001-of-00002.safetensors", "b.weight": "model-00002-of-00002.safetensors", "c.weight": "model-00001-of-00002.safetensors"}}' >"$s/model.safetensors.index.json"
head -c 70000 /dev/urandom >"$s/model-00001-of-00002.safetensors"
head -c 50000 /dev/urandom >"$s/model-00002-of-00002.safetensors"
head -c 999 /dev/urandom >"$s/model-00003-of-00003.safetensors" # listed, not in the index
printf '[PAD]\n' >"$s/vocab.txt"

echo '{"model_type": "bert"}' >"$R/sentence-transformers/short/config.json"
head -c 1000 /dev/urandom >"$R/sentence-transformers/short/model.safetensors"
echo '{}' >"$R/sentence-transformers/short/tokenizer.json"

echo '{"model_type": "bert"}' >"$R/org/nosafe/config.json"
head -c 1000 /dev/urandom >"$R/org/nosafe/pytorch_model.bin"
printf '[PAD]\n' >"$R/org/nosafe/vocab.txt"

echo '{"model_type": "bert"}' >"$R/org/badshard/config.json"
echo '{"weight_map": {"a": "model-00009-of-00009.safetensors"}}' >"$R/org/badshard/model.safetensors.index.json"
printf '[PAD]\n' >"$R/org/badshard/vocab.txt"

if [ -d "$TESTDATA/models/tiny-bert" ]; then
    cp -r "$TESTDATA/models/tiny-bert" "$R/org/tiny-bert"
fi

SHA=$(sha1_of org/model)
WEIGHT_SHA=$(sha256_file "$m/model.safetensors")

# ---- 1. a plain pull: layout, contents, selection
start_server
H1=$WORK/hub1
pull "$H1" org/model
SNAP=$H1/models--org--model/snapshots/$SHA
check "pull exits 0 ($ERR)" [ "$RC" = 0 ]
check "prints the snapshot folder ($OUT)" [ "$OUT" = "$(realpath "$SNAP" 2>/dev/null)" ]
for f in config.json model.safetensors tokenizer.json vocab.txt tokenizer_config.json \
    special_tokens_map.json modules.json sentence_bert_config.json 1_Pooling/config.json; do
    check "$f identical" cmp -s "$m/$f" "$SNAP/$f"
    check "$f is a symlink into blobs" [ -L "$SNAP/$f" ]
done
for f in README.md pytorch_model.bin onnx/model.onnx .gitattributes; do
    check "$f not downloaded" [ ! -e "$SNAP/$f" ]
done
check "refs/main holds the commit" [ "$(cat "$H1/models--org--model/refs/main")" = "$SHA" ]
check "weights blob named by its sha256" \
    [ "$(readlink "$SNAP/model.safetensors")" = "../../blobs/$WEIGHT_SHA" ]
POOL_GIT=$( (printf 'blob %d\0' "$(stat -c %s "$m/1_Pooling/config.json")"; cat "$m/1_Pooling/config.json") | sha1sum | cut -c1-40)
check "small file blob named by its git sha1, one more ../ per level" \
    [ "$(readlink "$SNAP/1_Pooling/config.json")" = "../../../blobs/$POOL_GIT" ]
check "no partial files left" [ -z "$(find "$H1" -name '*.incomplete')" ]

# ---- 2. pulling again downloads nothing
: >"$WORK/log"
pull "$H1" org/model
check "re-pull exits 0 ($ERR)" [ "$RC" = 0 ]
check "re-pull fetches no file" [ "$(grep -c -e /resolve/ -e /cdn/ "$WORK/log")" = 0 ]

# ---- 3. resume across runs: a partial blob from an earlier run is continued with Range
H3=$WORK/hub3
mkdir -p "$H3/models--org--model/blobs"
head -c 100000 "$m/model.safetensors" >"$H3/models--org--model/blobs/$WEIGHT_SHA.incomplete"
: >"$WORK/log"
pull "$H3" org/model
check "resumed pull exits 0 ($ERR)" [ "$RC" = 0 ]
check "asked for the rest only (Range bytes=100000-)" grep -q "GET /cdn/$WEIGHT_SHA bytes=100000-" "$WORK/log"
check "resumed weights identical" cmp -s "$m/model.safetensors" "$H3/models--org--model/snapshots/$SHA/model.safetensors"

# ---- 4. a transfer that breaks off is resumed within the same run
start_server --cut-after 50000
H4=$WORK/hub4
pull "$H4" org/model
check "pull over a broken transfer exits 0 ($ERR)" [ "$RC" = 0 ]
check "the broken transfer was resumed at byte 50000" grep -q "GET /cdn/$WEIGHT_SHA bytes=50000-" "$WORK/log"
check "weights identical after the resume" cmp -s "$m/model.safetensors" "$H4/models--org--model/snapshots/$SHA/model.safetensors"

# ---- 5. corrupted bytes fail the hash check and leave nothing behind
start_server --corrupt model.safetensors
H5=$WORK/hub5
pull "$H5" org/model
check "corrupt weights: non-zero exit" [ "$RC" != 0 ]
check "corrupt weights: says sha256 mismatch ($ERR)" grep -q "sha256 mismatch" <<<"$ERR"
check "corrupt weights: no blob, no partial file" [ -z "$(find "$H5/models--org--model/blobs" -name "$WEIGHT_SHA*")" ]
check "corrupt weights: not in the snapshot" [ ! -e "$H5/models--org--model/snapshots/$SHA/model.safetensors" ]
check "corrupt weights: refs/main not written" [ ! -e "$H5/models--org--model/refs/main" ]
start_server --corrupt vocab.txt
H5b=$WORK/hub5b
pull "$H5b" org/model
check "corrupt vocab.txt: exit 1, git sha1 mismatch ($ERR)" said "$RC" 1 "git sha1 mismatch"

# ---- 6. HF_TOKEN is sent as a Bearer token
start_server --token s3cret
pull "$WORK/hub6" org/model
check "no token: exit 1, says not found / HF_TOKEN ($ERR)" said "$RC" 1 "HF_TOKEN"
OUT=$(HF_TOKEN=s3cret HF_ENDPOINT="http://127.0.0.1:$PORT" HF_HUB_CACHE="$WORK/hub6" "$BIN" pull org/model 2>"$WORK/stderr")
check "with HF_TOKEN: pulls ($(cat "$WORK/stderr"))" [ -f "$OUT/model.safetensors" ]

# ---- 7. names
start_server
pull "$WORK/hub7" short
check "short name -> sentence-transformers/short ($ERR)" \
    [ -f "$WORK/hub7/models--sentence-transformers--short/snapshots/$(sha1_of sentence-transformers/short)/model.safetensors" ]
pull "$WORK/hub7" org/absent
check "unknown repository: exit 1, says not found ($ERR)" said "$RC" 1 "not found"
for bad in ../etc /etc/passwd "a/b/c" ".hidden" "a b" "org/..x"; do
    pull "$WORK/hub7" "$bad"
    check "bad name '$bad' refused with exit 2 ($ERR)" said "$RC" 2 "bad model name"
done
check "bad names touched the hub not once" [ "$(grep -c -e etc -e hidden "$WORK/log")" = 0 ]

# ---- 7b. a renamed repository: the hub's relative redirects are followed, HEAD included
start_server --alias legacy-model=org/model
pull "$WORK/hub7b" legacy-model
check "renamed repository pulled through 307s ($ERR)" \
    cmp -s "$m/model.safetensors" "$WORK/hub7b/models--legacy-model/snapshots/$SHA/model.safetensors"
check "no HEAD ever went to the CDN" [ "$(grep -c '^HEAD /cdn/' "$WORK/log")" = 0 ]
start_server

# ---- 8. sharded checkpoints and repositories vkbridge cannot use
pull "$WORK/hub8" org/sharded
SS=$WORK/hub8/models--org--sharded/snapshots/$(sha1_of org/sharded)
check "sharded: exit 0 ($ERR)" [ "$RC" = 0 ]
for f in model.safetensors.index.json model-00001-of-00002.safetensors model-00002-of-00002.safetensors; do
    check "sharded: $f identical" cmp -s "$s/$f" "$SS/$f"
done
check "sharded: a shard the index does not name is skipped" [ ! -e "$SS/model-00003-of-00003.safetensors" ]
pull "$WORK/hub8" org/nosafe
check "no safetensors: exit 1 with a reason ($ERR)" said "$RC" 1 "safetensors"
pull "$WORK/hub8" org/badshard
check "index naming a missing shard: exit 1 ($ERR)" said "$RC" 1 "model-00009"
OUT=$(HF_ENDPOINT="ftp://127.0.0.1:$PORT" HF_HUB_CACHE="$WORK/hub8" "$BIN" pull org/model 2>"$WORK/stderr")
RC=$?
ERR=$(cat "$WORK/stderr")
check "non-http endpoint refused ($ERR)" said "$RC" 2 "HF_ENDPOINT"

# ---- 9. a pulled model resolves by name and embeds like its folder
if [ -d "$R/org/tiny-bert" ] && "$BIN" embed --help >/dev/null 2>&1; then
    pull "$WORK/hub9" org/tiny-bert
    check "pull tiny-bert ($ERR)" [ "$RC" = 0 ]
    A=$(HF_HUB_CACHE="$WORK/hub9" "$BIN" embed --device cpu --model org/tiny-bert "hello world" 2>"$WORK/stderr")
    B=$("$BIN" embed --device cpu --model "$TESTDATA/models/tiny-bert" "hello world" 2>>"$WORK/stderr")
    same_vectors() { [ -n "$1" ] && [ "${1%%\"model\"*}" = "${2%%\"model\"*}" ]; }
    check "embed by pulled name == embed by folder ($(cat "$WORK/stderr"))" same_vectors "$A" "$B"
    # The engine pulls a missing model itself when allowed (embed --pull, serve --pull).
    C=$(HF_ENDPOINT="http://127.0.0.1:$PORT" HF_HUB_CACHE="$WORK/hub10" "$BIN" embed --pull --device cpu --model org/tiny-bert "hello world" 2>"$WORK/stderr")
    check "embed --pull fetches and embeds ($(cat "$WORK/stderr"))" same_vectors "$C" "$B"
    HF_ENDPOINT="http://127.0.0.1:$PORT" HF_HUB_CACHE="$WORK/hub11" "$BIN" embed --device cpu --model org/tiny-bert "hello world" >/dev/null 2>"$WORK/stderr"
    RC=$?
    ERR=$(cat "$WORK/stderr")
    check "without --pull a missing model is not fetched ($ERR)" said "$RC" 1 "not found"
else
    echo "SKIP pulled-model embedding: no tiny-bert testdata or no embed command"
fi

stop_server
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
