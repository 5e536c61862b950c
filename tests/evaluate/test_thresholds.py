import numpy as np
import pytest
from sklearn.metrics import roc_curve

from lvsdctl.errors import InputError
from lvsdctl.evaluate.thresholds import choose_threshold, parse_policy


def _tuning():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 300)
    return y, np.clip(0.3 * y + 0.7 * rng.random(300), 0, 1)


def test_parse_policies():
    assert parse_policy("0.5").kind == "fixed"
    assert parse_policy("youden").kind == "youden"
    p = parse_policy("sens:0.90")
    assert (p.kind, p.target) == ("sensitivity", 0.9)
    for bad in ("abc", "1.5", "sens:2"):
        with pytest.raises(InputError):
            parse_policy(bad)


def test_fixed_needs_no_data_and_records_origin():
    t = choose_threshold("0.5")
    assert t.value == 0.5 and "fixed" in t.origin and t.policy == "0.5"


def test_youden_maximises_j_on_tuning_set():
    y, s = _tuning()
    t = choose_threshold("youden", y, s, set_name="tune")
    fpr, tpr, thr = roc_curve(y, s)
    best = thr[np.argmax(tpr - fpr)]
    # frozen halfway to the next lower tuning score: the same calls on the tuning set as the best point
    assert s[s < best].max() < t.value < best
    assert ((s >= t.value) == (s >= best)).all()
    assert "tune" in t.origin and "Youden" in t.origin
    assert (t.set, t.n_ecgs) == ("tune", 300)
    assert t.sensitivity == pytest.approx((s[y == 1] >= best).mean())
    assert t.specificity == pytest.approx((s[y == 0] < best).mean())


def test_target_sensitivity_reaches_target_with_best_specificity():
    y, s = _tuning()
    t = choose_threshold("sens:0.9", y, s)
    pred = s >= t.value
    assert pred[y == 1].mean() >= 0.9 and t.sensitivity == pytest.approx(pred[y == 1].mean())
    # any higher candidate threshold would fall below the target
    higher = np.unique(s[s > t.value])
    assert all((s[y == 1] >= h).mean() < 0.9 for h in higher[1:6])


def test_a_fitted_threshold_keeps_its_calls_under_float_noise():
    """The ECG whose score sets the operating point keeps its call when its score is recomputed a hair
    lower (another batch size, a GPU): the threshold is not that score itself."""
    y, s = _tuning()
    for policy in ("youden", "sens:0.9"):
        t = choose_threshold(policy, y, s)
        noisy = s * (1 - 1e-9)
        assert ((noisy >= t.value) == (s >= t.value)).all()


def test_data_driven_policy_without_tuning_set_is_refused():
    with pytest.raises(InputError):
        choose_threshold("youden")
    with pytest.raises(InputError):
        choose_threshold("youden", [1, 1], [0.2, 0.3])
