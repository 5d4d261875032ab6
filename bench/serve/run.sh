#!/usr/bin/env bash
# cairn-serve under load (docs/serving.md, "Under load"): wrk at concurrency
# 1, 16 and 64 against two models, dynamic batching off and on; throughput,
# latency percentiles (p50, p99, p99.9), batches and the server's peak
# resident memory, one table; SPINN's answers under batching checked against
# the interpreter's for each pair alone.
#
#   bench/serve/run.sh                 # ~2 min; writes build/serve-bench/results.md
#   DURATION=30 CONCURRENCY="1 16 64 256" bench/serve/run.sh
#   MODELS=snli-text bench/serve/run.sh  # some of: overhead project spinn snli-text tagger
#   SPINN_ARGS="--embed 300 --hidden 300 --tracker-size 64 --mlp-hidden 1024" \
#     MODELS=spinn OUT_DIR=build/serve-bench-300 bench/serve/run.sh
#                                      # SPINN at the paper's width (preparing
#                                      # the interpreter's answers: ~12 min)
#
# The models: tests/unit/Inputs/limits.cairn's @project (one row of 64
# through a 64x64 layer whose weight travels with each request: ~17 KB of
# JSON), and SPINN's SNLI pair classifier (cairn-spinn's defaults: embed and
# hidden 64, tracker 32, seeded weights bound by the server) on the first
# $SPINN_PAIRS (1000) SNLI dev pairs, each request one pair; and the same
# pairs as plain text through the SNLI text endpoint (:classify, the model
# predicting the trees); and the BiLSTM tagger (:tag) on the premises, with
# its two directions' loops paired always, never and while the CPUs have
# room (--pairs on, off, auto); all JIT-compiled at startup. wrk and the server share this machine's
# CPUs: the figures are the pair's, to compare batching off and on within
# one run, not a server's capacity.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${BUILD_DIR:-$root/build}"
out="${OUT_DIR:-$build/serve-bench}"
duration="${DURATION:-8}"
concurrency="${CONCURRENCY:-1 16 64}"
models=" ${MODELS:-overhead project spinn snli-text tagger} "
command -v wrk > /dev/null || { echo "bench/serve: wrk is needed (apt-get install wrk)" >&2; exit 2; }
"$root/scripts/build.sh" cairn-serve > /dev/null
mkdir -p "$out"
pid=""
trap '[ -n "$pid" ] && kill -TERM "$pid" 2> /dev/null; true' EXIT

# Workload 1, @project: every request the same small dense layer.
python3 - "$out/project.jsonl" <<'PY'
import json, sys
x = [i / 64.0 for i in range(64)]
w = [1.0 if i == j else 0.0 for i in range(64) for j in range(64)]
req = {"function": "project", "inputs": [
    {"dtype": "f32", "shape": [1, 64], "data": x},
    {"dtype": "f32", "shape": [64, 64], "data": w}]}
open(sys.argv[1], "w").write(json.dumps(req) + "\n")
PY
# Workload 2, SPINN on SNLI dev pairs (when the data is there): the pair
# classifier's IR and seeded weights from cairn-spinn, one request per pair
# (its own lengths and tree shapes) with the interpreter's answer alone;
# the server binds the weights and pads requests of different lengths into
# one batch (--batch-pad).
data="${CAIRN_DATA_DIR:-$root/../shared/data}"
snli="$data/snli/snli_1.0_dev.jsonl.gz"
pairs="${SPINN_PAIRS:-1000}"
read -r -a spinn_args <<< "${SPINN_ARGS:-}" # cairn-spinn's model sizes
if [ -f "$snli" ]; then
  "$root/scripts/build.sh" cairn-spinn > /dev/null
  "$build/bin/cairn-spinn" --data "$snli" --format snli --limit "$pairs" --quiet "${spinn_args[@]}" \
    --emit-ir "$out/spinn.cairn" --save-weights "$out/spinn.safetensors" \
    --emit-requests "$out/spinn-expected.jsonl" > /dev/null
  python3 - "$out/spinn-expected.jsonl" "$out/spinn.jsonl" <<'PY'
import json, sys
with open(sys.argv[2], "w") as out:
    for line in open(sys.argv[1]):
        r = json.loads(line)
        out.write(json.dumps({"function": r["function"], "inputs": r["inputs"]}) + "\n")
PY
  # Workload 3, the SNLI text endpoint (:classify): the same pairs as plain
  # text, tokenized by the server, the trees predicted by the model (the
  # bundle: cairn-spinn --export-snli, the same sizes and seed).
  "$build/bin/cairn-spinn" --data "$snli" --format snli --limit "$pairs" --quiet "${spinn_args[@]}" \
    --export-snli "$out/snli-bundle" > /dev/null
  # The offline classifier's answers to the same pairs: cairn-spinn's
  # predicted-transitions model (the same weights: same sizes, same seed)
  # in the interpreter, each pair alone.
  "$build/bin/cairn-spinn" --data "$snli" --format snli --limit "$pairs" --quiet "${spinn_args[@]}" \
    --predict-transitions --emit-requests "$out/snli-offline.jsonl" > /dev/null
  python3 - "$snli" "$pairs" "$out/snli-text.jsonl" "$out/snli-parses.jsonl" <<'PY'
import gzip, json, sys
path, limit, text, parses = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
n = 0
with open(text, "w") as t, open(parses, "w") as p:
    for line in gzip.open(path, "rt"):
        r = json.loads(line)
        if r["gold_label"] == "-":
            continue
        t.write(json.dumps({"premise": r["sentence1"], "hypothesis": r["sentence2"]}) + "\n")
        p.write(json.dumps([r["sentence1_binary_parse"], r["sentence2_binary_parse"]]) + "\n")
        n += 1
        if n == limit:
            break
PY
  # Workload 4, the BiLSTM tagger (:tag; cairn-spinn --export-tagger, seeded
  # weights): the premises as plain text. Its two directions are a loop pair,
  # run with the server's --pairs on, off and auto.
  "$build/bin/cairn-spinn" --data "$snli" --format snli --limit "$pairs" --quiet \
    --export-tagger "$out/tagger-bundle" > /dev/null
  python3 - "$out/snli-text.jsonl" "$out/tagger.jsonl" <<'PY'
import json, sys
with open(sys.argv[2], "w") as out:
    for line in open(sys.argv[1]):
        out.write(json.dumps({"text": json.loads(line)["premise"]}) + "\n")
PY
fi
cat > "$out/post.lua" <<'LUA'
-- Cycles through the requests of $REQUESTS (JSON lines), each thread from
-- its own offset.
local bodies = {}
local next_body = 1
function init(args)
  for line in io.lines(os.getenv("REQUESTS")) do bodies[#bodies + 1] = line end
  next_body = (tonumber(id or 0) * 97) % #bodies + 1 -- `id`: set by setup()
end
function setup(thread)
  thread:set("id", tostring(setup_count or 0))
  setup_count = (setup_count or 0) + 1
end
request = function()
  local b = bodies[next_body]
  next_body = next_body % #bodies + 1
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, b)
end
function done(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %.1f %.1f %.1f %.1f\n", summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout, summary.duration, latency:percentile(50), latency:percentile(99),
    latency:percentile(99.9), latency.max))
end
LUA

{
  echo "| model | batching | concurrency | requests/s | p50 ms | p99 ms | p99.9 ms | max ms | errors | batches | rows/batch | padded | server peak RSS MB |"
  echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
} > "$out/results.md"

# bench_model LABEL REQUESTS MAX_ROWS SERVER_ARGS... (ENDPOINT: predict, or
# classify for the text endpoint)
bench_model() {
  local label=$1 requests=$2 rows=$3
  shift 3
  for mode in ${MODES:-off on}; do
    local flags=()
    [ "$mode" = on ] && flags=(--batch-max-rows "$rows" --batch-wait-us 1000 --batch-pad)
    for c in $concurrency; do
      local port_file="$out/port"
      rm -f "$port_file"
      "$build/bin/cairn-serve" "$@" --port 0 --port-file "$port_file" \
        --threads $((c < 64 ? (c < 8 ? 8 : c) : 64)) "${flags[@]}" > "$out/serve.log" 2>&1 &
      pid=$!
      for _ in $(seq 600); do [ -s "$port_file" ] && break; sleep 0.05; done
      port=$(cat "$port_file")
      line=$(REQUESTS="$requests" wrk -t$((c < 2 ? 1 : 2)) -c"$c" -d"${duration}s" --timeout 10s \
        -s "$out/post.lua" "http://127.0.0.1:$port/v1/models/m:${ENDPOINT:-predict}" | grep '^RESULT')
      stats=$(curl -s "http://127.0.0.1:$port/v1/stats")
      if [ "$mode" = on ] && [ "$c" = "${concurrency##* }" ]; then
        [ "$label" = spinn ] && check_answers "$port"
        [ "$label" = snli-text ] && check_text_answers "$port"
      fi
      rss=$(awk '/VmHWM/ {print int($2 / 1024)}' "/proc/$pid/status")
      kill -TERM "$pid"
      wait "$pid" || true
      pid=""
      read -r _ n errors us p50 p99 p999 max <<< "$line"
      python3 - "$label" "$mode" "$c" "$n" "$errors" "$us" "$p50" "$p99" "$p999" "$max" "$rss" \
        "$stats" >> "$out/results.md" <<'PY'
import json, sys
label, mode, c, n, errors, us, p50, p99, p999, mx, rss, stats = sys.argv[1:]
b = json.loads(stats)["batching"]
per = f"{b['rows'] / b['batches']:.1f}" if b["batches"] else "-"
ms = lambda v: f"{float(v) / 1000:.2f}"
print(f"| {label} | {mode} | {c} | {int(n) / (int(us) / 1e6):.0f} | {ms(p50)} | {ms(p99)} | "
      f"{ms(p999)} | {ms(mx)} | {errors} | {b['batches'] or '-'} | {per} | "
      f"{b.get('padded_batches', 0) or '-'} | {rss} |")
PY
    done
  done
}

# 200 of the SPINN requests at once against the batching server: each answer
# against the interpreter's for the pair alone.
check_answers() {
  python3 - "$1" "$out/spinn-expected.jsonl" >> "$out/check.txt" <<'PY'
import json, sys, urllib.request, concurrent.futures as cf
port, path = sys.argv[1:]
reqs = [json.loads(l) for l in open(path)][:200]
def diff(r):
    body = json.dumps({"function": r["function"], "inputs": r["inputs"]}).encode()
    out = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models/m:predict", body).read())
    return max(abs(a - b) for a, b in zip(out["outputs"][0]["data"], r["expected"]["data"]))
with cf.ThreadPoolExecutor(64) as ex:
    d = list(ex.map(diff, reqs))
print(f"SPINN answers checked: {len(d)} pairs sent at once to the batching server, largest "
      f"difference from the interpreter's answer alone {max(d):.2e}")
PY
}

# The text endpoint: every pair sent alone (the tokens the server made
# against the binary parse's), then 200 at once to the batching server,
# each answer against the pair's own.
check_text_answers() {
  python3 - "$1" "$out/snli-text.jsonl" "$out/snli-parses.jsonl" "$out/snli-offline.jsonl" \
    >> "$out/check.txt" <<'PY'
import json, sys, urllib.request, concurrent.futures as cf
port, text, parses, offline = sys.argv[1:]
reqs = [l.encode() for l in open(text)]
trees = [json.loads(l) for l in open(parses)]
expected = [json.loads(l)["expected"]["data"] for l in open(offline)]
ask = lambda b: json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models/m:classify", b).read())
alone = [ask(b) for b in reqs]
same = sum(a["tokens"]["premise"] == [w for w in p.split() if w not in "()"] and
           a["tokens"]["hypothesis"] == [w for w in h.split() if w not in "()"]
           for a, (p, h) in zip(alone, trees))
with cf.ThreadPoolExecutor(64) as ex:
    together = list(ex.map(ask, reqs[:200]))
labels = sum(a["label"] == b["label"] for a, b in zip(alone, together))
d = max(abs(a["probabilities"][k] - b["probabilities"][k]) for a, b in zip(alone, together)
        for k in a["probabilities"])
# Against the offline classifier, where the server's tokens are the parse's
# (the offline run reads the parses' tokens).
agree = [i for i, (a, (p, h)) in enumerate(zip(alone, trees))
         if a["tokens"]["premise"] == [w for w in p.split() if w not in "()"]
         and a["tokens"]["hypothesis"] == [w for w in h.split() if w not in "()"]]
off = max(abs(x - y) for i in agree[:200] for x, y in zip(together[i]["logits"] if i < 200 else
          alone[i]["logits"], expected[i]))
print(f"SNLI text answers checked: 200 pairs sent at once to the batching server, {labels}/200 "
      f"labels as sent alone, largest probability difference {d:.2e}; the server's tokens equal "
      f"the binary parse's for {same}/{len(reqs)} pairs; largest logit difference from the "
      f"offline classifier (cairn-spinn --predict-transitions, each pair alone) over "
      f"{min(len(agree), 200)} pairs {off:.2e}")
PY
}

# The server's per-request overhead (the issue's target: <= 50 us at
# concurrency 1): an identity model (bench/serve/identity.cairn, one row of
# 64 floats in and out), batching off, one connection. Three figures: the
# floor of this client and loopback TCP (GET /healthz: httplib and wrk, no
# JSON, no model); the identity request's p50; and the server's own mean
# time inside the :predict handler outside the run (/v1/stats "predict").
bench_overhead() {
  local port_file="$out/port"
  rm -f "$port_file"
  "$build/bin/cairn-serve" --model "m=$root/bench/serve/identity.cairn" --port 0 \
    --port-file "$port_file" --threads 8 > "$out/serve.log" 2>&1 &
  pid=$!
  for _ in $(seq 600); do [ -s "$port_file" ] && break; sleep 0.05; done
  port=$(cat "$port_file")
  python3 - "$out/identity.jsonl" <<'PY'
import json, sys
req = {"function": "identity", "inputs": [{"dtype": "f32", "shape": [1, 64],
                                            "data": [i / 64.0 for i in range(64)]}]}
open(sys.argv[1], "w").write(json.dumps(req) + "\n")
PY
  # GETs report as the POSTs do: post.lua's `done` alone.
  sed -n '/^function done/,/^end/p' "$out/post.lua" > "$out/get.lua"
  local health identity stats
  health=$(wrk -t1 -c1 -d"${duration}s" -s "$out/get.lua" "http://127.0.0.1:$port/healthz" | grep '^RESULT')
  identity=$(REQUESTS="$out/identity.jsonl" wrk -t1 -c1 -d"${duration}s" -s "$out/post.lua" \
    "http://127.0.0.1:$port/v1/models/m:predict" | grep '^RESULT')
  stats=$(curl -s "http://127.0.0.1:$port/v1/stats")
  kill -TERM "$pid"
  wait "$pid" || true
  pid=""
  python3 - "$health" "$identity" "$stats" > "$out/overhead.md" <<'PY'
import json, sys
def parse(line):
    _, n, errors, us, p50, p99, p999, mx = line.split()
    return int(n) / (int(us) / 1e6), float(p50), float(p99), int(errors)
h, i, stats = parse(sys.argv[1]), parse(sys.argv[2]), json.loads(sys.argv[3])["predict"]
print("Per-request overhead, concurrency 1, batching off (wrk: requests/s, p50 and p99 in us):")
print()
print("| request | requests/s | p50 us | p99 us | errors |")
print("| --- | ---: | ---: | ---: | ---: |")
print(f"| GET /healthz (the floor: wrk, loopback TCP, httplib) | {h[0]:.0f} | {h[1]:.0f} | {h[2]:.0f} | {h[3]} |")
print(f"| POST :predict, identity model, [1,64] f32 | {i[0]:.0f} | {i[1]:.0f} | {i[2]:.0f} | {i[3]} |")
print()
print(f"- :predict p50 less the /healthz floor: {i[1] - h[1]:.0f} us")
print(f"- the server's own time per answered :predict (/v1/stats, means over "
      f"{stats['answered']} requests): {stats['handler_us_mean']:.1f} us in the handler, "
      f"{stats['run_us_mean']:.1f} us of it in the run, {stats['server_us_mean']:.1f} us outside it")
PY
}

rm -f "$out/check.txt" "$out/overhead.md"
if [[ $models == *" overhead "* ]]; then
  bench_overhead
fi
if [[ $models == *" project "* ]]; then
  bench_model project "$out/project.jsonl" 32 --model "m=$root/tests/unit/Inputs/limits.cairn"
fi
if [ -f "$out/spinn.jsonl" ]; then
  if [[ $models == *" spinn "* ]]; then
    bench_model spinn "$out/spinn.jsonl" 64 --model "m=$out/spinn.cairn" \
      --weights "m=$out/spinn.safetensors"
  fi
  if [[ $models == *" snli-text "* ]]; then
    ENDPOINT=classify bench_model snli-text "$out/snli-text.jsonl" 64 --snli "m=$out/snli-bundle"
  fi
  if [[ $models == *" tagger "* ]]; then
    for p in on off auto; do
      MODES=off ENDPOINT=tag bench_model "tagger, pairs $p" "$out/tagger.jsonl" 64 \
        --tagger "m=$out/tagger-bundle" --pairs "$p"
    done
  fi
fi
{
  echo
  [ -f "$out/check.txt" ] && cat "$out/check.txt"
  [ -f "$out/overhead.md" ] && { cat "$out/overhead.md"; echo; }
  echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs; wrk with 2 threads (1 at concurrency 1), ${duration} s per row; $(git -C "$root" rev-parse --short HEAD)"
} >> "$out/results.md"
cat "$out/results.md"
