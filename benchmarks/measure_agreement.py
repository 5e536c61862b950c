"""Agreement of `lvsdctl measure` with GE 12SL (the 10 MUSE fixtures) and with the synthetic
generator's fiducials: the tables of docs/measure.md, in one command.

    python benchmarks/measure_agreement.py                 # fixtures + a 300-ECG synthetic cohort
    python benchmarks/measure_agreement.py --n-ecgs 2000   # a larger cohort

Prints markdown. Goals: every 12SL beat within 50 ms and no extra beat; QRS onset within 10 ms,
QRS offset within 12 ms, T offset within 30 ms (on every fixture, and on >= 95% of the cohort).
"""

from __future__ import annotations

import argparse
import glob
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
FIXTURES = ROOT.parent / "shared" / "fixtures" / "ecg"


def main() -> None:
    from lvsdctl.tables import to_markdown
    from lvsdctl.measure import measure
    from lvsdctl.measure.agreement import against_12sl, against_generator, summary_table
    from lvsdctl.synth import synthesise

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n-ecgs", type=int, default=300)
    p.add_argument("--n-patients", type=int, default=140)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--jobs", type=int, default=2)
    args = p.parse_args()

    files = sorted(glob.glob(str(FIXTURES / "muse_xml" / "*" / "*.xml"))) + \
        sorted(glob.glob(str(FIXTURES / "muse_xml_simulator" / "*" / "*.xml")))
    rows = [against_12sl(f) for f in files]
    t = pd.DataFrame(rows)
    shown = t[["file", "beats_12sl", "missed", "extra", "worst_beat_ms", "qrs_onset", "qrs_offset", "t_offset",
               "p_onset", "qrs_ms", "qrs_ms_12sl", "paced", "frame_shift_ms"]].copy()
    for c in ("worst_beat_ms", "qrs_onset", "qrs_offset", "t_offset", "p_onset", "qrs_ms", "frame_shift_ms"):
        shown[c] = shown[c].map(lambda v: "" if pd.isna(v) else f"{v:+.0f}" if c not in ("qrs_ms", "worst_beat_ms")
                                else f"{v:.0f}")
    print(f"## GE 12SL, {len(files)} MUSE fixtures (lvsdctl minus 12SL, ms)\n")
    print(to_markdown(shown))
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        synthesise(Path(tmp) / "cohort", n_ecgs=args.n_ecgs, n_patients=args.n_patients, seed=args.seed)
        cohort = Path(tmp) / "cohort"
        s = measure([str(cohort / "ecg")], jobs=args.jobs)
        frame = against_generator(cohort, s.ecgs)
        print(f"## Synthetic cohort: {args.n_ecgs} ECGs, seed {args.seed} (lvsdctl minus generator, ms; "
              f"mean (SD), max |error|), {time.perf_counter() - t0:.0f} s\n")
        print(to_markdown(summary_table(frame)))
        widest = frame.loc[frame.qrs_true_ms.idxmax()]
        print(f"Widest QRS ({widest.qrs_true_ms:.0f} ms, {widest.file}): within the goals: {bool(widest.within)}\n")
        lbbb = s.to_dict()["lbbb"]
        print(f"LBBB flagged among {s.measured} synthetic ECGs: {lbbb}\n")


if __name__ == "__main__":
    main()
