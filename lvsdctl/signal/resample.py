"""Resampling to the model's rate, vectorised over (..., samples) arrays.

"linear" is the study's method: `np.interp(arange(m) / fs_out, arange(n) / fs_in, x)`, samples past
the last input sample holding its value. It is computed here for a whole batch at once from one
shared table of indices and weights. "polyphase" (`scipy.signal.resample_poly`, anti-aliased) and
"fft" (`scipy.signal.resample`, periodic) are the alternatives.
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

import numpy as np
import scipy.signal

RESAMPLE_METHODS = ("linear", "polyphase", "fft")


@lru_cache(maxsize=4096)
def _linear_table(n: int, fs_in: float, m: int, fs_out: float) -> tuple[np.ndarray, np.ndarray]:
    t_src = np.arange(n) / fs_in
    t_out = np.arange(m) / fs_out
    j = np.clip(np.searchsorted(t_src, t_out, side="right") - 1, 0, n - 2)
    w = np.clip((t_out - t_src[j]) / (t_src[j + 1] - t_src[j]), 0.0, 1.0)
    return j, w


def _fit_length(y: np.ndarray, m: int) -> np.ndarray:
    """Crop to m samples, or hold the last value up to m (as np.interp does past the end)."""
    if y.shape[-1] >= m:
        return y[..., :m]
    tail = np.repeat(y[..., -1:], m - y.shape[-1], axis=-1)
    return np.concatenate([y, tail], axis=-1)


def resample(x: np.ndarray, fs_in: float, fs_out: float, m: int, method: str = "linear") -> np.ndarray:
    """Resample x (float, any leading shape) from fs_in to fs_out along the last axis, m samples out.

    The output covers [0, m / fs_out) seconds from the first input sample.
    """
    x = np.asarray(x)
    n = x.shape[-1]
    if n < 2:
        raise ValueError("cannot resample a segment of fewer than 2 samples")
    if fs_in == fs_out:
        return _fit_length(x, m)
    if method == "linear":
        j, w = _linear_table(n, float(fs_in), m, float(fs_out))
        lo = x[..., j]
        return lo + (x[..., j + 1] - lo) * w
    if method == "polyphase":
        ratio = Fraction(float(fs_out) / float(fs_in)).limit_denominator(1000)
        y = scipy.signal.resample_poly(x, ratio.numerator, ratio.denominator, axis=-1, padtype="line")
        return _fit_length(y, m)
    if method == "fft":
        y = scipy.signal.resample(x, max(2, round(n * fs_out / fs_in)), axis=-1)
        return _fit_length(y, m)
    raise ValueError(f"unknown resampling method {method!r}: use one of {', '.join(RESAMPLE_METHODS)}")
