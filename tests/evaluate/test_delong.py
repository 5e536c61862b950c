"""DeLong's test against a published example and against the original O(m*n) definition.

(pROC's aSAH example is not used: that data set ships under the GPL, which this project does not take in.)"""

import numpy as np
import pytest
from scipy.stats import norm

from lvsdctl.evaluate.delong import delong_covariance, delong_test

def _hanley_mcneil_1982():
    # Hanley JA, McNeil BJ. The meaning and use of the area under a ROC curve. Radiology 1982;143:29-36,
    # Table I: 109 CT images rated 1 (definitely normal) .. 5 (definitely abnormal);
    # 58 truly normal: 33/6/6/11/2, 51 truly abnormal: 3/2/2/11/33. Published area (Wilcoxon) 0.893,
    # published standard error 0.032 (their exponential approximation, not DeLong's).
    neg = np.repeat([1, 2, 3, 4, 5], [33, 6, 6, 11, 2])
    pos = np.repeat([1, 2, 3, 4, 5], [3, 2, 2, 11, 33])
    return np.r_[np.zeros(58), np.ones(51)], np.r_[neg, pos].astype(float)


def _delong_by_definition(y, scores):
    """DeLong 1988, eqs. for V10/V01 with psi(x, y) = 1, 1/2, 0 by explicit pairwise comparison."""
    pos, neg = scores[:, y == 1], scores[:, y == 0]
    psi = (pos[:, :, None] > neg[:, None, :]) + 0.5 * (pos[:, :, None] == neg[:, None, :])
    v10, v01 = psi.mean(axis=2), psi.mean(axis=1)
    cov = np.cov(v10) / pos.shape[1] + np.cov(v01) / neg.shape[1]
    return psi.mean(axis=(1, 2)), cov


def test_hanley_mcneil_published_area_and_standard_error():
    y, s = _hanley_mcneil_1982()
    auc, cov = delong_covariance(y, s)
    assert auc[0] == pytest.approx(0.893, abs=5e-4)
    # DeLong's SE (0.0307) agrees with the published approximate SE of 0.032 to within rounding of method
    assert np.sqrt(cov[0, 0]) == pytest.approx(0.032, abs=0.0015)


def test_fast_algorithm_equals_the_definition_with_ties():
    rng = np.random.default_rng(11)
    y = rng.integers(0, 2, 150)
    a = np.round(y * 0.8 + rng.normal(0, 1, 150), 1)  # rounded so that ties occur
    b = np.round(0.6 * a + y * 0.3 + rng.normal(0, 1, 150), 1)  # correlated with a
    scores = np.vstack([a, b])
    auc_fast, cov_fast = delong_covariance(y, scores)
    auc_def, cov_def = _delong_by_definition(y, scores)
    np.testing.assert_allclose(auc_fast, auc_def)
    np.testing.assert_allclose(cov_fast, cov_def)
    r = delong_test(y, a, b)
    var = cov_def[0, 0] + cov_def[1, 1] - 2 * cov_def[0, 1]
    z = (auc_def[0] - auc_def[1]) / np.sqrt(var)
    assert r.z == pytest.approx(z) and r.p_value == pytest.approx(2 * norm.sf(abs(z)))


def test_hand_computed_paired_example():
    # 2 positives, 2 negatives. Model a ranks perfectly (AUC 1); model b: pos (0.6, 0.2) vs neg (0.4, 0.3)
    # -> wins 0.6>0.4, 0.6>0.3 => AUC_b = 2/4 = 0.5. V10_b = (1, 0), V01_b = (0.5, 0.5); V10_a = V01_a = (1, 1).
    # Var(a) = 0; Var(b) = var(V10_b)/2 + var(V01_b)/2 = 0.5/2 + 0 = 0.25; cov = 0 => z = 0.5/0.5 = 1.
    y = np.array([1, 1, 0, 0])
    r = delong_test(y, np.array([0.9, 0.8, 0.1, 0.2]), np.array([0.6, 0.2, 0.4, 0.3]))
    assert (r.auc_a, r.auc_b, r.se, r.z) == pytest.approx((1.0, 0.5, 0.5, 1.0))
    assert r.p_value == pytest.approx(0.3173, abs=1e-4)


def test_identical_models_give_p_one():
    y = np.array([0, 1, 0, 1, 1])
    s = np.array([0.1, 0.7, 0.4, 0.6, 0.2])
    assert delong_test(y, s, s).p_value == 1.0
