"""Patient-clustered bootstrap of the eight metrics: lvsdctl's vectorised weights vs a per-replicate loop
over scikit-learn (the obvious implementation). Prints both timings and checks they agree.

    python benchmarks/bootstrap_ci.py [--ecgs 2000] [--patients 900] [--replicates 200]
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def loop_bootstrap(y, score, patients, threshold, n_boot, seed):
    """Baseline: draw patients, gather their ECGs, call compute_metrics (scikit-learn) per replicate."""
    from lvsdctl.evaluate.bootstrap import patient_weights
    from lvsdctl.evaluate.metrics import compute_metrics

    w = patient_weights(patients, n_boot, np.random.default_rng(seed))  # same draws as the vectorised path
    out = []
    for b in range(n_boot):
        idx = np.repeat(np.arange(y.size), w[b].astype(int))
        out.append(compute_metrics(y[idx], score[idx], threshold))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ecgs", type=int, default=2000)
    ap.add_argument("--patients", type=int, default=900)
    ap.add_argument("--replicates", type=int, default=200)
    args = ap.parse_args()
    from lvsdctl.evaluate.bootstrap import patient_weights, weighted_metrics

    rng = np.random.default_rng(0)
    patients = rng.integers(0, args.patients, args.ecgs).astype(str)
    y = rng.integers(0, 2, args.ecgs)
    score = np.clip(0.3 * y + 0.7 * rng.random(args.ecgs), 0, 1)

    t0 = time.perf_counter()
    w = patient_weights(patients, args.replicates, np.random.default_rng(1))
    fast = weighted_metrics(y, score, 0.5, w)
    t_fast = time.perf_counter() - t0
    t0 = time.perf_counter()
    slow = loop_bootstrap(y, score, patients, 0.5, args.replicates, 1)
    t_slow = time.perf_counter() - t0
    worst = max(abs(fast[m][b] - slow[b][m]) for b in range(args.replicates) for m in slow[0]
                if np.isfinite(slow[b][m]))
    print(f"{args.ecgs} ECGs, {args.patients} patients, {args.replicates} replicates, 8 metrics")
    print(f"  vectorised weights : {t_fast:8.3f} s")
    print(f"  loop + scikit-learn: {t_slow:8.3f} s   (baseline)")
    print(f"  speed-up           : {t_slow / t_fast:8.1f} x; largest difference {worst:.2e}")


if __name__ == "__main__":
    main()
