#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages vkbridge needs to build, test and run (as root or via sudo).
# For the deployment tests: dpkg-dev (cpack's dpkg-shlibdeps), systemd (systemd-analyze
# verify), man-db, nginx (tests/test_deploy_nginx.sh), nodejs + npm + chromium (the
# /docs test drives Swagger UI in headless Chromium; its npm packages are installed by the
# tests into the build folder: tests/node/package.json).
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends \
  build-essential cmake pkg-config git ca-certificates curl \
  libvulkan-dev libvulkan1 mesa-vulkan-drivers vulkan-validationlayers glslc spirv-tools \
  libh2o-evloop-dev libjansson-dev libutf8proc-dev libopenblas-dev libssl-dev \
  libcurl4-openssl-dev nghttp2-client valgrind clang libclang-rt-14-dev python3 \
  dpkg-dev file systemd man-db nginx nodejs npm chromium
