"""The generator exports the wave boundaries it drew, and its waves respect them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lvsdctl.synth import ecg_model as em


def test_fiducial_tables(small_cohort):
    out, summary = small_cohort
    truth = pd.read_csv(out / "generator_truth.csv")
    fid = pd.read_csv(out / "generator_fiducials.csv")
    assert set(fid.file) == set(truth.file)
    merged = fid.merge(truth[["file", "qrs_ms", "qt_ms", "pr_ms"]], on="file")
    assert np.allclose(merged.qrs_offset_ms - merged.qrs_onset_ms, merged.qrs_ms, atol=0.2)
    assert np.allclose(merged.t_offset_ms - merged.qrs_onset_ms, merged.qt_ms, atol=0.2)
    assert np.allclose(merged.qrs_onset_ms - merged.p_onset_ms, merged.pr_ms, atol=0.2)
    assert (fid.qrs_offset_ms > 0).all() and (fid.qrs_onset_ms < 10000).all()  # beats that show
    assert (truth.median_qrs_onset == em.MEDIAN_ONSET).all()
    assert np.allclose((truth.median_qrs_offset - truth.median_qrs_onset) * 2, truth.qrs_ms, atol=2)
    per_ecg = fid.groupby("file").size()
    assert per_ecg.min() >= 5 and per_ecg.max() <= 25


def test_qrs_waves_end_where_the_fiducials_say():
    rng = np.random.default_rng(4)
    params = em.draw_params(rng, em.draw_patient(rng), 0.0)
    t = np.arange(-0.2, 0.5, 1 / em.FS)
    only_qrs = em.ECGParams(**{**params.__dict__, "amp": params.amp.copy()})
    only_qrs.amp[:, [em.P, em.ST, em.T1, em.T2]] = 0.0
    waves = em.beat_waveform(only_qrs, t)
    outside = (t < 0) | (t > params.qrs_s)
    assert np.abs(waves[:, outside]).max() == 0.0
    inside = (t > 0.02) & (t < params.qrs_s - 0.02)
    assert np.abs(waves[:, inside]).max() > 0.3
    sim = em.simulate(params, rng, noise=False)
    f = sim.fiducials()
    assert np.allclose(f["qrs_offset"] - f["qrs_onset"], params.qrs_s)
    assert len(f["qrs_onset"]) >= len(sim.onsets_s)
