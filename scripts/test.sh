#!/usr/bin/env bash
# Every test on a fresh machine: install dependencies, build everything, run
# the GoogleTest and lit suites (ctest), then build the parser fuzzer with
# clang and give it a short smoke run on its seed corpus.
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
cmake --build "$fuzz" --target cairn-parser-fuzzer
corpus=$(mktemp -d)
cp "$root"/tests/fuzz/corpus/* "$corpus"/
"$fuzz/tests/fuzz/cairn-parser-fuzzer" -max_total_time="${FUZZ_SECONDS:-30}" -print_final_stats=0 \
  "$corpus" 2>&1 | tail -3
rm -rf "$corpus"
echo "test.sh: all tests passed"
