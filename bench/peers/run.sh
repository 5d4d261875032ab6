#!/usr/bin/env bash
# The peers benchmark, end to end from a fresh clone: builds cairn-peer-bench
# (scripts/build.sh), creates the venv with PyTorch and JAX (setup_venv.sh),
# then runs bench.py at 1 and 2 threads: Cairn's compiled executor, PyTorch
# eager and JAX jit on every workload, interleaved. Prints the tables and
# writes them to $OUT_DIR/results.md, with every sample in results.json.
#
#   bench/peers/run.sh [bench.py options...]     # e.g. --workload bilstm_b64 --budget 5
#
# Environment: BUILD_DIR (default build/), CAIRN_PEERS_VENV (default
# bench/.venv-peers), CAIRN_DATA_DIR (default ../shared/data), OUT_DIR
# (default $BUILD_DIR/peers), THREADS (default 1,2), CAIRN_PEERS_TF=1 (also
# TensorFlow in the venv: the third peer column).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${BUILD_DIR:-$root/build}"
venv="${CAIRN_PEERS_VENV:-$root/bench/.venv-peers}"
out="${OUT_DIR:-$build/peers}"

BUILD_DIR="$build" "$root/scripts/build.sh" cairn-peer-bench
CAIRN_PEERS_VENV="$venv" bash "$here/setup_venv.sh"
mkdir -p "$out"

data=()
[[ -n "${CAIRN_DATA_DIR:-}" ]] && data=(--data "$CAIRN_DATA_DIR")
"$venv/bin/python" "$here/bench.py" --exe "$build/bin/cairn-peer-bench" "${data[@]}" \
  --threads "${THREADS:-1,2}" --json "$out/results.json" --markdown "$out/results.md" "$@"
echo "run.sh: tables in $out/results.md, samples in $out/results.json"
