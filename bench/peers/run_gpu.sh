#!/usr/bin/env bash
# The peers benchmark on a GPU, in one command: Cairn's CUDA backend against
# PyTorch CUDA eager and JAX on the GPU (bench.py --device cuda) on the GPU
# workload set (SPINN forward and training step at batch 128 and 512,
# TreeLSTM 128, BiLSTM / BiGRU 64), with Cairn also host-synchronized
# (--no-loop-graphs) and, for the tree models, with the Reduce over every row
# (--full-reduce, whose loops can be recorded). Prints one table and writes
# it to $OUT_DIR/results.md, every sample to $OUT_DIR/results.json. Meant to
# end within about 5 minutes on an H100.
#
# It builds nothing and creates no venv: it takes an already built
# cairn-peer-bench and the system python3, which must have torch (CUDA),
# jax (CUDA) and numpy.
#
#   bench/peers/run_gpu.sh [bench.py options...]    # e.g. --workload bilstm_b64
#
# Environment:
#   CAIRN_PEER_BENCH  the binary (default build/bin/cairn-peer-bench)
#   CAIRN_DATA_DIR    SNLI / SST data (default ../shared/data, else ./shared/data)
#   OUT_DIR           results (default build/peers-gpu)
#   PYTHON            default python3
#   BUDGET            seconds of timed rounds per workload and mode (default 2)
#   DEADLINE          seconds after which timed rounds stop and the workloads
#                     left are skipped (default 210; the tables still come out)
#   CAIRN_CUDA_DEVICE_LIBRARY  the device layer, where it is not at the path
#                     the build wrote into the binary (scripts/gpu-check.sh,
#                     which runs this script, sets it and LD_LIBRARY_PATH)
#   CAIRN_DEVICE      default gpu here: Cairn falling back to its emulated
#                     device is an error, not a silently wrong table;
#                     emulated: a rehearsal without a GPU (the peers on the
#                     CPU, Cairn emulated; the times mean nothing)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
exe="${CAIRN_PEER_BENCH:-$root/build/bin/cairn-peer-bench}"
if [[ -n "${CAIRN_DATA_DIR:-}" ]]; then
  data="$CAIRN_DATA_DIR"
elif [[ -d "$root/../shared/data" ]]; then
  data="$root/../shared/data"
else
  data="$root/shared/data"
fi
out="${OUT_DIR:-$root/build/peers-gpu}"
python="${PYTHON:-python3}"
# scripts/gpu-check.sh's dry run (CAIRN_TEST_DEVICE=emulated) is a rehearsal here too.
[[ -z "${CAIRN_DEVICE:-}" && "${CAIRN_TEST_DEVICE:-}" == emulated ]] && export CAIRN_DEVICE=emulated
export CAIRN_DEVICE="${CAIRN_DEVICE:-gpu}"

fail() { echo "run_gpu.sh: $*" >&2; exit 2; }

# Before minutes of GPU time go anywhere: everything the run needs is here.
[[ -x "$exe" ]] || fail "no executable $exe (build it: ninja -C build cairn-peer-bench; or set CAIRN_PEER_BENCH)"
missing="$(ldd "$exe" 2>/dev/null | grep 'not found' || true)"
[[ -z "$missing" ]] || fail "$exe cannot load its libraries (LD_LIBRARY_PATH?):
$missing"
# The device layer is dlopen'ed from $CAIRN_CUDA_DEVICE_LIBRARY (what
# scripts/gpu-check.sh sets for its bundle), else from the path the build
# wrote into the binary.
devlib="${CAIRN_CUDA_DEVICE_LIBRARY:-$(grep -ao '/[^[:space:][:cntrl:]]*libcairn_cuda_device\.so' "$exe" | head -1 || true)}"
if [[ "$CAIRN_DEVICE" != emulated ]]; then
  [[ -n "$devlib" ]] || fail "$exe was built without the CUDA device layer (CAIRN_CUDA_DEVICE=OFF?)"
  [[ -f "$devlib" ]] || fail "no CUDA device layer at $devlib (set CAIRN_CUDA_DEVICE_LIBRARY to its copy)"
  # Its own libraries (libcuda from the driver, cuBLAS 13, libfmt): a
  # missing one would only show as Cairn falling back to the emulator.
  missing="$(ldd "$devlib" 2>/dev/null | grep 'not found' || true)"
  [[ -z "$missing" ]] || fail "$devlib cannot load its libraries (LD_LIBRARY_PATH?):
$missing"
fi
[[ -d "$data/snli" ]] || fail "no SNLI data under $data (set CAIRN_DATA_DIR)"
[[ -d "$data/sst" ]] || fail "no SST data under $data (set CAIRN_DATA_DIR)"
rehearsal=()
if [[ "$CAIRN_DEVICE" == emulated ]]; then
  # A rehearsal where there is no GPU: the same run with the peers on the
  # CPU and Cairn on its emulated device (bench.py --cuda-dry-run); the
  # times mean nothing.
  rehearsal=(--cuda-dry-run)
  echo "run_gpu.sh: CAIRN_DEVICE=emulated: a rehearsal, not a benchmark"
else
"$python" - <<'PY' || fail "$python lacks a CUDA PyTorch or a CUDA JAX (see above)"
import sys
import torch
import jax
ok = True
if not torch.cuda.is_available():
    print(f"torch {torch.__version__} (CUDA {torch.version.cuda}) sees no GPU", file=sys.stderr)
    ok = False
else:
    print(f"run_gpu.sh: torch {torch.__version__} on {torch.cuda.get_device_name(0)} "
          f"(CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()})")
try:
    print(f"run_gpu.sh: jax {jax.__version__} on {jax.devices('gpu')[0]}")
except RuntimeError as e:
    print(f"jax {jax.__version__} has no GPU: {e}", file=sys.stderr)
    ok = False
sys.exit(0 if ok else 1)
PY
command -v nvidia-smi >/dev/null && nvidia-smi -L || true
"$exe" peak --backend cuda --reps 3 >/dev/null ||
  fail "$exe peak --backend cuda failed: Cairn cannot use the GPU (CAIRN_DEVICE=$CAIRN_DEVICE)"
fi

mkdir -p "$out"
rc=0
"$python" "$here/bench.py" --device cuda --workload-set gpu --exe "$exe" --data "$data" \
  --budget "${BUDGET:-2}" --min-reps 3 --max-reps 30 --warmup 1 \
  --deadline "${DEADLINE:-210}" --serve-timeout 120 \
  --cairn-variant "sync=--no-loop-graphs" \
  --cairn-variant "full=--full-reduce" \
  --cairn-variant "full_sync=--full-reduce --no-loop-graphs" \
  --json "$out/results.json" --markdown "$out/results.md" "${rehearsal[@]}" "$@" || rc=$?
echo "run_gpu.sh: tables in $out/results.md, samples in $out/results.json (exit status $rc)"
exit "$rc"
