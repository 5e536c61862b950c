"""Pair each ECG with an echo of the same patient and label it.

Dates are compared as calendar days (the time of day of an ECG is ignored: echo tables hold dates),
and `echo_delta_days` = echo date - ECG date, in days (negative: the echo came first).

Policies, all within `window_days` (inclusive, so 30 days apart is in, 31 is out):
- "nearest": the echo with the smallest |delta|; on a tie (one echo d days before, one d days
  after) the earlier one wins, so the choice is deterministic.
- "before-only": the latest echo on or before the ECG's day (delta <= 0).
- "after-only": the earliest echo on or after the ECG's day (delta >= 0).

Label: 1 (LVSD) when LVEF < threshold (strictly: LVEF equal to the threshold is negative), 0 otherwise,
-1 when unpaired. Vectorised with two `pandas.merge_asof` passes (backward and forward) per call.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lvsdctl.errors import InputError

POLICIES = ("nearest", "before-only", "after-only")
UNPAIRED_REASONS = ("no patient id", "no acquisition date", "no echo of this patient", "no echo within the window")


def _datetimes(values: pd.Series) -> pd.Series:
    """datetime64 from datetimes or ISO 8601 text (mixed precision allowed); NaT where unknown.

    A time zone, when given, is dropped after the fact: the local calendar day is what echo tables hold.
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        out = values
    else:
        text = values.map(lambda v: v if isinstance(v, str) else ("" if v is None or v != v else v))
        out = pd.to_datetime(text.replace("", None), format="ISO8601", errors="coerce", utc=False)
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_localize(None)
    return out


def _days(values: pd.Series) -> np.ndarray:
    """Calendar day numbers (days since 1970-01-01) as int64 (garbage where NaT: mask it)."""
    return values.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype(np.int64)


def pair_echoes(
    ecgs: pd.DataFrame,
    echoes: pd.DataFrame,
    *,
    window_days: int = 30,
    policy: str = "nearest",
    threshold: float = 40.0,
) -> pd.DataFrame:
    """Pairing result, one row per row of `ecgs` (same index).

    `ecgs`: columns `patient` (pseudonym, "" unknown) and `acquired` (datetime-like or ISO text, NaT/""
    unknown). `echoes`: columns `patient`, `echo_date`, `lvef` (validated, see `lvsdctl.ingest.echo`).
    Returns columns `lvef` (NaN unpaired), `echo_delta_days` (NaN unpaired), `label` (int8),
    `unpaired_reason` ("" when paired, else one of UNPAIRED_REASONS).
    """
    if policy not in POLICIES:
        raise InputError(f"unknown pairing policy {policy!r}; choose one of {', '.join(POLICIES)}")
    if window_days < 0:
        raise InputError(f"the pairing window must be >= 0 days, not {window_days}")
    n = len(ecgs)
    patient = ecgs["patient"].fillna("").astype(str).to_numpy()
    acquired = _datetimes(ecgs["acquired"])
    has_date = acquired.notna().to_numpy()
    day = np.where(has_date, _days(acquired), 0)

    e_patient = echoes["patient"].astype(str).to_numpy()
    e_day = _days(_datetimes(echoes["echo_date"]))
    e_lvef = echoes["lvef"].to_numpy(dtype=np.float64)
    known = np.isin(patient, e_patient)

    left = pd.DataFrame({"patient": patient, "day": day, "row": np.arange(n)})[(patient != "") & has_date & known]
    left = left.sort_values("day", kind="stable")
    right = pd.DataFrame({"patient": e_patient, "eday": e_day, "lvef": e_lvef})
    right = right.sort_values(["eday", "lvef"], kind="stable")
    # backward: the latest echo on or before the ECG's day; forward: the earliest on or after it
    directions = {"nearest": ("backward", "forward"), "before-only": ("backward",), "after-only": ("forward",)}

    delta = np.full(n, np.nan)
    lvef = np.full(n, np.nan)
    if len(left) and len(right):
        rows = left["row"].to_numpy()
        best_delta = np.full(len(left), np.nan)
        best_lvef = np.full(len(left), np.nan)
        # backward first, so on equal |delta| the earlier echo wins
        for direction in directions[policy]:
            m = pd.merge_asof(left, right, left_on="day", right_on="eday", by="patient", direction=direction,
                              tolerance=int(window_days), allow_exact_matches=True)
            assert np.array_equal(m["row"].to_numpy(), rows)  # merge_asof keeps the left order
            d = (m["eday"] - m["day"]).to_numpy(dtype=np.float64)
            take = ~np.isnan(d) & (np.isnan(best_delta) | (np.abs(d) < np.abs(best_delta)))
            best_delta = np.where(take, d, best_delta)
            best_lvef = np.where(take, m["lvef"].to_numpy(dtype=np.float64), best_lvef)
        delta[rows] = best_delta
        lvef[rows] = best_lvef

    paired = ~np.isnan(delta)
    label = np.where(paired, (lvef < threshold).astype(np.int8), np.int8(-1)).astype(np.int8)
    reason = np.full(n, "", dtype=object)
    reason[~paired] = "no echo within the window"
    reason[~paired & ~known] = "no echo of this patient"
    reason[~paired & ~has_date] = "no acquisition date"
    reason[~paired & (patient == "")] = "no patient id"
    return pd.DataFrame(
        {"lvef": lvef, "echo_delta_days": delta, "label": label, "unpaired_reason": reason}, index=ecgs.index
    )


def pairing_counts(result: pd.DataFrame) -> dict[str, int]:
    """How many ECGs were paired, labelled positive/negative, and unpaired by reason."""
    out = {
        "paired": int((result["label"] >= 0).sum()),
        "lvsd": int((result["label"] == 1).sum()),
        "no_lvsd": int((result["label"] == 0).sum()),
        "unpaired": int((result["label"] < 0).sum()),
    }
    reasons = result.loc[result["label"] < 0, "unpaired_reason"].value_counts()
    for reason, n in sorted(reasons.items()):
        out["unpaired: " + str(reason)] = int(n)
    return out
