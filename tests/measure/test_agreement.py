"""The issue's goals: lvsdctl's beats and boundaries against GE 12SL and against the generator."""

from __future__ import annotations

import numpy as np
import pytest

from lvsdctl.measure.agreement import BOUNDS_MS, against_12sl, against_generator


@pytest.fixture(scope="module")
def twelve_sl(muse_fixtures):
    return {p.name: against_12sl(p) for p in muse_fixtures}


def test_every_12sl_beat_found_and_no_extra_beat(twelve_sl):
    for name, r in twelve_sl.items():
        assert r["beats_12sl"] >= 8, name
        assert r["missed"] == 0 and r["extra"] == 0, (name, r)
        assert r["worst_beat_ms"] <= 50.0, (name, r)


def test_median_boundaries_within_the_cse_tolerances_of_12sl(twelve_sl):
    for name, r in twelve_sl.items():
        assert r["median_source"] == "export", name  # the very beat 12SL measured
        if r["paced"]:
            continue  # below
        for key, bound in BOUNDS_MS.items():
            assert abs(r[key]) <= bound, (name, key, r[key])


def test_paced_fixture_is_recognised_and_agrees_once_in_12sls_frame(twelve_sl):
    """example4 is ventricular-paced: 12SL measured it on a median aligned on the pacing spike, so
    its values are 106 ms away from the stored median's QRS. Moved into the stored median's frame,
    QRS onset and T offset agree; its QRS offset is the one boundary outside the goals (docs)."""
    paced = [r for r in twelve_sl.values() if r["paced"]]
    assert [r["file"] for r in paced] == ["example4.xml"]
    r = paced[0]
    assert r["frame_shift_ms"] == pytest.approx(106, abs=4)
    assert abs(r["qrs_onset"]) <= BOUNDS_MS["qrs_onset"]
    assert abs(r["t_offset"]) <= BOUNDS_MS["t_offset"]
    assert abs(r["qrs_offset"]) <= 20.0


def test_qrs_duration_close_to_12sls_own(twelve_sl):
    for name, r in twelve_sl.items():
        if not r["paced"]:
            assert abs(r["qrs_ms"] - r["qrs_ms_12sl"]) <= 12.0, name


def test_synthetic_cohort_within_the_goals(cohort, cohort_measured):
    frame = against_generator(cohort, cohort_measured.ecgs)
    assert len(frame) == 90 and set(frame.format) == {"muse", "digitised"}
    assert frame.within.mean() >= 0.95, frame[~frame.within]
    widest = frame.loc[frame.qrs_true_ms.idxmax()]
    assert widest.qrs_true_ms > 165 and widest.within, widest
    for fmt, g in frame.groupby("format"):  # no format carried by the other
        assert g.within.mean() >= 0.9, fmt
    assert np.isfinite(frame[list(BOUNDS_MS)].to_numpy()).all()
