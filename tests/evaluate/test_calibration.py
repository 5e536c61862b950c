import numpy as np
import pytest
from sklearn.metrics import brier_score_loss

from lvsdctl.evaluate.calibration import calibration_summary


def test_perfectly_calibrated_scores_have_slope_one_intercept_zero():
    rng = np.random.default_rng(0)
    p = rng.uniform(0.02, 0.98, 20000)
    y = (rng.random(20000) < p).astype(int)
    c = calibration_summary(y, p)
    assert c["slope"] == pytest.approx(1.0, abs=0.07)
    assert c["intercept"] == pytest.approx(0.0, abs=0.05)
    assert c["brier"] == pytest.approx(brier_score_loss(y, p))
    np.testing.assert_allclose(c["curve_fraction_positive"], c["curve_mean_predicted"], atol=0.03)


def test_overconfident_scores_have_slope_below_one():
    rng = np.random.default_rng(1)
    p = rng.uniform(0.05, 0.95, 20000)
    y = (rng.random(20000) < p).astype(int)
    logit = np.log(p / (1 - p))
    sharp = 1 / (1 + np.exp(-2 * logit))  # twice as confident as the truth
    assert calibration_summary(y, sharp)["slope"] == pytest.approx(0.5, abs=0.05)


def test_one_class_leaves_slope_undefined():
    c = calibration_summary([0, 0, 0, 0, 0], [0.1, 0.2, 0.3, 0.1, 0.2])
    assert np.isnan(c["slope"]) and np.isnan(c["intercept"]) and c["brier"] == pytest.approx(0.038)
