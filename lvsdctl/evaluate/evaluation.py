"""From per-ECG scores to the study's evaluation: frozen threshold, metrics with patient-bootstrap CIs
per validation set, the "Average" row, and calibration. Pure (no files), so notebooks can call it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lvsdctl.errors import InputError
from lvsdctl.evaluate.bootstrap import bootstrap_metric_ci
from lvsdctl.evaluate.calibration import calibration_summary
from lvsdctl.evaluate.metrics import METRICS, compute_metrics, predict_labels
from lvsdctl.evaluate.tables import AVERAGE, with_average
from lvsdctl.evaluate.thresholds import Threshold, choose_threshold, parse_policy
from lvsdctl.summary import Summary

#: Sets a threshold may be fitted on and that are never reported as validation sets.
FITTING_SETS = ("train", "tune")


@dataclass
class Evaluation(Summary):
    """What `evaluate` returns: the frozen threshold, the metrics with CIs, calibration per set."""

    threshold: Threshold
    pred: np.ndarray  # int8 per ECG, under the frozen threshold
    metrics: pd.DataFrame  # set, metric, value, ci_low, ci_high, n_patients, n_ecgs (Average rows last)
    calibration: dict[str, dict]
    validation_sets: list[str]
    n_boot: int
    seed: int
    subgroups: list[dict] = field(default_factory=list)  # filled by `evaluate` (evaluate.report.subgroup_table)
    model_synthetic: bool = False  # the model was trained on synthetic data
    data_synthetic: bool = False
    operating_point_file: str | None = None  # where the frozen threshold was saved for predict/explain
    replaced_threshold: float | None = None  # the operating point it replaced, when different

    @property
    def synthetic(self) -> bool:
        return self.model_synthetic or self.data_synthetic

    def to_dict(self) -> dict:
        return {"threshold": self.threshold.as_dict(), "operating_point_file": self.operating_point_file,
                "replaced_threshold": self.replaced_threshold, "synthetic": self.synthetic,
                "validation_sets": self.validation_sets, "metrics": self.metrics.to_dict(orient="records"),
                "calibration": {s: {k: c[k] for k in ("brier", "intercept", "slope", "n")}
                                for s, c in self.calibration.items()},
                "subgroups": self.subgroups}


#: Report order of the standard validation set names (`lvsdctl split`); other names follow in file order.
VALIDATION_ORDER = ("internal", "external1", "external2", "external3")


def validation_sets_of(splits: pd.Series) -> list[str]:
    """Sets other than train/tune: internal, external1, external2, ... then any other name in file order."""
    names = [s for s in dict.fromkeys(splits.astype(str)) if s and s not in FITTING_SETS]
    return [s for s in VALIDATION_ORDER if s in names] + [s for s in names if s not in VALIDATION_ORDER]


def evaluate_scores(records: pd.DataFrame, score, *, policy: str = "0.5", tune_set: str = "tune",
                    validation_sets: list[str] | None = None, n_boot: int = 1000, seed: int = 0,
                    level: float = 0.95) -> Evaluation:
    """records: split, label, patient per ECG (row order of ``score``)."""
    score = np.asarray(score, dtype=np.float64)
    splits = records["split"].astype(str).to_numpy()
    labels = records["label"].to_numpy().astype(int)
    pol = parse_policy(policy)
    if pol.kind == "fixed":
        thr = choose_threshold(pol)
    else:
        sel = (splits == tune_set) & np.isin(labels, (0, 1))
        if not sel.any():
            raise InputError(f"threshold policy '{policy}' needs labelled ECGs in set '{tune_set}'; none found")
        thr = choose_threshold(pol, labels[sel], score[sel], set_name=tune_set)
    pred = predict_labels(score, thr.value)
    sets = validation_sets or validation_sets_of(pd.Series(splits))
    if not sets:
        raise InputError("no validation set (split other than train/tune) to evaluate on")
    rows, calib = [], {}
    for s in sets:
        sel = (splits == s) & np.isin(labels, (0, 1))
        if not sel.any():
            raise InputError(f"set '{s}' has no labelled ECG")
        y, sc, pat = labels[sel], score[sel], records["patient"].astype(str).to_numpy()[sel]
        point = compute_metrics(y, sc, thr.value)
        ci = bootstrap_metric_ci(y, sc, pat, thr.value, n_boot=n_boot, seed=seed, level=level) if n_boot else {}
        n_pat = int(np.unique(pat).size)
        for m in METRICS:
            lo, hi = ci.get(m, (np.nan, np.nan))
            rows.append({"set": s, "metric": m, "value": point[m], "ci_low": lo, "ci_high": hi,
                         "n_patients": n_pat, "n_ecgs": int(sel.sum())})
        calib[s] = calibration_summary(y, sc)
    metrics = pd.DataFrame(rows)
    avg = with_average(metrics.assign(model=""), sets)
    avg = avg[avg["set"] == AVERAGE].drop(columns="model")
    avg["n_patients"] = metrics.groupby("metric", sort=False)["n_patients"].sum().reindex(avg["metric"]).to_numpy()
    avg["n_ecgs"] = metrics.groupby("metric", sort=False)["n_ecgs"].sum().reindex(avg["metric"]).to_numpy()
    metrics = pd.concat([metrics, avg], ignore_index=True)
    return Evaluation(thr, pred, metrics, calib, sets, n_boot, seed)
