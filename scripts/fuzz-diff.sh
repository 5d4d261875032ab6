#!/usr/bin/env bash
# Differential fuzzing: builds cairn-fuzz-diff, then checks a range of
# generated programs against the reference interpreter, each seed in a child
# process (--isolate: a crashing pass is reported and the run goes on).
# Usage: scripts/fuzz-diff.sh [SEEDS] [cairn-fuzz-diff options...]
#   scripts/fuzz-diff.sh                        # seeds 0:10000, default + optimize
#   scripts/fuzz-diff.sh 10000:20000 --jobs 4 --save-failures /tmp/fuzz
#   scripts/fuzz-diff.sh 1234 --pipeline optimize --minimize
# BUILD_DIR picks the build directory (default build/). Exit status 1 when
# any seed fails; failing seeds are listed with their messages.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
seeds="0:10000"
if [ $# -gt 0 ] && [[ "$1" != -* ]]; then
  seeds="$1"
  shift
fi
BUILD_DIR="$build" "$root/scripts/build.sh" cairn-fuzz-diff >/dev/null
jobs=()
if [[ " $* " != *" --jobs "* && " $* " != *" -j "* ]]; then
  jobs=(--jobs "$(nproc 2>/dev/null || echo 2)")
fi
exec "$build/bin/cairn-fuzz-diff" --seeds "$seeds" --isolate "${jobs[@]}" "$@"
