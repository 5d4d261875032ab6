#!/usr/bin/env bash
# Creates bench/.venv-peers: the pinned PyTorch, JAX (CPU) and NumPy that the
# peers benchmark (bench/peers/) runs Cairn's models in. Never part of the
# product build.
#
# torch comes from PyTorch's CPU wheel index when that index is reachable
# (a much smaller download), else from PyPI (whose Linux wheel pulls the
# nvidia-* CUDA runtime wheels too; the CPU side works the same either way).
# jax[cpu] and numpy come from PyPI.
# Idempotent: re-running with the venv already complete does nothing.
#
# Environment: CAIRN_PEERS_VENV (default bench/.venv-peers), PYTHON
# (default python3; needs Python >= 3.11 for this jax), CAIRN_PEERS_TF=1: also
# TensorFlow (tensorflow-cpu from PyPI, the third peer: bench.py's TF column,
# check_tf.py). 2.21.0 installs beside numpy 2.1.3 and jax 0.10.2's ml_dtypes
# without changing them (it brings keras 3 and ~600 MB); without it bench.py
# skips the TF column and says so.
set -euo pipefail

TORCH_VERSION=2.5.1
NUMPY_VERSION=2.1.3
JAX_VERSION=0.10.2
JAXLIB_VERSION=0.10.2
TF_VERSION=2.21.0
want_tf="${CAIRN_PEERS_TF:-0}"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${CAIRN_PEERS_VENV:-$here/../.venv-peers}"
python="${PYTHON:-python3}"

if [[ -x "$venv/bin/python" ]] &&
   "$venv/bin/python" - "$TORCH_VERSION" "$NUMPY_VERSION" "$JAX_VERSION" "$JAXLIB_VERSION" \
     <<'PY' 2>/dev/null
import sys, torch, numpy, jax, jaxlib
sys.exit(0 if (torch.__version__.split("+")[0] == sys.argv[1]
               and numpy.__version__ == sys.argv[2]
               and jax.__version__ == sys.argv[3]
               and jaxlib.__version__ == sys.argv[4]) else 1)
PY
then
  [[ -f "$venv/.gitignore" ]] || echo '*' > "$venv/.gitignore"
  echo "setup_venv: $venv already has torch $TORCH_VERSION, numpy $NUMPY_VERSION," \
       "jax $JAX_VERSION"
  if [[ "$want_tf" == 1 ]] &&
     ! "$venv/bin/python" -c "import sys, tensorflow as tf; sys.exit(tf.__version__ != '$TF_VERSION')" \
       2>/dev/null; then
    "$venv/bin/python" -m pip install "tensorflow-cpu==$TF_VERSION" "numpy==$NUMPY_VERSION"
  fi
  exit 0
fi

"$python" -m venv "$venv"
# Keeps git out of the venv wherever it lives (the repository's .gitignore
# names bench/.venv only).
echo '*' > "$venv/.gitignore"
pip=("$venv/bin/python" -m pip)
"${pip[@]}" install --upgrade --quiet pip
"${pip[@]}" install "numpy==$NUMPY_VERSION" "jax[cpu]==$JAX_VERSION" "jaxlib==$JAXLIB_VERSION"

cpu_index=https://download.pytorch.org/whl/cpu
if "$venv/bin/python" - "$cpu_index/torch/" <<'PY' 2>/dev/null
import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=10).read(1)
PY
then
  "${pip[@]}" install "torch==$TORCH_VERSION" "numpy==$NUMPY_VERSION" \
    --index-url "$cpu_index" --extra-index-url https://pypi.org/simple
else
  echo "setup_venv: $cpu_index not reachable; torch from PyPI"
  "${pip[@]}" install "torch==$TORCH_VERSION" "numpy==$NUMPY_VERSION"
fi
if [[ "$want_tf" == 1 ]]; then
  # numpy pinned beside it: the resolver must keep the benchmark's numpy.
  "${pip[@]}" install "tensorflow-cpu==$TF_VERSION" "numpy==$NUMPY_VERSION"
fi
"$venv/bin/python" -c 'import torch, numpy, jax, jaxlib
print("setup_venv: torch", torch.__version__, "numpy", numpy.__version__,
      "jax", jax.__version__, "jaxlib", jaxlib.__version__)'
