"""Calibration: Brier score, calibration intercept and slope (logistic recalibration), reliability curve.

Definitions (Van Calster et al., J Clin Epidemiol 2016; Steyerberg, Clinical Prediction Models):
- slope: b in logit P(y=1) = a + b * logit(p); 1 is ideal, < 1 means over-confident scores;
- intercept ("calibration-in-the-large"): a in logit P(y=1) = a + 1 * logit(p), i.e. logit(p) as an
  offset; 0 is ideal, < 0 means the scores over-estimate the LVSD risk.
Both are fitted by statsmodels' binomial GLM.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss

_EPS = 1e-12


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p) - np.log1p(-p)


def calibration_summary(y, score, *, n_bins: int = 10) -> dict:
    """Brier, intercept, slope and the reliability curve (quantile bins) of one set; NaN where undefined."""
    import statsmodels.api as sm

    y = np.asarray(y).astype(np.float64).ravel()
    p = np.asarray(score, dtype=np.float64).ravel()
    out: dict = {"brier": float(brier_score_loss(y, p)) if y.size else np.nan,
                 "intercept": np.nan, "slope": np.nan, "n": int(y.size)}
    if np.unique(y).size == 2:
        lp = _logit(p)
        with warnings.catch_warnings():
            # separation or a constant score make the fit degenerate; report NaN rather than a warning storm
            warnings.simplefilter("ignore")
            try:
                fam = sm.families.Binomial()
                slope_fit = sm.GLM(y, sm.add_constant(lp, has_constant="add"), family=fam).fit()
                icpt_fit = sm.GLM(y, np.ones_like(lp), family=fam, offset=lp).fit()
                out["slope"] = float(slope_fit.params[1])
                out["intercept"] = float(icpt_fit.params[0])
            except Exception:  # noqa: BLE001 - statsmodels raises several types on degenerate data
                pass
    if y.size:
        bins = max(1, min(n_bins, y.size // 5 or 1))
        frac_pos, mean_pred = calibration_curve(y, p, n_bins=bins, strategy="quantile")
        out["curve_mean_predicted"] = mean_pred.tolist()
        out["curve_fraction_positive"] = frac_pos.tolist()
    else:
        out["curve_mean_predicted"], out["curve_fraction_positive"] = [], []
    return out
