"""`lvsdctl measure` throughput, on the real GE MUSE exports and on synthetic ones, against the way
explain delineated before it: neurokit2's R peaks and DWT delineation of the lead II strip alone.

    python benchmarks/measure_bench.py            # 10 real MUSE fixtures x 10 + 200 synthetic exports
    python benchmarks/measure_bench.py --n-ecgs 1000

Prints ECGs per CPU-second (one process) for lvsdctl (beats on all leads, median beat, global and
per-beat boundaries, LBBB criteria, statements: the whole row) and for the baseline (one lead, no
criteria), and their ratio. Agreement is in benchmarks/measure_agreement.py.
"""

from __future__ import annotations

import argparse
import glob
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
FIXTURES = ROOT.parent / "shared" / "fixtures" / "ecg"


def _baseline(path: str) -> None:
    import neurokit2 as nk
    import numpy as np

    from lvsdctl.io.detect import read_ecg

    rec = read_ecg(Path(path))
    lead = next(s for s in rec.segments if s.lead == "II" and s.kind == "rhythm")
    x = np.nan_to_num(np.asarray(lead.signal, dtype=float))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            _, info = nk.ecg_peaks(x, sampling_rate=int(lead.fs))
            nk.ecg_delineate(x, rpeaks=info["ECG_R_Peaks"], sampling_rate=int(lead.fs), method="dwt")
        except Exception:  # noqa: BLE001 - the baseline fails on some LBBB ECGs; timed all the same
            pass


def _rate(files: list[str], fn) -> float:
    t0 = time.process_time()
    for f in files:
        fn(f)
    return len(files) / max(time.process_time() - t0, 1e-9)


def main() -> None:
    from lvsdctl.measure import measure_export
    from lvsdctl.synth import synthesise

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n-ecgs", type=int, default=200)
    p.add_argument("--repeat", type=int, default=10, help="passes over the 10 real fixtures")
    args = p.parse_args()
    real = sorted(glob.glob(str(FIXTURES / "muse_xml" / "*" / "*.xml"))) + \
        sorted(glob.glob(str(FIXTURES / "muse_xml_simulator" / "*" / "*.xml")))
    with tempfile.TemporaryDirectory() as tmp:
        synthesise(Path(tmp) / "c", n_ecgs=args.n_ecgs, n_patients=max(4, args.n_ecgs // 2), seed=3)
        synthetic = sorted(str(f) for f in (Path(tmp) / "c" / "ecg").glob("MUSE_*.xml"))
        rows = []
        for name, files in (("real MUSE fixtures", real * args.repeat), ("synthetic MUSE (LBBB)", synthetic)):
            ours = _rate(files, measure_export)
            base = _rate(files, _baseline)
            rows.append((name, len(files), ours, base))
    print("| inputs | ECGs | lvsdctl measure (ECGs/CPU-s) | neurokit2 lead II peaks + DWT (ECGs/CPU-s) | ratio |")
    print("|---|---:|---:|---:|---:|")
    for name, n, ours, base in rows:
        print(f"| {name} | {n} | {ours:.1f} | {base:.1f} | {ours / base:.2f}x |")


if __name__ == "__main__":
    main()
