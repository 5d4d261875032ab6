#!/usr/bin/env bash
# cairn-serve under load (docs/serving.md, "Under load"): wrk at concurrency
# 1, 16 and 64 against one model function, dynamic batching off and on;
# throughput, latency percentiles (p50, p99, p99.9) and the server's peak
# resident memory, one table.
#
#   bench/serve/run.sh                 # ~70 s; writes build/serve-bench/results.md
#   DURATION=30 CONCURRENCY="1 16 64 256" bench/serve/run.sh
#
# The model is tests/unit/Inputs/limits.cairn's @project (one row of 64
# through a 64x64 layer whose weight travels with each request: ~17 KB of
# JSON), JIT-compiled at startup. wrk and the server share this machine's
# CPUs: the figures are the pair's, to compare batching off and on within
# one run, not a server's capacity.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${BUILD_DIR:-$root/build}"
out="${OUT_DIR:-$build/serve-bench}"
duration="${DURATION:-8}"
concurrency="${CONCURRENCY:-1 16 64}"
command -v wrk > /dev/null || { echo "bench/serve: wrk is needed (apt-get install wrk)" >&2; exit 2; }
"$root/scripts/build.sh" cairn-serve > /dev/null
mkdir -p "$out"
pid=""
trap '[ -n "$pid" ] && kill -TERM "$pid" 2> /dev/null; true' EXIT

python3 - "$out/request.json" <<'PY'
import json, sys
x = [i / 64.0 for i in range(64)]
w = [1.0 if i == j else 0.0 for i in range(64) for j in range(64)]
req = {"function": "project", "inputs": [
    {"dtype": "f32", "shape": [1, 64], "data": x},
    {"dtype": "f32", "shape": [64, 64], "data": w}]}
json.dump(req, open(sys.argv[1], "w"))
PY
cat > "$out/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$out/request.json", "r")
wrk.body = f:read("*a")
f:close()
function done(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %.1f %.1f %.1f %.1f\n", summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout, summary.duration, latency:percentile(50), latency:percentile(99),
    latency:percentile(99.9), latency.max))
end
LUA

{
  echo "| batching | concurrency | requests/s | p50 ms | p99 ms | p99.9 ms | max ms | errors | batches | rows/batch | server peak RSS MB |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
} > "$out/results.md"
for mode in off on; do
  flags=()
  [ "$mode" = on ] && flags=(--batch-max-rows 32 --batch-wait-us 1000)
  for c in $concurrency; do
    port_file="$out/port"
    rm -f "$port_file"
    "$build/bin/cairn-serve" --model "m=$root/tests/unit/Inputs/limits.cairn" --port 0 \
      --port-file "$port_file" --threads $((c < 64 ? (c < 8 ? 8 : c) : 64)) "${flags[@]}" \
      > "$out/serve.log" 2>&1 &
    pid=$!
    for _ in $(seq 300); do [ -s "$port_file" ] && break; sleep 0.05; done
    port=$(cat "$port_file")
    line=$(wrk -t$((c < 2 ? 1 : 2)) -c"$c" -d"${duration}s" --timeout 10s -s "$out/post.lua" \
      "http://127.0.0.1:$port/v1/models/m:predict" | grep '^RESULT')
    stats=$(curl -s "http://127.0.0.1:$port/v1/stats")
    rss=$(awk '/VmHWM/ {print int($2 / 1024)}' "/proc/$pid/status")
    kill -TERM "$pid"
    wait "$pid" || true
    pid=""
    read -r _ n errors us p50 p99 p999 max <<< "$line"
    python3 - "$mode" "$c" "$n" "$errors" "$us" "$p50" "$p99" "$p999" "$max" "$rss" "$stats" \
      >> "$out/results.md" <<'PY'
import json, sys
mode, c, n, errors, us, p50, p99, p999, mx, rss, stats = sys.argv[1:]
b = json.loads(stats)["batching"]
per = f"{b['rows'] / b['batches']:.1f}" if b["batches"] else "-"
ms = lambda v: f"{float(v) / 1000:.2f}"
print(f"| {mode} | {c} | {int(n) / (int(us) / 1e6):.0f} | {ms(p50)} | {ms(p99)} | {ms(p999)} | "
      f"{ms(mx)} | {errors} | {b['batches'] or '-'} | {per} | {rss} |")
PY
  done
done
{
  echo
  echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs; wrk with 2 threads (1 at concurrency 1), ${duration} s per row; $(git -C "$root" rev-parse --short HEAD)"
} >> "$out/results.md"
cat "$out/results.md"
