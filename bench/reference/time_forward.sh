#!/usr/bin/env bash
# Forward time per batch of SPINN (SNLI classifier, PI transitions, tracker)
# on SNLI dev batches of 128 pairs (bucketed by length), for Cairn's reference
# interpreter and for the PyTorch reference, on the same batches and the same
# parameters in one run; checks that the two agree too.
#
#   bench/reference/time_forward.sh [--batches K] [--repeat R] [--hidden H] [--batch-size B]
#                                   [--threads N]
#
# Each batch runs R times (default 3) in each; the fastest run counts.
# Defaults: 3 batches, the golden sizes (embed 32, hidden 32, tracker 16,
# MLP 64); --hidden H uses embed H, hidden H, tracker H/2, MLP 2H. --threads
# sets PyTorch's thread count (default 1, as the interpreter; 0 = PyTorch's default).
# Environment: CAIRN_BUILD_DIR (default build/), CAIRN_DATA_DIR.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${CAIRN_BUILD_DIR:-$root/build}"
venv="${CAIRN_REF_VENV:-$root/bench/.venv}"

batches=3 repeat=3 hidden=0 batch_size=128 threads=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --batches) batches="$2"; shift 2 ;;
    --repeat) repeat="$2"; shift 2 ;;
    --hidden) hidden="$2"; shift 2 ;;
    --batch-size) batch_size="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    *) echo "time_forward.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

if [[ ! -f "$build/build.ninja" ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
ninja -C "$build" cairn-export-reference >/dev/null
bash "$here/setup_venv.sh" >/dev/null

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

"$build/bin/cairn-export-reference" --time --out "$tmp" --batches "$batches" \
  --batch-size "$batch_size" --hidden "$hidden" --repeat "$repeat"
cases=()
for d in "$tmp"/batch_*/; do cases+=("${d%/}"); done
"$venv/bin/python" "$here/run_reference.py" --time --compare --threads "$threads" \
  --repeat "$repeat" "${cases[@]}"
