"""How lvsdctl's measurements agree with a reference: GE 12SL in MUSE exports, or the synthetic
generator's own fiducials. Used by the tests (which assert the goals) and by
`benchmarks/measure_agreement.py` (which prints the table in docs/measure.md).

Goals (the issue's, after the CSE study's tolerances for automated measurement): every reference
beat found within 50 ms and no extra beat; QRS onset within 10 ms, QRS offset within 12 ms, T offset
within 30 ms of the reference.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from lvsdctl.measure import reference
from lvsdctl.measure.analyse import BEAT_FIELDS
from lvsdctl.measure.api import Measured, measure_export
from lvsdctl.measure.leads import FS

BOUNDS_MS = {"qrs_onset": 10.0, "qrs_offset": 12.0, "t_offset": 30.0}
BEAT_TOLERANCE_MS = 50.0
_12SL = {"qrs_onset": "QOnset", "qrs_offset": "QOffset", "t_offset": "TOffset", "p_onset": "POnset"}
#: A synthetic beat is compared only when its whole QRS lies 40 ms or more inside the recording.
EDGE_MS = 60.0


def within(row: dict | pd.Series) -> bool:
    """Beats and the three boundaries within the goals."""
    beats = row["missed"] == 0 and row["extra"] == 0
    return bool(beats and all(abs(row[k]) <= b for k, b in BOUNDS_MS.items() if np.isfinite(row[k]))
                and all(np.isfinite(row[k]) for k in BOUNDS_MS))


def against_12sl(path: str | Path, m: Measured | None = None) -> dict:
    """One MUSE export: beats against 12SL's beat list, median-beat boundaries against its values
    (ms, lvsdctl minus 12SL). A paced ECG's 12SL values are first moved into the stored median's
    frame (`reference.paced_shift`)."""
    ref = reference.read(path)
    m = m or measure_export(str(path))
    a = m.analysis
    missed, extra, worst = reference.match_beats(ref.beats_ms, a.beat_times_ms(), BEAT_TOLERANCE_MS)
    shift = 0
    if a.ventricular_paced and ref.fiducial is not None and a.lm.median is not None:
        shift = reference.paced_shift(a.lm.median, ref.fiducial)
    out = {"file": Path(path).name, "beats_12sl": len(ref.beats_ms), "beats": a.n_beats, "missed": missed,
           "extra": extra, "worst_beat_ms": worst, "median_source": a.median_source, "paced": a.ventricular_paced,
           "frame_shift_ms": shift * 1000.0 / FS}
    for k, key in _12SL.items():
        ours, theirs = getattr(a.bounds, k), ref.median(key)
        ok = ours is not None and theirs is not None and a.median_source == "export"
        out[k] = (ours - (theirs - shift)) * 1000.0 / FS if ok else float("nan")
    out["qrs_ms"], out["qrs_ms_12sl"] = a.globals()["qrs_ms"], ref.median("QRSDuration")
    return out


def against_generator(cohort: str | Path, measured: list[Measured]) -> pd.DataFrame:
    """Every measured ECG of a synthetic cohort against the generator's fiducials (ms, lvsdctl minus
    truth): beats on every visible beat, boundaries on the median beat for MUSE exports (the export's
    median is the generator's, with `median_*` in generator_truth.csv), and for digitised printouts
    the median over beats of the per-beat boundary errors (there is no median in the file)."""
    cohort = Path(cohort)
    truth = pd.read_csv(cohort / "generator_truth.csv").set_index("file")
    fid = pd.read_csv(cohort / "generator_fiducials.csv")
    by_file = dict(tuple(fid.groupby("file")))
    rows = []
    for m in measured:
        rel = Path(m.row["source"]).relative_to(cohort).as_posix()
        t, beats = truth.loc[rel], by_file[rel]
        a = m.analysis
        n_ms = a.n_samples * 1000.0 / FS
        centre = ((beats.qrs_onset_ms + beats.qrs_offset_ms) / 2).to_numpy()
        inside = ((beats.qrs_onset_ms >= EDGE_MS) & (beats.qrs_offset_ms <= n_ms - EDGE_MS)).to_numpy()
        found = a.beat_times_ms()
        missed, _, _ = reference.match_beats(centre[inside], found, BEAT_TOLERANCE_MS)
        _, extra, _ = reference.match_beats(centre, found, BEAT_TOLERANCE_MS)
        row = {"file": rel, "format": t["format"], "qrs_true_ms": t["qrs_ms"], "status": a.status,
               "missed": missed, "extra": extra}
        if a.median_source == "export":
            for k in BOUNDS_MS:
                ours = getattr(a.bounds, k)
                row[k] = (ours - t[f"median_{k}"]) * 1000.0 / FS if ours is not None else float("nan")
        else:
            for k in BOUNDS_MS:
                col = BEAT_FIELDS.index(k)
                errs = []
                for i, c in enumerate(found):
                    j = int(np.argmin(np.abs(centre - c)))
                    v = a.beat_bounds[i, col]
                    if abs(centre[j] - c) <= BEAT_TOLERANCE_MS and v >= 0:
                        errs.append(v * 1000.0 / FS - beats[f"{k}_ms"].iloc[j])
                row[k] = float(np.median(errs)) if errs else float("nan")
        rows.append(row)
    out = pd.DataFrame(rows)
    out["within"] = [within(r) for _, r in out.iterrows()]
    return out


def summary_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Per format and overall: ECGs, share within all goals, and mean (SD) / max |error| per boundary."""
    rows = []
    for name, g in [*frame.groupby("format"), ("all", frame)]:
        r = {"set": name, "ECGs": len(g), "beats all found, none extra": f"{((g.missed == 0) & (g.extra == 0)).mean():.1%}",
             "within all goals": f"{g.within.mean():.1%}"}
        for k in BOUNDS_MS:
            v = g[k].dropna()
            r[k] = f"{v.mean():+.1f} ({v.std():.1f}), max {v.abs().max():.0f}" if len(v) else "n/a"
        rows.append(r)
    return pd.DataFrame(rows)
