"""Beat detection on all simultaneous leads at once.

Why not neurokit2's detectors: they work on one lead, and on the lead II rhythm strip of an LBBB ECG
(left axis: a small, slurred QRS; a large discordant T) they miss beats or sit on P or T waves (the
demo's digitised ECG: 2 of 13 beats found). A beat is visible in some lead even when it is small in
lead II, so this detector combines every lead present at each instant:

1. each lead is band-passed to 5-25 Hz (the QRS band; P and T waves are mostly below 5 Hz, even the
   broad, slurred QRS of LBBB keeps most of its slope energy above it) and differentiated;
2. the root mean square of those slopes over the leads present is the *spatial velocity* (for a
   native 12-lead ECG the 8 independent leads I, II, V1-V6; on a printout the three leads of the
   column being printed plus the rhythm strip, each scaled to its own QRS slope and weighted by how
   far its QRS stands out of its noise), smoothed over 100 ms into an envelope whose maxima are the
   QRS complexes, notched or not; the first and last 30 ms of every recorded run are left out;
3. maxima at least 240 ms apart (250 bpm), each with a height mixing the envelope and the steepest
   slope within 40 ms (a QRS has both, a broad T wave only the first), are beats when they reach half
   the local reference (the largest maximum within 1.5 s, capped at twice a typical beat: printed
   columns differ in amplitude, an artefact must not silence its neighbours); smaller ones (30-50%)
   only where they fit the rhythm (0.7 RR or more from every stronger beat: a P or T wave sits close
   to its own QRS); gaps longer than 1.6 RR are searched again at half the threshold;
4. a QRS cut by either end of the recording is not a beat to measure (`_whole`).

The beat's time is its envelope maximum: the centre of the QRS slope energy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.signal

from lvsdctl.record import LEADS12
from lvsdctl.measure.filtering import finite_runs, moving_mean, zero_phase
from lvsdctl.measure.leads import FS, LeadMatrix

BAND_HZ = (5.0, 25.0)
SMOOTH_S = 0.10
MIN_RR_S = 0.24
THRESHOLD = 0.30
RIM_S = 0.03
EDGE_S = 0.08  # a beat's centre this close to either end of the recording: its QRS is cut
EDGE_LOW = 0.6  # ... unless the velocity at that end is below this share of the beat's (the QRS starts inside)
STRONG = 0.5  # maxima this large (of the local reference) are beats whatever the rhythm
SEARCH_BACK = 0.5  # of the threshold, in gaps longer than 1.6 median RR
#: Independent leads of a native ECG (the four other limb leads are combinations of I and II).
INDEPENDENT = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")


@dataclass
class Beats:
    """Beats of one ECG and how sure the detector is of them."""

    peaks: np.ndarray  # sample index (FS) of every beat, in time order
    envelope: np.ndarray  # (N,) the smoothed spatial velocity, mV/s (NaN where no lead)
    leads_used: list[str]
    covered_s: float  # seconds of the recording with at least one lead
    problems: list[str] = field(default_factory=list)

    @property
    def rr_s(self) -> np.ndarray:
        return np.diff(self.peaks) / FS

    @property
    def rr_median_s(self) -> float:
        rr = self.rr_s
        return float(np.median(rr)) if len(rr) else float("nan")

    @property
    def expected(self) -> float:
        """Beats the recording should hold at its RR: its covered span over the mean RR, leaving out
        intervals longer than 1.8 median RR (where a beat was probably missed, which would otherwise
        hide itself); irregular rhythms such as atrial fibrillation keep their own mean."""
        rr = self.rr_s
        if not len(rr):
            return float("nan")
        usual = rr[rr <= 1.8 * np.median(rr)]
        mean = float(usual.mean()) if len(usual) else float(np.median(rr))
        return float(self.covered_s / mean) if mean > 0 else float("nan")


def spatial_velocity(lm: LeadMatrix) -> tuple[np.ndarray, list[str]]:
    """(RMS over the leads present of the 5-25 Hz slope, mV/s; the leads used)."""
    rows = [LEADS12.index(lead) for lead in (INDEPENDENT if lm.kind == "continuous" else LEADS12)]
    rows = [r for r in rows if np.isfinite(lm.x[r]).sum() > 0.3 * FS]
    if not rows:
        return np.full(lm.n, np.nan), []
    y = zero_phase(lm.x[rows], *BAND_HZ)
    d = np.gradient(y, axis=1) * FS
    present = np.isfinite(d)
    # The first and last 30 ms of every run are left out: filters ring there, and traced or cut
    # recordings often step at their ends.
    rim = int(RIM_S * FS)
    for r in range(len(d)):
        for a, b in finite_runs(d[r]):
            d[r, a:a + rim] = np.nan
            d[r, max(a, b - rim):b] = np.nan
    present = np.isfinite(d)
    if lm.kind == "pieces":
        # Printed columns hold different leads (limb leads of a few tenths of a mV, right precordial
        # leads of several mV): each lead is scaled to its own typical QRS slope so that every column
        # carries its beats at a comparable height, then weighted by how much its QRS stands out of
        # its own noise (98th over 50th percentile of its slope): a flat, noisy trace counts less.
        for r in range(len(d)):
            if present[r].any():
                a = np.abs(d[r][present[r]])
                p98, p50 = np.percentile(a, [98, 50])
                d[r] *= min(1.0, p98 / max(p50, 1e-9) / 10.0) / max(float(p98), 1e-6)
    count = present.sum(axis=0)
    energy = np.where(present, d, 0.0) ** 2
    sv = np.sqrt(energy.sum(axis=0) / np.maximum(count, 1))
    sv[count == 0] = np.nan
    used = [LEADS12[r] for r, p in zip(rows, present.any(axis=1)) if p]
    return sv, used


def _local_reference(peaks: np.ndarray, heights: np.ndarray) -> np.ndarray:
    """Per candidate: the reference amplitude around it, the largest candidate within 1.5 s on
    either side (printed columns and leads differ in amplitude), capped at twice the recording's
    typical beat (the median of the largest third of the candidates: there are one to three maxima
    per beat) so that one artefact does not silence its neighbours."""
    half = int(1.5 * FS)
    top = np.sort(heights)[::-1][: max(1, int(np.ceil(len(heights) / 3)))]
    typical = float(np.median(top))
    ref = np.array([heights[np.abs(peaks - p) <= half].max() for p in peaks])
    return np.minimum(ref, 2.0 * typical)


def _whole(sv: np.ndarray, env: np.ndarray, run: tuple[int, int], p: int) -> bool:
    """True when the QRS around maximum `p` lies whole inside its recorded run [a, b): the beat's
    centre is at least 80 ms from either end, and within 250 ms of an end either the velocity there
    is low (the QRS starts inside) or the envelope dips between that end and the beat (what reaches
    the end is another, cut beat). A QRS cut by either end of the recording is not a beat to
    measure."""
    a, b = run[0], run[1] - 1
    edge, near, w = int(EDGE_S * FS), int(0.25 * FS), int(0.01 * FS)
    if p - a < edge or b - p < edge:
        return False
    top = float(np.nanmax(sv[max(a, p - int(0.06 * FS)):p + int(0.06 * FS) + 1]))
    half = 0.5 * env[p]
    start_ok = p - a >= near or np.nanmedian(sv[a:a + w]) <= EDGE_LOW * top or env[a:p + 1].min() <= half
    end_ok = b - p >= near or np.nanmedian(sv[b - w + 1:b + 1]) <= EDGE_LOW * top or env[p:b + 1].min() <= half
    return bool(start_ok and end_ok)


def detect(lm: LeadMatrix) -> Beats:
    """The beats of a lead matrix (see the module docstring)."""
    sv, used = spatial_velocity(lm)
    covered = float(np.isfinite(sv).sum() / FS)
    problems: list[str] = []
    if not used:
        return Beats(np.array([], dtype=int), sv, used, covered, ["no lead long enough to detect beats"])
    finite = np.isfinite(sv)
    width = int(SMOOTH_S * FS)
    env = moving_mean(np.where(finite, sv, 0.0), width) / np.maximum(moving_mean(finite.astype(float), width), 1e-9)
    env[~finite] = np.nan
    filled = np.nan_to_num(env)
    cand, props = scipy.signal.find_peaks(filled, distance=int(MIN_RR_S * FS), height=1e-9)
    # A candidate's height combines the envelope (slope energy over 100 ms) with the steepest slope
    # within 40 ms of it: a QRS is both, a broad T wave only the first.
    w = int(0.04 * FS)
    raw = np.nan_to_num(sv)
    steep = np.array([raw[max(0, c - w):c + w + 1].max() for c in cand])
    heights = np.sqrt(props["peak_heights"] * steep)
    if not len(cand):
        return Beats(np.array([], dtype=int), env, used, covered, ["no QRS complex found"])
    ref = _local_reference(cand, heights)
    strong = heights >= STRONG * ref
    rr = np.median(np.diff(cand[strong])) if strong.sum() >= 3 else MIN_RR_S * FS / 0.7
    keep = strong.copy()
    # Weaker maxima count only where they fit the rhythm: far enough from every stronger beat
    # (a P or T wave sits close to its own QRS).
    for j in np.flatnonzero(~strong & (heights >= THRESHOLD * ref)):
        if np.abs(cand[keep] - cand[j]).astype(float).min(initial=np.inf) >= 0.7 * rr:
            keep[j] = True
    # Search back: gaps much longer than the usual RR may hide a smaller beat.
    peaks = cand[keep]
    if len(peaks) >= 3:
        extra = []
        bounds = np.concatenate([[-0.6 * rr], peaks, [len(env) + 0.6 * rr]]).astype(float)
        for a, b in zip(bounds[:-1], bounds[1:]):
            if b - a <= 1.6 * rr:
                continue
            inside = (cand > a + 0.5 * rr) & (cand < b - 0.5 * rr) & ~keep
            inside &= heights >= SEARCH_BACK * THRESHOLD * ref
            if inside.any():
                j = np.flatnonzero(inside)[np.argmax(heights[inside])]
                extra.append(cand[j])
        if extra:
            peaks = np.sort(np.concatenate([peaks, extra]))
    runs = finite_runs(env)
    peaks = np.array([p for p in peaks if _whole(sv, filled, next(r for r in runs if r[0] <= p < r[1]), p)],
                     dtype=int)
    if len(peaks) < 2:
        problems.append(f"only {len(peaks)} beat(s) found")
    return Beats(peaks.astype(int), env, used, covered, problems)
