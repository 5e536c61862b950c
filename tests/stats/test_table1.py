import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.oneway import anova_oneway

from lvsdctl.errors import InputError
from lvsdctl.stats.table1 import cohort_table


def _records(seed=0, equal_var=True):
    rng = np.random.default_rng(seed)
    parts = []
    for split, n, age_mu, sd in (("train", 120, 72, 10), ("tune", 30, 72, 10), ("internal", 40, 77, 10),
                                 ("external1", 30, 71, 10 if equal_var else 3)):
        lvef = rng.normal(43, 12, n)
        parts.append(pd.DataFrame({
            "split": split, "patient": [f"{split}{i // 2}" for i in range(n)], "age": rng.normal(age_mu, sd, n),
            "sex": rng.choice(["F", "M"], n), "lvef": lvef, "label": (lvef < 40).astype(int)}))
    return pd.concat(parts, ignore_index=True)


def test_counts_and_pvalues_match_direct_scipy_calls():
    df = _records()
    t = cohort_table(df)
    assert t.sets == ["train+tune", "internal", "external1"]
    rows = {r["characteristic"]: r for r in t.rows}
    assert rows["Number of ECG-echo pairs"]["values"] == {"train+tune": "150", "internal": "40", "external1": "30"}
    assert rows["Number of patients"]["values"]["train+tune"] == "75"
    merged = df.replace({"split": {"train": "train+tune", "tune": "train+tune"}})
    groups = [merged[merged.split == s]["age"].to_numpy() for s in t.sets]
    lev = stats.levene(*groups)
    expected = anova_oneway(groups, use_var="equal" if lev.pvalue >= 0.05 else "unequal").pvalue
    assert rows["Age, mean ± SD (years)"]["p"] == pytest.approx(expected)
    if lev.pvalue >= 0.05:  # plain one-way ANOVA: also scipy's f_oneway
        assert rows["Age, mean ± SD (years)"]["p"] == pytest.approx(stats.f_oneway(*groups).pvalue)
    sex = pd.crosstab(merged["split"], merged["sex"]).loc[t.sets]
    assert rows["Females, n (%)"]["p"] == pytest.approx(stats.chi2_contingency(sex.to_numpy()).pvalue)
    lvsd = pd.crosstab(merged["split"], merged["label"]).loc[t.sets]
    assert rows["LVSD, n (%)"]["p"] == pytest.approx(stats.chi2_contingency(lvsd.to_numpy()).pvalue)
    age_test = next(x for x in t.tests if x["characteristic"].startswith("Age"))
    assert len(age_test["shapiro_p"]) == 3


def test_unequal_variances_switch_to_welch():
    t = cohort_table(_records(equal_var=False))
    age = next(x for x in t.tests if x["characteristic"].startswith("Age"))
    assert age["levene_p"] < 0.05 and age["test"] == "Welch's ANOVA"


def test_patient_unit_and_separate_tuning():
    t = cohort_table(_records(), combine_train_tune=False, unit="patient")
    assert t.sets[:2] == ["train", "tune"]
    pairs = {r["characteristic"]: r for r in t.rows}["Number of ECG-echo pairs"]["values"]
    assert pairs["train"] == "60"


def test_refusals():
    df = _records()
    with pytest.raises(InputError, match="split"):
        cohort_table(df.assign(split=""))
    with pytest.raises(InputError, match="lack column"):
        cohort_table(df.drop(columns="lvef"))


def test_reproduces_the_articles_categorical_pvalues_from_its_counts():
    from lvsdctl.stats.table1 import categorical_test

    # Table 1 (pairs per set: 1,500 / 194 / 115 / 222): females 738, 88, 81, 121 -> "< 0.001";
    # LVEF < 40 %: 680, 68, 45, 80 -> "0.004".
    n = np.array([1500, 194, 115, 222])
    females = np.array([738, 88, 81, 121])
    lvsd = np.array([680, 68, 45, 80])
    assert categorical_test(np.c_[females, n - females])["p"] < 0.001
    assert round(categorical_test(np.c_[lvsd, n - lvsd])["p"], 3) == 0.004
