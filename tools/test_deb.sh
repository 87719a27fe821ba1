#!/usr/bin/env bash
# test_deb.sh [BUILD_DIR] — the Debian package as a user gets it: cpack builds it from the
# build folder (default build/), dpkg installs it on this machine, the installed
# /usr/bin/vkbridge runs end to end (info, gen-model + embed, serve + /health + /embed,
# SIGTERM), its man page and unit are where man and systemd look, and dpkg --purge removes
# every file again. Needs root and dpkg (tools/test.sh runs it in CI); a few seconds. Without
# them it prints SKIP and exits 0, or 1 under VKB_REQUIRE_ALL=1 (.ci/run: tests/skiplib.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/skiplib.sh
BUILD=$(cd "${1:-build}" && pwd)
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if sudo -n true 2>/dev/null; then SUDO=sudo; else
    vkb_skip "test_deb: needs root (or sudo without a password) to install a package"
  fi
fi
if ! command -v dpkg >/dev/null || ! command -v cpack >/dev/null; then
  vkb_skip "test_deb: needs dpkg and cpack"
fi
export SUDO
if dpkg -s vkbridge >/dev/null 2>&1; then
  vkb_skip "test_deb: a vkbridge package is installed already; not replacing it"
fi
(cd "$BUILD" && cpack -G DEB >/dev/null 2>&1) || { echo "FAIL cpack -G DEB"; (cd "$BUILD" && cpack -G DEB); exit 1; }
DEB=$(ls -t "$BUILD"/vkbridge_*.deb | head -1)
WORK=$(mktemp -d)
cleanup() { $SUDO dpkg --purge vkbridge >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT
$SUDO dpkg -i "$DEB" >/dev/null
exec python3 - "$DEB" "$WORK" "$PWD/tests" <<'PYEOF'
import json, os, re, shutil, subprocess, sys
sys.path.insert(0, sys.argv[3])
from vkb_testsvc import Server, check, finish, gen_model, http

deb, work = sys.argv[1:3]
run = lambda *a, **k: subprocess.run(list(a), capture_output=True, text=True, **k)
print("package:", os.path.basename(deb), f"{os.path.getsize(deb) // 1024} KiB")

fields = run("dpkg-deb", "-f", deb, "Depends", "Recommends").stdout
print(fields.strip())
depends = re.search(r"^Depends: (.*)$", fields, re.M).group(1)
for lib in ("libvulkan1", "libh2o-evloop0.13", "libjansson4", "libutf8proc2", "libopenblas0",
            "libcurl4", "libssl3", "libc6"):
    check(re.search(r"(^|, )" + re.escape(lib) + r"[ ,(]|" + re.escape(lib) + "$", depends) is not None,
          f"Depends names {lib} (from dpkg-shlibdeps, libvulkan1 by hand)")
check(re.search(r"^Recommends: .*mesa-vulkan-drivers", fields, re.M) is not None,
      "Recommends mesa-vulkan-drivers")
check(run("dpkg", "-s", "vkbridge").returncode == 0, "dpkg -i installed it")
files = run("dpkg", "-L", "vkbridge").stdout.split()
for f in ("/usr/bin/vkbridge", "/usr/share/man/man1/vkbridge.1", "/etc/vkbridge/vkbridge.env",
          "/usr/lib/systemd/system/vkbridge.service"):
    check(f in files and os.path.exists(f), f"package installed {f}")
check(run("dpkg-query", "-W", "-f=${Conffiles}", "vkbridge").stdout.strip().startswith("/etc/vkbridge/vkbridge.env"),
      "the environment file is a conffile (kept across upgrades)")

vkb = "/usr/bin/vkbridge"
r = run(vkb, "info", "--compact")
check(r.returncode == 0 and "devices" in json.loads(r.stdout), f"vkbridge info: rc {r.returncode}")
model = gen_model(vkb, work)
r = run(vkb, "embed", "--model", model, "--device", "cpu", "--quiet", "hello from the package")
out = json.loads(r.stdout) if r.returncode == 0 else {}
check(out.get("dimensions") == 32 and len(out["embeddings"][0]) == 32, f"vkbridge embed: rc {r.returncode} {r.stderr[-200:]}")
srv = Server(vkb, {"VKB_MODEL_DIR": work, "MODEL_EMBED": "tiny", "VKB_PULL": "0"})
check(srv.ready(), "installed vkbridge serve: /health 200")
status, body, _ = http(srv.url + "/embed", {"texts": ["a", "b"], "model": "tiny"})
check(status == 200 and len(body["embeddings"]) == 2, f"installed vkbridge serve: /embed {status}")
check(srv.stop() == 0, "SIGTERM: exit 0")

check(run("man", "-w", "vkbridge").stdout.strip() == "/usr/share/man/man1/vkbridge.1", "man finds vkbridge(1)")
if shutil.which("systemd-analyze"):
    r = run("systemd-analyze", "verify", "/usr/lib/systemd/system/vkbridge.service")
    check(r.returncode == 0 and not r.stderr.strip(), f"systemd-analyze verify (installed): {r.stderr.strip()}")
r = run(*os.environ["SUDO"].split(), "dpkg", "--purge", "vkbridge")
check(r.returncode == 0, f"dpkg --purge: {r.stderr.strip()}")
left = [f for f in files if os.path.isfile(f)]
check(not left and not os.path.exists("/etc/vkbridge"), f"nothing left after purge: {left}")
finish()
PYEOF
