#!/usr/bin/env bash
# test_multihost_openclaw.sh BINARY TESTDATA BUILD_DIR — several `vkbridge serve` hosts behind
# the unchanged OpenClaw GPU-bridge client (v0.2.1 hosts[]), as docs/openclaw-hosts.json5:
# - round-robin and least-busy over three hosts; one is SIGKILLed mid-load (requests in
#   flight on it): every call still answers (the client fails over), none lost, and every
#   answer has the same numbers (same texts each call) whichever host gave it;
# - least-busy picks the emptier host by /info's vram_used_mb / vram_total_mb: with one host
#   holding a bigger model, every call goes to the other (CPU backend: host memory).
# Self-contained (generated models); needs node and ../shared/clients, else SKIP (without
# node or, with ../shared there, the client: a failure under VKB_REQUIRE_ALL=1, as in CI).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/skiplib.sh"
CLIENT="$HERE/../../shared/clients/openclaw-gpu-bridge-0.2.1/dist/tools.js"
[ -f "$CLIENT" ] || CLIENT="$(cd "$HERE/.." && pwd)/../shared/clients/openclaw-gpu-bridge-0.2.1/dist/tools.js"
command -v node >/dev/null || vkb_skip "multi-host OpenClaw client: no node (tools/install-deps.sh)"
[ -f "$CLIENT" ] || vkb_skip_shared "multi-host OpenClaw client: no client at $CLIENT"
exec python3 - "$1" "$HERE" "$CLIENT" <<'PYEOF'
import json, re, subprocess, sys, tempfile
sys.path.insert(0, sys.argv[2])
from vkb_testsvc import Server, check, finish, gen_model, http

binary, here, client = sys.argv[1:4]
tmp = tempfile.mkdtemp()
gen_model(binary, tmp, "small", "minilm", extra=("--layers", "2"))
gen_model(binary, tmp, "big", "minilm")
gen_model(binary, tmp, "tiny", "tiny")
# BERTScore through the plugin names no num_layers: a name in bert_score's table (9 layers)
gen_model(binary, tmp, "bert-base-uncased", "tiny", extra=("--layers", "9"))
TEXTS = [f"sentence {i}: the quick brown fox jumps over the lazy dog, then walks home slowly"
         for i in range(16)]

def drive(config, calls, concurrency, kill=None, kill_after=0, bertscore=False):
    arg = json.dumps({"client": client, "config": config, "calls": calls, "concurrency": concurrency,
                      "texts": TEXTS, "killPid": kill.proc.pid if kill else 0,
                      "killUrl": kill.url if kill else "", "killAfter": kill_after,
                      "bertscore": bertscore})
    r = subprocess.run(["node", here + "/multihost_client.js", arg], capture_output=True, text=True,
                       timeout=300)
    if r.returncode != 0:
        print(r.stderr[-2000:])
        return None
    return json.loads(r.stdout.strip().splitlines()[-1])

def embed_count(srv):
    status, body, _ = http(srv.url + "/metrics")
    text = body.decode() if isinstance(body, bytes) else ""
    m = re.search(r'vkbridge_http_requests_total\{endpoint="/embed",status="200"\} (\d+)', text)
    return int(m.group(1)) if m else 0

def start(n, env):
    hosts = [Server(binary, dict(env, VKB_MODEL_DIR=tmp, API_KEY=f"key-{i}")) for i in range(n)]
    for h in hosts:
        check(h.ready(), f"host {h.url} ready")
    return hosts

CALLS = 120
for strategy in ("round-robin", "least-busy"):
    hosts = start(3, {"MODEL_EMBED": "small", "MODEL_BERTSCORE": "bert-base-uncased"})
    victim = hosts[1]
    config = {"hosts": [{"url": h.url, "name": f"gpu-{i}", "apiKey": f"key-{i}"} for i, h in enumerate(hosts)],
              "loadBalancing": strategy, "timeout": 30, "healthCheckIntervalSeconds": 1,
              "models": {"embed": "small", "bertscore": "bert-base-uncased"}}
    out = drive(config, CALLS, 6, victim, CALLS // 4, bertscore=True)
    check(out is not None, f"{strategy}: the client ran")
    if out is None:
        continue
    v = out["perHost"].get(victim.url, {})
    print(f"{strategy}: {out['ok']}/{CALLS} calls answered, {out['failed']} failed, in {out['ms']} ms, "
          f"answers agree within {out['maxDiff']:.1e}; "
          f"victim {victim.url}: {v.get('sent', 0)} sent, {v.get('inFlightAtKill', 0)} in flight at the "
          f"kill, {v.get('transportErrors', 0)} transport errors; "
          + ", ".join(f"{u}: {p['sent']}" for u, p in out["perHost"].items()))
    check(out["killed"], f"{strategy}: the victim was killed mid-load")
    check(out["ok"] == CALLS and out["failed"] == 0, f"{strategy}: every call answered: {out['errors']}")
    check(v.get("sent", 0) > 0, f"{strategy}: the victim served calls before it died")
    alive = [h for h in hosts if h is not victim]
    check(all(out["perHost"].get(h.url, {}).get("sent", 0) > 0 for h in alive),
          f"{strategy}: both survivors took calls")
    check(v.get("inFlightAtKill", 0) > 0 and v.get("transportErrors", 0) > 0,
          f"{strategy}: requests were in flight on the victim when it died (and failed over)")
    for h in alive:
        check(h.stop() == 0, f"{strategy}: {h.url} stops cleanly")
    victim.stop()

# least-busy by memory: "full" holds the 6-layer model, "empty" only the tiny one; the full
# one is listed first, so a tie (or 0/0 on the CPU backend) would send it everything
full = Server(binary, {"VKB_MODEL_DIR": tmp, "MODEL_EMBED": "big"})
empty = Server(binary, {"VKB_MODEL_DIR": tmp, "MODEL_EMBED": "tiny"})
check(full.ready() and empty.ready(), "both hosts ready")
infos = [http(h.url + "/info")[1] for h in (full, empty)]
for h, info in zip((full, empty), infos):
    print(f"{h.url}: vram_used_mb {info['vram_used_mb']} of vram_total_mb {info['vram_total_mb']} ({info['device']})")
check(all(i["vram_total_mb"] > 0 for i in infos), "CPU backend reports host memory as vram_total_mb")
check(infos[0]["vram_used_mb"] > infos[1]["vram_used_mb"] > 0, "the bigger model shows as more memory used")
config = {"hosts": [{"url": full.url}, {"url": empty.url}], "loadBalancing": "least-busy",
          "models": {"embed": "tiny"}}
out = drive(config, 20, 1)
check(out is not None and out["ok"] == 20, f"least-busy: 20 calls answered ({out and out['errors']})")
n_full, n_empty = embed_count(full), embed_count(empty)
print(f"least-busy by memory: full host {n_full} /embed, empty host {n_empty} /embed")
check(n_full == 0 and n_empty == 20, "least-busy sends every call to the emptier host")
check(full.stop() == 0 and empty.stop() == 0, "both stop cleanly")
finish()
PYEOF
