"""Zero-phase filters that respect the gaps of a lead matrix (NaN outside a printed piece).

Each finite run of a lead is filtered on its own (odd extension at its ends, as scipy's
`sosfiltfilt` does), so a piece never leaks into the NaN around it and the printout's piece
boundaries never ring.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.signal

from lvsdctl.measure.leads import FS


def finite_runs(row: np.ndarray, min_len: int = 2) -> list[tuple[int, int]]:
    """[start, stop) of the runs of finite samples in a 1-D array, at least `min_len` long."""
    ok = np.isfinite(row).astype(np.int8)
    if not ok.any():
        return []
    edges = np.flatnonzero(np.diff(np.concatenate([[0], ok, [0]])))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2]) if b - a >= min_len]


@lru_cache(maxsize=32)
def _sos(low: float | None, high: float | None, order: int) -> np.ndarray:
    if low and high:
        return scipy.signal.butter(order, [low, high], btype="bandpass", output="sos", fs=FS)
    if low:
        return scipy.signal.butter(order, low, btype="highpass", output="sos", fs=FS)
    return scipy.signal.butter(order, high, btype="lowpass", output="sos", fs=FS)


def zero_phase(x: np.ndarray, low: float | None, high: float | None, order: int = 2) -> np.ndarray:
    """Butterworth filter (forward and backward) of every finite run of every row of x (..., N).

    Runs too short for the filter's padding are left as NaN."""
    sos = _sos(low, high, order)
    x = np.asarray(x, dtype=np.float64)
    flat = x.reshape(-1, x.shape[-1])
    pad = 3 * (2 * len(sos) + 1)
    n = flat.shape[1]
    if n > pad + 1 and np.isfinite(flat).all():  # the usual native ECG: every row at once
        return scipy.signal.sosfiltfilt(sos, flat, axis=1, padlen=min(pad * 10, n - 1)).reshape(x.shape)
    out = np.full_like(flat, np.nan)
    for r, row in enumerate(flat):
        for a, b in finite_runs(row, pad + 1):
            out[r, a:b] = scipy.signal.sosfiltfilt(sos, row[a:b], padlen=min(pad * 10, b - a - 1))
    return out.reshape(x.shape)


def moving_mean(y: np.ndarray, width: int) -> np.ndarray:
    """Centred moving average of a 1-D array (NaN-free), `width` samples."""
    width = max(1, int(width))
    if width == 1:
        return y.copy()
    kernel = np.ones(width) / width
    return np.convolve(np.pad(y, (width // 2, width - 1 - width // 2), mode="edge"), kernel, mode="valid")
