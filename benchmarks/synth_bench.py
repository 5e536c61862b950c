"""Speed of `lvsdctl synth`: a synthetic LBBB cohort written to a temporary folder.

    python benchmarks/synth_bench.py                       # 400 ECGs / 180 patients, 1 job
    python benchmarks/synth_bench.py --n-ecgs 2000 --n-patients 900   # the issue's size

Prints wall-clock and CPU seconds, ECGs per second and the output size, beside the baselines:
the issue asks for the 2,000-ECG cohort "well under a minute on 1 core". neurokit2's simulator,
measured on this machine (2 shared cores, busy): `ecg_simulate(method="ecgsyn")` ~0.45 s per 10 s
lead at 500 Hz, `method="multileads"` ~5.5 s per 12-lead ECG, i.e. hours for 2,000 ECGs, which is
why lvsdctl draws its own vectorised sum-of-Gaussians beats.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-ecgs", type=int, default=400)
    ap.add_argument("--n-patients", type=int, default=180)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from lvsdctl.synth import synthesise

    work = Path(tempfile.mkdtemp(prefix="lvsdctl-synth-bench-"))
    try:
        wall0, cpu0 = time.perf_counter(), time.process_time()
        summary = synthesise(work / "cohort", n_ecgs=args.n_ecgs, n_patients=args.n_patients,
                             seed=args.seed, jobs=args.jobs)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        size = sum(p.stat().st_size for p in (work / "cohort").rglob("*") if p.is_file())
    finally:
        shutil.rmtree(work, ignore_errors=True)
    per_2000 = wall / args.n_ecgs * 2000
    print(f"synthetic cohort: {summary.n_ecgs} ECGs ({summary.n_muse} MUSE, {summary.n_digitised} "
          f"digitised), {summary.n_patients} patients, jobs={args.jobs}")
    print(f"  wall {wall:.1f} s, CPU (this process) {cpu:.1f} s, {args.n_ecgs / wall:.0f} ECGs/s, "
          f"{size / 1e6:.0f} MB; load average {os.getloadavg()[0]:.1f}")
    print(f"  scaled to 2,000 ECGs: {per_2000:.1f} s   (baseline: < 60 s on 1 core; neurokit2 "
          f"multileads ~11,000 s)")


if __name__ == "__main__":
    main()
