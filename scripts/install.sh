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

# Where CUDA is built (nvcc on PATH), the image check (tests/cli/test_cuda_images.sh) reads the kernels'
# resource usage with cuobjdump, which the CUDA toolkit packages here lack: PyPI's nvidia-cuda-cuobjdump
# (of nvcc's major version) has it, installed into a venv under build-tools/ (kept by `make clean`).
if command -v "${NVCC:-nvcc}" >/dev/null 2>&1; then
    cd "$(dirname "$0")/.."
    venv=build-tools/cuda-tools-venv
    if ! ls "$venv"/lib/python3*/site-packages/nvidia/cu*/bin/cuobjdump >/dev/null 2>&1; then
        major=$("${NVCC:-nvcc}" --version | sed -n 's/.*release \([0-9]*\)\..*/\1/p')
        if ! python3 -m venv "$venv" >/dev/null 2>&1; then
            echo "install.sh: installing python3-venv" >&2
            $SUDO apt-get update -qq
            DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv >/dev/null
            rm -rf "$venv"
            python3 -m venv "$venv"
        fi
        echo "install.sh: installing cuobjdump (nvidia-cuda-cuobjdump==${major}.*) into $venv" >&2
        "$venv/bin/pip" install -q "nvidia-cuda-cuobjdump==${major}.*"
    fi
fi
