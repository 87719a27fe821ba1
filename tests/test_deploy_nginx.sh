#!/usr/bin/env bash
# test_deploy_nginx.sh BINARY TESTDATA BUILD_DIR — docs/deploy/nginx.conf as shipped (only its
# ports swapped for free ones) in front of three `vkbridge serve` hosts on loopback, driven by
# the unchanged OpenClaw plugin client with one serviceUrl (so it cannot fail over itself):
# one host is SIGKILLed mid-load and the client sees 0 failures; nginx's passive health check
# and proxy_next_upstream resent what the dead host dropped (counted from nginx's log).
# Needs nginx (Debian's package), node and ../shared/clients; SKIP without them (without
# nginx, node or, with ../shared there, the client: a failure under VKB_REQUIRE_ALL=1, as in CI).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/skiplib.sh"
CLIENT="$(cd "$HERE/.." && pwd)/../shared/clients/openclaw-gpu-bridge-0.2.1/dist/tools.js"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if [ ! -x "$NGINX" ] || ! command -v node >/dev/null; then
  vkb_skip "nginx deployment: needs nginx and node (tools/install-deps.sh)"
fi
[ -f "$CLIENT" ] || vkb_skip_shared "nginx deployment: no OpenClaw client at $CLIENT"
exec python3 - "$1" "$HERE" "$CLIENT" "$NGINX" <<'PYEOF'
import json, os, socket, subprocess, sys, tempfile, time
sys.path.insert(0, sys.argv[2])
from vkb_testsvc import Server, check, finish, gen_model, http

binary, here, client, nginx = sys.argv[1:5]
tmp = tempfile.mkdtemp()
os.chmod(tmp, 0o755)
gen_model(binary, tmp, "small", "minilm", extra=("--layers", "2"))

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

# A compute slot per client stream: this test is about failover, not admission. With the
# default 2 slots, the sanitizer build's slower batches made the hosts answer 503 (busy, as
# they should) and nginx ran out of hosts to retry on (502s).
hosts = [Server(binary, {"VKB_MODEL_DIR": tmp, "MODEL_EMBED": "small", "API_KEY": "k",
                         "GPU_MAX_CONCURRENT": "8"}) for _ in range(3)]
for h in hosts:
    check(h.ready(), f"host {h.url} ready")
site = open(os.path.join(here, "../docs/deploy/nginx.conf"), encoding="utf-8").read()
front = free_port()
for shipped, h in zip((8766, 8767, 8768), hosts):
    check(f"127.0.0.1:{shipped} " in site, f"nginx.conf lists upstream 127.0.0.1:{shipped}")
    site = site.replace(f"127.0.0.1:{shipped} ", f"127.0.0.1:{h.port} ")
check("listen 127.0.0.1:8765;" in site, "nginx.conf listens on 127.0.0.1:8765")
site = site.replace("listen 127.0.0.1:8765;", f"listen 127.0.0.1:{front};")
open(os.path.join(tmp, "site.conf"), "w").write(site)
for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
    os.makedirs(os.path.join(tmp, d), mode=0o777)
    os.chmod(os.path.join(tmp, d), 0o777)
# the main file Debian's /etc/nginx/nginx.conf would be, with paths in the test folder
open(os.path.join(tmp, "nginx.conf"), "w").write(f"""
daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 512; }}
http {{
    log_format up '$status $request_uri up=[$upstream_addr] st=[$upstream_status]';
    access_log {tmp}/access.log up;
    client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi; uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
    include {tmp}/site.conf;
}}
""")
r = subprocess.run([nginx, "-t", "-p", tmp, "-c", tmp + "/nginx.conf"], capture_output=True, text=True)
check(r.returncode == 0, f"nginx -t accepts docs/deploy/nginx.conf: {r.stderr.strip()[-300:]}")
ng = subprocess.Popen([nginx, "-p", tmp, "-c", tmp + "/nginx.conf"])
url = f"http://127.0.0.1:{front}"
end = time.monotonic() + 10
while time.monotonic() < end and http(url + "/health", timeout=2)[0] != 200:
    time.sleep(0.05)
check(http(url + "/health")[0] == 200, "nginx answers /health from the hosts")

CALLS = 150
victim = hosts[1]
texts = [f"sentence {i}: the quick brown fox jumps over the lazy dog" for i in range(16)]
arg = json.dumps({"client": client, "calls": CALLS, "concurrency": 8, "texts": texts,
                  "config": {"serviceUrl": url, "apiKey": "k", "timeout": 30, "models": {"embed": "small"}},
                  "killPid": victim.proc.pid, "killUrl": url, "killAfter": CALLS // 4})
r = subprocess.run(["node", here + "/multihost_client.js", arg], capture_output=True, text=True, timeout=300)
out = json.loads(r.stdout.strip().splitlines()[-1]) if r.returncode == 0 else None
check(out is not None, f"the client ran: {r.stderr[-500:]}")
ng.terminate()
ng.wait(timeout=30)
log = open(tmp + "/access.log").read().splitlines()
embeds = [l for l in log if " /embed " in l]
resent = [l for l in embeds if ", " in l.split("up=[", 1)[1]]
to_victim = [l for l in embeds if f":{victim.port}" in l]
if out:
    print(f"nginx: {out['ok']}/{CALLS} client calls answered, {out['failed']} failed, in {out['ms']} ms; "
          f"{len(embeds)} /embed through nginx, {len(to_victim)} tried on the killed host, "
          f"{len(resent)} resent to another host by proxy_next_upstream")
    for l in resent[:3]:
        print("  resent:", l)
    check(out["killed"], "the host was killed mid-load")
    check(out["ok"] == CALLS and out["failed"] == 0, f"0 client-visible failures: {out['errors']}")
check(len(resent) >= 1, "nginx resent at least one request the killed host dropped or refused")
check(all(l.startswith("200 ") for l in embeds), "every /embed through nginx answered 200")
for h in hosts:
    if h is not victim:
        check(h.stop() == 0, f"{h.url} stops cleanly")
victim.stop()
finish()
PYEOF
