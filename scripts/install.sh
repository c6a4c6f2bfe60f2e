#!/usr/bin/env bash
# Installs everything duo-train needs on a fresh Debian machine (as root, or with sudo):
# the C libraries it links, the tools its tests use, and the Python packages of its test oracles.
set -euo pipefail
SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
pkgs=(build-essential pkg-config libzstd-dev zstd libhdf5-dev hdf5-tools libjansson-dev libpcre2-dev libutf8proc-dev
      libopenblas-dev libpng-dev libomp-dev clang libclang-rt-dev python3 python3-numpy python3-h5py)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
    echo "install.sh: installing ${missing[*]}" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
