#!/usr/bin/env bash
# Sanitizer runs (docs/runtime.md "Sanitizers"), each in its own build folder:
#   scripts/sanitize.sh asan   ASan + UBSan build, the whole GoogleTest and lit suite
#   scripts/sanitize.sh tsan   TSan build, the concurrency tests (threads sharing a
#                              model, parallel loop pairs, busy contexts, cancellation,
#                              cairn-serve under concurrent clients)
#   scripts/sanitize.sh asan-unit  ASan + UBSan build of the unit tests only, run without
#                              the model-scale suites (training, autodiff of the models,
#                              differential fuzzing, golden model runs of the layers):
#                              what CI runs (~1,285 tests, ~4 min), as the whole suite
#                              under ASan takes over 25 minutes on 2 cores
# Extra arguments go to ctest (e.g. -R RunLimits). clang-19 from install-deps.sh.
#
# JIT-compiled kernels are called through plain function pointers: clang's
# -fsanitize=function reads the 8 bytes before a callee for a type hash, which
# JIT code does not have (and which faults when the kernel starts a page), so
# it is off. OpenBLAS is not instrumented; TSan's reports inside it (its
# workers synchronize through spinning) are suppressed, nothing of ours is.
set -euo pipefail
extra=()
root="$(cd "$(dirname "$0")/.." && pwd)"
mode="${1:-asan}"
shift || true
case "$mode" in
asan | asan-unit)
  flags="-fsanitize=address,undefined -fno-sanitize=function -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
  tests=()
  targets=(all)
  if [ "$mode" = asan-unit ]; then
    slow="DifferentialFuzzTest|DifferentialFuzzRegressionTest|DifferentialCheckTest|PassesDifferentialMeta"
    slow+="|OptimizeDifferentialMeta|Autodiff[A-Za-z]*|ExecTraining|TrainSpinn|TrainStepTest|Spinn[A-Za-z]*"
    slow+="|BiRnnTest|TreeLstmSentimentTest|Layers[A-Za-z]*|ElmanRnn[A-Za-z]*|ExecElmanRnnTest|Reinforce"
    tests=(-E "(^|/)($slow)\\.|^(peer_bench_smoke|onnx_conformance|lit|layering|python_tests)\$")
    targets=(cairn_unit_tests)
  fi
  export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1:${ASAN_OPTIONS:-}"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
  ;;
tsan)
  flags="-fsanitize=thread -fno-omit-frame-pointer"
  # oneDNN's threads run on libgomp, which TSan cannot see into: OpenBLAS
  # does every product in this build.
  extra=(-DCAIRN_ONEDNN=OFF)
  tests=(-R "RunLimits|AotTest.RunErrorsAndThreads|ExecControlFlowTest.IndependentLoops|ThreadsShare|Concurrent|Parallel|PairedLoops|SideThread|ServeTest|ServeTextTest"
    -E "MemoryStaysBounded") # one thread, 70 s under TSan
  # Only the unit tests (and what they drive: cairn-serve, the AOT examples):
  # the tools, benchmarks and lit suite are not what TSan checks here.
  targets=(cairn_unit_tests)
  export TSAN_OPTIONS="suppressions=$root/scripts/tsan.supp:halt_on_error=1:second_deadlock_stack=1:${TSAN_OPTIONS:-}"
  ;;
*)
  echo "usage: $0 asan|asan-unit|tsan [ctest arguments]" >&2
  exit 2
  ;;
esac
build="${BUILD_DIR:-$root/build-${mode%-unit}}"
if [ ! -f "$build/build.ninja" ]; then
  CC=clang-19 CXX=clang++-19 cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" \
    -DCMAKE_SHARED_LINKER_FLAGS="$flags" -DCAIRN_BUILD_PYTHON=OFF -DCAIRN_CUDA_DEVICE=OFF "${extra[@]}" > /dev/null
fi
start=$(date +%s)
cmake --build "$build" --target "${targets[@]}"
echo "sanitize.sh: $mode build took $(( $(date +%s) - start )) s"
start=$(date +%s)
(cd "$build" && ctest --output-on-failure -j2 "${tests[@]}" "$@")
echo "sanitize.sh: $mode tests took $(( $(date +%s) - start )) s; no sanitizer report"
