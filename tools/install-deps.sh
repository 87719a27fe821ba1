#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages vkbridge needs to build, test and run (as root or via sudo).
# For the deployment tests: dpkg-dev (cpack's dpkg-shlibdeps), systemd (systemd-analyze
# verify), man-db, nginx (tests/test_deploy_nginx.sh starts its own on loopback; the
# system's nginx service is not left running if this script installed it), nodejs + npm,
# and chromium (the /docs test drives Swagger UI in headless Chromium; its npm packages are
# installed by the tests into the build folder: tests/node/package.json).
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
had_nginx=0
if dpkg -s nginx >/dev/null 2>&1; then had_nginx=1; fi
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends \
  build-essential cmake pkg-config git ca-certificates curl \
  libvulkan-dev libvulkan1 mesa-vulkan-drivers vulkan-validationlayers glslc spirv-tools \
  libh2o-evloop-dev libjansson-dev libutf8proc-dev libonig-dev libopenblas-dev libssl-dev \
  libcurl4-openssl-dev nghttp2-client valgrind clang libclang-rt-14-dev python3 \
  dpkg-dev file systemd man-db nginx
# node + npm: Debian's packages, unless a node that brings its own npm is already installed
# (NodeSource's nodejs conflicts with Debian's npm package).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  $SUDO apt-get install -y --no-install-recommends nodejs npm
fi
if [ "$had_nginx" = 0 ] && [ -d /run/systemd/system ]; then
  $SUDO systemctl disable --now nginx >/dev/null 2>&1 || true
fi
# Debian's chromium; on Ubuntu the name is a snap wrapper that cannot run here, so a missing
# browser is not an error: test_docs_swagger then prints SKIP.
$SUDO apt-get install -y --no-install-recommends chromium ||
  echo "install-deps: no chromium package; the /docs browser test will SKIP"
# The Windows cross build and its wine test: mingw-w64, wine, Xvfb, Debian's source packages.
"$(dirname "$0")/install-windows-deps.sh"
