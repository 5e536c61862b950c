"""Per-ECG comparisons: DeLong, patient bootstrap and McNemar per set and pair, Holm within families."""

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests

from lvsdctl.errors import InputError
from lvsdctl.evaluate.delong import delong_test
from lvsdctl.stats.paired import compare_predictions


def _preds(seed=0, n=240):
    rng = np.random.default_rng(seed)
    base = pd.DataFrame({"record_id": [f"r{i}" for i in range(n)], "patient": [f"p{i // 3}" for i in range(n)],
                         "split": np.where(np.arange(n) < n // 2, "internal", "external1"),
                         "label": rng.integers(0, 2, n)})
    out = {}
    for name, noise in (("good", 0.6), ("fair", 1.2), ("poor", 3.0)):
        score = 1 / (1 + np.exp(-(2 * base["label"] - 1 + rng.normal(0, noise, n))))
        out[name] = base.assign(score=score, pred=(score >= 0.5).astype(np.int8))
    return out


def test_values_match_direct_library_calls():
    preds = _preds()
    res = compare_predictions(preds, n_boot=100)
    assert set(res["set"]) == {"internal", "external1"} and len(res) == 2 * 3 * 4
    d = preds["good"][preds["good"]["split"] == "internal"]
    y = d["label"].to_numpy()
    other = preds["poor"][preds["poor"]["split"] == "internal"]
    row = res[(res["set"] == "internal") & (res["test"] == "AUROC DeLong") & (res["model_a"] == "good")
              & (res["model_b"] == "poor")].iloc[0]
    assert row["p"] == pytest.approx(delong_test(y, d["score"], other["score"]).p_value)
    pos = y == 1
    ca, cb = d["pred"].to_numpy()[pos] == 1, other["pred"].to_numpy()[pos] == 1
    table = [[np.sum(ca & cb), np.sum(ca & ~cb)], [np.sum(~ca & cb), np.sum(~ca & ~cb)]]
    discordant = table[0][1] + table[1][0]
    expected = mcnemar(np.array(table), exact=discordant < 25, correction=True).pvalue
    row = res[(res["set"] == "internal") & (res["test"] == "sensitivity McNemar") & (res["model_a"] == "good")
              & (res["model_b"] == "poor")].iloc[0]
    assert row["p"] == pytest.approx(expected) and row["value_a"] == pytest.approx(ca.mean())
    fam = res[(res["set"] == "internal") & (res["test"] == "AUROC DeLong")]
    np.testing.assert_allclose(fam["p_holm"], multipletests(fam["p"], method="holm")[1])


def test_refuses_different_ecgs_or_labels():
    preds = _preds()
    shorter = dict(preds, fair=preds["fair"].iloc[:-1])
    with pytest.raises(InputError, match="same ECGs"):
        compare_predictions(shorter)
    flipped = preds["fair"].copy()
    flipped.loc[0, "label"] = 1 - flipped.loc[0, "label"]
    with pytest.raises(InputError, match="labels"):
        compare_predictions(dict(preds, fair=flipped))
    with pytest.raises(InputError, match="two"):
        compare_predictions({"good": preds["good"]})
