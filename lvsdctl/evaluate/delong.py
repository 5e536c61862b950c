"""DeLong's test for two correlated AUROCs (same ECGs, two models), by the fast algorithm of Sun & Xu.

DeLong ER, DeLong DM, Clarke-Pearson DL. Comparing the areas under two or more correlated receiver
operating characteristic curves: a nonparametric approach. Biometrics 1988;44:837-845.
Sun X, Xu W. Fast implementation of DeLong's algorithm for comparing the areas under correlated
receiver operating characteristic curves. IEEE Signal Processing Letters 2014;21(11):1389-1393.

Sun & Xu obtain DeLong's structural components from three mid-rankings (positives alone, negatives
alone, all together) instead of the O(m*n) pairwise comparison: O(N log N) per model.

Verified against pROC (Robin et al. 2011) on its aSAH data to 10 significant digits
(tests/evaluate/test_delong.py). DeLong treats ECGs as independent. When patients have several ECGs, report the patient-clustered
bootstrap difference (``lvsdctl.evaluate.bootstrap.paired_auroc_difference``) beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm, rankdata


def _structural_components(y: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """AUCs (k,), V10 (k, m) and V01 (k, n) for scores of shape (k, N)."""
    pos, neg = scores[:, y == 1], scores[:, y == 0]
    m, n = pos.shape[1], neg.shape[1]
    if m == 0 or n == 0:
        raise ValueError("DeLong needs at least one positive and one negative ECG")
    tx = rankdata(pos, axis=1)  # mid-ranks (ties share the mean rank) within positives
    ty = rankdata(neg, axis=1)
    tz = rankdata(np.concatenate([pos, neg], axis=1), axis=1)
    auc = (tz[:, :m].sum(axis=1) - m * (m + 1) / 2) / (m * n)
    v10 = (tz[:, :m] - tx) / n  # share of negatives each positive outranks
    v01 = 1.0 - (tz[:, m:] - ty) / m  # share of positives that outrank each negative
    return auc, v10, v01


def delong_covariance(y, scores) -> tuple[np.ndarray, np.ndarray]:
    """AUCs and their DeLong covariance matrix for k models scored on the same ECGs; scores (k, N)."""
    y = np.asarray(y).astype(np.int64).ravel()
    scores = np.atleast_2d(np.asarray(scores, dtype=np.float64))
    auc, v10, v01 = _structural_components(y, scores)
    m, n = v10.shape[1], v01.shape[1]
    cov = np.atleast_2d(np.cov(v10)) / m + np.atleast_2d(np.cov(v01)) / n
    return auc, cov


@dataclass(frozen=True)
class DeLongResult:
    auc_a: float
    auc_b: float
    diff: float  # auc_a - auc_b
    se: float
    z: float
    p_value: float
    ci_low: float  # 95 % CI of the difference (normal approximation)
    ci_high: float
    n_pos: int
    n_neg: int


def delong_test(y, score_a, score_b, *, level: float = 0.95) -> DeLongResult:
    """Two-sided DeLong test of AUROC(a) == AUROC(b) on the same ECGs (LVSD = 1 positive)."""
    y = np.asarray(y).astype(np.int64).ravel()
    auc, cov = delong_covariance(y, np.vstack([score_a, score_b]))
    var = cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]
    diff = float(auc[0] - auc[1])
    se = float(np.sqrt(max(var, 0.0)))
    if se > 0:
        z = diff / se
        p = float(2 * norm.sf(abs(z)))
    else:  # identical rankings: no evidence of a difference
        z, p = 0.0, 1.0
    q = norm.ppf(1 - (1 - level) / 2)
    return DeLongResult(float(auc[0]), float(auc[1]), diff, se, float(z), p, diff - q * se, diff + q * se,
                        int((y == 1).sum()), int((y == 0).sum()))
