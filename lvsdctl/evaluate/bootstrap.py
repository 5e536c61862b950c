"""Patient-clustered bootstrap: 95 % CIs for the eight metrics and for paired AUROC differences.

A patient contributes several ECG-echo pairs (up to ~10 in the study) whose scores and labels are
correlated; resampling ECGs as if independent understates the variance. Each replicate therefore draws
PATIENTS with replacement and keeps all of a drawn patient's ECGs. A replicate is represented as a
weight per ECG (how many times its patient was drawn), so every metric is a weighted count and the
whole bootstrap is a handful of (B x N) array operations rather than a Python loop over replicates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lvsdctl.evaluate.metrics import METRICS, predict_labels


def patient_weights(patients, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot, n_ecgs) float64: times each ECG's patient was drawn in each replicate."""
    _, idx = np.unique(np.asarray(patients).astype(str), return_inverse=True)
    n_pat = int(idx.max()) + 1 if idx.size else 0
    draws = rng.integers(0, n_pat, size=(n_boot, n_pat))
    flat = draws + (np.arange(n_boot) * n_pat)[:, None]
    counts = np.bincount(flat.ravel(), minlength=n_boot * n_pat).reshape(n_boot, n_pat)
    return counts[:, idx].astype(np.float64)


#: Upper bound on replicates x ECGs held at once (float64: 8 bytes each, a few arrays alive): ~40 MB each.
MAX_CELLS = 5_000_000


def weight_blocks(patients, n_boot: int, rng: np.random.Generator):
    """Yield patient-bootstrap weight matrices of at most MAX_CELLS cells, n_boot rows in total, so
    memory stays bounded on large cohorts; the draws depend only on the seed and the cohort size."""
    n = max(1, len(patients))
    step = max(1, MAX_CELLS // n)
    for start in range(0, n_boot, step):
        yield patient_weights(patients, min(step, n_boot - start), rng)


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def weighted_auroc(y: np.ndarray, score: np.ndarray, w: np.ndarray) -> np.ndarray:
    """AUROC (Mann-Whitney, ties count 1/2) for each row of weights ``w`` (B, N); NaN without both classes."""
    order = np.argsort(score, kind="mergesort")
    s, yy, ww = score[order], y[order], w[:, order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])  # first index of each tie group
    pos = np.add.reduceat(ww * (yy == 1), starts, axis=1)  # (B, G) positive weight per score value
    neg = np.add.reduceat(ww * (yy == 0), starts, axis=1)
    neg_below = np.cumsum(neg, axis=1) - neg
    wins = (pos * (neg_below + 0.5 * neg)).sum(axis=1)
    return _safe_div(wins, pos.sum(axis=1) * neg.sum(axis=1))


def weighted_average_precision(y: np.ndarray, score: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Average precision as scikit-learn defines it (step sum, no interpolation), per weight row."""
    order = np.argsort(-score, kind="mergesort")
    s, yy, ww = score[order], y[order], w[:, order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    tp = np.cumsum(np.add.reduceat(ww * (yy == 1), starts, axis=1), axis=1)
    fp = np.cumsum(np.add.reduceat(ww * (yy == 0), starts, axis=1), axis=1)
    precision = _safe_div(tp, tp + fp)
    total_pos = tp[:, -1:]
    recall = _safe_div(tp, np.broadcast_to(total_pos, tp.shape))
    d_recall = np.diff(np.concatenate([np.zeros_like(recall[:, :1]), recall], axis=1), axis=1)
    ap = np.nansum(d_recall * precision, axis=1)
    both = (total_pos[:, 0] > 0) & (fp[:, -1] > 0)
    return np.where(both, ap, np.nan)


def weighted_metrics(y, score, threshold: float, w: np.ndarray) -> dict[str, np.ndarray]:
    """The eight metrics for each weight row; weights of 1 reproduce ``compute_metrics`` exactly."""
    y = np.asarray(y).astype(np.int64)
    score = np.asarray(score, dtype=np.float64)
    pred = predict_labels(score, threshold).astype(bool)
    pos = y == 1
    tp = w @ (pos & pred)
    fn = w @ (pos & ~pred)
    fp = w @ (~pos & pred)
    tn = w @ (~pos & ~pred)
    return {
        "accuracy": _safe_div(tp + tn, tp + tn + fp + fn),
        "sensitivity": _safe_div(tp, tp + fn),
        "specificity": _safe_div(tn, tn + fp),
        "ppv": _safe_div(tp, tp + fp),
        "npv": _safe_div(tn, tn + fn),
        "f1": _safe_div(2 * tp, 2 * tp + fp + fn),
        "auroc": weighted_auroc(y, score, w),
        "auprc": weighted_average_precision(y, score, w),
    }


def bootstrap_metric_ci(y, score, patients, threshold: float, *, n_boot: int = 1000, seed: int = 0,
                        level: float = 0.95) -> dict[str, tuple[float, float]]:
    """Percentile CIs of the eight metrics, resampling patients; replicates where a metric is undefined
    (e.g. no positive patient drawn) are left out of that metric's percentiles."""
    rng = np.random.default_rng(seed)
    blocks = [weighted_metrics(y, score, threshold, w) for w in weight_blocks(patients, n_boot, rng)]
    reps = {m: np.concatenate([b[m] for b in blocks]) for m in METRICS}
    a = (1 - level) / 2
    out = {}
    for m in METRICS:
        r = reps[m]
        r = r[np.isfinite(r)]
        out[m] = (float(np.quantile(r, a)), float(np.quantile(r, 1 - a))) if r.size else (np.nan, np.nan)
    return out


@dataclass(frozen=True)
class PairedAUROCBootstrap:
    auc_a: float
    auc_b: float
    diff: float  # auc_a - auc_b
    ci_low: float
    ci_high: float
    p_value: float  # two-sided, from the share of replicates on either side of 0
    n_boot: int
    n_patients: int


def paired_auroc_difference(y, score_a, score_b, patients, *, n_boot: int = 2000, seed: int = 0,
                            level: float = 0.95) -> PairedAUROCBootstrap:
    """AUROC(a) - AUROC(b) on the same ECGs with a patient-clustered percentile CI and p-value.

    Unlike DeLong's test this stays valid when a patient has several correlated ECGs."""
    y = np.asarray(y).astype(np.int64)
    a = np.asarray(score_a, dtype=np.float64)
    b = np.asarray(score_b, dtype=np.float64)
    rng = np.random.default_rng(seed)
    ones = np.ones((1, y.size))
    auc_a = float(weighted_auroc(y, a, ones)[0])
    auc_b = float(weighted_auroc(y, b, ones)[0])
    d = np.concatenate([weighted_auroc(y, a, w) - weighted_auroc(y, b, w)
                        for w in weight_blocks(patients, n_boot, rng)])
    d = d[np.isfinite(d)]
    lo, hi = np.quantile(d, [(1 - level) / 2, 1 - (1 - level) / 2])
    # two-sided percentile p-value; (k+1)/(B+1) keeps it above zero with a finite number of replicates
    p = min(1.0, 2 * min(((d <= 0).sum() + 1) / (d.size + 1), ((d >= 0).sum() + 1) / (d.size + 1)))
    return PairedAUROCBootstrap(auc_a, auc_b, auc_a - auc_b, float(lo), float(hi), float(p), int(d.size),
                                int(np.unique(np.asarray(patients).astype(str)).size))
