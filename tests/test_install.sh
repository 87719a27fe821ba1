#!/usr/bin/env bash
# test_install.sh BINARY TESTDATA BUILD_DIR — `cmake --install BUILD --prefix P` as a user runs
# it: the binary, the man page, the systemd unit and its environment file land under P; the
# man page holds every command and every flag that --help prints (it is written from the same
# tables at build time, and is what `vkbridge man` writes now); the unit passes
# `systemd-analyze verify` with its hardening in place; and the service runs as the unit
# says (its environment, the environment file, ExecStart, notify, stop) as an unprivileged
# user. The .deb is tools/test_deb.sh. Without systemd-analyze its checks SKIP (a failure under
# VKB_REQUIRE_ALL=1, as in CI: tests/skiplib.sh).
set -euo pipefail
BINARY=$1 BUILD=$3
HERE=$(cd "$(dirname "$0")" && pwd)
P=$(mktemp -d)
trap 'rm -rf "$P"' EXIT
cmake --install "$BUILD" --prefix "$P" >/dev/null
exec python3 - "$BINARY" "$P" "$HERE" <<'PYEOF'
import os, re, shutil, subprocess, sys

binary, prefix = sys.argv[1:3]
passed = failed = 0
def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL", what)

def run(*args, env=None):
    return subprocess.run(list(args), capture_output=True, text=True, env=env)

inst = os.path.join(prefix, "bin/vkbridge")
man = os.path.join(prefix, "share/man/man1/vkbridge.1")
unit = os.path.join(prefix, "lib/systemd/system/vkbridge.service")
envf = os.path.join(prefix, "etc/vkbridge/vkbridge.env")
for f in (inst, man, unit, envf):
    check(os.path.isfile(f), f"installed {f[len(prefix):]}")
check(run(inst, "--version").stdout.strip() == run(binary, "--version").stdout.strip(),
      "installed binary runs and is this build")
check(os.stat(envf).st_mode & 0o077 == 0, "environment file (API_KEY) readable by root only")

# --- the man page: the build's copy is what the binary writes now, and holds every flag
now = run(binary, "man").stdout
check(open(man, encoding="utf-8").read() == now, "installed vkbridge.1 == `vkbridge man` (no drift)")
r = run("man", "-l", man, env=dict(os.environ, MANWIDTH="200", MAN_KEEP_FORMATTING="0"))
page = re.sub(r".\x08", "", r.stdout).replace("\u2212", "-").replace("\u2010", "-")
check(r.returncode == 0 and "COMMANDS" in page, f"man -l renders the page (rc {r.returncode} {r.stderr[:200]})")

def helps():
    top = run(binary, "--help").stdout
    cmds = re.findall(r"^  ([a-z][a-z-]*)\s{2,}\S", top, re.M)
    yield "vkbridge", ["--help"]
    for c in cmds:
        yield "vkbridge " + c, [c, "--help"]
        if c == "bench":
            for b in re.findall(r"^  ([a-z][a-z-]*)\s{2,}\S", run(binary, "bench", "--help").stdout, re.M):
                yield "vkbridge bench " + b, ["bench", b, "--help"]

flag_re = re.compile(r"(?<![\w-])(--?[a-zA-Z][a-zA-Z0-9-]*)")
sections = re.split(r"^   (vkbridge[ a-z-]*)$", page, flags=re.M)
by_title = {sections[i].strip(): sections[i + 1] for i in range(1, len(sections) - 1, 2)}
n_cmds = n_flags = 0
for title, args in helps():
    r = run(binary, *args)
    check(r.returncode == 0, f"{' '.join(args)} exits 0")
    text = page if title == "vkbridge" else by_title.get(title)
    check(text is not None, f"man page has a section '{title}'")
    if text is None:
        continue
    n_cmds += 1
    for flag in sorted(set(flag_re.findall(r.stdout))):
        n_flags += 1
        check(re.search(r"(?<![\w-])" + re.escape(flag) + r"(?![\w])", text) is not None,
              f"man page section '{title}' lists {flag}")
print(f"man page: {n_cmds} sections, {n_flags} flags from --help all present")
check(n_cmds >= 12 and n_flags >= 60, f"the man page covers the commands ({n_cmds}) and flags ({n_flags})")

# --- the systemd unit
u = open(unit, encoding="utf-8").read()
for line in ["Type=notify", "DynamicUser=yes", "ProtectSystem=strict", "NoNewPrivileges=yes",
             "StateDirectory=vkbridge", "CacheDirectory=vkbridge", "Restart=on-failure",
             "Environment=HF_HOME=%C/vkbridge/huggingface", "Environment=XDG_CACHE_HOME=%C/vkbridge",
             f"EnvironmentFile=-{prefix}/etc/vkbridge/vkbridge.env",
             f"ExecStart={prefix}/bin/vkbridge serve $VKB_SERVE_ARGS", "KillSignal=SIGTERM"]:
    check(re.search("^" + re.escape(line) + "$", u, re.M) is not None, f"unit has {line}")
drain = int(re.search(r"^Environment=VKB_DRAIN_TIMEOUT=(\d+)$", u, re.M).group(1))
stop = int(re.search(r"^TimeoutStopSec=(\d+)s$", u, re.M).group(1))
check(drain < stop, f"the drain ({drain} s) ends before systemd's TimeoutStopSec ({stop} s)")
if shutil.which("systemd-analyze"):
    r = run("systemd-analyze", "verify", unit, env=dict(os.environ, MANPATH=prefix + "/share/man"))
    check(r.returncode == 0 and not r.stderr.strip(), f"systemd-analyze verify: rc {r.returncode} {r.stderr.strip()}")
    r = run("systemd-analyze", "security", "--offline=yes", "--threshold=30", unit)  # tenths: 3.0
    m = re.search(r"Overall exposure level for \S+: ([\d.]+)", r.stdout)
    print("systemd-analyze security:", m.group(0) if m else r.stdout[-200:])
    check(r.returncode == 0 and m is not None, "systemd-analyze security: exposure at most 3.0")
else:
    print("SKIP systemd-analyze: not installed (tools/install-deps.sh installs systemd)")
    # CI sets VKB_REQUIRE_ALL=1 (tests/skiplib.sh): there the verify must have run
    check(os.environ.get("VKB_REQUIRE_ALL") != "1", "VKB_REQUIRE_ALL=1: systemd-analyze must run, not skip")
# the environment file is what the service reads: every variable in it is one serve knows
known = set(re.findall(r"\b([A-Z][A-Z0-9_]+)\b", run(binary, "serve", "--help").stdout))
for name in re.findall(r"^([A-Z][A-Z0-9_]*)=", open(envf, encoding="utf-8").read(), re.M):
    check(name in known or name == "VKB_SERVE_ARGS", f"vkbridge.env sets {name}, which serve --help documents")

# the README's remote-host lines edit this file: its sed must find both settings
readme = open(os.path.join(sys.argv[3], "..", "README.md"), encoding="utf-8").read()
m = re.search(r"## A remote GPU host.*?```sh\n(.*?)```", readme, re.S)
sed = re.search(r"^sudo sed -i '([^']*)' /etc/vkbridge/vkbridge.env$", m.group(1), re.M) if m else None
check(sed is not None, "README has the remote-host sed line")
if sed:
    copy = os.path.join(prefix, "readme-edit.env")
    shutil.copy(envf, copy)
    subprocess.run(["sed", "-i", sed.group(1), copy], check=True)
    edited = dict(l.split("=", 1) for l in open(copy).read().splitlines() if l and not l.startswith("#"))
    check(edited.get("API_KEY") == "pick-a-long-secret" and edited.get("VKB_HOST") == "0.0.0.0",
          f"the README's sed sets API_KEY and VKB_HOST in vkbridge.env: {edited.get('API_KEY')!r} {edited.get('VKB_HOST')!r}")
    os.remove(copy)

# --- the unit as systemd would run it (no systemd here): its Environment= lines, then the
# environment file over them, %S/%C as state/cache folders, ExecStart with $VKB_SERVE_ARGS
# split, NOTIFY_SOCKET for Type=notify, as an unprivileged user with no home (DynamicUser)
# when this runs as root, then KillSignal; it must be ready, serve, and stop in time.
import signal, socket, tempfile, time
sys.path.insert(0, sys.argv[3])
root = tempfile.mkdtemp()
os.chmod(root, 0o755)
state, cache = os.path.join(root, "lib"), os.path.join(root, "cache")
os.makedirs(state + "/vkbridge")
os.makedirs(cache + "/vkbridge")
subprocess.run([inst, "gen-model", "--out", state + "/vkbridge/tiny", "--shape", "tiny"], check=True,
               stdout=subprocess.DEVNULL)
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
with open(envf, "a", encoding="utf-8") as f:  # what an operator edits: the test's own copy
    f.write(f"MODEL_EMBED=tiny\nMODEL_BERTSCORE=\nVKB_PULL=0\nVKB_DEVICE=cpu\nVKB_PORT={port}\n"
            "VKB_SERVE_ARGS=--log-level warn --timeout 30\n")
env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"}
for value in re.findall(r"^Environment=(.*)$", u, re.M):
    k, v = value.split("=", 1)
    env[k] = v.replace("%S", state).replace("%C", cache)
for line in open(envf, encoding="utf-8"):
    line = line.strip()
    if line and not line.startswith("#"):
        k, v = line.split("=", 1)
        env[k] = v
exec_start = re.search(r"^ExecStart=(.*)$", u, re.M).group(1).split()
argv = [a for w in exec_start for a in (env.get("VKB_SERVE_ARGS", "").split() if w == "$VKB_SERVE_ARGS" else [w])]
notify = os.path.join(root, "notify")
ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
ns.bind(notify)
os.chmod(root, 0o777)
os.chmod(notify, 0o777)
env["NOTIFY_SOCKET"] = notify
as_user = []
if os.geteuid() == 0 and shutil.which("setpriv"):
    subprocess.run(["chmod", "-R", "a+rX", prefix], check=True)
    subprocess.run(["chown", "-R", "nobody", state, cache], check=True)
    as_user = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
proc = subprocess.Popen(as_user + argv, env=env, stdout=subprocess.DEVNULL)
ns.settimeout(60)
try:
    msg = ns.recv(4096).decode()
except socket.timeout:
    msg = ""
check("READY=1" in msg, f"the unit's service sends READY=1 ({msg!r}, as {'nobody' if as_user else 'this user'})")
from vkb_testsvc import http
status, body, _ = http(f"http://127.0.0.1:{port}/embed", {"texts": ["from the unit"]})
check(status == 200 and len(body["embeddings"][0]) == 32,
      f"it serves on VKB_PORT from the environment file, the model from VKB_MODEL_DIR=%S/vkbridge: {status}")
status, body, _ = http(f"http://127.0.0.1:{port}/health")
check(status == 200, "/health 200")
t0 = time.monotonic()
proc.send_signal(getattr(signal, re.search(r"^KillSignal=(\w+)$", u, re.M).group(1)))
try:
    code = proc.wait(timeout=stop)
except subprocess.TimeoutExpired:
    proc.kill()
    code = -9
check(code == 0, f"KillSignal stops it with exit 0 within TimeoutStopSec ({time.monotonic() - t0:.2f} s)")
ns.settimeout(1)
try:
    check("STOPPING=1" in ns.recv(4096).decode(), "STOPPING=1 on stop")
except socket.timeout:
    check(False, "STOPPING=1 on stop")
ns.close()
print("state:", sorted(os.listdir(state + "/vkbridge")), "cache:", sorted(os.listdir(cache + "/vkbridge")))
subprocess.run(["rm", "-rf", root])
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PYEOF
