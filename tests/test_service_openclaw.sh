#!/usr/bin/env bash
# test_service_openclaw.sh BINARY TESTDATA BUILD_DIR — does what OpenClaw does with
# docs/openclaw-local-service.json5: start `command args` with `env`, poll `healthUrl` until
# it answers 2xx within `readyTimeoutMs`, then use the provider (baseUrl + /models,
# /embeddings with the apiKey as Bearer) and the GPU-bridge plugin's serviceUrl (X-API-Key).
# The example's port, model folder and models are swapped for a free port and the tiny test
# models; everything else is used as written.
set -euo pipefail
BINARY=$1 TESTDATA=$2
HERE=$(cd "$(dirname "$0")" && pwd)
if [ ! -d "$TESTDATA/models" ]; then
  echo "SKIP openclaw local service: no testdata at $TESTDATA"
  echo "0 passed, 0 failed"
  exit 0
fi
exec python3 - "$BINARY" "$TESTDATA" "$HERE/../docs/openclaw-local-service.json5" <<'EOF'
import json, os, signal, socket, subprocess, sys, time, urllib.request, urllib.error

binary, testdata, example = sys.argv[1:4]
passed = failed = 0
def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL", what)

# JSON with full-line // comments: drop the comments, the rest must be plain JSON
text = "\n".join(l for l in open(example, encoding="utf-8") if not l.lstrip().startswith("//"))
cfg = json.loads(text)
provider = cfg["models"]["providers"]["vkbridge"]
svc = provider["localService"]
plugin = cfg["plugins"]["entries"]["openclaw-gpu-bridge"]["config"]

with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = str(s.getsockname()[1])
swap = lambda v: v.replace("8765", port)
args = [swap(a) for a in svc["args"]]
env = dict(os.environ)
env.update(svc["env"])
env.update({"VKB_MODEL_DIR": testdata + "/models", "MODEL_EMBED": "tiny-bert",
            "MODEL_BERTSCORE": "tiny-roberta", "VKB_BERTSCORE_LAYERS": "2",
            "VKB_DEVICE": "cpu"})
check(svc["command"].startswith("/"), "command is an absolute path (OpenClaw does no lookup)")
check(svc["healthUrl"].endswith("/health") or svc["healthUrl"].endswith("/v1/models"),
      "healthUrl is /health or /v1/models")
check(svc["env"]["API_KEY"] == provider["apiKey"] == plugin["apiKey"], "one key everywhere")

def get(url, headers={}, body=None):
    req = urllib.request.Request(url, data=body, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except OSError:
        return 0, b""

proc = subprocess.Popen([binary] + args, env=env, stdout=subprocess.DEVNULL)
start = time.monotonic()
deadline = start + svc["readyTimeoutMs"] / 1000
status = 0
while time.monotonic() < deadline and proc.poll() is None:
    status, _ = get(swap(svc["healthUrl"]))
    if 200 <= status < 300:
        break
    time.sleep(0.05)
ready_s = time.monotonic() - start
check(200 <= status < 300, f"ready within readyTimeoutMs ({ready_s:.2f} s, last status {status})")
print(f"ready after {ready_s:.2f} s (readyTimeoutMs {svc['readyTimeoutMs']})")

bearer = {"Authorization": "Bearer " + provider["apiKey"]}
status, body = get(swap(provider["baseUrl"]) + "/models", bearer)
ids = [m["id"] for m in json.loads(body)["data"]] if status == 200 else []
check(status == 200 and "tiny-bert" in ids, f"GET baseUrl/models with the Bearer key: {status} {ids}")
status, _ = get(swap(provider["baseUrl"]) + "/models")
check(status == 401, f"GET baseUrl/models without the key: {status}")
status, body = get(swap(provider["baseUrl"]) + "/embeddings", dict(bearer, **{"Content-Type": "application/json"}),
                   json.dumps({"input": ["hello from openclaw"], "model": "tiny-bert"}).encode())
check(status == 200 and len(json.loads(body)["data"][0]["embedding"]) == 32,
      f"POST baseUrl/embeddings: {status}")
status, body = get(swap(plugin["serviceUrl"]) + "/info", {"X-API-Key": plugin["apiKey"]})
check(status == 200 and "embed:tiny-bert" in json.loads(body)["loaded_models"],
      f"plugin serviceUrl /info with X-API-Key: {status}")

proc.send_signal(signal.SIGTERM)
try:
    code = proc.wait(timeout=60)
except subprocess.TimeoutExpired:
    proc.kill()
    code = -9
check(code == 0, f"SIGTERM (what idleStopMs does): exit {code}")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
EOF
