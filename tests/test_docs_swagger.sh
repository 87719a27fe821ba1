#!/usr/bin/env bash
# test_docs_swagger.sh BINARY TESTDATA BUILD_DIR — /docs as FastAPI users know it: Swagger UI
# over /openapi.json, from a local copy (npm's swagger-ui-dist via --docs-assets), in
# headless Chromium (the Debian package, driven by puppeteer-core; no downloaded browser):
# it renders, lists every endpoint, and "Try it out" on /embed returns vectors; /openapi.json
# validates as OpenAPI 3 (tests/docs_swagger.js). SKIP without chromium or the npm packages
# (a failure under VKB_REQUIRE_ALL=1, as in CI: tests/skiplib.sh).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/skiplib.sh"
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
  vkb_skip "/docs in Chromium: no chromium (Debian package chromium; tools/install-deps.sh)"
fi
if ! MODULES=$("$HERE/node_deps.sh" "$3"); then
  vkb_skip "/docs in Chromium: node/npm or the npm packages are not available"
fi
exec python3 - "$1" "$HERE" "$MODULES" "$CHROMIUM" <<'PYEOF'
import os, subprocess, sys, tempfile
sys.path.insert(0, sys.argv[2])
from vkb_testsvc import Server, check, finish, gen_model, http

binary, here, modules, chromium = sys.argv[1:5]
tmp = tempfile.mkdtemp()
gen_model(binary, tmp)
srv = Server(binary, {"VKB_MODEL_DIR": tmp, "MODEL_EMBED": "tiny"},
             ["--docs-assets", os.path.join(modules, "swagger-ui-dist")])
check(srv.ready(), "service ready")
status, page, _ = http(srv.url + "/docs")
check(status == 200 and b"/docs/swagger-ui-bundle.js" in page, "/docs points at the local copy")
home = tempfile.mkdtemp()  # chromium's profile and crash dumps go here, not into $HOME
r = subprocess.run(["node", os.path.join(here, "docs_swagger.js"), srv.url, chromium],
                   env=dict(os.environ, NODE_PATH=modules, HOME=home, XDG_CONFIG_HOME=home,
                            XDG_CACHE_HOME=home), capture_output=True, text=True, timeout=240)
print(r.stdout.strip())
if r.returncode != 0:
    print(r.stderr[-2000:])
check(r.returncode == 0, "the browser checks passed")
check(srv.stop() == 0, "clean stop")
finish()
PYEOF
