"""The study's eight metrics with LVSD (label 1) as the positive class, computed by scikit-learn.

Confusion-matrix orientation, fixed here once for the whole package: rows are the TRUE label, columns the
PREDICTED label, both in the order ``labels=[0, 1]`` (0 = no LVSD, 1 = LVSD), so

    [[TN, FP],
     [FN, TP]]   and   ``confusion_matrix(...).ravel() == (tn, fp, fn, tp)``.

The study's released code unpacked the matrix in another orientation, which swaps sensitivity with
specificity and PPV with NPV. (Table 2's SS-FF rows are internally inconsistent: on external set 1,
45 of 115 positive, sensitivity 0.848 and specificity 0.860 would give accuracy 0.855, not 0.713.)
Passing ``labels`` explicitly also keeps the 2x2 shape when
a set happens to contain one class only.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

#: Metric keys in the order of the study's Table 2.
METRICS: tuple[str, ...] = ("accuracy", "sensitivity", "specificity", "ppv", "npv", "f1", "auroc", "auprc")

#: Column headers for tables (Table 2 wording).
METRIC_LABELS: dict[str, str] = {
    "accuracy": "Accuracy",
    "sensitivity": "Sensitivity",
    "specificity": "Specificity",
    "ppv": "PPV",
    "npv": "NPV",
    "f1": "F1 score",
    "auroc": "AUROC",
    "auprc": "AUPRC",
}

#: Metrics that need the continuous score rather than the thresholded prediction.
RANKING_METRICS = frozenset({"auroc", "auprc"})


def _as_binary(y, name: str) -> np.ndarray:
    arr = np.asarray(y).astype(np.int64).ravel()
    if arr.size and not np.isin(arr, (0, 1)).all():
        raise ValueError(f"{name} must contain only 0 and 1")
    return arr


def confusion(y_true, y_pred) -> dict[str, int]:
    """Counts of the 2x2 table with LVSD positive: ``{"tn", "fp", "fn", "tp"}`` (see module docstring)."""
    y_true = _as_binary(y_true, "y_true")
    y_pred = _as_binary(y_pred, "y_pred")
    tn, fp, fn, tp = confusion_matrix(y_true, y_pred, labels=[0, 1]).ravel()
    return {"tn": int(tn), "fp": int(fp), "fn": int(fn), "tp": int(tp)}


def predict_labels(score, threshold: float) -> np.ndarray:
    """LVSD when ``score >= threshold`` (the convention of ``sklearn.metrics.roc_curve``)."""
    return (np.asarray(score, dtype=np.float64) >= threshold).astype(np.int8)


def compute_metrics(y_true, score, threshold: float) -> dict[str, float]:
    """The eight metrics of Table 2 for one set; undefined ones (e.g. AUROC with one class) are NaN."""
    y_true = _as_binary(y_true, "y_true")
    score = np.asarray(score, dtype=np.float64).ravel()
    if score.shape != y_true.shape:
        raise ValueError("labels and scores differ in length")
    y_pred = predict_labels(score, threshold)
    nan = np.nan
    two_classes = np.unique(y_true).size == 2
    out = {
        "accuracy": accuracy_score(y_true, y_pred) if y_true.size else nan,
        # recall of class 1 is sensitivity, recall of class 0 is specificity; precision likewise PPV/NPV.
        "sensitivity": recall_score(y_true, y_pred, pos_label=1, zero_division=nan),
        "specificity": recall_score(y_true, y_pred, pos_label=0, zero_division=nan),
        "ppv": precision_score(y_true, y_pred, pos_label=1, zero_division=nan),
        "npv": precision_score(y_true, y_pred, pos_label=0, zero_division=nan),
        "f1": f1_score(y_true, y_pred, pos_label=1, zero_division=nan),
        "auroc": roc_auc_score(y_true, score) if two_classes else nan,
        "auprc": average_precision_score(y_true, score, pos_label=1) if two_classes else nan,
    }
    return {k: float(v) for k, v in out.items()}
