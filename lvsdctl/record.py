"""The in-memory ECG every reader returns, whatever the export format.

Only what the pipeline needs is kept. Names, birth dates, addresses, physicians and free text are
never read into a record, so they cannot leak into outputs or logs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

#: The standard 12 leads in the order ECG-FM and the study use.
LEADS12 = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")


class Segment:
    """One stretch of one lead at its own sampling rate.

    `signal` is float32 millivolts. Formats that store integer codes (MUSE: int16 times a gain) may give
    the codes instead: `counts` (int16) and `scale` (mV per count). `signal` is then computed on first
    use as float32(counts x scale), so ingest can store the codes losslessly in half the bytes without
    converting them.
    """

    __slots__ = ("lead", "_signal", "fs", "t0", "kind", "counts", "scale")

    def __init__(self, lead: str, signal: np.ndarray | None = None, fs: float = float("nan"), t0: float = 0.0,
                 kind: str = "rhythm", *, counts: np.ndarray | None = None, scale: float = 0.0):
        if signal is None and (counts is None or not scale > 0):
            raise ValueError("a Segment needs a signal, or int16 counts with a positive scale")
        self.lead = lead  # canonical name (LEADS12); other leads keep their own name
        self._signal = signal
        self.fs = fs  # samples per second of this segment
        self.t0 = t0  # start, seconds from the start of the acquisition
        self.kind = kind  # "rhythm", "piece" (printed 2.5 s piece) or "median" (median beat)
        self.counts = counts if signal is None else None  # int16 codes (None when given as a signal)
        self.scale = float(scale) if signal is None else 0.0

    @property
    def signal(self) -> np.ndarray:
        if self._signal is None:
            self._signal = counts_to_mv(self.counts, self.scale)
        return self._signal

    @signal.setter
    def signal(self, value: np.ndarray) -> None:
        self._signal, self.counts, self.scale = value, None, 0.0

    @property
    def size(self) -> int:
        """Number of samples (without computing the signal)."""
        return len(self._signal if self._signal is not None else self.counts)

    @property
    def duration(self) -> float:
        return self.size / self.fs

    def __repr__(self) -> str:
        stored = "counts" if self._signal is None else "signal"
        return (f"Segment(lead={self.lead!r}, {stored}[{self.size}], fs={self.fs!r}, t0={self.t0!r}, "
                f"kind={self.kind!r})")


def counts_to_mv(counts: np.ndarray, scale: float) -> np.ndarray:
    """float32 millivolts of integer codes: the product is taken in float64 and rounded once."""
    return np.multiply(counts, float(scale), dtype=np.float64).astype(np.float32)


@dataclass
class ECGRecord:
    """An ECG as read from one export file."""

    segments: list[Segment]
    source_format: str  # "muse", "digitised", "hl7aecg", "dicom", "wfdb", "philips", "scp"
    patient_id: str | None = None  # raw id: only ever pseudonymised, never written
    acquired: datetime | None = None
    age: float | None = None
    sex: str | None = None  # "F", "M" or None
    site: str | None = None
    device: str | None = None
    extra: dict[str, str | float] = field(default_factory=dict)  # non-PHI measurements, e.g. qrs_ms

    def leads(self, kind: str = "rhythm") -> dict[str, Segment]:
        """Segments of one kind by lead name (first wins)."""
        out: dict[str, Segment] = {}
        for seg in self.segments:
            if seg.kind == kind and seg.lead not in out:
                out[seg.lead] = seg
        return out
