"""Predictions and evaluation files (kinds "predictions" and "evaluation"); layout in docs/formats.md.

predictions:
  /records                 the ECGs' /records columns but the echo's (record_id, patient pseudonym, site,
                           acquired, source_sha256, source_format, fs, ... quality, qrs_ms), plus `file` (the
                           export's path relative to its input, when exports were scored) and
                           `warnings` (lvsdctl.evaluate.scope), one row per ECG
  /predictions/score       float64 (N,) LVSD probability, softmax(logits)[:, 1]
  /predictions/pred        int8 (N,) 1 when score >= threshold
  root attrs               threshold, threshold_origin, threshold_policy, threshold_source, model_name,
                           model_sha256, operating_point (JSON, when the threshold is one)
evaluation: all of the above, plus
  /metrics/{set, metric, value, ci_low, ci_high, n_patients, n_ecgs}      1-D columns, one row per (set, metric)
  /calibration/{set, brier, intercept, slope, n}                          1-D columns, one row per set
  /calibration attrs "curves": JSON {set: {"mean_predicted": [...], "fraction_positive": [...]}}
  root attrs               bootstrap (replicates), bootstrap_unit ("patient"), ci_level, seed
"""

from __future__ import annotations

from dataclasses import dataclass, field

import h5py
import numpy as np
import pandas as pd

from lvsdctl.errors import InputError
from lvsdctl.hdf5 import RECORD_COLUMNS, open_input, read_json_attr, read_records, write_json_attr, write_records

#: Columns of /records kept in predictions and evaluation files: those that find the ECG again and
#: describe it (not the echo's LVEF and date: the label is kept), and the two `predict` adds. No patient
#: identifier beyond the pseudonym (/records holds none).
PREDICTION_RECORD_COLUMNS = [*(c for c in RECORD_COLUMNS if c not in ("lvef", "echo_delta_days")), "file", "warnings"]
METRIC_COLUMNS = {"set": "str", "metric": "str", "value": "float64", "ci_low": "float64", "ci_high": "float64",
                  "n_patients": "int64", "n_ecgs": "int64"}
CALIBRATION_COLUMNS = {"set": "str", "brier": "float64", "intercept": "float64", "slope": "float64", "n": "int64"}
_STR = h5py.string_dtype(encoding="utf-8")


@dataclass
class PredictionMeta:
    threshold: float
    threshold_origin: str
    threshold_policy: str
    model_name: str
    model_sha256: str
    extra: dict = field(default_factory=dict)  # further JSON attributes (operating_point, validation_sets)
    threshold_source: str = ""  # "operating point", "command line", "fitted", "default" (predict)


def _write_columns(group: h5py.Group, df: pd.DataFrame, spec: dict[str, str]) -> None:
    for col, dtype in spec.items():
        values = df[col] if col in df.columns else pd.Series([np.nan] * len(df))
        if dtype == "str":
            group.create_dataset(col, data=np.array([str(v) for v in values], dtype=object), dtype=_STR)
        else:
            group.create_dataset(col, data=pd.to_numeric(values).to_numpy(dtype=dtype))


def _read_columns(group: h5py.Group) -> pd.DataFrame:
    return pd.DataFrame({c: (group[c].asstr()[()] if h5py.check_string_dtype(group[c].dtype) else group[c][()])
                         for c in group})


def write_predictions(f: h5py.File, records: pd.DataFrame, score: np.ndarray, pred: np.ndarray,
                      meta: PredictionMeta) -> None:
    """Write /records, /predictions and the threshold/model attributes into an open output file."""
    score = np.asarray(score, dtype=np.float64)
    if len(records) != score.size or score.size != np.asarray(pred).size:
        raise ValueError("records, scores and predictions differ in length")
    rec = records[[c for c in PREDICTION_RECORD_COLUMNS if c in records.columns]].reset_index(drop=True)
    write_records(f, rec)
    g = f.create_group("predictions")
    g.create_dataset("score", data=score)
    g.create_dataset("pred", data=np.asarray(pred).astype(np.int8))
    f.attrs["threshold"] = float(meta.threshold)
    f.attrs["threshold_origin"] = meta.threshold_origin
    f.attrs["threshold_policy"] = meta.threshold_policy
    f.attrs["model_name"] = meta.model_name
    f.attrs["model_sha256"] = meta.model_sha256
    if meta.threshold_source:
        f.attrs["threshold_source"] = meta.threshold_source
    for k, v in meta.extra.items():
        write_json_attr(f, k, v)


def write_metrics(f: h5py.File, metrics: pd.DataFrame) -> None:
    _write_columns(f.create_group("metrics", track_order=True), metrics, METRIC_COLUMNS)


def write_calibration(f: h5py.File, calibration: dict[str, dict]) -> None:
    g = f.create_group("calibration", track_order=True)
    rows = [{"set": s, **{k: c[k] for k in ("brier", "intercept", "slope", "n")}} for s, c in calibration.items()]
    _write_columns(g, pd.DataFrame(rows, columns=list(CALIBRATION_COLUMNS)), CALIBRATION_COLUMNS)
    write_json_attr(g, "curves", {s: {"mean_predicted": c["curve_mean_predicted"],
                                      "fraction_positive": c["curve_fraction_positive"]}
                                  for s, c in calibration.items()})


def _attr(f: h5py.File, name: str, default=""):
    v = f.attrs.get(name, default)
    return v.decode() if isinstance(v, bytes) else v


def read_predictions(f: h5py.File, name: str = "file") -> tuple[pd.DataFrame, PredictionMeta]:
    """Records with `score` and `pred` columns added, and the threshold/model metadata."""
    if "predictions" not in f or "score" not in f["predictions"]:
        raise InputError(f"{name}: has no /predictions/score")
    df = read_records(f)
    df["score"] = f["predictions/score"][()]
    df["pred"] = f["predictions/pred"][()]
    meta = PredictionMeta(float(_attr(f, "threshold", np.nan)), str(_attr(f, "threshold_origin")),
                          str(_attr(f, "threshold_policy")), str(_attr(f, "model_name")),
                          str(_attr(f, "model_sha256")), threshold_source=str(_attr(f, "threshold_source")))
    return df, meta


def read_metrics(f: h5py.File, name: str = "file") -> pd.DataFrame:
    if "metrics" not in f:
        raise InputError(f"{name}: has no /metrics table (is it an evaluation file?)")
    return _read_columns(f["metrics"])


def read_calibration(f: h5py.File) -> tuple[pd.DataFrame, dict]:
    if "calibration" not in f:
        return pd.DataFrame(columns=list(CALIBRATION_COLUMNS)), {}
    return _read_columns(f["calibration"]), read_json_attr(f["calibration"], "curves", {})


def load_predictions(path: str) -> tuple[pd.DataFrame, PredictionMeta]:
    with open_input(path, kind={"predictions", "evaluation"}) as f:
        return read_predictions(f, str(path))


def load_evaluation(path: str) -> tuple[pd.DataFrame, PredictionMeta]:
    """The /metrics table and the model/threshold metadata of an evaluation file."""
    with open_input(path, kind={"evaluation"}) as f:
        _, meta = read_predictions(f, str(path))
        return read_metrics(f, str(path)), meta
