import numpy as np
import pytest
from sklearn.metrics import (accuracy_score, average_precision_score, f1_score, precision_score,
                             recall_score, roc_auc_score)

from lvsdctl.evaluate.metrics import METRICS, compute_metrics, confusion, predict_labels


def test_confusion_orientation_on_a_hand_case():
    # 3 LVSD ECGs (2 caught, 1 missed), 4 without LVSD (1 false alarm): counted by hand.
    y_true = [1, 1, 1, 0, 0, 0, 0]
    y_pred = [1, 1, 0, 1, 0, 0, 0]
    assert confusion(y_true, y_pred) == {"tn": 3, "fp": 1, "fn": 1, "tp": 2}
    m = compute_metrics(y_true, [0.9, 0.8, 0.2, 0.7, 0.1, 0.3, 0.4], threshold=0.5)
    assert m["sensitivity"] == pytest.approx(2 / 3)
    assert m["specificity"] == pytest.approx(3 / 4)
    assert m["ppv"] == pytest.approx(2 / 3)
    assert m["npv"] == pytest.approx(3 / 4)


def test_confusion_keeps_2x2_with_one_class():
    assert confusion([0, 0, 0], [0, 1, 0]) == {"tn": 2, "fp": 1, "fn": 0, "tp": 0}


def test_metrics_match_sklearn_on_known_vectors():
    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, 200)
    score = np.clip(0.35 * y + rng.random(200) * 0.65, 0, 1)
    m = compute_metrics(y, score, 0.5)
    pred = (score >= 0.5).astype(int)
    assert list(m) == list(METRICS)
    assert m["accuracy"] == pytest.approx(accuracy_score(y, pred))
    assert m["sensitivity"] == pytest.approx(recall_score(y, pred))
    assert m["specificity"] == pytest.approx(recall_score(1 - y, 1 - pred))
    assert m["ppv"] == pytest.approx(precision_score(y, pred))
    assert m["npv"] == pytest.approx(precision_score(1 - y, 1 - pred))
    assert m["f1"] == pytest.approx(f1_score(y, pred))
    assert m["auroc"] == pytest.approx(roc_auc_score(y, score))
    assert m["auprc"] == pytest.approx(average_precision_score(y, score))


def test_threshold_is_inclusive_and_undefined_metrics_are_nan():
    assert predict_labels([0.5, 0.49], 0.5).tolist() == [1, 0]
    m = compute_metrics([0, 0, 0], [0.1, 0.2, 0.9], 0.5)
    assert np.isnan(m["sensitivity"]) and np.isnan(m["auroc"]) and m["specificity"] == pytest.approx(2 / 3)


def test_rejects_non_binary_labels():
    with pytest.raises(ValueError):
        compute_metrics([0, 2], [0.1, 0.2], 0.5)
