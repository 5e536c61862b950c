"""Resampling: linear equals the study's np.interp; polyphase and FFT reproduce a band-limited sine."""

from __future__ import annotations

import numpy as np
import pytest

from lvsdctl.signal.resample import resample


@pytest.mark.parametrize("n,duration,m", [(312, 2.5, 1250), (248, 2.5, 1250), (1480, 10.0, 5000), (2500, 10.0, 5000)])
def test_linear_equals_the_studys_np_interp(n, duration, m):
    x = np.random.default_rng(n).standard_normal((3, n))
    # The authors' code: xp = linspace(0, T, len, endpoint=False), x = linspace(0, T, m, endpoint=False).
    ref = np.stack([np.interp(np.linspace(0, duration, m, endpoint=False),
                              np.linspace(0, duration, n, endpoint=False), row) for row in x])
    np.testing.assert_allclose(resample(x, n / duration, 500.0, m), ref, atol=1e-9)


def test_same_rate_is_a_crop_and_short_input_holds_its_end():
    x = np.arange(10.0)[None]
    np.testing.assert_array_equal(resample(x, 500, 500, 6), x[:, :6])
    np.testing.assert_array_equal(resample(x, 500, 500, 12)[0, 10:], [9.0, 9.0])


@pytest.mark.parametrize("method", ["polyphase", "fft", "linear"])
def test_methods_reproduce_a_slow_sine(method):
    fs_in = 124.8
    t_in = np.arange(312) / fs_in
    x = np.sin(2 * np.pi * 3 * t_in)[None]
    y = resample(x, fs_in, 500.0, 1250, method)
    t_out = np.arange(1250) / 500
    mid = slice(200, 1000)  # away from the edges (FFT resampling is periodic)
    assert y.shape == (1, 1250)
    assert np.abs(y[0, mid] - np.sin(2 * np.pi * 3 * t_out[mid])).max() < 0.01


def test_unknown_method():
    with pytest.raises(ValueError, match="unknown resampling"):
        resample(np.zeros((1, 10)), 100, 500, 50, "cubic")
