"""Model comparison: the study's Table 2 reproduces its reported tests; refusals on bad input."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from lvsdctl.errors import InputError
from lvsdctl.stats.comparison import block_matrix, compare_models, mauchly, read_metric_csv, study_table2

BASELINES = ["FCN", "LSTM-FCN", "ResNet", "InceptionTime"]
FM = ["Sq-PF", "SS-FF"]


def test_study_table2_is_complete():
    t = study_table2()
    assert len(t) == 6 * 4 * 8
    assert set(t["model"]) == set(BASELINES + FM)
    # the Average rows are the plain means of the three validation sets (to the table's rounding)
    v = t.pivot_table(index=["model", "metric"], columns="validation_set", values="value")
    mean3 = v[["Int. val", "Ext. val 1", "Ext. val 2"]].mean(axis=1)
    off = (mean3 - v["Average"]).abs() > 0.0015
    # one misprint in the article, transcribed as printed: LSTM-FCN AUPRC 0.595/0.569/0.566 -> "Average" 0.567
    assert list(off[off].index) == [("LSTM-FCN", "auprc")]


def test_study_table2_reproduces_the_reported_tests():
    r = compare_models(study_table2())
    # Article: "Repeated-measures ANOVA ... (F = 16.67, p < 0.001) ... confirmed by the Friedman test (p < 0.001)"
    assert r.n_blocks == 24  # 3 validation sets x 8 metrics; the Average rows are not blocks
    assert round(r.rm_anova["F"], 2) == 16.67
    assert (r.rm_anova["df_num"], r.rm_anova["df_den"]) == (5, 115)
    assert r.rm_anova["p"] < 0.001 and r.friedman["p"] < 0.001
    # Fig. 3: every ECG-FM model differs from every baseline; baselines do not differ among themselves
    sig = {frozenset((a, b)): s for a, b, s in r.pairwise[["model_a", "model_b", "significant"]].itertuples(index=False)}
    for fm in FM:
        for base in BASELINES:
            assert sig[frozenset((fm, base))], (fm, base)
    for i, a in enumerate(BASELINES):
        for b in BASELINES[i + 1:]:
            assert not sig[frozenset((a, b))], (a, b)
    assert not sig[frozenset(FM)]


def test_average_rows_change_the_result_when_kept():
    assert compare_models(study_table2(), keep_average=True).rm_anova["F"] == pytest.approx(25.48, abs=0.01)


def test_friedman_and_wilcoxon_agree_with_scipy():
    t = study_table2()
    r = compare_models(t)
    wide = block_matrix(t)
    assert r.friedman["statistic"] == pytest.approx(stats.friedmanchisquare(*wide.to_numpy().T).statistic)
    row = r.pairwise.iloc[0]
    assert row["p"] == pytest.approx(stats.wilcoxon(wide[row["model_a"]], wide[row["model_b"]]).pvalue)


def test_csv_input_round_trip(tmp_path):
    path = tmp_path / "t2.csv"
    study_table2().rename(columns={"validation_set": "set"}).to_csv(path, index=False)
    assert round(compare_models(read_metric_csv(path)).rm_anova["F"], 2) == 16.67


def test_refuses_fewer_than_three_models():
    with pytest.raises(InputError, match="at least 3 models"):
        compare_models(study_table2(), models=["FCN", "SS-FF"])


def test_refuses_a_metric_missing_for_one_model():
    t = study_table2()
    t = t[~((t["model"] == "ResNet") & (t["metric"] == "auprc"))]
    with pytest.raises(InputError, match="metric 'auprc' is missing for model"):
        compare_models(t)


def test_refuses_unbalanced_blocks():
    t = study_table2()
    t = t.drop(t[(t["model"] == "FCN") & (t["validation_set"] == "Ext. val 1") & (t["metric"] == "npv")].index)
    with pytest.raises(InputError, match="unbalanced blocks"):
        compare_models(t)


def test_refuses_duplicates_and_bad_values():
    t = study_table2()
    with pytest.raises(InputError, match="duplicate"):
        compare_models(pd.concat([t, t.iloc[:1]]))
    bad = t.astype({"value": object})
    bad.loc[0, "value"] = "n/a"
    with pytest.raises(InputError, match="not a number"):
        compare_models(bad)


def test_mauchly_near_one_for_spherical_data_and_not_computable_when_too_few_blocks():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 4))
    m = mauchly(x)
    assert m["W"] > 0.95 and m["p"] > 0.01 and 0.9 < m["gg_epsilon"] <= 1.0
    assert not mauchly(rng.normal(size=(3, 5)))["computable"]


def test_mauchly_does_not_depend_on_the_contrast_basis():
    # W = det(S) / (tr(S)/p)^p is invariant under an orthogonal change of the k-1 contrasts:
    # recompute it with normalised Helmert contrasts built by hand.
    x = block_matrix(study_table2()).to_numpy()
    k = x.shape[1]
    helmert = np.zeros((k, k - 1))
    for j in range(1, k):
        helmert[:j, j - 1] = 1.0
        helmert[j, j - 1] = -j
        helmert[:, j - 1] /= np.linalg.norm(helmert[:, j - 1])
    s = np.cov(x @ helmert, rowvar=False)
    p = k - 1
    w = np.linalg.det(s) / (np.trace(s) / p) ** p
    eps = np.trace(s) ** 2 / (p * np.trace(s @ s))
    m = mauchly(x)
    assert m["W"] == pytest.approx(w) and m["gg_epsilon"] == pytest.approx(eps)
    assert 1 / p <= m["gg_epsilon"] <= 1
