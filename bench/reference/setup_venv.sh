#!/usr/bin/env bash
# Creates bench/.venv with the pinned PyTorch + NumPy used by the golden-output
# reference (bench/reference/*.py). Never part of the product build.
#
# Only PyPI is reachable, so torch comes from PyPI (its Linux wheel pulls the
# nvidia-* CUDA runtime wheels too; the reference runs on the CPU regardless).
# Idempotent: re-running with the venv already complete does nothing.
set -euo pipefail

TORCH_VERSION=2.5.1
NUMPY_VERSION=2.1.3

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${CAIRN_REF_VENV:-$here/../.venv}"
python="${PYTHON:-python3}"

if [[ -x "$venv/bin/python" ]] &&
   "$venv/bin/python" - "$TORCH_VERSION" "$NUMPY_VERSION" <<'PY' 2>/dev/null
import sys, torch, numpy
sys.exit(0 if (torch.__version__.split("+")[0] == sys.argv[1]
               and numpy.__version__ == sys.argv[2]) else 1)
PY
then
  echo "setup_venv: $venv already has torch $TORCH_VERSION, numpy $NUMPY_VERSION"
  exit 0
fi

"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --upgrade --quiet pip
"$venv/bin/python" -m pip install "torch==$TORCH_VERSION" "numpy==$NUMPY_VERSION"
"$venv/bin/python" -c 'import torch, numpy; print("setup_venv: torch", torch.__version__, "numpy", numpy.__version__)'
