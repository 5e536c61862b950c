#!/usr/bin/env bash
# Creates .venv and installs lvsdctl into it (idempotent). Only Python 3.10+ is needed.
# torch: installed as torch==2.13.0 only when the environment has no torch yet. That release is a
# fast local CPU build on our CI machines; on a GPU machine pip picks the CUDA build from PyPI, and
# an existing torch (CUDA, ROCm, MPS) is never replaced.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
VENV="${LVSDCTL_VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check -q)
if ! "$VENV/bin/python" -c "import torch" >/dev/null 2>&1; then
    echo "setup: installing torch==2.13.0" >&2
    "${PIP[@]}" "torch==2.13.0"
fi
if ! "$VENV/bin/python" -c "import lvsdctl, typer, h5py, neurokit2, captum, statsmodels, wfdb, pydicom, sklearn" >/dev/null 2>&1 \
   || [ pyproject.toml -nt "$VENV/.lvsdctl-installed" ]; then
    echo "setup: installing lvsdctl and its dependencies into $VENV" >&2
    "${PIP[@]}" -e ".[dev]"
    touch "$VENV/.lvsdctl-installed"
fi
