#!/usr/bin/env bash
# Installs every system dependency of Cairn on Debian 12 (bookworm).
# Idempotent: skips apt entirely when everything is already there.
set -euo pipefail

packages=(
  build-essential cmake ninja-build git python3
  libfmt-dev libgtest-dev libgmock-dev libcli11-dev nlohmann-json3-dev
  llvm-19-dev llvm-19-tools clang-19 libclang-rt-19-dev zlib1g-dev
  libopenblas-dev libopenblas0-pthread
  libonnx-dev libprotobuf-dev libonnx-testdata
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
