"""The median beat of an ECG, and where it sits under every beat of the recording.

The beats of one morphology are cut out around their detected centre, aligned on their QRS by
cross-correlation over all leads (a beat may be a few samples off its envelope maximum), and the
sample-wise median across beats is the median beat: noise and the odd artefact cancel, the QRS and
T wave keep their shape. Beats unlike the rest (correlation below 0.8: ventricular ectopics,
artefacts) are left out of the median and reported. On a printout each lead has the two to four
beats of its own 2.5 s piece; a lead with none is NaN.

When the export carries its own median beat (GE MUSE: the one 12SL measured), that one is used for
the global boundaries, and is located under the beats the same way (`locate`), so the per-beat
boundaries of both kinds of median are on the recording's timeline.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from lvsdctl.measure.filtering import finite_runs, zero_phase
from lvsdctl.measure.leads import FS, LeadMatrix

PRE_S, POST_S = 0.45, 0.75  # the window of a beat around its centre: 1.2 s, like MUSE's median
MAX_SHIFT_S = 0.04
QRS_HALF_S = 0.10  # the part of a beat compared when aligning: its centre +- 100 ms
SIMILAR = 0.80
WHOLE_BEFORE_S, WHOLE_AFTER_S = 0.12, 0.12  # a lead must cover this much around a beat's centre
RIM_S = 0.02  # the ends of every recorded run are left out (filter edges, tracing artefacts)


@dataclass
class Median:
    """The median beat and how every beat relates to it."""

    beat: np.ndarray  # (12, W) mV, the median beat; NaN for a lead without beats
    anchor: int  # the sample of `beat` that lies at a beat's (aligned) centre
    centres: np.ndarray  # (B,) every beat's aligned centre on the recording (sample at FS)
    dominant: np.ndarray  # (B,) bool: the beat has the dominant morphology (is in the median)
    correlation: np.ndarray  # (B,) its correlation with the median beat (NaN: not comparable)
    beats_per_lead: np.ndarray  # (12,) beats that made each lead's median


def _windows(x: np.ndarray, centres: np.ndarray, pre: int, post: int) -> np.ndarray:
    """(B, L, pre + post) cut-outs of x (L, N) around each centre, NaN beyond the recording.

    A lead whose recording does not cover the beat's whole QRS (a printed piece starting or ending
    inside it) gives nothing for that beat: half a QRS would corrupt the median."""
    n = x.shape[1]
    out = np.full((len(centres), x.shape[0], pre + post), np.nan)
    core = slice(pre - int(WHOLE_BEFORE_S * FS), pre + int(WHOLE_AFTER_S * FS))
    for b, c in enumerate(centres):
        a = int(c) - pre
        lo, hi = max(0, a), min(n, a + pre + post)
        if hi > lo:
            out[b, :, lo - a:hi - a] = x[:, lo:hi]
        cut = ~np.isfinite(out[b, :, core]).all(axis=1)
        out[b, cut] = np.nan
    return out


def _median_of(wins: np.ndarray, pre: int) -> tuple[np.ndarray, np.ndarray]:
    """(sample-wise median over beats, beats per lead at the centre) of (B, L, W) windows."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN stretches stay NaN
        beat = np.nanmedian(wins, axis=0) if len(wins) > 1 else wins[0].copy()
    return beat, np.isfinite(wins[:, :, pre]).sum(axis=0)


def _level(wins: np.ndarray, pre: int) -> np.ndarray:
    """Every beat's every lead relative to its own level just before the QRS (the median over
    200-120 ms before the beat's centre), so that beats of different pieces or offsets agree."""
    lo, hi = pre - int(0.20 * FS), pre - int(0.12 * FS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a lead without samples there keeps its level
        level = np.nanmedian(wins[:, :, lo:hi], axis=2, keepdims=True)
    return wins - np.nan_to_num(level)


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of two (L, T) stretches of leads: each lead's mean removed (its baseline), then
    Pearson's over the finite samples they share (NaN when too few)."""
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 10:
        return float("nan")
    count = np.maximum(ok.sum(axis=-1, keepdims=True), 1)
    a = np.where(ok, a, 0.0)
    b = np.where(ok, b, 0.0)
    a = (a - a.sum(axis=-1, keepdims=True) / count)[ok]
    b = (b - b.sum(axis=-1, keepdims=True) / count)[ok]
    den = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / den) if den > 0 else float("nan")


def _corr_all(windows: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Correlation (as `_corr`) of each of K windows (L, K, h) with a reference (L, h): (K,)."""
    ok = np.isfinite(windows) & np.isfinite(ref)[:, None, :]
    count = np.maximum(ok.sum(axis=2, keepdims=True), 1)
    a = np.where(ok, windows, 0.0)
    b = np.where(ok, ref[:, None, :], 0.0)
    a = np.where(ok, a - a.sum(axis=2, keepdims=True) / count, 0.0)
    b = np.where(ok, b - b.sum(axis=2, keepdims=True) / count, 0.0)
    num = (a * b).sum(axis=(0, 2))
    den = np.sqrt((a * a).sum(axis=(0, 2)) * (b * b).sum(axis=(0, 2)))
    with np.errstate(all="ignore"):
        return np.where((den > 0) & (ok.sum(axis=(0, 2)) >= 10), num / den, np.nan)


def _best_shift(seg: np.ndarray, template: np.ndarray, max_shift: int) -> tuple[int, float]:
    """(shift, correlation) that best aligns a beat's QRS part with the template's, both (L, 2H+2S)."""
    h = seg.shape[1] - 2 * max_shift
    r = _corr_all(np.lib.stride_tricks.sliding_window_view(seg, h, axis=1), template[:, max_shift:max_shift + h])
    if not np.isfinite(r).any():
        return 0, float("nan")
    k = int(np.nanargmax(r))
    return k - max_shift, float(r[k])


def build(lm: LeadMatrix, peaks: np.ndarray) -> Median | None:
    """The median beat of the beats at `peaks` (None without any beat)."""
    if not len(peaks):
        return None
    pre, post = int(PRE_S * FS), int(POST_S * FS)
    # Baseline wander would blur the median: a 10 s lead is high-passed; a 2.5 s piece is not (the
    # filter's edge transients would be worse than the wander), every beat's level is removed below.
    x = zero_phase(lm.x, 0.5, None) if lm.kind == "continuous" else lm.x.copy()
    rim = int(RIM_S * FS)
    for row in x:
        for a, b in finite_runs(row):
            row[a:a + rim] = np.nan
            row[max(a, b - rim):b] = np.nan
    wins = _windows(x, peaks, pre, post)
    ms, h = int(MAX_SHIFT_S * FS), int(QRS_HALF_S * FS)
    part = slice(pre - h - ms, pre + h + ms)
    # Beats are aligned on the leads every beat has (a printout's pieces hold different leads, and
    # a detected centre depends on the leads present: only the rhythm strip runs under all beats).
    covered = np.isfinite(wins[:, :, pre - h:pre + h]).all(axis=2).mean(axis=0)
    rows = np.flatnonzero(covered >= 0.9) if (covered >= 0.9).any() else np.arange(wins.shape[1])
    template = _median_of(wins[:, rows], pre)[0]
    shifts = np.zeros(len(peaks), dtype=int)
    corr = np.full(len(peaks), np.nan)
    for b in range(len(peaks)):
        shifts[b], corr[b] = _best_shift(wins[b, rows][:, part], template[:, part], ms)
    centres = peaks + shifts
    wins = _level(_windows(x, centres, pre, post), pre)
    dominant = ~(corr < SIMILAR)  # NaN (not comparable, e.g. one beat) counts as dominant
    if dominant.sum() < max(1, 0.3 * len(peaks)):  # no dominant morphology: keep them all
        dominant[:] = True
    beat, per_lead = _median_of(wins[dominant], pre)
    # A lead none of whose beats is dominant (a printed piece whose beats the rhythm strip judged
    # unlike the rest) takes the median of all its beats rather than nothing.
    lacking = per_lead == 0
    if lacking.any():
        fill, n_all = _median_of(wins[:, lacking], pre)
        beat[lacking], per_lead[lacking] = fill, n_all
    # Compare every beat with the final median (what is reported).
    for b in range(len(peaks)):
        corr[b] = _corr(wins[b, :, pre - h:pre + h], beat[:, pre - h:pre + h])
    return Median(beat, pre, centres.astype(int), dominant, corr, per_lead)


def locate(stored: np.ndarray, own: Median) -> tuple[int, float]:
    """(sample of the export's median beat that lies at `own.anchor`, correlation): where the
    stored median sits under the beats, by cross-correlating the QRS of the two medians."""
    h = int(QRS_HALF_S * FS)
    ref = own.beat[:, own.anchor - h:own.anchor + h]
    if stored.shape[1] < 2 * h + 1 or ref.shape[1] != 2 * h:
        return own.anchor, float("nan")
    r = _corr_all(np.lib.stride_tricks.sliding_window_view(stored, 2 * h, axis=1), ref)
    if not np.isfinite(r).any():
        return own.anchor, float("nan")
    k = int(np.nanargmax(r))
    return k + h, float(r[k])


def implausible(stored: np.ndarray) -> str:
    """Why an export's median beat cannot be a beat ("" when it can): values beyond 10 mV from the
    lead's level, or most leads stuck at one value for a quarter of the beat in one run (padding,
    "no data" codes; a flat baseline between waves is much shorter)."""
    finite = np.isfinite(stored)
    if finite.sum() < 0.5 * stored.size:
        return "is mostly missing"
    dev = np.abs(stored - np.nanmedian(stored, axis=1, keepdims=True))
    if np.nanmax(dev) > 10.0:
        return "has values beyond 10 mV"
    same = (np.diff(stored, axis=1) == 0) & finite[:, 1:]
    longest = np.array([_longest_run(row) for row in same])
    if (longest > 0.25 * stored.shape[1]).mean() > 0.5:
        return "holds a long flat stretch (padding)"
    return ""


def _longest_run(flags: np.ndarray) -> int:
    """Length of the longest run of True in a 1-D bool array."""
    if not flags.any():
        return 0
    edges = np.flatnonzero(np.diff(np.concatenate([[0], flags.astype(np.int8), [0]])))
    return int((edges[1::2] - edges[::2]).max())
