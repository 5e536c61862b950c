"""Per-ECG warnings: why one ECG's call may not mean what the evaluation says (out of the model's scope,
or a recording the model should not be trusted on). The one place they are collected: `predict`'s
per-ECG table and predictions file, and `explain`'s map and JSON, all call `ecg_warnings`.

A check takes the ECGs' records (a DataFrame with the `/records` columns it needs, any of which may be
missing) and returns one message per row, "" when the ECG passes. Add a check by appending it to
CHECKS. Messages never quote an input's text: only numbers and fixed words.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

Check = Callable[[pd.DataFrame], list[str]]

#: LBBB needs a QRS of at least 120 ms by every criterion (conventional 120; Strauss 140 men, 130 women).
LBBB_MIN_QRS_MS = 120.0
#: The model's intended use: adults.
ADULT_AGE = 18.0


def _column(records: pd.DataFrame, name: str) -> np.ndarray | None:
    if name not in records.columns:
        return None
    return pd.to_numeric(records[name], errors="coerce").to_numpy(dtype=np.float64)


def narrow_qrs(records: pd.DataFrame) -> list[str]:
    """QRS narrower than any LBBB criterion allows, by the export's own measurement (e.g. GE 12SL)."""
    qrs = _column(records, "qrs_ms")
    if qrs is None:
        return [""] * len(records)
    return [f"QRS {q:.0f} ms < {LBBB_MIN_QRS_MS:.0f} ms (device measurement): not LBBB, outside the model's "
            "intended use" if np.isfinite(q) and q < LBBB_MIN_QRS_MS else "" for q in qrs]


def measured_lbbb(records: pd.DataFrame) -> list[str]:
    """Not LBBB by lvsdctl's own measurement of the model's input (the conventional criteria, the machine's
    statement, pacing: lvsdctl.measure.join.intended_use), put in the `lbbb_warning` column by `predict`
    and `explain` (absent when the check was turned off)."""
    if "lbbb_warning" not in records.columns:
        return [""] * len(records)
    return ["" if pd.isna(w) else str(w) for w in records["lbbb_warning"]]


def not_adult(records: pd.DataFrame) -> list[str]:
    age = _column(records, "age")
    if age is None:
        return [""] * len(records)
    return [f"age {a:.0f} < {ADULT_AGE:.0f}: outside the intended use (adults)"
            if np.isfinite(a) and a < ADULT_AGE else "" for a in age]


def quality_flags(records: pd.DataFrame) -> list[str]:
    """The signal-quality flags `preprocess` set (flat lead, saturation, noise, a lead missing...)."""
    from lvsdctl.signal.quality import describe

    if "quality" not in records.columns:
        return [""] * len(records)
    flags = pd.to_numeric(records["quality"], errors="coerce").fillna(0).astype(np.int64)
    return [f"signal quality: {', '.join(describe(int(q)))}" if q else "" for q in flags]


#: The checks, in the order their messages are listed.
CHECKS: list[Check] = [narrow_qrs, measured_lbbb, not_adult, quality_flags]


def ecg_warnings(records: pd.DataFrame) -> list[list[str]]:
    """Every check's messages for each row of `records` (an empty list when an ECG passes them all)."""
    out: list[list[str]] = [[] for _ in range(len(records))]
    for check in CHECKS:
        for row, message in zip(out, check(records)):
            if message:
                row.append(message)
    return out


def not_scored(reason: str) -> str:
    """The warning of an ECG that was read but could not be made into the model's input."""
    return f"not scored: {reason}"
