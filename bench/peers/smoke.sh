#!/usr/bin/env bash
# The peers benchmark's cheap smoke test (ctest peer_bench_smoke): no data,
# no venv. cairn-peer-bench's sgemm peak, the tiny workload exported, and
# served forward and as a training step through the stdin protocol.
#   bench/peers/smoke.sh build/bin/cairn-peer-bench
set -euo pipefail
exe="$1"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

"$exe" peak --threads 1 --reps 1 | grep -q '"peak_gflops"'
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
echo "peer_bench_smoke: ok"
