# Sourced by the benchmark shell scripts: run from the repository root with the project's Python.
# PY is $PYTHON if set, else .venv/bin/python if there, else python3; the checkout is on PYTHONPATH
# (so a bare GPU image with torch needs no install of lvsdctl).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY="${PYTHON:-python3}"
if [[ -z "${PYTHON:-}" && -x .venv/bin/python ]]; then PY=.venv/bin/python; fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
