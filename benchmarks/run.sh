#!/usr/bin/env bash
# Every benchmark, one after the other, at its default (CPU-sized) scale; each prints lvsdctl's figure
# with its baseline beside it and the issue's goal. Sets up .venv first (scripts/setup.sh).
#   bash benchmarks/run.sh                 # all of them (about 7 min on 2 idle cores)
#   bash benchmarks/run.sh ingest explain  # only these
# Larger runs and GPU options: see each script's --help and benchmarks/README.md. Not in the default
# list because it trains for about 20 min: `bash benchmarks/run.sh ucr` (needs `pip install -e .[ucr]`);
# nor the demo's memory, which runs the whole demo: `bash benchmarks/run.sh demo_memory`.
# Also run by name only: `fullsize` (one full-size ECG-FM step per micro-batch size, ~10 min); the GPU
# check is `bash benchmarks/gpu.sh` and the full-size CLI run `bash benchmarks/fullsize_e2e.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
all=(synth ingest preprocess measure train ecgfm ecgfounder pretrain explain bootstrap_ci loader cpu_inference)
names=("${@:-${all[@]}}")
for name in "${names[@]}"; do
    script="benchmarks/${name%_bench}_bench.py"
    [[ -f $script ]] || script="benchmarks/$name.py"
    [[ -f $script ]] || { echo "no benchmark named $name (have: ${all[*]})" >&2; exit 2; }
    echo "=== $script"
    start=$SECONDS
    .venv/bin/python "$script"
    echo "=== $script: $((SECONDS - start)) s"
    echo
done
