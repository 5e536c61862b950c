#!/usr/bin/env bash
# The full-size ECG-FM (base, 90,373,248 encoder parameters) through exactly the path a downloaded
# checkpoint takes, on CPU, end to end:
#   a random-weights checkpoint in the official layout (with the Adam state: 1.09 GB, like the Hub's
#   file) put in the weights directory under its official name -> `lvsdctl weights verify` (which
#   must flag it: it is not the published file) -> `lvsdctl finetune --weights ecgfm-pretrained` with
#   the study's global batch of 256 made of micro-batches -> `evaluate` -> `predict` -> `explain`.
# The ECGs are a SYNTHETIC cohort run through synth, ingest, preprocess and split.
#   bash benchmarks/fullsize_e2e.sh [OUT]      # about 10 min on 2 idle cores (FF on ~290 ECGs)
# Settings: FULLSIZE_ECGS (500: ~290 training ECGs, so one step of 256 and one of the rest),
# FULLSIZE_MICRO (16), FULLSIZE_FREEZE (0 = FF, the heaviest; all = AF, faster), FULLSIZE_DEVICE (cpu).
source "$(dirname "$0")/env.sh"
OUT="${1:-$(mktemp -d -t lvsdctl-fullsize-XXXXXX)}"
N_ECGS="${FULLSIZE_ECGS:-500}"
MICRO="${FULLSIZE_MICRO:-16}"
FREEZE="${FULLSIZE_FREEZE:-0}"
DEVICE="${FULLSIZE_DEVICE:-cpu}"
mkdir -p "$OUT"
lvsdctl() { "$PY" -m lvsdctl "$@"; }
step() { printf '\n\033[1m== [%4ds] %s\033[0m\n' "$SECONDS" "$*" >&2; }

step "data: a SYNTHETIC cohort of $N_ECGS ECGs -> split.h5"
lvsdctl synth -o "$OUT/cohort" --n-ecgs "$N_ECGS" --n-patients "$((N_ECGS / 2))" --seed 3 -q --force
lvsdctl ingest "$OUT/cohort/ecg" --echo "$OUT/cohort/echo.csv" --demo-secret -o "$OUT/raw.h5" -q
lvsdctl preprocess "$OUT/raw.h5" -o "$OUT/pre.h5" -q
lvsdctl split "$OUT/pre.h5" -o "$OUT/split.h5" --seed 3 -q

step "weights: a full-size random checkpoint where a fetched one would be"
export LVSDCTL_WEIGHTS_DIR="$OUT/weights"
"$PY" -m lvsdctl.weights.synthetic "$LVSDCTL_WEIGHTS_DIR/mimic_iv_ecg_physionet_pretrained.pt" --size base \
    --optimizer-state
if lvsdctl weights verify ecgfm-pretrained; then
    echo "error: a random checkpoint passed as the published one" >&2
    exit 1
fi
echo "(as it should: the random file is not the published ecgfm-pretrained)"

step "finetune: --weights ecgfm-pretrained, batch 256 as micro-batches of $MICRO, freeze $FREEZE, 1 epoch"
lvsdctl finetune "$OUT/split.h5" --weights ecgfm-pretrained --freeze "$FREEZE" --batch-size 256 \
    --micro-batch "$MICRO" --epochs 1 --tune-set '' --device "$DEVICE" -o "$OUT/ecgfm-base.h5" --json \
    > "$OUT/finetune.json"
"$PY" - "$OUT/finetune.json" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
print(f"{s['n_train']} training ECGs, {s['trainable_parameters']:,} trainable parameters, "
      f"{s['seconds']:.0f} s, {s['last_epoch']['samples_per_s']:.2f} ECGs/s on {s['device']}")
EOF

step "evaluate, predict and explain with the full-size model"
lvsdctl evaluate "$OUT/ecgfm-base.h5" "$OUT/split.h5" --set internal --bootstrap 0 --device "$DEVICE" \
    -o "$OUT/eval.h5" -q
lvsdctl predict "$OUT/ecgfm-base.h5" "$OUT/split.h5" --set internal --device "$DEVICE" -o "$OUT/pred.h5"
record=$("$PY" -c "
import sys, h5py
with h5py.File(sys.argv[1]) as f:
    sets = f['records/split'].asstr()[()]
    print(f['records/record_id'].asstr()[list(sets).index('internal')])" "$OUT/split.h5")
lvsdctl explain "$OUT/split.h5" --record "$record" --model "$OUT/ecgfm-base.h5" -o "$OUT/map.png" -q
ls -la "$OUT"/*.h5 "$OUT"/map.png
step "done: everything under $OUT"
