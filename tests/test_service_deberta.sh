#!/usr/bin/env bash
# test_service_deberta.sh BINARY TESTDATA BUILD_DIR — DeBERTa through the paths users take:
#  1. the tiny-deberta and tiny-deberta-v2 oracles (every BERTScore case, the sentence
#     embeddings) over HTTP (/bertscore, /embed) and through the CLI (`vkbridge bertscore
#     --jsonl --json -s`), on the CPU backend and on Vulkan with both kernel families
#     (VKB_KERNELS=cpu|gpu), each request batched as the oracle gives it and (idf off) one
#     pair / one text per request;
#  2. the unchanged v0.2 OpenClaw GPU-bridge client (../shared/clients, driven by node when
#     present, else its exact request body sent by Python) with no model configured on either
#     side: its default gpu_bertscore call names microsoft/deberta-xlarge-mnli and no
#     num_layers; the real binary serves a generated 48-layer DeBERTa v1 folder of that name
#     (narrow: hidden 64, 4 heads, 128, to stay fast; the name, 48 layers and DeBERTa's
#     tensors and config keys as published), from VKB_MODEL_DIR and from a Hugging Face cache
#     layout, and the numbers must equal the CPU backend's at layer 40 (bert_score's table)
#     and differ from layer 48's.
set -euo pipefail
BINARY=$1 TESTDATA=$2 BUILD=$3
HERE=$(cd "$(dirname "$0")" && pwd)
if [ ! -d "$TESTDATA/models/tiny-deberta" ]; then
  echo "SKIP DeBERTa service tests: no testdata at $TESTDATA"
  echo "0 passed, 0 failed"
  exit 0
fi
WORK=$(mktemp -d /tmp/vkb-deberta-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
python3 - "$BINARY" "$TESTDATA" "$WORK" "$TESTDATA/../clients/openclaw-gpu-bridge-0.2.1" <<'EOF'
import json, os, shutil, signal, socket, subprocess, sys, time, urllib.request, urllib.error

binary, testdata, work, client_dir = sys.argv[1:5]
passed = failed = 0
def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL", what)
    return ok

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

def post(port, path, body, key=None):
    headers = {"Content-Type": "application/json"}
    if key:
        headers["X-API-Key"] = key
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(),
                                 headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=300) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")

def start(env_extra, args):
    port = free_port()
    env = dict(os.environ)
    env.update({"MODEL_EMBED": "", "MODEL_BERTSCORE": ""})
    env.update(env_extra)
    proc = subprocess.Popen([binary, "serve", "--port", str(port)] + args, env=env,
                            stdout=subprocess.DEVNULL, stderr=open(f"{work}/serve.log", "a"))
    for _ in range(600):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
                if r.status == 200:
                    return proc, port
        except (OSError, urllib.error.HTTPError):
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    check(False, f"server with {env_extra} {args} becomes ready")
    proc.kill()
    return None, None

def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = -9
    check(code == 0, f"SIGTERM: exit {code}")

def close_prf(got, case, tol=1e-4):
    """bert_score's numbers within 1e-4 (rescaled: 1e-4 / (1 - b))."""
    base = case.get("baseline")
    worst = 0.0
    for k, (gk, ok_) in enumerate((("precision", "P"), ("recall", "R"), ("f1", "F"))):
        t = tol / (1 - base[k]) if base else tol
        g, w = got.get(gk, []), case[ok_]
        if len(g) != len(w):
            return False, float("inf")
        for a, b in zip(g, w):
            worst = max(worst, abs(a - b) / t)
    return worst <= 1, worst

models = testdata + "/models"
baselines = models + "/rescale_baseline"
oracles = {n: json.load(open(f"{testdata}/oracle/{n}.json")) for n in ("tiny-deberta", "tiny-deberta-v2")}

# ---- 1. the oracles over HTTP and the CLI, on every backend and kernel family
setups = [("cpu", {"VKB_DEVICE": "cpu"}), ("vulkan texel", {"VKB_DEVICE": "vulkan", "VKB_KERNELS": "cpu"}),
          ("vulkan gpu", {"VKB_DEVICE": "vulkan", "VKB_KERNELS": "gpu"})]
try:
    has_vulkan = len(json.loads(subprocess.run([binary, "info"], capture_output=True,
                                               text=True).stdout).get("devices", [])) > 0
except ValueError:
    has_vulkan = False
for label, env_extra in setups:
    if env_extra["VKB_DEVICE"] == "vulkan" and not has_vulkan:
        print(f"SKIP {label}: no Vulkan device")
        continue
    proc, port = start(dict(env_extra, VKB_MODEL_DIR=models, VKB_BASELINE_DIR=baselines), [])
    if not proc:
        continue
    for name, o in oracles.items():
        worst_all = 0.0
        for case in o["bertscore"]["cases"]:
            status, body = post(port, "/bertscore", case["request"])
            ok, worst = close_prf(body, case) if status == 200 else (False, float("inf"))
            worst_all = max(worst_all, worst)
            check(ok, f"[{label}] HTTP /bertscore {name} {case['name']}: status {status}, "
                      f"worst {worst:.3f} of tolerance {'' if status == 200 else body}")
        # one pair per request (idf off: nothing depends on the other pairs)
        for case in o["bertscore"]["cases"]:
            rq = case["request"]
            if rq.get("idf"):
                continue
            worst = 0.0
            for i in range(len(rq["candidates"])):
                one = dict(rq, candidates=[rq["candidates"][i]], references=[rq["references"][i]])
                status, body = post(port, "/bertscore", one)
                sub = dict(case, P=[case["P"][i]], R=[case["R"][i]], F=[case["F"][i]])
                ok, w = close_prf(body, sub) if status == 200 else (False, float("inf"))
                worst = max(worst, w)
            check(worst <= 1, f"[{label}] HTTP /bertscore {name} {case['name']} one pair per "
                              f"request: worst {worst:.3f} of tolerance")
        emb = o["embeddings"]
        for i, text in enumerate(emb["texts"][:4]):
            status, body = post(port, "/embed", {"texts": [text], "model": name})
            want = emb["embeddings"][i]
            ok = status == 200 and len(body["embeddings"]) == 1
            d = max(abs(a - b) for a, b in zip(body["embeddings"][0], want)) if ok else float("inf")
            check(d <= 1e-4 * max(1.0, max(abs(x) for x in want)),
                  f"[{label}] HTTP /embed {name} text {i} alone: {d:.2e}")
        status, body = post(port, "/embed", {"texts": emb["texts"], "model": name})
        ok = status == 200 and len(body["embeddings"]) == len(emb["embeddings"])
        worst_e = 0.0
        for got, want in zip(body["embeddings"] if ok else [], emb["embeddings"]):
            scale = max(1.0, max(abs(x) for x in want))
            worst_e = max(worst_e, max(abs(a - b) for a, b in zip(got, want)) / scale)
        check(ok and worst_e <= 1e-4, f"[{label}] HTTP /embed {name}: status {status}, worst {worst_e:.2e}")
        print(f"[{label}] HTTP {name}: BERTScore worst {worst_all:.3f} of tolerance, embeddings {worst_e:.2e}")
    stop(proc)

    # the CLI: every case of both models, texts as JSON lines
    cli_env = dict(os.environ)
    cli_env.pop("VKB_KERNELS", None)
    if "VKB_KERNELS" in env_extra:
        cli_env["VKB_KERNELS"] = env_extra["VKB_KERNELS"]
    for name, o in oracles.items():
        worst_all = 0.0
        for case in o["bertscore"]["cases"]:
            rq = case["request"]
            for side, key in (("c", "candidates"), ("r", "references")):
                with open(f"{work}/{side}.jsonl", "w", encoding="utf-8") as f:
                    for t in rq[key]:
                        f.write(json.dumps({"text": t}) + "\n")
            cmd = [binary, "bertscore", "--jsonl", "--json", "-s", "-c", f"{work}/c.jsonl",
                   "-r", f"{work}/r.jsonl", "-m", f"{models}/{name}", "--num-layers",
                   str(rq["num_layers"]), "--device", env_extra["VKB_DEVICE"]]
            if rq.get("idf"):
                cmd.append("--idf")
            if rq.get("rescale_with_baseline"):
                cmd += ["--rescale", "--baseline-dir", baselines]
            out = subprocess.run(cmd, capture_output=True, text=True, env=cli_env)
            try:
                ok, worst = close_prf(json.loads(out.stdout), case)
            except ValueError:
                ok, worst = False, float("inf")
            worst_all = max(worst_all, worst)
            check(ok, f"[{label}] CLI bertscore {name} {case['name']}: rc {out.returncode}, "
                      f"worst {worst:.3f} of tolerance {out.stderr[-300:]}")
        print(f"[{label}] CLI {name}: BERTScore worst {worst_all:.3f} of tolerance")

# ---- 2. the v0.2 client's default call against a 48-layer microsoft/deberta-xlarge-mnli
NAME = "microsoft/deberta-xlarge-mnli"
local = f"{work}/models"
folder = f"{local}/{NAME}"
os.makedirs(f"{local}/microsoft")
gen = subprocess.run([binary, "gen-model", "--out", folder, "--shape", "deberta-xlarge-mnli",
                      "--hidden", "64", "--heads", "4", "--intermediate", "128", "--seed", "7",
                      "--vocab-from", f"{models}/tiny-deberta"], capture_output=True, text=True)
check(gen.returncode == 0, f"gen-model deberta-xlarge-mnli: {gen.stderr}")
cfg = json.load(open(f"{folder}/config.json"))
check(cfg["model_type"] == "deberta" and cfg["num_hidden_layers"] == 48 and
      cfg["pos_att_type"] == "c2p|p2c" and cfg["position_biased_input"] is False,
      f"the generated config is DeBERTa v1 with 48 layers: {cfg}")
# a Hugging Face cache holding the same folder as a snapshot
hub = f"{work}/hub"
snap = f"{hub}/models--microsoft--deberta-xlarge-mnli/snapshots/0123456789abcdef"
shutil.copytree(folder, snap)
os.makedirs(f"{hub}/models--microsoft--deberta-xlarge-mnli/refs")
open(f"{hub}/models--microsoft--deberta-xlarge-mnli/refs/main", "w").write("0123456789abcdef")

cands = ["The cat sat on the mat.", "A man is playing a guitar.", "", "It is raining today, and tomorrow it will rain again."]
refs = ["A cat was sitting on the mat.", "Someone plays the guitar.", "Nothing here.", "Rain today; more rain tomorrow."]
with open(f"{work}/c.txt", "w") as f:
    f.write("\n".join(cands) + "\n")
with open(f"{work}/r.txt", "w") as f:
    f.write("\n".join(refs) + "\n")

def cpu_reference(layers):
    out = subprocess.run([binary, "bertscore", "-c", f"{work}/c.txt", "-r", f"{work}/r.txt", "-m", NAME,
                          "--model-dir", local, "--device", "cpu", "--num-layers", str(layers),
                          "--json", "-s"], capture_output=True, text=True)
    check(out.returncode == 0, f"CPU reference at layer {layers}: {out.stderr[-300:]}")
    return json.loads(out.stdout) if out.returncode == 0 else {}

ref40, ref48 = cpu_reference(40), cpu_reference(48)
check(ref40 and ref48 and max(abs(a - b) for a, b in zip(ref40["f1"], ref48["f1"])) > 1e-4,
      "layer 40 and layer 48 give different numbers (so the layer is tested)")

def client_call(port, key):
    """The client's own gpu_bertscore tool with no models configured; or its exact body."""
    if shutil.which("node") and os.path.isdir(client_dir):
        js = ("const {createTools} = require(process.argv[1] + '/dist/tools.js');"
              "const t = createTools({serviceUrl: process.argv[2], apiKey: process.argv[3]});"
              "t.bertscore('call-1', JSON.parse(process.argv[4])).then(r => {"
              " console.log(r.content[0].text); process.exit(r.isError ? 1 : 0); });")
        out = subprocess.run(["node", "-e", js, client_dir, f"http://127.0.0.1:{port}", key,
                              json.dumps({"candidates": cands, "references": refs})],
                             capture_output=True, text=True, timeout=600)
        check(out.returncode == 0, f"node v0.2 client gpu_bertscore: {out.stdout[-300:]} {out.stderr[-300:]}")
        return json.loads(out.stdout) if out.returncode == 0 else {}
    print("SKIP node client (node or the client missing): sending its exact request body")
    # CI (VKB_REQUIRE_ALL=1, tests/skiplib.sh) has both: the real client must have run
    check(os.environ.get("VKB_REQUIRE_ALL") != "1", "VKB_REQUIRE_ALL=1: the node client must run, not skip")
    status, body = post(port, "/bertscore", {"candidates": cands, "references": refs, "lang": "en",
                                             "model_type": NAME}, key)
    check(status == 200, f"v0.2 request body: {status} {body}")
    return body if status == 200 else {}

for label, env_extra in (("VKB_MODEL_DIR", {"VKB_MODEL_DIR": local}),
                         ("HF cache", {"HF_HUB_CACHE": hub, "VKB_MODEL_DIR": ""})):
    for dev in (["cpu", "vulkan"] if has_vulkan else ["cpu"]):
        env = dict(env_extra, API_KEY="s3cret", VKB_DEVICE=dev)
        proc, port = start(env, [])
        if not proc:
            continue
        t0 = time.monotonic()
        got = client_call(port, "s3cret")
        dt = time.monotonic() - t0
        worst = max((abs(a - b) for k in ("precision", "recall", "f1")
                     for a, b in zip(got.get(k, []), ref40.get(k, []))), default=float("inf"))
        check(got.get("model") == NAME and len(got.get("f1", [])) == len(cands) and worst <= 1e-4,
              f"[{label}, {dev}] the client's default call equals the CPU backend at layer 40 "
              f"(worst {worst:.2e}): {got}")
        print(f"[{label}, {dev}] v0.2 client default gpu_bertscore on 48-layer {NAME}: "
              f"worst |diff| vs CPU layer 40 {worst:.2e}, {dt:.1f} s")
        stop(proc)

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
EOF
