#!/usr/bin/env bash
# Installs every system dependency of Cairn on Debian 12 (bookworm).
# Idempotent: skips apt entirely when everything is already there.
set -euo pipefail

packages=(
  build-essential cmake ninja-build git python3
  libfmt-dev libgtest-dev libgmock-dev libcli11-dev nlohmann-json3-dev
  llvm-19-dev llvm-19-tools clang-19 libclang-rt-19-dev zlib1g-dev
  libopenblas-dev libopenblas0-pthread libdnnl-dev
  libcpp-httplib-dev pkg-config
  python3-dev python3-pip
  libonnx-dev libprotobuf-dev libonnx-testdata
)

# The Python bindings (python/, docs/python.md) build with nanobind and test
# with pytest and NumPy, from PyPI into the python3 on PATH (nanobind is not
# packaged in Debian 12). On Debian's own python3 (PEP 668 "externally
# managed") that needs --break-system-packages: acceptable on a build or CI
# machine, and simpler than a venv that every later cmake, ctest and user
# command would have to know about. pip >= 23.0 accepts the flag everywhere.
install_python_packages() {
  local wanted=(nanobind numpy pytest) py_missing=()
  for m in "${wanted[@]}"; do
    python3 -c "import $m" 2>/dev/null || py_missing+=("$m")
  done
  if [ ${#py_missing[@]} -eq 0 ]; then
    echo "install-deps: Python packages ${wanted[*]} present"
    return
  fi
  echo "install-deps: pip installing ${py_missing[*]}"
  local specs=()
  for m in "${py_missing[@]}"; do
    if [ "$m" = nanobind ]; then specs+=("nanobind>=2.0"); else specs+=("$m"); fi
  done
  local user=()
  if [ "$(id -u)" -ne 0 ]; then user=(--user); fi
  python3 -m pip install --quiet --break-system-packages "${user[@]}" "${specs[@]}"
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  install_python_packages
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
install_python_packages
