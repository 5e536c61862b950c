"""The 12 leads of one ECG on one 500 Hz timeline, whatever the source: what measurement works on.

A native export (MUSE, Philips, HL7 aECG, DICOM, SCP, WFDB) has every lead for the whole recording:
the matrix is full (`kind = "continuous"`). A digitised printout has each lead only for its 2.5 s
piece, each piece at its own rate (99-221 Hz), plus a 10 s lead II rhythm strip: every piece is
resampled onto the common timeline where it was printed and the rest of its row is NaN
(`kind = "pieces"`); lead II's row is the rhythm strip. A preprocessed `ecg` file in the study's
4x5000 layout is the same printout again. Linear interpolation is used, as the study did for its
digitised ECGs; at 99 Hz and above it moves QRS boundaries by well under a sample at 500 Hz.

The export's own median beat (MUSE stores the one its cart measured) is kept beside the rhythm, on
its own timeline, so that the global boundaries can be measured on exactly the beat the cart
measured.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lvsdctl.record import LEADS12, Segment

FS = 500.0  # the measurement rate, Hz
RHYTHM_LEAD = "II"


@dataclass
class LeadMatrix:
    """Twelve leads on one timeline at FS, in mV; NaN where a lead has no sample."""

    x: np.ndarray  # (12, N) float64, LEADS12 order
    kind: str  # "continuous" or "pieces"
    median: np.ndarray | None = None  # (12, M) the export's median beat at FS, or None
    notes: list[str] = field(default_factory=list)  # what was missing or resampled

    @property
    def n(self) -> int:
        return self.x.shape[1]

    @property
    def duration_s(self) -> float:
        return self.n / FS

    def present(self) -> list[str]:
        """Leads with at least one sample."""
        return [lead for lead, row in zip(LEADS12, self.x) if np.isfinite(row).any()]


def _on_grid(seg: Segment, n: int) -> tuple[int, np.ndarray]:
    """(first sample on the FS grid, the segment's samples linearly resampled onto the grid)."""
    y = np.asarray(seg.signal, dtype=np.float64)
    t_src = seg.t0 + np.arange(len(y)) / seg.fs
    first = int(np.ceil(seg.t0 * FS - 1e-6))
    last = min(n - 1, int(np.floor(t_src[-1] * FS + 1e-6)))
    if last < first:
        return first, np.empty(0)
    grid = np.arange(first, last + 1) / FS
    if seg.fs == FS and abs(seg.t0 * FS - first) < 1e-6:
        return first, y[: last - first + 1]
    return first, np.interp(grid, t_src, y)


def _limb_from_two(rows: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """III, aVR, aVL, aVF from I and II where only those two are given (Einthoven, Goldberger)."""
    i, ii = rows.get("I"), rows.get("II")
    if i is None or ii is None:
        return {}
    return {"III": ii - i, "aVR": -(i + ii) / 2.0, "aVL": i - ii / 2.0, "aVF": ii - i / 2.0}


def from_segments(segments: list[Segment]) -> LeadMatrix:
    """The lead matrix of an ECG record's segments (rhythm, pieces and median beat)."""
    rhythm = {s.lead: s for s in segments if s.kind == "rhythm" and s.lead in LEADS12 and s.size >= 2}
    pieces = [s for s in segments if s.kind == "piece" and s.lead in LEADS12 and s.size >= 2]
    medians = {s.lead: s for s in segments if s.kind == "median" and s.lead in LEADS12 and s.size >= 2}
    notes: list[str] = []
    end = max([s.t0 + s.size / s.fs for s in [*rhythm.values(), *pieces]], default=0.0)
    n = int(round(end * FS))
    x = np.full((12, max(n, 0)), np.nan)
    kind = "pieces" if pieces and len(rhythm) < 6 else "continuous"
    for seg in (pieces if kind == "pieces" else []) + list(rhythm.values()):
        if kind == "pieces" and seg.kind == "piece" and seg.lead in rhythm:
            continue  # the rhythm strip of the same lead wins over its piece
        first, y = _on_grid(seg, n)
        x[LEADS12.index(seg.lead), first:first + len(y)] = y
    if kind == "continuous":
        missing = [lead for lead in LEADS12 if lead not in rhythm]
        if missing:
            derived = _limb_from_two({k: x[LEADS12.index(k)] for k in ("I", "II") if k in rhythm})
            for lead in missing:
                if lead in derived:
                    x[LEADS12.index(lead)] = derived[lead]
            still = [lead for lead in missing if lead not in derived]
            if still:
                notes.append(f"leads missing: {' '.join(still)}")
    return LeadMatrix(x, kind, _median_matrix(medians, notes), notes)


def _median_matrix(medians: dict[str, Segment], notes: list[str]) -> np.ndarray | None:
    """The export's median beat at FS (12, M), or None when it has none (or too few leads)."""
    if len(medians) < 6:
        return None
    length = max(s.size for s in medians.values())
    fs = next(iter(medians.values())).fs
    m = int(round(length / fs * FS))
    out = np.full((12, m), np.nan)
    for lead, seg in medians.items():
        first, y = _on_grid(Segment(lead, np.asarray(seg.signal, dtype=np.float64), seg.fs, 0.0, "median"), m)
        out[LEADS12.index(lead), first:first + len(y)] = y
    derived = _limb_from_two({k: out[LEADS12.index(k)] for k in ("I", "II") if k in medians})
    for lead, y in derived.items():
        if lead not in medians:
            out[LEADS12.index(lead)] = y
    if fs != FS:
        notes.append(f"median beat resampled from {fs:g} Hz")
    return out


def from_four_channel(x4: np.ndarray, fs: float) -> LeadMatrix:
    """A preprocessed ECG in the study's 4x5000 layout (the printout's 12 pieces and the lead II
    rhythm strip) as a lead matrix of pieces."""
    from lvsdctl.signal.layout import pieces_from_4ch

    segments = []
    for lead, (t0, y) in pieces_from_4ch(np.asarray(x4, dtype=np.float64), fs).items():
        if lead == "II (rhythm)":
            segments.append(Segment("II", y, fs, 0.0, "rhythm"))
        else:
            segments.append(Segment(lead, y, fs, t0, "piece"))
    return from_segments(segments)


def from_twelve(x12: np.ndarray, fs: float) -> LeadMatrix:
    """A preprocessed 12-lead ECG (12, T) as a continuous lead matrix."""
    return from_segments([Segment(lead, np.asarray(row, dtype=np.float64), fs, 0.0, "rhythm")
                          for lead, row in zip(LEADS12, x12)])
