#!/usr/bin/env bash
# The main job on a fresh machine: install dependencies, build, run the demo.
# Today's demo builds an Elman RNN as one graph with a `while` over a dynamic
# number of steps, prints its IR, runs it with the reference interpreter and
# checks it against a hand-written loop.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" rnn_demo
"${BUILD_DIR:-$root/build}/bin/rnn_demo" "$@"
