"""One row per ECG and one per beat: what `lvsdctl measure` writes, and how others read it back.

Columns (`COLUMNS`, in order; booleans are True/False, or None where not assessable):

| column | meaning |
|---|---|
| record_id | the ECG's id, as `ingest` gives it (first 16 hex digits of the file's SHA-256) |
| source, row | the export file, or the HDF5 file and its row |
| source_format, sex | as read (sex decides Strauss's QRS limit) |
| status, problems | `ok`, `partial` or `failed`, and why (lvsdctl's own words, never the file's) |
| beats, beats_expected, leads_used | beats found; beats the RR says the recording holds; leads used |
| median_source | `export` (the cart's own median beat) or `computed` |
| paced | ventricular pacing spikes before most QRS complexes |
| hr_bpm, rr_ms, pr_ms, qrs_ms, qt_ms, qtc_ms, qrs_axis_deg | global measurements (QTc: Bazett) |
| median_p_onset ... median_t_offset | the boundaries on the median beat, samples at 500 Hz |
| cart_qrs_ms | the QRS duration the export itself reports (the cart's), for comparison |
| lbbb_statement, lbbb_statement_rule, lbbb_statement_source | the machine's statement: category, rule, element |
| lbbb_conventional, lbbb_aha2009, lbbb_strauss, lbbb_not_assessed | the measured criteria |
| v1_pattern, v2_pattern, q_leads, broad_r_leads, notched_r_leads, mid_qrs_notch_leads, rpt_v5_ms, rpt_v6_ms | what the criteria rest on |
| beat_times_ms | every beat's centre, ms from the start, space-separated |

Beats (`BEAT_COLUMNS`): record (row of the ECG), time_ms, the five boundaries in ms from the start
of the recording (NaN: none), dominant (in the median beat) and paced.
"""

from __future__ import annotations

import math

import numpy as np

from lvsdctl.measure.analyse import BEAT_FIELDS, Analysis
from lvsdctl.measure.lbbb import LbbbCriteria
from lvsdctl.measure.leads import FS
from lvsdctl.measure.statements import StatementMatch

MEDIAN_FIELDS = ("p_onset", "p_offset", "qrs_onset", "qrs_offset", "t_offset")
#: Column -> kind: "str", "int", "float" or "bool" (True, False or None).
COLUMNS: dict[str, str] = {
    "record_id": "str", "source": "str", "row": "int", "source_format": "str", "sex": "str",
    "status": "str", "problems": "str",
    "beats": "int", "beats_expected": "float", "leads_used": "str", "median_source": "str", "paced": "bool",
    "hr_bpm": "float", "rr_ms": "float", "pr_ms": "float", "qrs_ms": "float", "qt_ms": "float",
    "qtc_ms": "float", "qrs_axis_deg": "float",
    **{f"median_{k}": "float" for k in MEDIAN_FIELDS},
    "cart_qrs_ms": "float",
    "lbbb_statement": "str", "lbbb_statement_rule": "str", "lbbb_statement_source": "str",
    "lbbb_conventional": "bool", "lbbb_aha2009": "bool", "lbbb_strauss": "bool", "lbbb_not_assessed": "str",
    "v1_pattern": "str", "v2_pattern": "str", "q_leads": "str", "broad_r_leads": "str",
    "notched_r_leads": "str", "mid_qrs_notch_leads": "str", "rpt_v5_ms": "float", "rpt_v6_ms": "float",
    "beat_times_ms": "str",
}
BEAT_COLUMNS = ("record", "time_ms", *(f"{k}_ms" for k in BEAT_FIELDS), "dominant", "paced")
#: The criteria `split --criterion` and `evaluate` subgroups know, and the column each reads.
CRITERION_COLUMNS = {"statement": "lbbb_statement", "conventional": "lbbb_conventional",
                     "aha2009": "lbbb_aha2009", "strauss": "lbbb_strauss"}


def _num(v) -> float:
    return float(v) if v is not None and np.isfinite(v) else float("nan")


def row(a: Analysis, criteria: LbbbCriteria, statement: StatementMatch, *, record_id: str, source: str,
        index: int, source_format: str, sex: str | None, cart_qrs_ms: float | None) -> dict:
    """The per-ECG row of COLUMNS."""
    g = a.globals()
    med = {f"median_{k}": _num(getattr(a.bounds, k)) for k in MEDIAN_FIELDS}
    failed = a.status == "failed"
    return {
        "record_id": record_id, "source": source, "row": index, "source_format": source_format,
        "sex": sex or "", "status": a.status, "problems": "; ".join(dict.fromkeys(a.problems)),
        "beats": a.n_beats, "beats_expected": round(a.beats.expected, 2) if np.isfinite(a.beats.expected) else math.nan,
        "leads_used": " ".join(a.beats.leads_used), "median_source": a.median_source,
        "paced": None if failed else a.ventricular_paced,
        **{k: (math.nan if failed else round(v, 1)) for k, v in g.items()},
        **med,
        "cart_qrs_ms": _num(cart_qrs_ms),
        "lbbb_statement": statement.category, "lbbb_statement_rule": statement.rule,
        "lbbb_statement_source": statement.source,
        "lbbb_conventional": criteria.conventional, "lbbb_aha2009": criteria.aha2009,
        "lbbb_strauss": criteria.strauss, "lbbb_not_assessed": criteria.not_assessed,
        "v1_pattern": criteria.v1_pattern, "v2_pattern": criteria.v2_pattern,
        "q_leads": " ".join(criteria.q_leads), "broad_r_leads": " ".join(criteria.broad_r_leads),
        "notched_r_leads": " ".join(criteria.notched_r_leads),
        "mid_qrs_notch_leads": " ".join(criteria.mid_qrs_notch_leads),
        "rpt_v5_ms": _num(criteria.rpt_v5_ms), "rpt_v6_ms": _num(criteria.rpt_v6_ms),
        "beat_times_ms": " ".join(str(int(round(t))) for t in a.beat_times_ms()),
    }


def beat_rows(a: Analysis, record: int) -> dict[str, np.ndarray]:
    """The per-beat columns (BEAT_COLUMNS) of one ECG."""
    n = a.n_beats
    bounds = a.beat_bounds.astype(float) * 1000.0 / FS
    bounds[a.beat_bounds < 0] = np.nan
    dominant = a.median.dominant if a.median is not None else np.ones(n, bool)
    paced = a.paced if len(a.paced) == n else np.zeros(n, bool)
    out = {"record": np.full(n, record, dtype=np.int64), "time_ms": a.beat_times_ms()}
    for k, name in enumerate(BEAT_FIELDS):
        out[f"{name}_ms"] = bounds[:, k] if len(bounds) else np.zeros(0)
    out["dominant"] = np.asarray(dominant, dtype=bool)
    out["paced"] = np.asarray(paced, dtype=bool)
    return out


def beats_as_dicts(beats: dict[str, np.ndarray]) -> list[dict]:
    """Per-beat columns as a list of JSON-ready dicts (NaN as None)."""
    keys = [k for k in BEAT_COLUMNS if k != "record"]
    out = []
    for i in range(len(beats["time_ms"])):
        d = {}
        for k in keys:
            v = beats[k][i]
            d[k] = bool(v) if isinstance(v, (bool, np.bool_)) else (None if not np.isfinite(v) else round(float(v), 1))
        out.append(d)
    return out


def json_ready(r: dict) -> dict:
    """A row with NaN as None (valid JSON)."""
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in r.items()}


def criterion_mask(frame, criterion: str) -> np.ndarray:
    """Rows of a measures table (a DataFrame of COLUMNS) meeting one criterion: `statement` is a
    complete-LBBB statement by the machine; the others are the measured criteria being True."""
    if criterion not in CRITERION_COLUMNS:
        from lvsdctl.errors import InputError

        raise InputError(f"unknown LBBB criterion {criterion!r}: use one of {', '.join(CRITERION_COLUMNS)}")
    values = frame[CRITERION_COLUMNS[criterion]]
    if criterion == "statement":
        return (values.astype(str) == "complete").to_numpy()
    return values.map(_true).to_numpy(dtype=bool)


def _true(v) -> bool:
    if isinstance(v, str):
        return v.strip().lower() in ("true", "1")
    try:
        return bool(v) and not (isinstance(v, float) and math.isnan(v)) and int(v) == 1
    except (TypeError, ValueError):
        return False
