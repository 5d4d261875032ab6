#!/usr/bin/env bash
# Configures and builds Cairn into build/ (override with BUILD_DIR).
# Usage: scripts/build.sh [ninja targets...]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
type="${CMAKE_BUILD_TYPE:-RelWithDebInfo}"
if [ ! -f "$build/build.ninja" ]; then
  # ccache where installed (not by install-deps.sh: a fresh CI machine gains
  # nothing from it), so a second clone on a developer's machine rebuilds in
  # minutes; the sanitizer builds do the same (sanitize.sh).
  launcher=()
  if command -v ccache > /dev/null; then
    launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  fi
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE="$type" "${launcher[@]}"
fi
cmake --build "$build" -- "$@"
