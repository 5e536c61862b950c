#!/usr/bin/env bash
# The GPU check in one command: ECG-FM base at batch 256 and the four baselines at batch 16, fp32 and
# bf16 (samples/s, peak memory, FLOPs per sample, MFU against the card's bf16 dense peak, bf16 vs fp32
# logits), then ECG-FM under DDP (torchrun, NCCL) when two or more GPUs are visible.
#   bash benchmarks/gpu.sh                   # on a GPU machine (about 2 minutes on an H100)
#   bash benchmarks/gpu.sh --device cpu      # tiny sizes on CPU, seconds: what CI runs
# Other options go to benchmarks/gpu_bench.py (--help). Needs torch only (plus this checkout): on an
# offline GPU machine, see benchmarks/README.md for the wheelhouse of lvsdctl's other dependencies.
source "$(dirname "$0")/env.sh"
single="$(mktemp -t lvsdctl-gpu-XXXXXX.json)"
trap 'rm -f "$single"' EXIT
"$PY" benchmarks/gpu_bench.py --json "$single" "$@"
case " $* " in *" --device cpu "*) exit 0 ;; esac
gpus=$("$PY" -c 'import torch; print(torch.cuda.device_count() if torch.cuda.is_available() else 0)')
if (( gpus >= 2 )); then
    echo
    "$PY" -m torch.distributed.run --standalone --nproc-per-node "$gpus" benchmarks/gpu_bench.py --ddp \
        --single-json "$single" "$@"
else
    echo "DDP: skipped ($gpus GPU visible; it needs 2)"
fi
