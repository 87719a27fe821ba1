#!/usr/bin/env bash
# test_deberta_variants.sh BINARY TESTDATA BUILD_DIR — DeBERTa configurations no test model
# has, made from tiny-deberta-v2 so that its oracle still holds:
#  - share_att_key false with pos_key_proj / pos_query_proj equal to the layer's key_proj /
#    query_proj: the separate position projections must give the oracle's numbers; with
#    pos_key_proj changed they must not (so the tensors are read);
#  - the checkpoint without its deberta. prefix and with its lm_predictions head dropped;
#  - published-style config strings: pos_att_type "c2p|p2c" instead of the list;
#  - position_biased_input true and type_vocab_size 2 with zero tables (the oracle holds) and
#    with a position table of -0.5/0/0.5 by row and column (it must not: the table is read
#    and added).
# Each variant's BERTScore cases go through the CLI on the CPU backend and on Vulkan.
set -euo pipefail
BINARY=$1 TESTDATA=$2
if [ ! -d "$TESTDATA/models/tiny-deberta-v2" ]; then
  echo "SKIP DeBERTa variants: no testdata at $TESTDATA"
  echo "0 passed, 0 failed"
  exit 0
fi
WORK=$(mktemp -d /tmp/vkb-deberta-var-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
python3 - "$BINARY" "$TESTDATA" "$WORK" <<'EOF'
import json, os, shutil, struct, subprocess, sys

binary, testdata, work = sys.argv[1:4]
src = f"{testdata}/models/tiny-deberta-v2"
oracle = json.load(open(f"{testdata}/oracle/tiny-deberta-v2.json"))
passed = failed = 0
def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL", what)

def read_st(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        hdr = json.loads(f.read(n))
        data = f.read()
    hdr.pop("__metadata__", None)
    return {k: (v["dtype"], v["shape"], data[v["data_offsets"][0]:v["data_offsets"][1]])
            for k, v in hdr.items()}

def write_st(path, tensors):
    hdr, off, blobs = {}, 0, []
    for k, (dt, shape, b) in tensors.items():
        hdr[k] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    h = json.dumps(hdr).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))

def variant(name, edit_tensors, edit_config):
    d = f"{work}/{name}"
    shutil.copytree(src, d)
    t = edit_tensors(read_st(f"{src}/model.safetensors"))
    write_st(f"{d}/model.safetensors", t)
    cfg = json.load(open(f"{src}/config.json"))
    edit_config(cfg)
    json.dump(cfg, open(f"{d}/config.json", "w"))
    return d

def own_projections(t, perturb=False):
    out = dict(t)
    layers = sorted({k.split(".")[3] for k in t if ".layer." in k})
    for l in layers:
        p = f"deberta.encoder.layer.{l}.attention.self."
        for a, b in (("key_proj", "pos_key_proj"), ("query_proj", "pos_query_proj")):
            for s in ("weight", "bias"):
                dt, shape, blob = t[p + a + "." + s]
                if perturb and b == "pos_key_proj" and s == "weight":
                    w = 2 if dt in ("F16", "BF16") else 4  # other values: elements reversed
                    blob = b"".join(blob[i:i + w] for i in range(len(blob) - w, -1, -w))
                out[p + b + "." + s] = (dt, shape, blob)
    return out

def no_share(cfg):
    cfg["share_att_key"] = False

def strip_prefix(t):
    return {k[len("deberta."):]: v for k, v in t.items() if k.startswith("deberta.")}

def string_terms(cfg):
    cfg["pos_att_type"] = "c2p|p2c"

def absolute_tables(t, changed=False):
    """position_biased_input and token types, as v3-style configs may have them: tables of
    zeros change nothing (the oracle holds), a position table of other values must."""
    out = dict(t)
    dt, shape, _ = t["deberta.embeddings.word_embeddings.weight"]
    # -0.5, 0 or 0.5 by row and column (a constant row would vanish in the LayerNorm after)
    code = {"F32": {-1: struct.pack("<f", -0.5), 0: bytes(4), 1: struct.pack("<f", 0.5)},
            "F16": {-1: b"\x00\xb8", 0: bytes(2), 1: b"\x00\x38"},
            "BF16": {-1: b"\x00\xbf", 0: bytes(2), 1: b"\x00\x3f"}}[dt]
    def table(rows, vary):
        return (dt, [rows, shape[1]], b"".join(code[(r + c) % 3 - 1 if vary else 0]
                                               for r in range(rows) for c in range(shape[1])))
    out["deberta.embeddings.position_embeddings.weight"] = table(512, changed)
    out["deberta.embeddings.token_type_embeddings.weight"] = table(2, False)
    return out

def absolute_config(cfg):
    cfg["position_biased_input"] = True
    cfg["type_vocab_size"] = 2

variants = [
    ("own-projections", variant("own", own_projections, no_share), True),
    ("own-projections-changed", variant("own-changed", lambda t: own_projections(t, True), no_share), False),
    ("no-prefix-no-head", variant("noprefix", strip_prefix, lambda c: None), True),
    ("pos_att_type string", variant("string", lambda t: t, string_terms), True),
    ("absolute positions + token types, zero tables", variant("abs", absolute_tables, absolute_config), True),
    ("absolute positions changed", variant("abs-changed", lambda t: absolute_tables(t, True), absolute_config), False),
]
has_vulkan = False
try:
    has_vulkan = len(json.loads(subprocess.run([binary, "info"], capture_output=True, text=True).stdout)["devices"]) > 0
except (ValueError, KeyError):
    pass
for label, folder, should_match in variants:
    for dev in (["cpu", "vulkan"] if has_vulkan else ["cpu"]):
        worst = 0.0
        for case in oracle["bertscore"]["cases"]:
            rq = case["request"]
            if rq.get("rescale_with_baseline"):
                continue  # the baseline file is named for tiny-deberta-v2, not this folder
            for side, key in (("c", "candidates"), ("r", "references")):
                with open(f"{work}/{side}.jsonl", "w", encoding="utf-8") as f:
                    for s in rq[key]:
                        f.write(json.dumps({"text": s}) + "\n")
            cmd = [binary, "bertscore", "--jsonl", "--json", "-s", "-c", f"{work}/c.jsonl", "-r",
                   f"{work}/r.jsonl", "-m", folder, "--num-layers", str(rq["num_layers"]),
                   "--device", dev] + (["--idf"] if rq.get("idf") else [])
            out = subprocess.run(cmd, capture_output=True, text=True)
            if out.returncode != 0:
                worst = float("inf")
                print(out.stderr[-400:])
                break
            got = json.loads(out.stdout)
            for gk, ok_ in (("precision", "P"), ("recall", "R"), ("f1", "F")):
                worst = max([worst] + [abs(a - b) for a, b in zip(got[gk], case[ok_])])
        if should_match:
            check(worst <= 1e-4, f"{label} on {dev}: within 1e-4 of the oracle (worst {worst:.2e})")
        else:
            check(1e-3 < worst < float("inf"), f"{label} on {dev}: differs from the oracle (worst {worst:.2e})")
        print(f"{label} on {dev}: worst |diff| vs tiny-deberta-v2 oracle {worst:.2e}")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
EOF
