#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages vkbridge needs to build, test and run (as root or via sudo).
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends \
  build-essential cmake pkg-config git ca-certificates curl \
  libvulkan-dev libvulkan1 mesa-vulkan-drivers vulkan-validationlayers glslc spirv-tools \
  libh2o-evloop-dev libjansson-dev libutf8proc-dev libonig-dev libopenblas-dev libssl-dev \
  libcurl4-openssl-dev nghttp2-client valgrind clang libclang-rt-14-dev python3
