#!/usr/bin/env bash
# The peers benchmark's cheap smoke test (ctest peer_bench_smoke): no venv,
# and data only where it is ($CAIRN_DATA_DIR, else ../shared/data: without
# it those parts are skipped). cairn-peer-bench's sgemm peak, the tiny
# workload exported, and served forward and as a training step through the
# stdin protocol, on the CPU backend and on the CUDA backend; a percentile
# batch exported and a tiny whole pass served; bench.py's tables with and
# without the TensorFlow columns (test_tables.py, made-up results).
#   bench/peers/smoke.sh build/bin/cairn-peer-bench
set -euo pipefail
exe="$1"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

"$exe" peak --threads 1 --reps 1 | grep -q '"peak_gflops"'
# bench.py's tables with and without the TensorFlow columns (stdlib only).
python3 "$(dirname "${BASH_SOURCE[0]}")/test_tables.py" >/dev/null
"$exe" export --workload bilstm_tiny --out "$tmp/case" --run >/dev/null
for f in config.json inputs/tokens.npy inputs/lengths.npy params/embed.weight.npy \
         outputs/cairn_0.npy; do
  [[ -f "$tmp/case/$f" ]] || { echo "smoke: export wrote no $f"; exit 1; }
done
for mode in forward train; do
  out="$(printf 'save %s\nrun 2\nprofile\nquit\n' "$tmp/$mode" |
         "$exe" serve --workload bilstm_tiny --mode "$mode" --threads 1)"
  echo "$out" | head -1 | grep -q '"event":"ready"' || { echo "smoke: $mode: $out"; exit 1; }
  echo "$out" | grep -q '"ms":\[' || { echo "smoke: $mode: no run: $out"; exit 1; }
  echo "$out" | grep -q '"total_ms"' || { echo "smoke: $mode: no profile: $out"; exit 1; }
done
[[ -f "$tmp/forward/cairn_0.npy" && -f "$tmp/train/cairn_loss.npy" ]] ||
  { echo "smoke: save wrote nothing"; exit 1; }

# Batches that look like the data, where the data is (skipped cleanly
# without it): a percentile batch exported (its note says which), and a
# whole pass (treelstm_tiny_dev: SST dev in 3 batches, h 8) served forward
# and as training steps: every batch saved, every run timed per batch.
data="${CAIRN_DATA_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/../shared/data}"
if [[ -f "$data/sst/dev.txt" && -f "$data/snli/snli_1.0_dev.jsonl.gz" ]]; then
  "$exe" --data "$data" export --workload spinn_pi_p90 --out "$tmp/p90" | grep -q '"percentile":90' ||
    { echo "smoke: spinn_pi_p90 export says no percentile"; exit 1; }
  [[ -f "$tmp/p90/inputs/transitions.npy" ]] || { echo "smoke: spinn_pi_p90 exported nothing"; exit 1; }
  for mode in forward train; do
    out="$(printf 'save %s\nrun 2\nprofile\nquit\n' "$tmp/pass-$mode" |
           "$exe" --data "$data" serve --workload treelstm_tiny_dev --mode "$mode" --threads 1 \
             --export "$tmp/pass-case")"
    echo "$out" | head -1 | grep -q '"batches":3' || { echo "smoke: pass $mode: $out"; exit 1; }
    echo "$out" | grep -q '"batch_ms":\[[^],]*,[^],]*,[^],]*\]' ||
      { echo "smoke: pass $mode: no per-batch times: $out"; exit 1; }
    for b in 0 1 2; do
      ls "$tmp/pass-$mode/$b/"cairn_*.npy >/dev/null 2>&1 ||
        { echo "smoke: pass $mode: batch $b not saved"; exit 1; }
      [[ -f "$tmp/pass-case/batches/$b/inputs/tokens.npy" ]] ||
        { echo "smoke: pass $mode: batch $b not exported"; exit 1; }
    done
  done
  grep -q '"examples": 1101' "$tmp/pass-case/pass.json" || { echo "smoke: pass.json"; exit 1; }
else
  echo "smoke: no data under $data: the percentile and whole-pass workloads skipped"
fi

# The CUDA backend (the GPU where there is one, else the emulated device),
# recorded loops and host-synchronized: the same protocol, and the CPU
# backend's results to 1e-5.
for mode in forward train; do
  for flags in "" "--no-loop-graphs"; do
    d="$tmp/cuda-$mode${flags:+-sync}"
    out="$(printf 'save %s
run 2
profile
quit
' "$d" |
           "$exe" serve --workload bilstm_tiny --mode "$mode" --backend cuda $flags)"
    echo "$out" | head -1 | grep -q '"backend":"cuda"' || { echo "smoke: cuda $mode: $out"; exit 1; }
    echo "$out" | grep -q '"ms":\[' || { echo "smoke: cuda $mode: no run: $out"; exit 1; }
    echo "$out" | grep -q '"device_stats"' || { echo "smoke: cuda $mode: no stats: $out"; exit 1; }
  done
done
python3 - "$tmp" <<'PY' || exit 1
import struct, sys
def npy(path):  # float32 .npy, stdlib only
    b = open(path, "rb").read()
    n = struct.unpack("<H", b[8:10])[0]
    return struct.unpack(f"<{(len(b) - 10 - n) // 4}f", b[10 + n:])
t = sys.argv[1]
pairs = [(f"forward/cairn_0", f"cuda-forward{s}/cairn_0") for s in ("", "-sync")]
pairs += [(f"train/{f}", f"cuda-train{s}/{f}") for s in ("", "-sync")
          for f in ("cairn_loss", "cairn_grad_norm")]
for a, b in pairs:
    x, y = npy(f"{t}/{a}.npy"), npy(f"{t}/{b}.npy")
    scale = max(max(abs(v) for v in x), 1e-6)
    rel = max(abs(u - v) for u, v in zip(x, y)) / scale if len(x) == len(y) else float("inf")
    if rel > 1e-5:
        sys.exit(f"smoke: cuda {b} differs from the CPU backend's {a}: {rel:.2e}")
PY
echo "peer_bench_smoke: ok"
