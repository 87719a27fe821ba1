#!/usr/bin/env bash
# test_service_notify.sh BINARY TESTDATA BUILD_DIR — the systemd readiness protocol that
# vkbridge.service (Type=notify) relies on: with NOTIFY_SOCKET set, `vkbridge serve` sends
# READY=1 when /health turns 200 (never later than that: a 200 seen means READY is already in
# the socket), STOPPING=1 when SIGTERM starts the drain, and exits 0; for a path socket and
# an abstract one (@name). Self-contained (a generated model).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
exec python3 - "$1" "$HERE" <<'PYEOF'
import os, socket, sys, tempfile, time
sys.path.insert(0, sys.argv[2])
from vkb_testsvc import Server, check, finish, gen_model, http

binary = sys.argv[1]
tmp = tempfile.mkdtemp()
gen_model(binary, tmp)

def messages(sock):
    out = []
    while True:
        try:
            out.append(sock.recv(4096).decode())
        except BlockingIOError:
            return out

for kind in ("path", "abstract"):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    name = os.path.join(tmp, "notify") if kind == "path" else f"@vkb-test-{os.getpid()}"
    sock.bind(name if kind == "path" else "\0" + name[1:])
    sock.setblocking(False)
    srv = Server(binary, {"NOTIFY_SOCKET": name, "VKB_MODEL_DIR": tmp, "MODEL_EMBED": "tiny"})
    got, saw_200 = [], False
    end = time.monotonic() + 60
    while time.monotonic() < end and not saw_200:
        # What was sent before this request: READY=1 may follow a 503 at once, so only
        # messages read before asking can be held to the 503.
        got += messages(sock)
        sent_before = len(got)
        saw_200 = http(srv.url + "/health", timeout=5)[0] == 200
        if not saw_200:
            check(not any("READY=1" in m for m in got[:sent_before]),
                  f"{kind}: no READY=1 while /health is 503")
            time.sleep(0.02)
    got += messages(sock)
    check(saw_200, f"{kind}: /health turned 200")
    ready = [m for m in got if "READY=1" in m]
    check(len(ready) == 1 and "STATUS=" in ready[0], f"{kind}: one READY=1 with a STATUS by the time /health is 200: {got}")
    code = srv.stop()
    time.sleep(0.05)
    after = messages(sock)
    check(code == 0, f"{kind}: SIGTERM exit {code}")
    check(any("STOPPING=1" in m for m in after), f"{kind}: STOPPING=1 after SIGTERM: {after}")
    sock.close()
    print(f"{kind} socket: {got + after}")

# no NOTIFY_SOCKET (a plain start) and a broken one must not matter to the service
for env in ({}, {"NOTIFY_SOCKET": os.path.join(tmp, "nobody-listens")}):
    srv = Server(binary, dict(env, VKB_MODEL_DIR=tmp, MODEL_EMBED="tiny"))
    check(srv.ready(), f"ready without a manager listening ({env})")
    check(srv.stop() == 0, f"clean stop ({env})")
finish()
PYEOF
