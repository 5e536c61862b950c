import numpy as np
import pandas as pd
import pytest

from lvsdctl.errors import InputError
from lvsdctl.evaluate.evaluation import evaluate_scores, validation_sets_of
from lvsdctl.evaluate.metrics import compute_metrics


def _records(n=400, seed=0):
    rng = np.random.default_rng(seed)
    rec = pd.DataFrame({"split": rng.choice(["external2", "tune", "internal", "external1", "train"], n),
                        "label": rng.integers(0, 2, n), "patient": rng.integers(0, 150, n).astype(str)})
    return rec, np.clip(0.3 * rec["label"] + 0.7 * rng.random(n), 0, 1)


def test_validation_sets_in_report_order():
    assert validation_sets_of(pd.Series(["external2", "train", "zeta", "internal", "tune", "external1"])) == [
        "internal", "external1", "external2", "zeta"]


def test_threshold_frozen_on_tune_and_applied_everywhere():
    rec, score = _records()
    ev = evaluate_scores(rec, score, policy="youden", n_boot=50)
    assert ev.validation_sets == ["internal", "external1", "external2"]
    assert "'tune'" in ev.threshold.origin
    assert ((score >= ev.threshold.value).astype(int) == ev.pred).all()
    # metrics of a set are those of compute_metrics at the frozen threshold, on that set only
    sel = (rec["split"] == "external1").to_numpy()
    point = compute_metrics(rec["label"][sel], score[sel], ev.threshold.value)
    got = ev.metrics[ev.metrics["set"] == "external1"].set_index("metric")["value"]
    for k, v in point.items():
        assert got[k] == pytest.approx(v)
    # changing validation labels does not move the threshold (chosen on tune only)
    flipped = rec.copy()
    flipped.loc[flipped["split"] != "tune", "label"] = 1 - flipped.loc[flipped["split"] != "tune", "label"]
    assert evaluate_scores(flipped, score, policy="youden", n_boot=0).threshold == ev.threshold


def test_refusals():
    rec, score = _records()
    with pytest.raises(InputError, match="tune"):
        evaluate_scores(rec.assign(split=rec["split"].replace("tune", "train")), score, policy="sens:0.9", n_boot=0)
    with pytest.raises(InputError, match="no validation set"):
        evaluate_scores(rec.assign(split="train"), score, n_boot=0)
