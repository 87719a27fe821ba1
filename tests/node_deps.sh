#!/usr/bin/env bash
# node_deps.sh BUILD_DIR — makes the npm packages of tests/node/package.json available under
# BUILD_DIR/node-test/node_modules (installed once, then reused; tests running in parallel
# wait for each other on a lock) and prints that node_modules folder. Exit 1 when node or
# npm is missing or the registry cannot be reached; the callers then print SKIP.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DIR="$(cd "$1" && pwd)/node-test"
mkdir -p "$DIR"
command -v node >/dev/null && command -v npm >/dev/null || exit 1
exec 9>"$DIR/.lock"
flock 9
if ! cmp -s "$HERE/node/package.json" "$DIR/package.json" || [ ! -f "$DIR/.installed" ]; then
  rm -f "$DIR/.installed"
  cp "$HERE/node/package.json" "$DIR/package.json"
  # puppeteer-core never downloads a browser; the tests use the system chromium
  (cd "$DIR" && PUPPETEER_SKIP_DOWNLOAD=1 npm install --no-audit --no-fund --loglevel=error \
     >"$DIR/npm.log" 2>&1) || { tail -5 "$DIR/npm.log" >&2; exit 1; }
  touch "$DIR/.installed"
fi
echo "$DIR/node_modules"
