import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from lvsdctl.evaluate.bootstrap import (bootstrap_metric_ci, paired_auroc_difference, patient_weights,
                                        weighted_metrics)
from lvsdctl.evaluate.metrics import compute_metrics


def _data(n=240, seed=1):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    s = np.round(np.clip(0.25 * y + 0.75 * rng.random(n), 0, 1), 2)  # rounded: ties exercised
    return y, s


def test_unit_weights_reproduce_point_metrics():
    y, s = _data()
    w = weighted_metrics(y, s, 0.5, np.ones((1, y.size)))
    point = compute_metrics(y, s, 0.5)
    for k, v in point.items():
        assert w[k][0] == pytest.approx(v), k


def test_integer_weights_match_sklearn_on_resampled_data():
    y, s = _data()
    rng = np.random.default_rng(0)
    w = patient_weights(np.arange(y.size), 3, rng)
    w_auc = weighted_metrics(y, s, 0.5, w)
    for b in range(3):
        idx = np.repeat(np.arange(y.size), w[b].astype(int))
        assert w_auc["auroc"][b] == pytest.approx(roc_auc_score(y[idx], s[idx]))
        assert w_auc["auprc"][b] == pytest.approx(average_precision_score(y[idx], s[idx]))


def test_patient_weights_keep_a_patients_ecgs_together():
    patients = np.array(["a", "a", "b", "c", "c", "c"])
    w = patient_weights(patients, 50, np.random.default_rng(0))
    assert (w[:, 0] == w[:, 1]).all() and (w[:, 3] == w[:, 5]).all()
    assert (w[:, [0, 2, 3]].sum(axis=1) == 3).all()  # 3 patients drawn per replicate


def test_ci_widens_when_patients_have_many_correlated_ecgs():
    # Same 200 ECGs, same scores: once as 200 patients, once as 20 patients with 10 near-identical ECGs.
    rng = np.random.default_rng(5)
    pat_y = rng.integers(0, 2, 20)
    pat_s = np.clip(0.3 * pat_y + 0.7 * rng.random(20), 0, 1)
    y = np.repeat(pat_y, 10)
    s = np.clip(np.repeat(pat_s, 10) + rng.normal(0, 0.01, 200), 0, 1)
    one_each = bootstrap_metric_ci(y, s, np.arange(200), 0.5, n_boot=400, seed=0)
    clustered = bootstrap_metric_ci(y, s, np.repeat(np.arange(20), 10), 0.5, n_boot=400, seed=0)
    for metric in ("accuracy", "auroc", "sensitivity"):
        width_ecg = one_each[metric][1] - one_each[metric][0]
        width_pat = clustered[metric][1] - clustered[metric][0]
        assert width_pat > 2 * width_ecg, metric


def test_bootstrap_is_seeded():
    y, s = _data()
    p = np.arange(y.size) // 3
    assert bootstrap_metric_ci(y, s, p, 0.5, n_boot=100, seed=4) == bootstrap_metric_ci(y, s, p, 0.5, n_boot=100, seed=4)


def test_paired_auroc_difference_detects_a_better_model():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 300)
    good = y + rng.normal(0, 0.5, 300)
    bad = y + rng.normal(0, 2.0, 300)
    r = paired_auroc_difference(y, good, bad, np.arange(300) // 2, n_boot=500, seed=0)
    assert r.diff == pytest.approx(roc_auc_score(y, good) - roc_auc_score(y, bad))
    assert r.ci_low > 0 and r.p_value < 0.01 and r.n_patients == 150


def test_blocks_bound_memory_and_cover_all_replicates(monkeypatch):
    import lvsdctl.evaluate.bootstrap as bs

    y, s = _data()
    p = np.arange(y.size) // 2
    monkeypatch.setattr(bs, "MAX_CELLS", 10 * y.size)  # 10 replicates per block
    blocks = list(bs.weight_blocks(p, 35, np.random.default_rng(0)))
    assert [b.shape[0] for b in blocks] == [10, 10, 10, 5]
    ci = bs.bootstrap_metric_ci(y, s, p, 0.5, n_boot=35, seed=0)
    assert all(lo <= hi for lo, hi in ci.values())
