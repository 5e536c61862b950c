"""The default chain equals neurokit2's ecg_clean(method="neurokit") itself, on real ECGs."""

from __future__ import annotations

import warnings

import neurokit2 as nk
import numpy as np
import pytest
import scipy.signal

from lvsdctl.signal.blockfilter import moving_average_filtfilt
from lvsdctl.signal.filters import FilterSpec, apply_filter, parse_filter, powerline_smooth


def _nk(x: np.ndarray, fs: float) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.stack([nk.ecg_clean(row, sampling_rate=fs, method="neurokit") for row in x])


def test_equals_neurokit_on_muse_fixtures_at_500hz(muse_leads):
    x = muse_leads.reshape(-1, muse_leads.shape[-1])  # every lead of every fixture, one batch
    assert np.abs(apply_filter(x, 500.0) - _nk(x, 500)).max() <= 1e-6


@pytest.mark.parametrize("fs", [1000, 250])
def test_equals_neurokit_at_other_rates(muse_leads, fs):
    x = scipy.signal.resample_poly(muse_leads[:3, :6], fs, 500, axis=-1).reshape(-1, fs * 10)
    assert np.abs(apply_filter(x, fs) - _nk(x, fs)).max() <= 1e-6


@pytest.mark.parametrize("fs", [150, 99, 221])
def test_equals_neurokit_on_short_pieces(muse_leads, fs):
    # 2.5 s printout pieces at a digitiser's rate (below 100 Hz neurokit2 averages 2 samples).
    x = scipy.signal.resample_poly(muse_leads[:2], fs, 500, axis=-1)[..., : int(2.5 * fs)]
    x = x.reshape(-1, x.shape[-1])
    assert np.abs(apply_filter(x, fs) - _nk(x, fs)).max() <= 1e-6


def test_non_integer_rate_uses_the_studys_int_rate(muse_leads):
    # The authors passed sampling_rate=int(len / 2.5); "floor" reproduces that, "exact" does not.
    x = scipy.signal.resample_poly(muse_leads[0, :4], 624, 2500, axis=-1)[:, :312]  # 124.8 Hz
    ref = _nk(x, 124)
    assert np.abs(apply_filter(x, 124.8) - ref).max() <= 1e-6
    exact = apply_filter(x, 124.8, FilterSpec("neurokit", design_rate="exact"))
    assert np.abs(exact - ref).max() > 1e-6


@pytest.mark.parametrize("k", [2, 3, 5, 10, 20])
def test_moving_average_equals_filtfilt(k):
    x = np.random.default_rng(k).standard_normal((4, 777)).cumsum(axis=1)
    ref = scipy.signal.filtfilt(np.ones(k), [k], x, axis=-1, method="pad")
    assert np.abs(moving_average_filtfilt(x, k) - ref).max() <= 1e-9


def test_powerline_smooth_keeps_3d_shape():
    x = np.random.default_rng(0).standard_normal((2, 3, 600))
    y = powerline_smooth(x, 500.0)
    assert y.shape == x.shape
    np.testing.assert_allclose(y[1, 2], powerline_smooth(x[1, 2][None], 500.0)[0])


def test_bandpass_equals_scipy():
    x = np.random.default_rng(1).standard_normal((3, 2500))
    sos = scipy.signal.butter(5, [0.5, 40], btype="bandpass", output="sos", fs=250)
    np.testing.assert_allclose(apply_filter(x, 250, "bandpass"), scipy.signal.sosfiltfilt(sos, x, axis=-1),
                               atol=1e-12)


def _amplitude(y: np.ndarray, hz: float, fs: float = 500.0) -> float:
    """Amplitude of the hz component of y's middle 8 s (whole cycles of 10, 50 and 60 Hz)."""
    mid = y[500:4500]
    t = np.arange(len(mid)) / fs
    return 2 * abs(np.mean(mid * np.exp(-2j * np.pi * hz * t)))


@pytest.mark.parametrize("mains", [50, 60])
def test_notch_removes_mains_and_keeps_the_ecg_band(mains):
    t = np.arange(5000) / 500
    x = (np.sin(2 * np.pi * 10 * t) + 0.5 * np.sin(2 * np.pi * mains * t))[None]
    y = apply_filter(x, 500, f"notch{mains}")[0]
    assert _amplitude(y, mains) < 0.5 * 0.01  # at least 40 dB down
    assert abs(_amplitude(y, 10) - 1.0) < 0.01
    other = apply_filter(x, 500, f"notch{110 - mains}")[0]  # the wrong mains: a narrow notch leaves the hum
    assert _amplitude(other, mains) > 0.45


def test_none_is_identity_and_specs_parse():
    x = np.random.default_rng(2).standard_normal((2, 300))
    np.testing.assert_array_equal(apply_filter(x, 500, "none"), x)
    assert parse_filter("bandpass:1-35") == FilterSpec("bandpass", highpass_hz=1.0, lowpass_hz=35.0)
    assert parse_filter("neurokit60").powerline_hz == 60
    assert parse_filter("notch60").to_json() == {"name": "notch", "highpass_hz": 0.5, "order": 5,
                                                  "notch_hz": 60.0, "notch_q": 30.0, "design_rate": "floor"}
    with pytest.raises(ValueError, match="unknown filter"):
        parse_filter("lowpass")
    with pytest.raises(ValueError, match="0 < low < high"):
        parse_filter("bandpass:40-1")
