"""ECG filter chains, vectorised over (..., samples) arrays and zero-phase.

The default chain, "neurokit", is numerically neurokit2's `ecg_clean(method="neurokit")`, the
study's filter: a 5th-order Butterworth high-pass at 0.5 Hz run forward and backward
(`sosfiltfilt`), then neurokit2's "powerline" step, which is not a notch but a moving average of
int(fs / 50) samples (2 below 100 Hz) run forward and backward (`filtfilt(ones(k), [k], method="pad")`).
That forward-backward moving average is, away from the padded edges, a triangular FIR of 2k - 1
taps applied to neurokit2's own odd extension of 3k samples; we compute it as one banded matrix
product per 32-sample block (`blockfilter`), equal to neurokit2 within 1e-14.

Other chains: "notch" (the high-pass, then a true IIR notch at 50 or 60 Hz, zero-phase),
"bandpass" (Butterworth band-pass, zero-phase) and "none". These are linear and time-invariant, so
they commute with the limb-lead identities (III = II - I, ...) and with linear interpolation.

"ecgfounder" is ECGFounder's own filter (its ``util.filter_bandpass``), computed the same way to the
last bit on a whole batch at once: a 50 Hz IIR notch (Q 30) and a 4th-order Butterworth band-pass
0.67-40 Hz, both ``filtfilt`` in (b, a) form, then minus a median-filter baseline of int(0.4 fs) + 1
samples (made odd; zero-padded edges, as ``scipy.signal.medfilt``). The median is not linear:
`FilterSpec.linear` says so, and the chain then filters every lead itself.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np
import scipy.ndimage
import scipy.signal

from lvsdctl.signal.blockfilter import moving_average_filtfilt, odd_extend

try:  # scipy.signal.sosfilt's compiled kernel, which filters in place (same arithmetic, no copy)
    from scipy.signal._sosfilt import _sosfilt
except ImportError:  # pragma: no cover - its location is private to scipy: fall back to the public function
    _sosfilt = None

FILTER_NAMES = ("neurokit", "notch", "bandpass", "ecgfounder", "none")


@dataclass(frozen=True)
class FilterSpec:
    """One filter chain, fully described (recorded as JSON in the output file)."""

    name: str = "neurokit"
    highpass_hz: float = 0.5  # Butterworth high-pass cut-off (neurokit, notch, bandpass low edge)
    order: int = 5  # Butterworth order
    powerline_hz: float = 50.0  # neurokit: moving-average width is one period of this frequency
    notch_hz: float = 50.0  # notch: centre frequency
    notch_q: float = 30.0  # notch: quality factor (bandwidth = notch_hz / notch_q)
    lowpass_hz: float = 40.0  # bandpass, ecgfounder: upper edge
    baseline_s: float = 0.4  # ecgfounder: median-filter window, int(baseline_s * fs) + 1 samples made odd
    # How a segment's rate enters the filter design: "floor" gives int(fs), as the study's code did
    # (`sampling_rate=int(len(signal) / duration)`); "exact" uses fs itself. Same for integer rates.
    design_rate: str = "floor"

    def to_json(self) -> dict:
        keep = {
            "neurokit": ("highpass_hz", "order", "powerline_hz", "design_rate"),
            "notch": ("highpass_hz", "order", "notch_hz", "notch_q", "design_rate"),
            "bandpass": ("highpass_hz", "lowpass_hz", "order", "design_rate"),
            "ecgfounder": ("notch_hz", "notch_q", "highpass_hz", "lowpass_hz", "order", "baseline_s", "design_rate"),
            "none": (),
        }[self.name]
        d = asdict(self)
        return {"name": self.name, **{k: d[k] for k in keep}}

    @property
    def linear(self) -> bool:
        """Linear and time-invariant (commutes with the limb-lead identities)? Not with a median."""
        return self.name != "ecgfounder"

    @classmethod
    def from_json(cls, d: dict) -> "FilterSpec":
        return cls(**d)


#: ECGFounder's filter (``util.filter_bandpass`` of PKUDigitalHealth/ECGFounder).
ECGFOUNDER_FILTER = FilterSpec("ecgfounder", highpass_hz=0.67, lowpass_hz=40.0, order=4, notch_hz=50.0,
                               notch_q=30.0, baseline_s=0.4)


def parse_filter(text: str | FilterSpec) -> FilterSpec:
    """A FilterSpec from a short text.

    "neurokit" (the study's chain; "neurokit60" for 60 Hz mains), "notch" / "notch50" / "notch60"
    (high-pass + IIR notch), "bandpass" (0.5-40 Hz) or "bandpass:0.5-35", "ecgfounder", "none".
    """
    if isinstance(text, FilterSpec):
        return text
    t = text.strip().lower()
    if t in ("neurokit", "neurokit50", "nk"):
        return FilterSpec("neurokit")
    if t == "neurokit60":
        return FilterSpec("neurokit", powerline_hz=60.0)
    m = re.fullmatch(r"notch(50|60)?", t)
    if m:
        return FilterSpec("notch", notch_hz=float(m.group(1) or 50))
    m = re.fullmatch(r"bandpass(?::([0-9.]+)-([0-9.]+))?", t)
    if m:
        lo, hi = (float(m.group(1)), float(m.group(2))) if m.group(1) else (0.5, 40.0)
        if not 0 < lo < hi:
            raise ValueError(f"band-pass edges must satisfy 0 < low < high, got {lo}-{hi}")
        return FilterSpec("bandpass", highpass_hz=lo, lowpass_hz=hi)
    if t == "ecgfounder":
        return ECGFOUNDER_FILTER
    if t == "none":
        return FilterSpec("none")
    raise ValueError(
        f"unknown filter {text!r}: use neurokit, neurokit60, notch50, notch60, bandpass, "
        "bandpass:LOW-HIGH, ecgfounder or none"
    )


def design_rate(fs: float, spec: FilterSpec) -> float:
    return float(int(fs)) if spec.design_rate == "floor" else float(fs)


@lru_cache(maxsize=4096)
def _butter_sos(order: int, freqs: tuple[float, ...], btype: str, fs: float) -> tuple[np.ndarray, np.ndarray, int]:
    """(sos, sosfilt_zi, pad length) of a Butterworth filter, designed once per rate."""
    wn = freqs[0] if len(freqs) == 1 else list(freqs)
    sos = scipy.signal.butter(order, wn, btype=btype, output="sos", fs=fs)
    ntaps = 2 * len(sos) + 1 - min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum()))
    return sos, scipy.signal.sosfilt_zi(sos), 3 * ntaps


def _sosfiltfilt(design: tuple[np.ndarray, np.ndarray, int], x: np.ndarray) -> np.ndarray:
    """`scipy.signal.sosfiltfilt(sos, x, axis=-1)` step for step (odd padding, default pad length),
    reusing the cached initial-state vector: scipy recomputes it (two linear solves) on every call."""
    sos, zi, edge = design
    shape = x.shape
    x = x.reshape(-1, shape[-1])
    if x.shape[1] <= edge:
        raise ValueError(f"signal of {x.shape[1]} samples is too short for this filter (needs > {edge})")
    y = odd_extend(x, edge)
    _sosfilt_inplace(sos, y, zi)
    y = np.ascontiguousarray(y[:, ::-1])
    _sosfilt_inplace(sos, y, zi)
    return y[:, ::-1][:, edge:-edge].reshape(shape)


def _sosfilt_inplace(sos: np.ndarray, y: np.ndarray, zi: np.ndarray) -> None:
    """y[:] = sosfilt(sos, y, axis=-1, zi=zi * y[:, :1])[0] for C-ordered float64 rows y: scipy's own
    kernel run in place (the public function first copies y: a pass over the data for nothing)."""
    state = np.ascontiguousarray(zi[None, :, :] * y[:, None, :1])  # (rows, sections, 2)
    if _sosfilt is not None:
        _sosfilt(sos, y, state)
    else:  # pragma: no cover - a scipy without the private kernel
        y[:] = scipy.signal.sosfilt(sos, y, axis=-1, zi=state.transpose(1, 0, 2))[0]


def highpass(x: np.ndarray, fs: float, cutoff: float = 0.5, order: int = 5) -> np.ndarray:
    """Zero-phase Butterworth high-pass along the last axis (neurokit2's `signal_filter(lowcut=...)`)."""
    return _sosfiltfilt(_butter_sos(order, (float(cutoff),), "highpass", float(fs)), x)


def bandpass(x: np.ndarray, fs: float, low: float, high: float, order: int = 5) -> np.ndarray:
    """Zero-phase Butterworth band-pass along the last axis."""
    if high >= fs / 2:
        raise ValueError(f"band-pass upper edge {high} Hz is not below the Nyquist frequency {fs / 2} Hz")
    return _sosfiltfilt(_butter_sos(order, (float(low), float(high)), "bandpass", float(fs)), x)


def notch(x: np.ndarray, fs: float, freq: float = 50.0, q: float = 30.0) -> np.ndarray:
    """Zero-phase IIR notch (scipy.signal.iirnotch) along the last axis; a no-op above Nyquist."""
    if freq >= fs / 2:
        return x  # the mains frequency cannot be present in a signal sampled this slowly
    b, a = scipy.signal.iirnotch(freq, q, fs=fs)
    return scipy.signal.filtfilt(b, a, x, axis=-1, method="pad")


@lru_cache(maxsize=256)
def _butter_ba(order: int, low: float, high: float, fs: float) -> tuple[np.ndarray, np.ndarray]:
    return scipy.signal.butter(order, [low, high], btype="bandpass", fs=fs)


def bandpass_ba(x: np.ndarray, fs: float, low: float, high: float, order: int = 4) -> np.ndarray:
    """Zero-phase Butterworth band-pass in (b, a) form, ``filtfilt``'s defaults: ECGFounder's way
    (less accurate than second-order sections at low cut-offs, but what its model was trained on)."""
    if high >= fs / 2:
        raise ValueError(f"band-pass upper edge {high} Hz is not below the Nyquist frequency {fs / 2} Hz")
    b, a = _butter_ba(order, float(low), float(high), float(fs))
    return scipy.signal.filtfilt(b, a, x, axis=-1)


def median_baseline(x: np.ndarray, kernel: int) -> np.ndarray:
    """``scipy.signal.medfilt(row, kernel)`` of every row of x (..., N), in one call.

    The rows are laid end to end with kernel // 2 zeros between them, which is exactly the zero padding
    medfilt gives each row's edges, and run through ndimage's 1-D rank filter (O(N log k); scipy takes
    that path only for 1-D input, and it is faster than medfilt too).
    """
    shape = x.shape
    rows = x.reshape(-1, shape[-1])
    half = kernel // 2
    flat = np.zeros((rows.shape[0], shape[-1] + half))
    flat[:, : shape[-1]] = rows
    med = scipy.ndimage.median_filter(flat.ravel(), size=kernel, mode="constant", cval=0.0)
    return med.reshape(flat.shape)[:, : shape[-1]].reshape(shape)


def ecgfounder_filter(x: np.ndarray, fs: float, spec: FilterSpec = ECGFOUNDER_FILTER) -> np.ndarray:
    """ECGFounder's ``filter_bandpass``: notch, band-pass, minus the median baseline (float64)."""
    y = notch(x, fs, spec.notch_hz, spec.notch_q)
    y = bandpass_ba(y, fs, spec.highpass_hz, spec.lowpass_hz, spec.order)
    kernel = int(spec.baseline_s * fs) + 1
    kernel += 1 - kernel % 2  # odd
    return y - median_baseline(y, kernel)


def powerline_width(fs: float, powerline: float = 50.0) -> int:
    """neurokit2's moving-average width: int(fs / powerline) samples, 2 below 100 Hz."""
    return int(fs / powerline) if fs >= 100 else 2


def powerline_smooth(x: np.ndarray, fs: float, powerline: float = 50.0) -> np.ndarray:
    """neurokit2's "powerline" filter: `filtfilt(ones(k), [k], x, method="pad")` along the last axis.

    filtfilt odd-extends by 3k samples, runs a causal k-sample mean from a steady state at the first
    value, then the same backwards. Edge effects of the steady-state starts reach at most k - 1
    samples into the 3k-sample extension, so the kept part is exactly one centred triangular FIR of
    2k - 1 taps on the odd-extended signal (`blockfilter.moving_average_filtfilt`).
    """
    k = powerline_width(fs, powerline)
    if k <= 1:
        return np.array(x, dtype=np.float64, copy=True)
    shape = x.shape
    y = moving_average_filtfilt(np.asarray(x, dtype=np.float64).reshape(-1, shape[-1]), k)
    return y.reshape(shape)


def apply_filter(x: np.ndarray, fs: float, spec: FilterSpec | str = "neurokit") -> np.ndarray:
    """Filter x (float, any leading shape) along its last axis at rate fs; returns float64.

    Non-finite values must be filled before (see `fill_nonfinite`), as neurokit2 does.
    """
    spec = parse_filter(spec)
    x = np.asarray(x, dtype=np.float64)
    if spec.name == "none":
        return x.copy()
    rate = design_rate(fs, spec)
    if spec.name == "neurokit":
        y = highpass(x, rate, spec.highpass_hz, spec.order)
        return powerline_smooth(y, rate, spec.powerline_hz)
    if spec.name == "notch":
        y = highpass(x, rate, spec.highpass_hz, spec.order)
        return notch(y, rate, spec.notch_hz, spec.notch_q)
    if spec.name == "bandpass":
        return bandpass(x, rate, spec.highpass_hz, spec.lowpass_hz, spec.order)
    if spec.name == "ecgfounder":
        return ecgfounder_filter(x, rate, spec)
    raise ValueError(f"unknown filter {spec.name!r}")


def fill_nonfinite(x: np.ndarray, copy: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Replace NaN/inf by linear interpolation along the last axis (edges hold the nearest value).

    Returns (filled float64 array, per-row bool: had non-finite values). Rows with no finite value
    become zeros. neurokit2 interpolates missing samples the same way before filtering. With
    copy=False a float64 input is filled in place.
    """
    x = np.array(x, dtype=np.float64, copy=copy)
    # A row's sum is finite exactly when all its samples are (NaN and inf propagate): one cheap
    # reduction instead of a full boolean mask in the usual all-finite case.
    rows_bad = ~np.isfinite(x.sum(axis=-1))
    if not rows_bad.any():
        return x, rows_bad
    bad = ~np.isfinite(x)
    rows_bad = bad.any(axis=-1)  # (a finite row can only overflow its sum, not carry NaN)
    flat = x.reshape(-1, x.shape[-1])
    flat_bad = bad.reshape(flat.shape)
    idx = np.arange(flat.shape[1])
    for r in np.flatnonzero(flat_bad.any(axis=1)):
        good = ~flat_bad[r]
        flat[r] = np.interp(idx, idx[good], flat[r, good]) if good.any() else 0.0
    return flat.reshape(x.shape), rows_bad
