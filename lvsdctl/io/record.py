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


@dataclass
class Segment:
    """One stretch of one lead at its own sampling rate."""

    lead: str  # canonical name (LEADS12); other leads keep their own name
    signal: np.ndarray  # float32, millivolts, 1-D
    fs: float  # samples per second of this segment
    t0: float = 0.0  # start, seconds from the start of the acquisition
    kind: str = "rhythm"  # "rhythm", "piece" (printed 2.5 s piece) or "median" (median beat)

    @property
    def duration(self) -> float:
        return len(self.signal) / self.fs


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
