"""One ECG from leads to measurements: beats, median beat, global and per-beat boundaries, pacing,
the global intervals and axis, and how sure all of it is.

Status of an ECG's delineation:
- `ok`: two or more beats, QRS and T boundaries on the median beat, and about as many beats as the
  RR interval says the recording holds (80-125%);
- `partial`: the QRS was delineated but something else is missing (no T wave end, beats fewer or
  more than expected, fewer than 6 leads, median beat of the export not found under the beats...);
- `failed`: no QRS boundaries (fewer than 2 beats, or no clear QRS): the wave shares of `explain`
  and the LBBB criteria are not computed for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lvsdctl.record import LEADS12
from lvsdctl.measure import beats as beats_mod
from lvsdctl.measure import median as median_mod
from lvsdctl.measure import pacing
from lvsdctl.measure.delineate import Boundaries, delineate
from lvsdctl.measure.leads import FS, LeadMatrix

#: Per-beat boundary columns, in order (sample indices at FS on the recording; -1: none).
BEAT_FIELDS = ("p_onset", "p_offset", "qrs_onset", "qrs_offset", "t_offset")
STATUSES = ("ok", "partial", "failed")


@dataclass
class Analysis:
    """Everything measured on one ECG (samples at FS; see `globals()` for the intervals)."""

    lm: LeadMatrix
    beats: beats_mod.Beats
    median: median_mod.Median | None
    beat: np.ndarray | None  # (12, W) the median beat that was delineated
    median_source: str  # "export" (the cart's own median), "computed", or "" (none)
    anchor: int | None  # sample of `beat` at every beat's aligned centre
    bounds: Boundaries  # on `beat`
    beat_bounds: np.ndarray  # (B, 5) int, BEAT_FIELDS per beat on the recording, -1 = none
    paced: np.ndarray  # (B,) bool, a pacing spike at the beat's QRS onset
    status: str = "failed"
    problems: list[str] = field(default_factory=list)
    _n: int | None = field(default=None, repr=False)

    @property
    def n_beats(self) -> int:
        return len(self.beats.peaks)

    @property
    def n_samples(self) -> int:
        """Samples of the recording at FS (kept by `compact`)."""
        return self._n if self._n is not None else self.lm.n

    def compact(self) -> "Analysis":
        """Drop the signals (the lead matrix, envelope, median beats): what stays is a few hundred
        numbers per ECG, so a cohort of thousands fits in memory. Call it after the table row is made
        (the QRS axis needs the median beat)."""
        self._n = self.lm.n
        self.lm = LeadMatrix(np.empty((12, 0)), self.lm.kind, None, self.lm.notes)
        self.beats.envelope = np.empty(0)
        if self.median is not None:
            self.median.beat = np.empty((12, 0))
        self.beat = None
        return self

    @property
    def ventricular_paced(self) -> bool:
        return bool(len(self.paced) and self.paced.mean() >= 0.5)

    def ms(self, a: int | None, b: int | None) -> float:
        """Milliseconds from sample a to sample b of the median beat (NaN when either is missing)."""
        return float("nan") if a is None or b is None else (b - a) * 1000.0 / FS

    def globals(self) -> dict[str, float]:
        """Heart rate (bpm), RR, PR, QRS, QT, QTc (Bazett) in ms, frontal QRS axis in degrees."""
        rr = self.beats.rr_s
        rr_s = float(np.mean(rr)) if len(rr) else float("nan")
        b = self.bounds
        qt = self.ms(b.qrs_onset, b.t_offset)
        return {
            "hr_bpm": 60.0 / rr_s if rr_s > 0 else float("nan"),
            "rr_ms": rr_s * 1000.0,
            "pr_ms": self.ms(b.p_onset, b.qrs_onset),
            "qrs_ms": self.ms(b.qrs_onset, b.qrs_offset),
            "qt_ms": qt,
            "qtc_ms": qt / np.sqrt(rr_s) if rr_s > 0 else float("nan"),
            "qrs_axis_deg": self.qrs_axis(),
        }

    def qrs_axis(self) -> float:
        """Frontal-plane QRS axis: the direction of the net QRS areas of I and aVF (degrees)."""
        b = self.bounds
        if self.beat is None or not b.ok:
            return float("nan")
        base = max(0, b.qrs_onset - int(0.01 * FS))
        areas = []
        for lead in ("I", "aVF"):
            x = self.beat[LEADS12.index(lead)]
            seg = x[b.qrs_onset:b.qrs_offset + 1] - np.nanmean(x[base:b.qrs_onset + 1])
            areas.append(float(np.nansum(seg)))
        if not np.isfinite(areas).all() or areas == [0.0, 0.0]:
            return float("nan")
        return float(np.degrees(np.arctan2(areas[1], areas[0])))

    def beat_times_ms(self) -> np.ndarray:
        """Every beat's aligned centre, ms from the start of the recording."""
        centres = self.median.centres if self.median is not None else self.beats.peaks
        return np.asarray(centres, dtype=float) * 1000.0 / FS


def analyse(lm: LeadMatrix) -> Analysis:
    """Detect, build the median, delineate, place the boundaries under every beat."""
    found = beats_mod.detect(lm)
    problems = list(lm.notes) + list(found.problems)
    empty = np.full((0, len(BEAT_FIELDS)), -1, dtype=int)
    med = median_mod.build(lm, found.peaks) if len(found.peaks) else None
    if med is None:
        return Analysis(lm, found, None, None, "", None, Boundaries(problems=["no beat"]), empty,
                        np.zeros(0, bool), "failed", problems + ["no beat to delineate"])
    rr = found.rr_median_s
    beat, anchor, source = med.beat, med.anchor, "computed"
    if lm.median is not None:
        why = median_mod.implausible(lm.median)
        where, r = median_mod.locate(lm.median, med) if not why else (0, float("nan"))
        if not why and r >= 0.8:
            beat, anchor, source = lm.median, where, "export"
        else:
            problems.append(f"the export's median beat {why or 'does not match the recording'}: own median used")
    bounds = delineate(beat, near=anchor, rr_s=rr)
    problems += bounds.problems
    beat_bounds = _place(bounds, anchor, med.centres, len(found.peaks))
    paced = pacing.paced_beats(pacing.spikes(lm), beat_bounds[:, 2]) if bounds.ok else np.zeros(len(med.centres), bool)
    a = Analysis(lm, found, med, beat, source, anchor, bounds, beat_bounds, paced)
    a.status, more = _status(a)
    a.problems = problems + more
    return a


def _place(bounds: Boundaries, anchor: int, centres: np.ndarray, n: int) -> np.ndarray:
    """The median's boundaries under every beat (its aligned centre + offset from the anchor)."""
    out = np.full((n, len(BEAT_FIELDS)), -1, dtype=int)
    for k, name in enumerate(BEAT_FIELDS):
        v = getattr(bounds, name)
        if v is not None:
            out[:, k] = centres + (v - anchor)
    return out


def _status(a: Analysis) -> tuple[str, list[str]]:
    more: list[str] = []
    if a.n_beats < 2 or not a.bounds.ok:
        if a.n_beats < 2:
            more.append(f"{a.n_beats} beat(s) found: too few to delineate")
        return "failed", more
    status = "ok"
    if a.bounds.t_offset is None:
        status = "partial"
    expected = a.beats.expected
    if np.isfinite(expected) and not 0.8 <= a.n_beats / max(expected, 1e-9) <= 1.25:
        more.append(f"{a.n_beats} beats found, {expected:.1f} expected from the RR interval")
        status = "partial"
    present = a.lm.present()
    if len(present) < 6:
        more.append(f"only {len(present)} leads present")
        status = "partial"
    if a.median is not None and (~a.median.dominant).any():
        more.append(f"{int((~a.median.dominant).sum())} beat(s) unlike the median (ectopic or noisy)")
    if a.ventricular_paced:
        more.append("ventricular pacing spikes before the QRS: a paced rhythm")
    return status, more
