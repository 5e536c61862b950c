"""The cohort's shape follows the study: sites, years, pairs per patient, LVSD share, echo gaps."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from lvsdctl.errors import InputError
from lvsdctl.synth.cohort import build_cohort, pair_echoes


@pytest.fixture(scope="module")
def full():
    ecg, echo = build_cohort(2000, 900, seed=0)
    return ecg, echo, pair_echoes(ecg, echo)


def test_sizes_and_patients(full):
    ecg, echo, _ = full
    assert len(ecg) == 2000 and ecg.patient_id.nunique() == 900
    per_patient = ecg.groupby("patient_id").size()
    assert per_patient.max() <= 10 and (per_patient > 1).mean() > 0.3
    both = ecg.groupby("patient_id").site.nunique()
    assert (both > 1).sum() >= 1, "a few patients are seen at sites A and B"
    assert set(ecg.loc[ecg.site == "C"].groupby("patient_id").size()) == {1}


def test_sites_and_years(full):
    ecg, _, _ = full
    years = ecg.acquired.dt.year
    for site, lo, hi in (("A", 2015, 2024), ("B", 2022, 2024), ("C", 2008, 2021)):
        y = years[ecg.site == site]
        assert y.min() >= lo and y.max() <= hi, site
    a = ecg.site == "A"
    share_2024 = (years[a] == 2024).mean()
    assert 0.07 < share_2024 < 0.2  # internal validation: ~194 of 1,694 in the study
    assert (ecg.site.value_counts(normalize=True)["A"]) > 0.75
    crossing = ecg[a].groupby("patient_id").acquired.agg(
        lambda s: s.min() < datetime(2024, 1, 1) <= s.max())
    assert crossing.sum() >= 1, "some patients straddle the temporal split"


def test_digitised_share(full):
    ecg, _, _ = full
    dig = ecg.format == "digitised"
    assert 0.2 < dig.mean() < 0.3
    assert set(ecg.site[dig]) <= {"A", "C"} and (ecg.acquired[dig] < datetime(2020, 1, 1)).all()


def test_labels_and_echo_gaps(full):
    ecg, echo, paired = full
    ok = paired.echo_lvef.notna()
    prevalence = (paired.echo_lvef[ok] < 40).mean()
    assert 0.35 < prevalence < 0.47
    assert 0.005 < (~ok).mean() < 0.06, "a few ECGs have no echo within 30 days"
    assert (echo.lvef == 40).sum() >= 5
    assert (paired.echo_delta_days[ok].abs() <= 30).all()


def test_latent_driver_auroc(full):
    from sklearn.metrics import roc_auc_score

    ecg, _, paired = full
    ok = paired.echo_lvef.notna()
    auroc = roc_auc_score(paired.echo_lvef[ok] < 40, ecg.driver[ok])
    print(f"AUROC of the latent driver: {auroc:.3f}")
    assert 0.7 < auroc < 0.97


def test_deterministic():
    a, ea = build_cohort(300, 130, seed=3)
    b, eb = build_cohort(300, 130, seed=3)
    assert a.equals(b) and ea.equals(eb)
    c, _ = build_cohort(300, 130, seed=4)
    assert not np.array_equal(a.driver, c.driver)


def test_bad_sizes():
    with pytest.raises(InputError):
        build_cohort(100, 2, seed=0)
    with pytest.raises(InputError):
        build_cohort(50, 100, seed=0)
    with pytest.raises(InputError):
        build_cohort(100, 50, seed=0, digitised_share=1.5)
