"""Global wave boundaries of a median beat, from all leads at once.

Why not neurokit2's delineators (`ecg_delineate`, DWT or peak methods): they delineate one lead,
and in LBBB (a broad, notched QRS, discordant ST-T, P waves hidden in slurred onsets) they miss or
misplace boundaries on single beats (the demo: QRS boundaries 160 ms early in V1-V3, beats without
any T wave). Automated electrocardiography measures global boundaries on the median beat of all
simultaneous leads instead (the CSE convention, and what GE's 12SL reports as QOnset/QOffset/
TOffset): the QRS starts where the first lead departs from baseline and ends where the last lead
returns. Here that is done on the *spatial velocity* of the 8 independent leads (I, II, V1-V6): the
length of the vector of their slopes, low-passed at 40 Hz.

- QRS onset: going back from the first sample above half the QRS's peak velocity, the first sample
  below 6% of it (or below twice the beat's own velocity floor, on a noisy median).
- QRS offset (J point): going forward from the last sample above half the peak velocity, the first
  sample below 4% of it, or earlier the *knee*: the velocity has dropped below 30% of the peak and
  falls by less than 20% over the next 10 ms, and not below 40% of its level within 20 ms (else what
  follows is a slow terminal QRS wave, such as an s in III, not the ST segment). LBBB needs the
  knee: its ST segment deviates at once, discordant to the QRS, so the velocity never falls to an
  isoelectric level at the J point.
- T offset: after the steepest part of the T wave's downslope, the first sample where the velocity
  (low-passed at 20 Hz: the T wave is slow) falls below 15% of the T wave's peak velocity, or
  earlier its first trough below 40% of the downslope's (at fast rates the T wave runs into the
  next P wave before its velocity falls that low).
- P wave: between the previous beat's T wave end (from the RR) and the QRS, at most 450 ms before
  it, the most prominent apex of how far the leads stand out of the straight line between 40 ms
  before and 40 ms after (root mean square), so that baseline wander and steps do not pose as a P
  wave; present when it clearly exceeds the median's noise; onset and offset where the
  velocity falls below 15% of the P wave's peak velocity on either side. Absent in atrial
  fibrillation (and then not an error).

These thresholds were set once on the 10 GE MUSE fixtures (against 12SL) and the synthetic cohort
(against its generator) together; docs/measure.md has the agreement table.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import scipy.signal

from lvsdctl.record import LEADS12
from lvsdctl.measure.filtering import zero_phase
from lvsdctl.measure.leads import FS

LOWPASS_HZ = 40.0
ONSET = 0.06  # of the QRS peak velocity
OFFSET = 0.04
KNEE_TAIL, KNEE_FLAT, KNEE_LAG_S = 0.30, 0.80, 0.010
KNEE_FLOOR = 0.40  # a knee followed within 20 ms by a further fall below this share is a slow terminal wave
T_END = 0.15  # of the T wave's peak velocity
T_LOWPASS_HZ = 20.0
QTC_RANGE_S = (0.25, 0.65)  # Bazett: a T wave end giving a QTc outside is not believed
T_TROUGH = 0.40  # ... or the first trough below this share of the downslope's peak velocity
P_END = 0.15
P_HALF_S = 0.04
INDEPENDENT = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")


@dataclass
class Boundaries:
    """Wave boundaries of one beat, as sample indices of its timeline at FS (None: not found)."""

    qrs_onset: int | None = None
    qrs_offset: int | None = None
    t_offset: int | None = None
    t_peak: int | None = None
    p_onset: int | None = None
    p_offset: int | None = None
    qrs_peak: int | None = None  # the sample of the largest spatial velocity
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """QRS onset and offset found (what every other measurement needs)."""
        return self.qrs_onset is not None and self.qrs_offset is not None

    def to_dict(self) -> dict:
        return asdict(self)

    def shifted(self, by: int) -> "Boundaries":
        """The same boundaries `by` samples later (for a beat placed elsewhere on a timeline)."""
        move = {k: (v + by if isinstance(v, (int, np.integer)) else v) for k, v in asdict(self).items()
                if k != "problems"}
        return Boundaries(**move, problems=list(self.problems))


def spatial_velocity(beat: np.ndarray, lowpass_hz: float = LOWPASS_HZ) -> tuple[np.ndarray, np.ndarray]:
    """(spatial velocity in mV/s, the low-passed beat) of a (12, M) median beat."""
    rows = [LEADS12.index(lead) for lead in INDEPENDENT if np.isfinite(beat[LEADS12.index(lead)]).sum() > 20]
    if len(rows) < 2:
        rows = [r for r in range(12) if np.isfinite(beat[r]).sum() > 20]
    smooth = zero_phase(beat, None, lowpass_hz)
    d = np.gradient(smooth[rows], axis=1) * FS
    sv = np.sqrt(np.nansum(d ** 2, axis=0))
    sv[~np.isfinite(d).any(axis=0)] = np.nan
    return sv, smooth


def _first_below(sv: np.ndarray, start: int, stop: int, level: float) -> int | None:
    """First index from `start` towards `stop` (either direction) where sv < level."""
    step = 1 if stop >= start else -1
    for k in range(start, stop, step):
        if not np.isfinite(sv[k]) or sv[k] < level:
            return k
    return None


def delineate(beat: np.ndarray, near: int | None = None, rr_s: float | None = None) -> Boundaries:
    """Boundaries of a (12, M) median beat at FS; `near`: the sample the QRS is known to be close to
    (within 150 ms); `rr_s`: the RR interval, to keep the T wave before the next beat."""
    out = Boundaries()
    m = beat.shape[1]
    sv, smooth = spatial_velocity(beat)
    if not np.isfinite(sv).any():
        out.problems.append("median beat has no usable lead")
        return out
    floor = float(np.nanpercentile(sv, 20))
    lo, hi = (max(5, near - 75), min(m - 5, near + 75)) if near is not None else (int(0.1 * FS), m - int(0.1 * FS))
    if hi <= lo:
        out.problems.append("QRS outside the median beat")
        return out
    peak = lo + int(np.nanargmax(sv[lo:hi]))
    p = float(sv[peak])
    out.qrs_peak = peak
    if not p > 4 * floor:
        out.problems.append("no clear QRS in the median beat")
        return out
    window = int(0.15 * FS)
    half = np.flatnonzero(np.nan_to_num(sv[max(0, peak - window):peak + window]) > 0.5 * p) + max(0, peak - window)
    first, last = int(half[0]), int(half[-1])
    out.qrs_onset = _first_below(sv, first, max(0, first - window), max(ONSET * p, 2 * floor))
    out.qrs_offset = _qrs_offset(sv, last, p, floor)
    if out.qrs_onset is None or out.qrs_offset is None:
        out.problems.append("QRS boundary not found in the median beat")
        return out
    _t_wave(out, beat, smooth, rr_s)
    _p_wave(out, sv, smooth, floor, rr_s)
    return out


def _qrs_offset(sv: np.ndarray, last: int, p: float, floor: float) -> int | None:
    lag = int(KNEE_LAG_S * FS)
    level = max(OFFSET * p, 2 * floor)
    for k in range(last, min(len(sv) - lag, last + int(0.15 * FS))):
        if not np.isfinite(sv[k]):
            return None
        if sv[k] < level:
            return k
        if (sv[k] < KNEE_TAIL * p and sv[k + lag] > KNEE_FLAT * sv[k]
                and np.nanmin(sv[k + 1:k + 2 * lag + 1]) > KNEE_FLOOR * sv[k]):
            return _knee(sv, last, k)
    return None


def _knee(sv: np.ndarray, last: int, flat: int) -> int:
    """Where the QRS's last descent meets the plateau that follows it: the tangent at the steepest
    point of the descent, extended to the plateau's level (the low-pass filter rounds the corner, so
    the first flat sample lies a few samples late)."""
    slope = np.gradient(sv[last:flat + 1])
    j = int(np.argmin(slope))
    if slope[j] >= 0:
        return flat
    at = last + j + (sv[flat] - sv[last + j]) / slope[j]
    return int(round(min(max(at, last), flat)))


def _baseline(smooth: np.ndarray, onset: int) -> np.ndarray:
    """Each lead's isoelectric level: its mean over the 10 ms before the QRS onset."""
    a = max(0, onset - int(0.012 * FS))
    part = smooth[:, a:max(a + 1, onset - 1)]
    count = np.isfinite(part).sum(axis=1, keepdims=True)
    return np.where(count > 0, np.nansum(part, axis=1, keepdims=True) / np.maximum(count, 1), np.nan)


def _rms(smooth: np.ndarray, onset: int) -> np.ndarray:
    rows = [LEADS12.index(lead) for lead in INDEPENDENT]
    dev = (smooth - _baseline(smooth, onset))[rows]
    return np.sqrt(np.nanmean(dev ** 2, axis=0))


def _t_wave(out: Boundaries, beat: np.ndarray, smooth: np.ndarray, rr_s: float | None) -> None:
    sv, _ = spatial_velocity(beat, T_LOWPASS_HZ)  # the T wave is slow: less noise, same shape
    m = len(sv)
    on, off = out.qrs_onset, out.qrs_offset
    reach = 0.70 if rr_s is None or not np.isfinite(rr_s) else min(0.70, 0.92 * rr_s)
    lo, hi = off + int(0.04 * FS), min(m - int(0.01 * FS), on + int(reach * FS))
    if hi - lo < int(0.08 * FS):
        out.problems.append("no room for a T wave in the median beat")
        return
    rms = _rms(smooth, on)
    tp = lo + int(np.nanargmax(rms[lo:hi]))
    out.t_peak = tp
    tmax = float(np.nanmax(sv[lo:hi]))
    steepest = tp + int(np.nanargmax(sv[tp:min(hi, tp + int(0.2 * FS))])) if tp < hi - 1 else tp
    stop = min(m, on + int((reach + 0.1) * FS))
    floor = float(np.nanpercentile(sv[steepest:stop], 10)) if stop - steepest > 10 else 0.0
    end = _first_below(sv, steepest, stop, max(T_END * tmax, 2 * floor))
    # At fast rates the T wave runs into the next P wave before its velocity gets that low: the
    # first trough of the velocity below 40% of its downslope's peak ends it then.
    w = int(0.01 * FS)
    for k in range(steepest + w, (end if end is not None else stop) - w):
        if sv[k] < T_TROUGH * sv[steepest] and sv[k] <= np.nanmin(sv[k - w:k + w + 1]):
            end = k
            break
    if end is None:
        out.problems.append("T wave end not found")
    elif rr_s is not None and np.isfinite(rr_s) and rr_s > 0:
        qt = (end - on) / FS
        if not (QTC_RANGE_S[0] <= qt / np.sqrt(rr_s) <= QTC_RANGE_S[1] and end - off >= int(0.08 * FS)):
            out.problems.append("T wave end implausible (QTc out of 250-650 ms): left out")
            end = None
    out.t_offset = end


def _p_wave(out: Boundaries, sv: np.ndarray, smooth: np.ndarray, floor: float, rr_s: float | None) -> None:
    on = out.qrs_onset
    h = int(P_HALF_S * FS)
    lo = on - int(0.30 * FS)
    if rr_s is not None and np.isfinite(rr_s):  # from the previous beat's T wave end on
        after_t = (out.t_offset - on if out.t_offset is not None else int(0.40 * FS)) - int(rr_s * FS)
        lo = on + max(-int(0.45 * FS), after_t + int(0.02 * FS))
    lo, hi = max(h, lo), on - h - int(0.005 * FS)
    if hi - lo < int(0.05 * FS):
        return
    rows = [LEADS12.index(lead) for lead in INDEPENDENT]
    x = smooth[rows]
    t = np.arange(lo, hi)
    # How far each lead stands out of the straight line between 40 ms before and 40 ms after: a
    # P wave's apex does, baseline wander and the flat PR segment do not.
    bump = np.sqrt(np.nanmean((x[:, t] - 0.5 * (x[:, t - h] + x[:, t + h])) ** 2, axis=0))
    noise = float(np.nanmedian(np.abs(np.diff(x[:, lo - h:hi + h], axis=1))))
    level = max(0.012, 8 * noise)  # mV: a P wave smaller than this is not told from noise
    apexes, props = scipy.signal.find_peaks(np.nan_to_num(bump), height=level, prominence=0.5 * level)
    if not len(apexes):
        return
    pk = lo + int(apexes[np.argmax(props["prominences"])])  # (a wave's two flanks give smaller lobes)
    rise = slice(max(0, pk - int(0.08 * FS)), pk)
    fall = slice(pk, min(on, pk + int(0.08 * FS)))
    if rise.stop - rise.start < 3 or fall.stop - fall.start < 3:
        return
    vmax = float(np.nanmax(sv[rise.start:fall.stop]))
    up = rise.start + int(np.nanargmax(sv[rise]))
    down = fall.start + int(np.nanargmax(sv[fall]))
    level = max(P_END * vmax, 2 * floor)
    out.p_onset = _first_below(sv, up, max(0, pk - int(0.15 * FS)), level)
    out.p_offset = _first_below(sv, down, on, level)
