#!/usr/bin/env bash
# Every test on a fresh machine: install dependencies, build everything, run
# the GoogleTest and lit suites (ctest), then build the libFuzzer targets with
# clang and give each a short smoke run on its seed corpus (the parser's is
# checked in; the safetensors reader's and the ONNX importer's are generated
# by scripts; the AOT program loader's fuzzer makes its own valid input).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
"$root/scripts/install-deps.sh"
start=$(date +%s)
"$root/scripts/build.sh"
echo "test.sh: build took $(( $(date +%s) - start )) s"
(cd "$build" && ctest --output-on-failure -j2)

fuzz="${build}-fuzz"
if [ ! -f "$fuzz/build.ninja" ]; then
  CC=clang-19 CXX=clang++-19 cmake -S "$root" -B "$fuzz" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCAIRN_BUILD_FUZZERS=ON -DCAIRN_BUILD_TESTS=OFF > /dev/null
fi
cmake --build "$fuzz" --target cairn-parser-fuzzer cairn-safetensors-fuzzer cairn-program-fuzzer \
  cairn-serve-request-fuzzer cairn-onnx-fuzzer
corpus=$(mktemp -d)
cp "$root"/tests/fuzz/corpus/* "$corpus"/
"$fuzz/tests/fuzz/cairn-parser-fuzzer" -max_total_time="${FUZZ_SECONDS:-30}" -print_final_stats=0 \
  "$corpus" 2>&1 | tail -3
rm -rf "$corpus"
corpus=$(mktemp -d)
python3 "$root/tests/fuzz/make_safetensors_corpus.py" "$corpus"
"$fuzz/tests/fuzz/cairn-safetensors-fuzzer" -max_total_time="${SAFETENSORS_FUZZ_SECONDS:-15}" \
  -print_final_stats=0 -dict="$root/tests/fuzz/safetensors.dict" "$corpus" 2>&1 | tail -3
rm -rf "$corpus"
# The AOT program loader: it builds its own valid programs and fuzzes edits of them.
corpus=$(mktemp -d)
"$fuzz/tests/fuzz/cairn-program-fuzzer" -max_total_time="${PROGRAM_FUZZ_SECONDS:-15}" \
  -print_final_stats=0 "$corpus" 2>&1 | tail -3
rm -rf "$corpus"
# cairn-serve's request decoding, from two checked-in requests.
corpus=$(mktemp -d)
cp "$root"/tests/fuzz/serve-corpus/* "$corpus"/
"$fuzz/tests/fuzz/cairn-serve-request-fuzzer" -max_total_time="${SERVE_FUZZ_SECONDS:-10}" \
  -print_final_stats=0 "$corpus" 2>&1 | tail -3
rm -rf "$corpus"
# The ONNX importer, from models a script writes.
corpus=$(mktemp -d)
python3 "$root/tests/fuzz/make_onnx_corpus.py" "$corpus"
"$fuzz/tests/fuzz/cairn-onnx-fuzzer" -max_total_time="${ONNX_FUZZ_SECONDS:-15}" \
  -print_final_stats=0 "$corpus" 2>&1 | tail -3
rm -rf "$corpus"
echo "test.sh: all tests passed"
