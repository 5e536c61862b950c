"""The generator draws LBBB ECGs, and LVEF is only weakly visible in them."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from lvsdctl.synth import ecg_model as em

FS = em.FS


def qrs_bounds(median: np.ndarray, rel: float = 0.2) -> tuple[int, int]:
    """QRS onset and offset (samples) of a clean beat: where the spatial velocity (sum over leads of
    |first difference|) stays above `rel` of its peak, within 150 ms of the peak."""
    v = np.abs(np.diff(median, axis=1)).sum(axis=0)
    peak = int(np.argmax(v))
    above = np.flatnonzero(v > rel * v[peak])
    above = above[np.abs(above - peak) < 0.15 * FS]
    return int(above.min()), int(above.max()) + 1


def qrs_only_width_ms(params: em.ECGParams) -> float:
    """Width of the ventricular depolarisation alone (P, ST and T waves switched off in the latent
    wave table): where the spatial magnitude exceeds 1% of its peak (the QRS waves fade in and out
    over the first and last 12 ms of the QRS, and are zero outside it)."""
    latent = copy.deepcopy(params)
    latent.amp[:, [em.P, em.ST, em.T1, em.T2]] = 0.0
    beat = em.beat_waveform(latent, (np.arange(em.N_MEDIAN) - em.MEDIAN_ONSET) / FS)
    magnitude = np.sqrt((beat.astype(np.float64) ** 2).sum(axis=0))
    above = np.flatnonzero(magnitude > 0.01 * magnitude.max())
    return (above.max() - above.min() + 1) * 1000 / FS


def _draw(seed: int, driver: float = 0.0):
    rng = np.random.default_rng(seed)
    params = em.draw_params(rng, em.draw_patient(rng), driver)
    return params, em.simulate(params, rng, noise=False)


@pytest.fixture(scope="module")
def clean_ecgs():
    return [_draw(s, driver) for s, driver in zip(range(60), np.linspace(-2.5, 2.5, 60))]


def test_qrs_is_wide(clean_ecgs):
    latent = np.array([qrs_only_width_ms(p) for p, _ in clean_ecgs])
    assert latent.min() >= 120.0, latent.min()
    measured = []
    for params, ecg in clean_ecgs:  # the whole clean beat: ST-T blur the offset a little
        on, off = qrs_bounds(ecg.median)
        measured.append((off - on) * 1000 / FS)
        assert abs(on - em.MEDIAN_ONSET) <= 10  # the detector finds the true onset
    measured = np.array(measured)
    truth = np.array([p.qrs_s * 1000 for p, _ in clean_ecgs])
    assert np.median(measured) >= 120.0 and measured.min() >= 105.0
    assert np.corrcoef(measured, truth)[0, 1] > 0.85


def test_lbbb_morphology(clean_ecgs):
    notched = 0
    for params, ecg in clean_ecgs:
        leads = em.twelve_leads(ecg.median)
        on = em.MEDIAN_ONSET
        off = on + int(round(params.qrs_s * FS))
        qrs, st_t = slice(on, off), slice(off + 10, on + int(params.qt_s * FS))
        for name in ("I", "aVL", "V5", "V6"):  # broad R, no q, discordant (inverted) T
            x = leads[name]
            assert x[qrs].max() > 2 * max(-x[qrs].min(), 0.02), name
            assert x[st_t].min() < 0 and abs(x[st_t].min()) > x[st_t].max(), name
            assert x[on:on + 8].min() > -0.05, f"{name} has a q wave"
        for name in ("V1", "V2", "V3"):  # QS or rS, discordant (upright) T
            x = leads[name]
            assert -x[qrs].min() > 3 * max(x[qrs].max(), 0.0), name
            assert x[st_t].max() > 0, name
        v6 = leads["V6"][qrs]
        peaks = np.flatnonzero((v6[1:-1] > v6[:-2]) & (v6[1:-1] >= v6[2:]) & (v6[1:-1] > 0.3 * v6.max()))
        notched += len(peaks) >= 2
        assert 50 <= params.hr <= 110
    assert notched >= 0.5 * len(clean_ecgs), "the lateral R should mostly be notched (else slurred)"


def test_noise_and_rhythm_vary():
    params, clean = _draw(3)
    noisy = em.simulate(params, np.random.default_rng(3), noise=True)
    assert noisy.rhythm.shape == (8, 5000) and noisy.median.shape == (8, 600)
    residual = noisy.rhythm - em.simulate(params, np.random.default_rng(3), noise=False).rhythm
    assert 0.001 < residual.std() < 0.3
    rr = np.diff(noisy.onsets_s)
    assert rr.std() > 0  # RR variability
    assert abs(60 / rr.mean() - params.hr) < 6


def test_driver_widens_qrs_and_lowers_lateral_voltage():
    rng = np.random.default_rng(11)
    patient = em.draw_patient(rng)
    low = [em.draw_params(np.random.default_rng(i), patient, -2.0) for i in range(20)]
    high = [em.draw_params(np.random.default_rng(i), patient, 2.0) for i in range(20)]
    assert np.mean([p.qrs_s for p in high]) > np.mean([p.qrs_s for p in low]) + 0.015
    v6 = em.STORED_LEADS.index("V6")
    assert np.mean([p.amp[v6, em.R2] for p in high]) < np.mean([p.amp[v6, em.R2] for p in low])


def test_simple_features_predict_lvsd_but_not_perfectly():
    """Logistic regression on five features measured from the generated median beats, evaluated
    with patient-grouped cross-validation, reaches an AUROC well above chance and below 1."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import GroupKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from lvsdctl.synth.cohort import build_cohort, pair_echoes

    ecg, echo = build_cohort(600, 270, seed=5)
    paired = pair_echoes(ecg, echo)
    keep = paired.echo_lvef.notna().to_numpy()
    ecg, label = ecg[keep], (paired.echo_lvef[keep] < 40).to_numpy()
    features = []
    for i, row in enumerate(ecg.itertuples()):
        patient = em.draw_patient(np.random.default_rng([5, 1, row.patient_index]))
        params = em.draw_params(np.random.default_rng([5, 2, i]), patient, row.driver)
        med = em.beat_waveform(params, (np.arange(em.N_MEDIAN) - em.MEDIAN_ONSET) / FS)
        on, off = qrs_bounds(med)
        lead = dict(zip(em.STORED_LEADS, med))
        features.append([(off - on) * 2.0, np.ptp(lead["I"][on:off]), lead["V6"][on:off].max(),
                         lead["V2"][on:off].min(), lead["V5"][off:off + 200].min()])
    model = make_pipeline(StandardScaler(), LogisticRegression())
    score = cross_val_predict(model, np.array(features), label, groups=ecg.patient_id.to_numpy(),
                              cv=GroupKFold(5), method="predict_proba")[:, 1]
    auroc = roc_auc_score(label, score)
    print(f"AUROC of logistic regression on measured features: {auroc:.3f}")
    assert 0.7 < auroc < 0.97
