"""The shape of one lead's QRS on the median beat: q, R, S, R-peak time, notches and slurs.

Everything is measured between the global QRS onset and offset, relative to the lead's level at
the onset (its isoelectric PR level), on the beat low-passed at 30 Hz (notches of a few tens of
microvolts must not come from noise).

- q: an initial negative deflection of at least 0.05 mV before the signal first rises 0.1 mV.
- R, S: the largest positive and negative deflections; pattern QS (no positive deflection of
  0.1 mV before the S nadir), rS (an S of at least 0.3 mV and three times the r before it), R (no S
  deeper than 0.1 mV), RS otherwise. What follows the S nadir is the return to the J point, often
  well above the baseline in LBBB (discordant ST elevation): it is no R'.
- R duration: how long the signal stays above half the R amplitude.
- R-peak time (intrinsicoid deflection): QRS onset to the last R peak (the R' of a notched R).
- notch: a dip of at least 0.05 mV and 10% of the deflection between two peaks of the main
  deflection (R in lateral leads, S in right precordial ones);
- slur: on the up- or downstroke of the main deflection, the slope falls below 30% of the stroke's
  steepest and rises again above 50% (a shoulder), away from the stroke's ends; or a plateau: the
  slope falls below 30% and the stroke resumes (above 20%) from a level at least a notch's depth
  away from the peak (the plateau-topped R of LBBB, whose second rise is gentler than its first).
Times are ms from the QRS onset, so Strauss's "mid-QRS" (40 ms after the onset to half the QRS)
can be tested on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.signal

from lvsdctl.measure.filtering import zero_phase
from lvsdctl.measure.leads import FS

LOWPASS_HZ = 30.0
Q_MV, R_START_MV = 0.05, 0.10
NOTCH_MV, NOTCH_REL = 0.05, 0.10
SLUR_LOW, SLUR_HIGH = 0.30, 0.50
PLATEAU_RESUME = 0.20  # of the stroke's steepest slope: a plateau's stroke goes on after it


@dataclass
class LeadShape:
    """One lead's QRS (mV and ms from the QRS onset; NaN where not applicable)."""

    r_mv: float = float("nan")
    s_mv: float = float("nan")  # negative
    q: bool = False
    pattern: str = ""  # QS, rS, RS, R
    r_duration_ms: float = float("nan")
    r_peak_time_ms: float = float("nan")
    notches_ms: list[float] = field(default_factory=list)
    slurs_ms: list[float] = field(default_factory=list)

    @property
    def notched_or_slurred(self) -> bool:
        return bool(self.notches_ms or self.slurs_ms)

    def mid_qrs(self, qrs_ms: float) -> bool:
        """A notch or slur between 40 ms after the onset and half the QRS (Strauss)."""
        return any(40.0 <= t <= qrs_ms / 2.0 for t in self.notches_ms + self.slurs_ms)


def smooth_beat(beat: np.ndarray) -> np.ndarray:
    return zero_phase(beat, None, LOWPASS_HZ)


def shape(x: np.ndarray, onset: int, offset: int) -> LeadShape:
    """The LeadShape of one lead (already low-passed) between QRS onset and offset samples."""
    out = LeadShape()
    seg = np.asarray(x[onset:offset + 1], dtype=np.float64)
    if len(seg) < 5 or not np.isfinite(seg).all():
        return out
    seg = seg - seg[0]
    ms = 1000.0 / FS
    r, s = float(seg.max()), float(seg.min())
    out.r_mv, out.s_mv = max(r, 0.0), min(s, 0.0)
    rising = np.flatnonzero(seg >= R_START_MV)
    first_up = int(rising[0]) if len(rising) else len(seg)
    out.q = bool(first_up > 0 and seg[:first_up].min() <= -Q_MV and first_up * ms <= 60.0)
    nadir = int(np.argmin(seg))
    r_before = float(seg[:nadir + 1].max())  # what follows the S is the J point going into ST
    if r < R_START_MV or (-s >= 3 * max(r, 0.0) and r_before < R_START_MV):
        out.pattern = "QS"
    elif -s >= 3 * r_before and -s >= 0.3:
        out.pattern = "rS"
    elif -s < R_START_MV:
        out.pattern = "R"
    else:
        out.pattern = "RS"
    if r >= R_START_MV:
        out.r_duration_ms = float((seg >= 0.5 * r).sum() * ms)
        peaks, _ = scipy.signal.find_peaks(seg, height=0.5 * r)
        last = int(peaks[-1]) if len(peaks) else int(np.argmax(seg))
        out.r_peak_time_ms = last * ms
    main = seg if r >= -s else -seg  # the main deflection, made positive
    out.notches_ms = [t * ms for t in _notches(main)]
    out.slurs_ms = [t * ms for t in _slurs(main)]
    return out


def _notches(y: np.ndarray) -> list[int]:
    """Samples of the dips between two peaks of a positive deflection."""
    top = float(y.max())
    if top <= 0:
        return []
    depth = max(NOTCH_MV, NOTCH_REL * top)
    peaks, _ = scipy.signal.find_peaks(y, height=0.3 * top)
    out = []
    for a, b in zip(peaks[:-1], peaks[1:]):
        dip = a + int(np.argmin(y[a:b + 1]))
        if min(y[a], y[b]) - y[dip] >= depth:
            out.append(dip)
    return out


def _slurs(y: np.ndarray) -> list[int]:
    """Samples of the shoulders on the up- and downstroke of a positive deflection's main peak."""
    top = int(np.argmax(y))
    if y[top] <= 0:
        return []
    d = np.gradient(y)
    above = y >= 0.1 * y[top]
    start = top
    while start > 0 and above[start - 1]:
        start -= 1
    end = top
    while end < len(y) - 1 and above[end + 1]:
        end += 1
    out = []
    guard = max(2, int(0.008 * FS))
    depth = max(NOTCH_MV, NOTCH_REL * float(y[top]))
    for a, b, sign in ((start, top, 1.0), (top, end, -1.0)):
        slope = sign * d[a:b + 1]
        if len(slope) < 2 * guard + 3 or slope.max() <= 0:
            continue
        steep = float(slope.max())
        lows, _ = scipy.signal.find_peaks(-slope)
        for k in lows:
            if not guard <= k <= len(slope) - 1 - guard or slope[k] >= SLUR_LOW * steep:
                continue
            before, after = slope[:k], slope[k + 1:]
            if before.max(initial=0) < SLUR_HIGH * steep:
                continue
            resumes = after.max(initial=0)
            plateau = resumes >= PLATEAU_RESUME * steep and y[top] - y[a + k] >= depth
            if resumes >= SLUR_HIGH * steep or plateau:
                out.append(a + int(k))
    return out
