#!/usr/bin/env bash
# The ONNX benchmark, end to end from a fresh clone: builds cairn-onnx-bench
# (scripts/build.sh), creates a venv with PyTorch, onnx and onnxruntime from
# PyPI (never in the product build), exports the models (export.py: the
# BiLSTM and BiGRU classifiers, a TorchScript greedy decoder with Loop + If),
# then times Cairn against onnxruntime at 1 and 2 threads, batch 1 and 64,
# interleaved (bench.py). Tables in $OUT_DIR/results.md.
#
#   bench/onnx/run.sh [bench.py options...]     # e.g. --models decoder --budget 5
#
# Environment: BUILD_DIR (default build/), CAIRN_ONNX_VENV (default
# bench/.venv-onnx), OUT_DIR (default $BUILD_DIR/onnx-bench).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${BUILD_DIR:-$root/build}"
venv="${CAIRN_ONNX_VENV:-$root/bench/.venv-onnx}"
out="${OUT_DIR:-$build/onnx-bench}"

TORCH_VERSION=2.5.1
NUMPY_VERSION=2.1.3
ONNX_VERSION=1.23.2
ORT_VERSION=1.32.0

BUILD_DIR="$build" "$root/scripts/build.sh" cairn-onnx-bench
if ! "$venv/bin/python" -c "import torch, onnx, onnxruntime" 2> /dev/null; then
  python3 -m venv "$venv"
  echo '*' > "$venv/.gitignore"
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  "$venv/bin/python" -m pip install --quiet "torch==$TORCH_VERSION" "numpy==$NUMPY_VERSION" \
    "onnx==$ONNX_VERSION" "onnxruntime==$ORT_VERSION"
fi
mkdir -p "$out"
"$venv/bin/python" "$here/export.py" "$out/cases"
"$venv/bin/python" "$here/bench.py" --exe "$build/bin/cairn-onnx-bench" --cases "$out/cases" \
  --json "$out/results.json" --markdown "$out/results.md" "$@"
echo "run.sh: table in $out/results.md, samples in $out/results.json"
