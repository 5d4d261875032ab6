#!/usr/bin/env bash
# The GPU check (issue 12, docs/gpu.md "The check on a GPU"): run from the
# repository root on a machine with one NVIDIA GPU, CUDA 13, PyTorch and JAX
# for CUDA, but no LLVM and no package registry. What it needs comes along in
# .gpu/cairn-gpu.tar.xz (scripts/gpu-bundle.sh, made beforehand on a
# development machine: ~54 MiB, 59 MiB with the source tree, under the 64 MiB carried).
#
#   scripts/gpu-check.sh            # everything, ~6 minutes on an H100
#   SKIP_BENCH=1 scripts/gpu-check.sh
#   DRY_RUN=1 FUZZ_SEEDS=200 scripts/gpu-check.sh   # here, on the emulated device:
#                                   # checks the bundle and the script, claims nothing
#
# 1. the CUDA backend's tests on the real device (CAIRN_TEST_DEVICE=gpu):
#    every op example, loops recorded and host-synchronized, the golden
#    models, the training steps (gradients through loops, Adam);
# 2. cairn-fuzz-diff --backend cuda over 2,000 seeds (8 processes);
# 3. the timings: bench/peers/run_gpu.sh (Cairn's CUDA backend, PyTorch CUDA
#    eager, JAX on CUDA; one table), when present.
# Logs and tables go to $OUT (the device tool brings that folder back), else
# /tmp/cairn-gpu/out. The last lines printed are the summary table.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bundle="${CAIRN_GPU_BUNDLE:-$root/.gpu/cairn-gpu.tar.xz}"
work="${CAIRN_GPU_DIR:-/tmp/cairn-gpu}"
out="${OUT:-$work/out}"
start=$SECONDS
mkdir -p "$work" "$out"
summary="$out/summary.txt"
: > "$summary"
note() { echo "$*" | tee -a "$summary"; }

[ -f "$bundle" ] || { echo "gpu-check: no $bundle: run scripts/gpu-bundle.sh first and carry .gpu" >&2; exit 2; }
python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$bundle" "$work" ||
  { echo "gpu-check: cannot unpack $bundle" >&2; exit 2; }
note "gpu-check: bundle of $(cat "$work/COMMIT" 2>/dev/null || echo '?'), tree at $(git rev-parse HEAD 2>/dev/null || echo '?')"
command -v nvidia-smi > /dev/null &&
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 |
  sed 's/^/gpu-check: GPU /' | tee -a "$summary"

# cuBLAS and cuDNN (libcairn_cudnn_rnn.so's) from the toolkit, else from
# the Python wheels (nvidia-cublas, nvidia-cudnn: PyTorch's own).
cuda_libs=""
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib; do
  { [ -e "$d/libcublas.so.13" ] || [ -e "$d/libcudnn.so.9" ]; } && cuda_libs="$cuda_libs:$d"
done
wheel_libs="$(python3 - <<'EOF' 2>/dev/null
import glob, os, site
dirs = set()
for base in site.getsitepackages():
    for lib in ("libcublas*.so*", "libcudnn.so*"):
        for f in glob.glob(os.path.join(base, "nvidia", "**", lib), recursive=True):
            dirs.add(os.path.dirname(f))
print(":".join(sorted(dirs)))
EOF
)"
[ -n "$wheel_libs" ] && cuda_libs="$cuda_libs:$wheel_libs"
export LD_LIBRARY_PATH="$work/lib${cuda_libs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export CAIRN_CUDA_DEVICE_LIBRARY="$work/lib/libcairn_cuda_device.so"
device=gpu
[ -n "${DRY_RUN:-}" ] && device=emulated && note "gpu-check: DRY RUN on the emulated device: no GPU figure"
export CAIRN_DATA_DIR="$work/data" CAIRN_TEST_DEVICE=$device
[ $device = gpu ] && export CAIRN_DEVICE=gpu # fuzz-diff: the GPU or an error, never the emulator
# The test binary finds its inputs under the source tree it was built in.
built_in="$(cat "$work/SOURCE_DIR" 2>/dev/null)"
if [ -n "$built_in" ] && [ "$built_in" != "$root" ] && [ ! -e "$built_in" ]; then
  mkdir -p "$(dirname "$built_in")" && ln -s "$root" "$built_in"
  mkdir -p "$(dirname "$built_in")/shared" && ln -sfn "$work/data" "$(dirname "$built_in")/shared/data"
fi

# 1. The tests on the GPU.
filter='DeviceExecutor.*:*DeviceOpExamples*:*DeviceGoldenModels*:ExecTraining.*OnEmulatedDevice:TutorialTest.*:DeviceAot.*:DeviceRnn.*:RnnOnDevice.*'
"$work/bin/cairn_unit_tests" --gtest_filter="$filter" > "$out/tests.log" 2>&1
tests_rc=$?
note "gpu-check: tests on the GPU: $(grep -E '^\[  PASSED  \]|^\[  FAILED  \] [0-9]+ test' "$out/tests.log" | tr '\n' ' ') (rc $tests_rc; $out/tests.log)"
grep -E '^\[  FAILED  \] [A-Za-z]' "$out/tests.log" | sort -u | head -20 | tee -a "$summary"
grep -E 'loop\(s\) recorded|host-synchronized:' "$out/tests.log" | sort | uniq -c | head -20 > "$out/loops.txt"

# 2. fuzz-diff, 2,000 seeds in 8 processes (each opens the GPU).
seeds="${FUZZ_SEEDS:-2000}"
pids=()
for k in 0 1 2 3 4 5 6 7; do
  "$work/bin/cairn-fuzz-diff" --backend cuda --tolerance 1e-4 \
    --seeds $((k * seeds / 8)):$(((k + 1) * seeds / 8)) > "$out/fuzz-$k.log" 2>&1 &
  pids+=($!)
done
fuzz_rc=0
for p in "${pids[@]}"; do wait "$p" || fuzz_rc=1; done
note "gpu-check: fuzz-diff (cuda, $seeds seeds): $(grep -h 'failure(s)' "$out"/fuzz-*.log | awk '{f += $(NF-4)} END {print f " failure(s)"}') (rc $fuzz_rc)"
grep -h -i -E 'mismatch|error' "$out"/fuzz-*.log | head -5 | tee -a "$summary"

# 3. The timings beside PyTorch and JAX.
bench_rc=0
if [ -z "${SKIP_BENCH:-}" ] && [ -x bench/peers/run_gpu.sh ]; then
  CAIRN_DEVICE=${CAIRN_DEVICE:-emulated} CAIRN_PEER_BENCH="$work/bin/cairn-peer-bench" \
    OUT_DIR="$out/peers" bench/peers/run_gpu.sh > "$out/bench.log" 2>&1
  bench_rc=$?
  note "gpu-check: timings (rc $bench_rc): $out/peers/results.md"
else
  note "gpu-check: timings skipped (SKIP_BENCH or no bench/peers/run_gpu.sh)"
fi

note "gpu-check: $((SECONDS - start)) s"
cat "$out/loops.txt"
[ -f "$out/peers/results.md" ] && cat "$out/peers/results.md"
cat "$summary"
[ $tests_rc -eq 0 ] && [ $fuzz_rc -eq 0 ] && [ $bench_rc -eq 0 ]
