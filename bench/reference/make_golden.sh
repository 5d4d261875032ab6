#!/usr/bin/env bash
# Regenerates the golden outputs tests/golden/<case>/expected_<i>.npy end to
# end: builds cairn-export-reference, exports every golden case
# (tests/golden/GoldenCases.h: data, vocabulary, parameters, and Cairn's
# reference-interpreter outputs), runs the PyTorch reference on them
# (run_reference.py in bench/.venv, made by setup_venv.sh), stores PyTorch's
# outputs as the expected values (and, for classifiers, the gradients of a
# cross-entropy loss w.r.t. every parameter: grad_<param>.npy, checked by
# GoldenGradientTest), and prints each output's relative
# difference max|cairn - torch| / max(max|torch|, 1e-6) (bound: 1e-5;
# integer outputs must be identical). Fails, storing nothing, when Cairn and
# PyTorch disagree beyond that.
#
#   bench/reference/make_golden.sh [CASE ...]
#
# Environment: CAIRN_BUILD_DIR (default build/; configured with Ninja, Release,
# if it is not configured yet), CAIRN_DATA_DIR (default ../shared/data).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${CAIRN_BUILD_DIR:-$root/build}"
venv="${CAIRN_REF_VENV:-$root/bench/.venv}"

if [[ ! -f "$build/build.ninja" ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
ninja -C "$build" cairn-export-reference
bash "$here/setup_venv.sh"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

case_args=()
for c in "$@"; do case_args+=(--case "$c"); done
"$build/bin/cairn-export-reference" --out "$tmp" "${case_args[@]}"

cases=()
for d in "$tmp"/*/; do cases+=("${d%/}"); done
echo "PyTorch reference vs Cairn's reference interpreter:"
"$venv/bin/python" "$here/run_reference.py" --compare --grads "${cases[@]}"

for d in "${cases[@]}"; do
  name="$(basename "$d")"
  dest="$root/tests/golden/$name"
  mkdir -p "$dest"
  rm -f "$dest"/expected_*.npy "$dest"/grad_*.npy
  for f in "$d"/outputs/torch_*.npy; do
    i="${f##*/torch_}"
    cp "$f" "$dest/expected_$i"
  done
  for f in "$d"/outputs/grad_*.npy; do
    [ -e "$f" ] && cp "$f" "$dest/"
  done
  cp "$d/config.json" "$dest/config.json"
done
echo "make_golden: wrote ${#cases[@]} cases under tests/golden/"
