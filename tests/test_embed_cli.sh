#!/usr/bin/env bash
# test_embed_cli.sh BINARY TESTDATA BUILD_DIR — `vkbridge embed` against the tiny-bert oracle
# (and tiny-xlmr's, the Unigram-tokenizer family; DistilBERT, MPNet and DeBERTa v1/v2 against
# theirs on both Vulkan kernel families):
# by folder path and by name under VKB_MODEL_DIR, texts all together (JSON Lines on stdin)
# and one by one, on the CPU backend and on Vulkan (lavapipe), small device batches; the
# exact /embed response shape; bad input and bad names.
set -uo pipefail
BIN=$1
TESTDATA=$2
BUILD=$3
. "$(dirname "$0")/skiplib.sh"
if [ ! -f "$TESTDATA/oracle/tiny-bert.json" ]; then
    echo "SKIP embed CLI: no testdata"
    echo "0 passed, 0 failed"
    exit 0
fi
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
WORK=$(cd "$(mktemp -d "${BUILD:-/tmp}/test-embed-cli.XXXXXX")" && pwd)
trap 'rm -rf "$WORK"' EXIT
MODEL=$TESTDATA/models/tiny-bert
ORACLE=$TESTDATA/oracle/tiny-bert.json
pass=0
fail=0
check() {
    local what=$1
    shift
    if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $what"; fi
}
exits_saying() { # exits_saying RC WANT_RC PATTERN FILE
    [ "$1" = "$2" ] && grep -q "$3" "$4"
}

# The oracle's texts as JSON Lines, all in one file and one per file.
python3 - "$ORACLE" "$WORK" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
texts = d["embeddings"]["texts"]
with open(sys.argv[2] + "/all.jsonl", "w") as f:
    for t in texts:
        f.write(json.dumps({"text": t}) + "\n")
for i, t in enumerate(texts):
    with open("%s/one-%02d.jsonl" % (sys.argv[2], i), "w") as f:
        f.write(json.dumps({"text": t}) + "\n")
print(len(texts), file=open(sys.argv[2] + "/n", "w"))
EOF
N=$(cat "$WORK/n")
# One process per text is the costly part (a Vulkan instance and the validation layer each
# time, 560 processes): the sanitizer build, which looks for memory errors rather than
# numbers, runs every 8th text that way; the Release build runs them all.
STRIDE=1
if vkb_sanitizer_build "$BUILD"; then
    STRIDE=8
    echo "sanitizer build: texts one by one, every ${STRIDE}th"
fi

# compare.py MODE FILE... : checks response shape and values against the oracle.
cat >"$WORK/compare.py" <<'EOF'
import json, sys
oracle = json.load(open(sys.argv[1]))["embeddings"]["embeddings"]
mode, model, files = sys.argv[2], sys.argv[3], sys.argv[4:]
if mode.startswith("stride:"):  # the files hold texts 0, K, 2K, ... one by one
    oracle = oracle[::int(mode[7:])]
vecs = []
for path in files:
    raw = open(path).read()
    r = json.loads(raw)
    assert list(r.keys()) == ["embeddings", "model", "dimensions"], "keys %s" % list(r.keys())
    assert r["model"] == model, "model %r" % r["model"]
    assert r["dimensions"] == 32, r["dimensions"]
    assert raw.endswith("}\n") and " " not in raw, "compact JSON, one line"
    vecs += r["embeddings"]
assert len(vecs) == len(oracle), "%d vectors, want %d" % (len(vecs), len(oracle))
worst = 0.0
for got, want in zip(vecs, oracle):
    assert len(got) == 32
    scale = max(1.0, max(abs(x) for x in want))
    worst = max(worst, max(abs(a - b) for a, b in zip(got, want)) / scale)
assert worst <= 1e-4, "worst relative error %.3g" % worst
print("ok %.2g" % worst)
EOF
cat >"$WORK/same.py" <<'EOF'
import json, os, sys
a = json.load(open(sys.argv[1]))["embeddings"][::int(os.environ.get("ONE_STRIDE", "1"))]
b = []
for p in sys.argv[2:]:
    b += json.load(open(p))["embeddings"]
assert len(a) == len(b)
worst = max(abs(x - y) for u, v in zip(a, b) for x, y in zip(u, v))
assert worst <= 1e-6, "batched vs alone differ by %.3g" % worst
EOF

# Vulkan runs where a device opens; a crash (a sanitizer abort) is a failure, not a skip.
DEVICES="cpu"
"$BIN" embed --quiet --device vulkan:0 --model "$MODEL" x >/dev/null 2>"$WORK/probe"
rc=$?
if [ $rc = 0 ]; then
    DEVICES="cpu vulkan:0"
elif [ $rc = 1 ]; then
    echo "SKIP Vulkan: $(cat "$WORK/probe")"
else
    check "Vulkan probe exits 0 or 1, not $rc ($(tail -c 400 "$WORK/probe"))" false
fi

for dev in $DEVICES; do
    "$BIN" embed --device "$dev" --model "$MODEL" <"$WORK/all.jsonl" >"$WORK/all-$dev.json" 2>"$WORK/err"
    check "$dev: all texts by path ($(cat "$WORK/err"))" python3 "$WORK/compare.py" "$ORACLE" x "$MODEL" "$WORK/all-$dev.json"
    VKB_MODEL_DIR=$TESTDATA/models "$BIN" embed --device "$dev" --model tiny-bert <"$WORK/all.jsonl" >"$WORK/name-$dev.json" 2>"$WORK/err"
    check "$dev: all texts by name under VKB_MODEL_DIR ($(cat "$WORK/err"))" python3 "$WORK/compare.py" "$ORACLE" x tiny-bert "$WORK/name-$dev.json"
    "$BIN" embed --device "$dev" --batch 3 --model "$MODEL" <"$WORK/all.jsonl" >"$WORK/b3-$dev.json" 2>"$WORK/err"
    check "$dev: batches of 3 equal one batch" python3 "$WORK/same.py" "$WORK/all-$dev.json" "$WORK/b3-$dev.json"
    ones=()
    for i in $(seq -f %02g 0 "$STRIDE" $((N - 1))); do
        "$BIN" embed --device "$dev" --model "$MODEL" <"$WORK/one-$i.jsonl" >"$WORK/one-$dev-$i.json" 2>>"$WORK/err1"
        ones+=("$WORK/one-$dev-$i.json")
    done
    check "$dev: texts one by one ($(head -c 300 "$WORK/err1" 2>/dev/null))" python3 "$WORK/compare.py" "$ORACLE" "stride:$STRIDE" "$MODEL" "${ones[@]}"
    check "$dev: one by one == all together within 1e-6" env ONE_STRIDE="$STRIDE" python3 "$WORK/same.py" "$WORK/all-$dev.json" "${ones[@]}"
done

# Batched vs alone, scaled as the oracle tolerance is (per vector, by max(1, max|v|)): models
# without a Normalize module (tiny-distilbert) have values above 1.
cat >"$WORK/same_rel.py" <<'EOF'
import json, os, sys
a = json.load(open(sys.argv[1]))["embeddings"][::int(os.environ.get("ONE_STRIDE", "1"))]
b = []
for p in sys.argv[2:]:
    b += json.load(open(p))["embeddings"]
assert len(a) == len(b)
worst = max(max(abs(x - y) for x, y in zip(u, v)) / max(1.0, max(abs(y) for y in v))
            for u, v in zip(a, b))
assert worst <= 1e-6, "batched vs alone differ by %.3g" % worst
EOF

# The later model families (DistilBERT, MPNet, DeBERTa v1 and v2) against their oracles the
# same way, on the CPU and on both Vulkan kernel families: all texts in one run, in batches of
# 3, one by one. DeBERTa's relative attention has kernels of its own in each family.
for fam in tiny-distilbert tiny-mpnet tiny-deberta tiny-deberta-v2; do
    FORACLE=$TESTDATA/oracle/$fam.json
    FMODEL=$TESTDATA/models/$fam
    if [ ! -f "$FORACLE" ]; then echo "SKIP $fam: no oracle"; continue; fi
    python3 - "$FORACLE" "$WORK/$fam" <<'EOF2'
import json, os, sys
texts = json.load(open(sys.argv[1]))["embeddings"]["texts"]
os.makedirs(sys.argv[2], exist_ok=True)
with open(sys.argv[2] + "/all.jsonl", "w") as f:
    for t in texts:
        f.write(json.dumps({"text": t}) + "\n")
for i, t in enumerate(texts):
    with open("%s/one-%02d.jsonl" % (sys.argv[2], i), "w") as f:
        f.write(json.dumps({"text": t}) + "\n")
EOF2
    FN=$(ls "$WORK/$fam"/one-*.jsonl | wc -l)
    runs="cpu:"
    [ "$DEVICES" != cpu ] && runs="cpu: vulkan:0:cpu vulkan:0:gpu"
    for run in $runs; do
        dev=${run%:*}
        kern=${run##*:}
        tag="$fam $dev${kern:+ kernels=$kern}"
        VKB_KERNELS=$kern "$BIN" embed --device "$dev" --model "$FMODEL" <"$WORK/$fam/all.jsonl" >"$WORK/$fam/all-$kern.json" 2>"$WORK/err"
        check "$tag: all texts ($(cat "$WORK/err"))" python3 "$WORK/compare.py" "$FORACLE" x "$FMODEL" "$WORK/$fam/all-$kern.json"
        VKB_KERNELS=$kern "$BIN" embed --device "$dev" --batch 3 --model "$FMODEL" <"$WORK/$fam/all.jsonl" >"$WORK/$fam/b3-$kern.json" 2>"$WORK/err"
        check "$tag: batches of 3 equal one batch" python3 "$WORK/same_rel.py" "$WORK/$fam/all-$kern.json" "$WORK/$fam/b3-$kern.json"
        ones=()
        for i in $(seq -f %02g 0 "$STRIDE" $((FN - 1))); do
            f=$WORK/$fam/one-$i.jsonl
            VKB_KERNELS=$kern "$BIN" embed --device "$dev" --model "$FMODEL" <"$f" >"$f.$kern.json" 2>>"$WORK/err1"
            ones+=("$f.$kern.json")
        done
        check "$tag: texts one by one" python3 "$WORK/compare.py" "$FORACLE" "stride:$STRIDE" "$FMODEL" "${ones[@]}"
        check "$tag: one by one == all together" env ONE_STRIDE="$STRIDE" python3 "$WORK/same_rel.py" "$WORK/$fam/all-$kern.json" "${ones[@]}"
    done
done
# XLM-R (RoBERTa layout, SentencePiece Unigram tokenizer): the tiny-xlmr oracle by name.
XORACLE=$TESTDATA/oracle/tiny-xlmr.json
python3 -c 'import json, sys
for t in json.load(open(sys.argv[1]))["embeddings"]["texts"]: print(json.dumps({"text": t}))' "$XORACLE" >"$WORK/xlmr.jsonl"
for dev in $DEVICES; do
    VKB_MODEL_DIR=$TESTDATA/models "$BIN" embed --device "$dev" --model tiny-xlmr <"$WORK/xlmr.jsonl" >"$WORK/xlmr-$dev.json" 2>"$WORK/err"
    check "$dev: tiny-xlmr oracle texts ($(tail -c 300 "$WORK/err"))" python3 "$WORK/compare.py" "$XORACLE" x tiny-xlmr "$WORK/xlmr-$dev.json"
done
# CamemBERT is the same architecture under model_type "camembert" (no oracle of its own): the
# tiny-xlmr files with only that changed must embed to the tiny-xlmr oracle.
CAMEM=$WORK/tiny-camembert
mkdir -p "$CAMEM"
cp -r "$TESTDATA"/models/tiny-xlmr/* "$CAMEM"/ # copies: links out of a model folder are refused
chmod -R u+w "$CAMEM"
rm "$CAMEM/config.json"
python3 -c 'import json, sys
c = json.load(open(sys.argv[1])); c["model_type"] = "camembert"; c["architectures"] = ["CamembertModel"]
json.dump(c, open(sys.argv[2], "w"))' "$TESTDATA/models/tiny-xlmr/config.json" "$CAMEM/config.json"
"$BIN" embed --device cpu --model "$CAMEM" <"$WORK/xlmr.jsonl" >"$WORK/camem.json" 2>"$WORK/err"
check "cpu: tiny-xlmr as model_type camembert ($(tail -c 300 "$WORK/err"))" python3 "$WORK/compare.py" "$XORACLE" x "$CAMEM" "$WORK/camem.json"
# A BERT-architecture model with an XLM-R tokenizer (as paraphrase-multilingual-MiniLM-L12-v2
# ships): no oracle exists, so this checks that it loads and embeds, and that texts embedded
# together equal them embedded alone.
"$BIN" gen-model --out "$WORK/bert-xlmr-tok" --shape tiny --vocab-from "$TESTDATA/tokenizers/unigram-xlmr-like" >/dev/null 2>"$WORK/err"
"$BIN" embed --device cpu --model "$WORK/bert-xlmr-tok" <"$WORK/xlmr.jsonl" >"$WORK/bx-all.json" 2>"$WORK/err"
check "BERT with an XLM-R tokenizer embeds ($(tail -c 300 "$WORK/err"))" grep -q '"dimensions":32' "$WORK/bx-all.json"
bx=()
head -n 5 "$WORK/xlmr.jsonl" >"$WORK/bx5.jsonl"
"$BIN" embed --device cpu --model "$WORK/bert-xlmr-tok" <"$WORK/bx5.jsonl" >"$WORK/bx-5.json" 2>"$WORK/err"
i=0
while IFS= read -r line; do
    printf '%s\n' "$line" | "$BIN" embed --device cpu --model "$WORK/bert-xlmr-tok" >"$WORK/bx-one-$i.json" 2>>"$WORK/err"
    bx+=("$WORK/bx-one-$i.json")
    i=$((i + 1))
done <"$WORK/bx5.jsonl"
check "BERT with an XLM-R tokenizer: one by one == together" python3 "$WORK/same.py" "$WORK/bx-5.json" "${bx[@]}"

# TEXT arguments equal the same texts on stdin.
"$BIN" embed --device cpu --model "$MODEL" "hello world" "A second one." >"$WORK/argv.json"
printf '{"text": "hello world"}\n\n{"text": "A second one."}\n' | "$BIN" embed --device cpu --model "$MODEL" >"$WORK/stdin.json"
check "argv texts == stdin texts (blank lines skipped)" cmp -s "$WORK/argv.json" "$WORK/stdin.json"
"$BIN" embed --device all --model "$MODEL" hi >"$WORK/all.json" 2>"$WORK/err"
check "device all works ($(tail -c 300 "$WORK/err"))" grep -q '"dimensions":32' "$WORK/all.json"

# Empty input, bad input, bad names.
OUT=$("$BIN" embed --device cpu --model "$MODEL" </dev/null)
check "no texts: empty embeddings ($OUT)" [ "$OUT" = "{\"embeddings\":[],\"model\":\"$MODEL\",\"dimensions\":32}" ]
printf '{"text": "ok"}\n{"txt": "bad"}\n' | "$BIN" embed --device cpu --model "$MODEL" >/dev/null 2>"$WORK/err"
rc=$?
check "bad JSON line: exit 2 naming the line ($(cat "$WORK/err"))" exits_saying $rc 2 "line 2" "$WORK/err"
printf 'not json\n' | "$BIN" embed --device cpu --model "$MODEL" >/dev/null 2>"$WORK/err"
rc=$?
check "not JSON: exit 2" [ $rc = 2 ]
VKB_MODEL_DIR=$TESTDATA/models "$BIN" embed --device cpu --model 'tiny bert!' x >/dev/null 2>"$WORK/err"
rc=$?
check "bad name: exit 2, bad model name ($(cat "$WORK/err"))" exits_saying $rc 2 "bad model name" "$WORK/err"
(cd "$WORK" && VKB_MODEL_DIR=$TESTDATA/models "$BIN" embed --device cpu --model ../models/tiny-bert x >/dev/null 2>"$WORK/err")
rc=$?
check "a path that is no folder is not tried as a name: exit 1 ($(cat "$WORK/err"))" exits_saying $rc 1 "not a model folder" "$WORK/err"
VKB_MODEL_DIR=$TESTDATA/models HF_HUB_CACHE=$WORK/empty-hub "$BIN" embed --device cpu --model no-such-model x >/dev/null 2>"$WORK/err"
rc=$?
check "unknown name: exit 1, not found ($(cat "$WORK/err"))" exits_saying $rc 1 "not found" "$WORK/err"
"$BIN" embed --device cpu x >/dev/null 2>"$WORK/err"
rc=$?
check "no --model: exit 2" [ $rc = 2 ]
"$BIN" embed --device nonsense --model "$MODEL" x >/dev/null 2>"$WORK/err"
rc=$?
check "bad device: exit 2 ($(cat "$WORK/err"))" exits_saying $rc 2 "nonsense" "$WORK/err"
check "--help" sh -c "'$BIN' embed --help | grep -q 'JSON Lines'"
check "--help names --prompt-name" sh -c "'$BIN' embed --help | grep -q -- '--prompt-name'"

# tiny-bert-dense: Dense + Normalize after CLS pooling, prompts with a default. Every case of
# the oracle's embeddings_with_prompt through the CLI (no flag = the default prompt,
# --prompt-name NAME, --prompt "" = none) on the CPU backend and lavapipe with both kernel
# families; an unknown --prompt-name is exit 2 naming the known ones.
DENSE=$TESTDATA/models/tiny-bert-dense
if [ -f "$TESTDATA/oracle/tiny-bert-dense.json" ]; then
    python3 - "$BIN" "$DENSE" "$TESTDATA/oracle/tiny-bert-dense.json" > "$WORK/dense.out" 2>&1 <<'PYEOF'
import json, os, subprocess, sys
binary, model, oracle_path = sys.argv[1:4]
oracle = json.load(open(oracle_path))
bad = 0
runs = [("cpu", None), ("vulkan", "cpu"), ("vulkan", "gpu")]
for case in oracle["embeddings_with_prompt"]["cases"]:
    req = case["request"]
    flags = []
    if "prompt_name" in req:
        flags = ["--prompt-name", req["prompt_name"]]
    if "prompt" in req:
        flags = ["--prompt", req["prompt"]]
    lines = "".join(json.dumps({"text": t}) + "\n" for t in case["texts"])
    for dev, kernels in runs:
        env = dict(os.environ)
        env.pop("VKB_KERNELS", None)
        if kernels:
            env["VKB_KERNELS"] = kernels
        p = subprocess.run([binary, "embed", "--model", model, "--device", dev, "--quiet"] + flags,
                           input=lines.encode(), capture_output=True, env=env)
        what = "%s on %s%s" % (case["name"], dev, "/" + kernels if kernels else "")
        if p.returncode != 0:
            print("FAIL %s: exit %d %s" % (what, p.returncode, p.stderr.decode()[:300]))
            bad += 1
            continue
        got = json.loads(p.stdout)["embeddings"]
        worst = 0.0
        for g, w in zip(got, case["embeddings"]):
            scale = max(1.0, max(abs(x) for x in w))
            worst = max(worst, max(abs(a - b) for a, b in zip(g, w)) / scale)
        ok = (len(got) == len(case["embeddings"]) and all(len(g) == 16 for g in got)
              and worst <= 1e-4)
        print("%s %s: worst %.2e" % ("ok" if ok else "FAIL", what, worst))
        bad += not ok
sys.exit(1 if bad else 0)
PYEOF
    n_ok=$(grep -c '^ok' "$WORK/dense.out")
    check "tiny-bert-dense prompt cases through the CLI: $n_ok ok ($(grep FAIL "$WORK/dense.out" | head -3))" [ "$(grep -c FAIL "$WORK/dense.out")" = 0 -a "$n_ok" -ge 12 ]
    "$BIN" embed --device cpu --model "$DENSE" --prompt-name nope x >/dev/null 2>"$WORK/err"
    rc=$?
    check "unknown --prompt-name: exit 2 naming the prompts ($(cat "$WORK/err"))" exits_saying $rc 2 "unknown prompt_name 'nope'.*query, document" "$WORK/err"
else
    echo "SKIP tiny-bert-dense CLI cases: no oracle"
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
