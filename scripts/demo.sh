#!/usr/bin/env bash
# The whole pipeline on the embedded default: a SYNTHETIC LBBB cohort (no real patient in it).
# Sets up .venv, then runs every stage as a user would, writing everything under demo/ (or $1).
# Sized to finish in well under 15 minutes on 2 CPU cores; scale with DEMO_ECGS / DEMO_EPOCHS.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
OUT="${1:-demo}"
N_ECGS="${DEMO_ECGS:-1000}"
N_PATIENTS="${DEMO_PATIENTS:-450}"
EPOCHS="${DEMO_EPOCHS:-6}"
mkdir -p "$OUT"
step() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }

step "synth: $N_ECGS synthetic ECGs of $N_PATIENTS synthetic patients"
lvsdctl synth -o "$OUT/cohort" --n-ecgs "$N_ECGS" --n-patients "$N_PATIENTS" --seed 7
# The pseudonymisation key of this demo "site" (a real site keeps its own secret out of the repo).
printf 'demo-site-secret-not-for-real-data\n' > "$OUT/site.key"

step "ingest: MUSE XML + digitised printouts + echo table -> raw.h5"
lvsdctl ingest "$OUT/cohort/ecg" --echo "$OUT/cohort/echo.csv" --secret-file "$OUT/site.key" -o "$OUT/raw.h5"

step "preprocess: the study's filters, 500 Hz, 4x5000 -> pre.h5"
lvsdctl preprocess "$OUT/raw.h5" -o "$OUT/pre.h5"

step "split: the study's design (site A to 2023 train/tune, A 2024, C, B), patient-grouped"
lvsdctl split "$OUT/pre.h5" -o "$OUT/split.h5" --seed 7 --table "$OUT/table1.csv"
