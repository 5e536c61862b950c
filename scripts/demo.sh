#!/usr/bin/env bash
# The whole pipeline on the embedded default: a SYNTHETIC LBBB cohort (no real patient in it).
# Sets up .venv, then runs every stage as a user would, writing everything under demo/ (or $1).
# Sized to finish in well under 15 minutes on 2 CPU cores; scale with DEMO_ECGS / DEMO_EPOCHS.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
OUT="${1:-demo}"
N_ECGS="${DEMO_ECGS:-500}"
N_PATIENTS="${DEMO_PATIENTS:-225}"
EPOCHS="${DEMO_EPOCHS:-3}"
FT_EPOCHS="${DEMO_FINETUNE_EPOCHS:-6}"  # the tiny ECG-FM is cheap: twice the baselines' epochs
mkdir -p "$OUT"
# Bold step titles on a terminal only: a log redirected to a file gets no escape codes.
if [ -t 2 ]; then B=$'\033[1m' N=$'\033[0m'; else B= N=; fi
step() { printf '\n%s== [%4ds] %s%s\n' "$B" "$SECONDS" "$*" "$N" >&2; }

step "synth: $N_ECGS synthetic ECGs of $N_PATIENTS synthetic patients"
lvsdctl synth -o "$OUT/cohort" --n-ecgs "$N_ECGS" --n-patients "$N_PATIENTS" --seed 7
# The pseudonymisation key of this demo "site" (a real site keeps its own secret out of the repo).
printf 'demo-site-secret-not-for-real-data\n' > "$OUT/site.key"

step "ingest: MUSE XML + digitised printouts + echo table -> raw.h5"
lvsdctl ingest "$OUT/cohort/ecg" --echo "$OUT/cohort/echo.csv" --secret-file "$OUT/site.key" -o "$OUT/raw.h5"

step "preprocess: the study's filters, 500 Hz, 4x5000 -> pre.h5"
lvsdctl preprocess "$OUT/raw.h5" -o "$OUT/pre.h5"

step "measure: beats, wave boundaries, intervals and LBBB criteria of every ECG -> measures.h5"
lvsdctl measure "$OUT/cohort/ecg" -o "$OUT/measures.h5" -j 2 -q  # exports: the machine's statements too

step "split: the study's design (site A to 2023 train/tune, A 2024, C, B), patient-grouped"
lvsdctl split "$OUT/pre.h5" -o "$OUT/split.h5" --seed 7 --table "$OUT/table1.csv" --measures "$OUT/measures.h5"

step "train: the four baselines from scratch (demo widths and epochs; the article's are the defaults)"
# The article's full-width models at lr 5e-6 for 100 epochs take hours on a CPU; the demo trains
# narrower networks for a few epochs at a higher learning rate, flags spelled out so nothing is hidden.
lvsdctl train "$OUT/split.h5" --model fcn --epochs "$EPOCHS" --lr 1e-3 --model-option 'filters=[32,64,32]' -o "$OUT/fcn.h5" -q
lvsdctl train "$OUT/split.h5" --model lstm-fcn --epochs "$EPOCHS" --lr 1e-3 --model-option 'filters=[32,64,32]' -o "$OUT/lstm-fcn.h5" -q
lvsdctl train "$OUT/split.h5" --model resnet --epochs "$EPOCHS" --lr 1e-3 --model-option 'filters=[16,32,32]' -o "$OUT/resnet.h5" -q
lvsdctl train "$OUT/split.h5" --model inceptiontime --epochs "$EPOCHS" --lr 1e-3 --model-option filters=8 --model-option bottleneck=8 -o "$OUT/inceptiontime.h5" -q

step "pretrain: a tiny ECG-FM backbone, self-supervised on the training sites' 12-lead ECGs (labels unused)"
# The official ECG-FM weights cannot be downloaded here: the demo makes its own small backbone.
lvsdctl preprocess "$OUT/raw.h5" --layout 12x5000 -o "$OUT/pre12.h5" -q
lvsdctl split "$OUT/pre12.h5" -o "$OUT/split12.h5" --seed 7 -q
lvsdctl pretrain "$OUT/split12.h5" --set train --set tune --size tiny --epochs "${DEMO_PRETRAIN_EPOCHS:-6}" --batch-size 16 --lr 5e-4 -o "$OUT/site-fm.h5" -q

step "finetune: ECG-FM (tiny) for LVSD, from the pretrained backbone and from scratch"
lvsdctl finetune "$OUT/split.h5" --weights "$OUT/site-fm.h5" --freeze 0 --epochs "$FT_EPOCHS" --lr 3e-4 --batch-size 16 -o "$OUT/ecgfm-pretrained.h5" -q
lvsdctl finetune "$OUT/split.h5" --from-scratch --size tiny --freeze 0 --epochs "$FT_EPOCHS" --lr 3e-4 --batch-size 16 -o "$OUT/ecgfm-scratch.h5" -q

step "finetune: ECGFounder's architecture (tiny, from scratch) on its authors' preprocessing chain"
# ECGFounder's pretrained weights (huggingface.co/PKUDigitalHealth/ECGFounder) cannot be fetched here and
# it has no self-supervised objective to pretrain with: this row is its network trained from random
# weights at a tiny size. It shows the path (chain, model, DeepLIFT), not what the pretrained model does.
lvsdctl preprocess "$OUT/raw.h5" --chain ecgfounder -o "$OUT/pre-ecgfounder.h5" -q
lvsdctl split "$OUT/pre-ecgfounder.h5" -o "$OUT/split-ecgfounder.h5" --seed 7 -q
lvsdctl finetune "$OUT/split-ecgfounder.h5" --backbone ecgfounder --from-scratch --size tiny --freeze 0 --epochs "$FT_EPOCHS" --lr 1e-3 --batch-size 16 -o "$OUT/ecgfounder-scratch.h5" -q

step "evaluate: every model on the validation sets (95% CIs by patient bootstrap)"
MODELS=(fcn lstm-fcn resnet inceptiontime ecgfm-scratch ecgfm-pretrained ecgfounder-scratch)
for m in "${MODELS[@]}"; do
    extra=()  # the full report (TRIPOD+AI items, model card, figures) for the pretrained ECG-FM
    [ "$m" = ecgfm-pretrained ] && extra=(--report "$OUT/report.md" --figures "$OUT/figures")
    data="$OUT/split.h5"  # the same ECGs and sets; ECGFounder's through its own chain
    [ "$m" = ecgfounder-scratch ] && data="$OUT/split-ecgfounder.h5"
    lvsdctl evaluate "$OUT/$m.h5" "$data" -o "$OUT/$m-eval.h5" --bootstrap 200 --threshold youden "${extra[@]}" -q
done

step "stats: Table 1 of the synthetic cohort"
lvsdctl stats cohort "$OUT/split.h5" -o "$OUT/table1.md"

# The model of the report is the one used from here on: evaluate saved its frozen threshold beside it
# (ecgfm-pretrained.h5.threshold.json), so predict and explain call every ECG as the report does.
USE="$OUT/ecgfm-pretrained.h5"
exports=("$OUT"/cohort/ecg/MUSE_*.xml)

step "predict: per-ECG scores and calls at the model's operating point (the internal set, and five exports)"
lvsdctl predict "$USE" "$OUT/split.h5" --set internal -o "$OUT/predictions.h5" --table "$OUT/predictions.csv" -q
lvsdctl predict "$USE" "${exports[@]:0:5}" --secret-file "$OUT/site.key" -o "$OUT/predictions-exports.h5" --json > "$OUT/predictions-exports.json"

step "explain: the map of one ECG export (same call as predict, wave boundaries shown), and the internal set's global view"
lvsdctl explain "${exports[0]}" --model "$USE" -o "$OUT/map.png" --format svg --show-waves -q
lvsdctl explain "$OUT/split.h5" --set internal --model "$USE" -o "$OUT/attributions.h5" --figure "$OUT/attributions.png" --limit 40 -q

step "results: Table 2 and the study's model comparison (SYNTHETIC data: these numbers say nothing about real patients)"
EVALS=()
for m in "${MODELS[@]}"; do EVALS+=("$OUT/$m-eval.h5"); done
lvsdctl stats compare "${EVALS[@]}" --table "$OUT/table2.md" --figure "$OUT/fig3" -o "$OUT/comparison.md"
cat "$OUT/table2.md" >&2
echo "Everything is in $OUT/: report.md, figures/, table1.md, table2.md, comparison.md, fig3.png, predictions.csv, predictions-exports.json, map.png, attributions.png and the HDF5 files (all SYNTHETIC)." >&2
