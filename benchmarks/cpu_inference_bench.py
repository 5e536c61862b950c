"""CPU inference: fp32 beside the faster paths (`--precision int8`, `bf16`) of `predict` / `explain`.

    python benchmarks/cpu_inference_bench.py                # speed + accuracy (~10 min on 2 idle cores)
    python benchmarks/cpu_inference_bench.py --model demo/ecgfm-pretrained.h5 --data demo/split.h5

1. Speed: the full-size ECG-FM LVSD model (12 x 768 encoder, 90 M parameters) on batches of 4 ECGs
   (4 x 5000), fp32 and int8 (and bf16 when the CPU has bf16 arithmetic, or with --bf16): ECGs/s,
   CPU seconds per ECG and the ratio to fp32. The weights are random: speed does not depend on them.
2. Accuracy: a trained ECG-FM LVSD model scored at each precision through `score_file` (what `predict`
   runs) on the validation sets of the synthetic cohort: the largest |score - fp32 score| and each set's
   AUROC beside fp32's. By default a tiny ECG-FM is fine-tuned here on a small synthetic cohort (as the
   demo does); `--model` and `--data` take yours instead (e.g. the demo's). The issue's goal: >= 2x the
   fp32 rate, scores within 0.01, AUROC within 0.002.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def speed(size: str, batch: int, batches: int, precisions: list[str]) -> dict[str, tuple[float, float]]:
    """{precision: (ECGs/s wall, CPU s per ECG)} of the ECG-FM LVSD model of `size`."""
    import torch

    from lvsdctl.evaluate.precision import prepare
    from lvsdctl.models.ecgfm_lvsd import ECGFMLVSD, ECGFMLVSDConfig

    torch.manual_seed(0)
    base = ECGFMLVSD(ECGFMLVSDConfig(size=size)).eval()
    x = torch.randn(batch, 4, 5000)
    out = {}
    for precision in precisions:
        model, autocast = prepare(base, precision, "cpu")
        with torch.inference_mode(), autocast:
            model(x)  # warm-up: kernels chosen, weights packed
            walls, cpus = [], []
            for _ in range(batches):
                t, c = time.perf_counter(), time.process_time()
                model(x)
                walls.append(time.perf_counter() - t)
                cpus.append(time.process_time() - c)
        out[precision] = (batch / min(walls), min(cpus) / batch)
    return out


def trained_model(work: Path, n_ecgs: int, epochs: int) -> tuple[str, str]:
    """A tiny ECG-FM fine-tuned on a synthetic cohort, and its split `ecg` file (the demo's recipe)."""
    from lvsdctl.data import split
    from lvsdctl.ingest import ingest
    from lvsdctl.signal import preprocess
    from lvsdctl.synth import synthesise
    from lvsdctl.finetune import finetune

    synthesise(work / "cohort", n_ecgs=n_ecgs, n_patients=int(n_ecgs * 0.45), seed=7)
    ingest([work / "cohort" / "ecg"], work / "raw.h5", echo=work / "cohort" / "echo.csv", demo_secret=True)
    preprocess(str(work / "raw.h5"), str(work / "pre.h5"))
    split(str(work / "pre.h5"), str(work / "split.h5"), seed=7)
    finetune(work / "split.h5", work / "ecgfm.h5", from_scratch=True, size="tiny", freeze=0, epochs=epochs,
             lr=3e-4, batch_size=16)
    return str(work / "ecgfm.h5"), str(work / "split.h5")


def accuracy(model: str, data: str, precisions: list[str]) -> list[tuple]:
    """(precision, max |score - fp32|, {set: (AUROC, AUROC - fp32's)}) on the validation sets."""
    from sklearn.metrics import roc_auc_score

    from lvsdctl.evaluate.evaluation import validation_sets_of
    from lvsdctl.evaluate.api import score_file
    from lvsdctl.hdf5 import open_input, read_records

    with open_input(data, kind={"ecg"}) as f:
        sets = validation_sets_of(read_records(f)["split"].astype(str))
    scored = {p: score_file(model, data, sets=sets, batch_size=16, precision=p) for p in precisions}
    ref = scored["fp32"]
    rows = []
    for p, s in scored.items():
        aurocs = {}
        for name in sets:
            sel = (s.records["split"].astype(str) == name).to_numpy() & (s.records["label"] >= 0).to_numpy()
            labels = s.records["label"].to_numpy()[sel]
            if len(set(labels)) == 2:
                a, r = roc_auc_score(labels, s.score[sel]), roc_auc_score(labels, ref.score[sel])
                aurocs[name] = (a, a - r)
        rows.append((p, float(np.abs(s.score - ref.score).max()), aurocs))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="base", help="ECG-FM size for the speed test (default base: full size)")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--batches", type=int, default=3, help="timed batches per precision (best is kept)")
    ap.add_argument("--bf16", action="store_true", help="also time bf16 autocast on a CPU without bf16 "
                    "arithmetic (emulated: several times slower than fp32)")
    ap.add_argument("--model", help="trained LVSD model for the accuracy test (default: fine-tune a tiny one)")
    ap.add_argument("--data", help="its split ecg file (validation sets)")
    ap.add_argument("--n-ecgs", type=int, default=2000, help="synthetic ECGs for the default model (default 2000: "
                    "validation sets large enough that one swapped pair moves AUROC by well under 0.002)")
    ap.add_argument("--epochs", type=int, default=3, help="fine-tuning epochs of the default model (default 3)")
    ap.add_argument("--no-accuracy", action="store_true")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    import torch

    from lvsdctl.evaluate.precision import cpu_has_bf16

    precisions = ["fp32", "int8"] + (["bf16"] if args.bf16 or cpu_has_bf16() else [])
    rates = speed(args.size, args.batch, args.batches, precisions)
    rows = []
    if not args.no_accuracy:
        with tempfile.TemporaryDirectory(prefix="lvsdctl-cpu-inference-") as work:
            model, data = (args.model, args.data) if args.model else trained_model(Path(work), args.n_ecgs,
                                                                                    args.epochs)
            rows = accuracy(model, data, precisions)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"ECG-FM LVSD ({args.size}), batches of {args.batch} x 4 x 5000 on {torch.get_num_threads()} threads; CPU "
          f"bf16 arithmetic: {'yes' if cpu_has_bf16() else 'no'}; load average {load:.1f}")
    f32 = rates["fp32"]
    print(f"{'precision':10s} {'ECGs/s':>8s} {'x fp32':>7s} {'CPU s/ECG':>10s} {'x fp32':>7s}")
    for p, (r, c) in rates.items():
        print(f"{p:10s} {r:8.2f} {r / f32[0]:6.2f}x {c:10.3f} {f32[1] / c:6.2f}x")
    if rows:
        where = f"{args.model} on {args.data}" if args.model else "a tiny ECG-FM fine-tuned on a synthetic cohort"
        print(f"accuracy against fp32 ({where}), validation sets:")
        for p, worst, aurocs in rows:
            sets = ", ".join(f"{k} {a:.4f} ({d:+.4f})" for k, (a, d) in aurocs.items())
            print(f"  {p:6s} max |score - fp32| {worst:.4f}; AUROC {sets}")
    print("goal (issue 19): >= 2x the fp32 rate, scores within 0.01, AUROC within 0.002")


if __name__ == "__main__":
    main()
