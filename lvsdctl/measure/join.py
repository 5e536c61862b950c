"""Measures beside an ECG file's records: what `split`, `evaluate`, `stats cohort` and `predict` use.

`annotate` adds the LBBB criteria, the delineation status and the measured intervals to a
/records table by record_id (the id `ingest` gives every ECG, and `measure` gives every export), as
plain columns (`RECORD_COLUMNS` below; booleans as 1, 0, or -1 when not assessed). `split --measures`
writes them into its output, so every later stage finds them there.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lvsdctl.errors import InputError
from lvsdctl.measure.table import CRITERION_COLUMNS

#: measures column -> records column (measured QRS beside the cart's `qrs_ms`).
RECORD_COLUMNS = {
    "status": "delineation", "lbbb_statement": "lbbb_statement", "lbbb_conventional": "lbbb_conventional",
    "lbbb_aha2009": "lbbb_aha2009", "lbbb_strauss": "lbbb_strauss", "paced": "paced",
    "qrs_ms": "measured_qrs_ms", "hr_bpm": "hr_bpm", "pr_ms": "pr_ms", "qt_ms": "qt_ms", "qtc_ms": "qtc_ms",
    "qrs_axis_deg": "qrs_axis_deg",
}
_BOOL = ("lbbb_conventional", "lbbb_aha2009", "lbbb_strauss", "paced")
#: records column of each criterion (after `annotate`)
CRITERIA = {name: RECORD_COLUMNS[col] for name, col in CRITERION_COLUMNS.items()}


def _code(v) -> int:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return -1
    if isinstance(v, str):
        return {"true": 1, "false": 0}.get(v.strip().lower(), -1)
    return int(bool(v)) if int(v) in (0, 1) else -1


def annotate(records: pd.DataFrame, measures_path: str) -> tuple[pd.DataFrame, int]:
    """`records` with the measures' columns joined by record_id, and how many records found none
    (their columns stay empty: "" / -1 / NaN)."""
    from lvsdctl.measure.store import read_measures

    m = read_measures(measures_path)
    if m["record_id"].duplicated().any():
        m = m.drop_duplicates("record_id", keep="first")
    sub = m[["record_id", *RECORD_COLUMNS]].rename(columns=RECORD_COLUMNS)
    out = records.drop(columns=[c for c in RECORD_COLUMNS.values() if c in records.columns])
    out = out.merge(sub, on="record_id", how="left", validate="many_to_one")
    missing = int(out["delineation"].isna().sum())
    for c in _BOOL:
        out[c] = np.array([_code(v) for v in out[c]], dtype=np.int8)
    for c in ("delineation", "lbbb_statement"):
        out[c] = out[c].fillna("").astype(str)
    return out, missing


def meets(records: pd.DataFrame, criterion: str) -> np.ndarray:
    """Records (after `annotate`, or any table with its columns) meeting one LBBB criterion."""
    if criterion not in CRITERIA:
        raise InputError(f"unknown LBBB criterion {criterion!r}: use one of {', '.join(CRITERIA)}")
    column = CRITERIA[criterion]
    if column not in records.columns:
        raise InputError(f"the records have no {column} column: run `lvsdctl measure` and pass --measures")
    if criterion == "statement":
        return (records[column].astype(str) == "complete").to_numpy()
    return (pd.to_numeric(records[column], errors="coerce") == 1).to_numpy()


def subgroups(records: pd.DataFrame) -> list[tuple[str, str, np.ndarray]]:
    """(variable, group, mask) of the LBBB-criterion and measured-QRS-width subgroups the records
    carry (none when `annotate` never ran on them)."""
    out: list[tuple[str, str, np.ndarray]] = []
    for name in CRITERIA:
        column = CRITERIA[name]
        if column not in records.columns:
            continue
        yes = meets(records, name)
        known = (records[column].astype(str) != "") if name == "statement" else \
            (pd.to_numeric(records[column], errors="coerce") >= 0).to_numpy()
        out += [(f"LBBB {name}", "met", yes), (f"LBBB {name}", "not met", np.asarray(known) & ~yes)]
    if "measured_qrs_ms" in records.columns:
        qrs = pd.to_numeric(records["measured_qrs_ms"], errors="coerce").to_numpy()
        for label, lo, hi in (("QRS < 120 ms", 0, 120), ("QRS 120-149 ms", 120, 150), ("QRS 150-179 ms", 150, 180),
                              ("QRS >= 180 ms", 180, np.inf)):
            out.append(("QRS duration (measured)", label, (qrs >= lo) & (qrs < hi)))
    return out



def intended_use(data_path: str, rows: np.ndarray, records: pd.DataFrame, progress=None) -> np.ndarray:
    """Per scored ECG (`rows` of an `ecg` file, `records` their /records rows): the warning that it
    is not LBBB ("" when it is; lvsdctl.measure.lbbb.intended_use_warning). Taken from the records'
    own columns when `split --measures` put them there, else measured on the signals themselves."""
    from lvsdctl.measure.lbbb import intended_use_warning

    if "lbbb_conventional" in records.columns and "delineation" in records.columns:
        out = []
        for _, r in records.iterrows():
            code = int(pd.to_numeric(r["lbbb_conventional"], errors="coerce")) if pd.notna(r["lbbb_conventional"]) else -1
            row = {"status": r["delineation"] or "failed", "paced": int(r.get("paced", -1)) == 1,
                   "lbbb_statement": r.get("lbbb_statement", ""), "qrs_ms": float(r.get("measured_qrs_ms", np.nan)),
                   "lbbb_conventional": None if code < 0 else bool(code), "lbbb_not_assessed": ""}
            out.append(intended_use_warning(row) if r["delineation"] else "LBBB not measured for this ECG")
        return np.array(out, dtype=object)
    from lvsdctl.hdf5 import open_input
    from lvsdctl.measure.api import measure_leads
    from lvsdctl.measure.leads import from_four_channel, from_twelve

    out = np.full(len(rows), "", dtype=object)
    with open_input(data_path, kind={"ecg"}) as f:
        signals = f["signals"]
        fs = float(signals.attrs.get("fs", 500.0))
        normalised = str(signals.attrs.get("normalisation", "none")) != "none"
        for k, i in enumerate(rows):
            x = np.asarray(signals[int(i)], dtype=np.float64)
            lm = from_four_channel(x, fs) if x.shape[0] == 4 else from_twelve(x, fs)
            out[k] = intended_use_warning(measure_leads(lm, normalised=normalised).row)
            if progress is not None:
                progress(1)
    return out
