"""The cart's own measurements in a GE MUSE export (12SL), to check lvsdctl's against.

GE's 12SL program writes, besides its statements, every beat it found (`QRSTimesTypes`: `Time` in
ms from the start of the 10 s recording and a `Type`, one morphology class per number) and its
global measurements on the median beat (`RestingECGMeasurements`: `QOnset`, `QOffset`, `TOffset`,
`POnset`, `POffset` as sample indices of the stored 500 Hz median, `QRSDuration`, `QTInterval`...).
`QTRGGR` is the median's fiducial sample: every beat's `Time` lies at that sample of the median.

Only numbers are read. For a ventricular-paced ECG 12SL's median-beat values are not in the stored
median's frame: they sit as if the pacing spike, not the QRS, were at the fiducial sample (in the
paced fixture QOnset is 6 ms after the QRS nadir of the stored median, and every value is 106 ms
late). `paced_shift` gives that offset so a comparison can be made at all; docs/measure.md shows it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lvsdctl.io.xmlsafe import localname, parse_bytes, read_bounded

MEDIAN_KEYS = ("POnset", "POffset", "QOnset", "QOffset", "TOffset")


@dataclass
class CartReference:
    """12SL's beats (ms) and median-beat measurements (samples at 500 Hz, or ms/bpm/degrees)."""

    beats_ms: np.ndarray = field(default_factory=lambda: np.zeros(0))
    beat_types: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    fiducial: int | None = None  # QTRGGR
    values: dict[str, int] = field(default_factory=dict)  # RestingECGMeasurements, integers

    def median(self, key: str) -> int | None:
        return self.values.get(key)


def _int(text: str | None) -> int | None:
    try:
        return int((text or "").strip())
    except ValueError:
        return None


def read(path: str | Path) -> CartReference:
    """The 12SL reference values of a MUSE export (empty when the file carries none)."""
    root = parse_bytes(read_bounded(path))
    out = CartReference()
    for child in root:
        name = localname(child.tag)
        if name == "RestingECGMeasurements":
            for m in child:
                v = _int(m.text)
                if v is not None:
                    out.values[localname(m.tag)] = v
        elif name == "QRSTimesTypes":
            times, types = [], []
            for q in child:
                tag = localname(q.tag)
                if tag == "QRS":
                    fields = {localname(c.tag): _int(c.text) for c in q}
                    if fields.get("Time") is not None:
                        times.append(fields["Time"])
                        types.append(fields.get("Type") or 0)
                elif tag == "QTRGGR":
                    out.fiducial = _int(q.text)
            out.beats_ms, out.beat_types = np.array(times, dtype=float), np.array(types, dtype=int)
    return out


def paced_shift(median: np.ndarray, fiducial: int) -> int:
    """Samples to subtract from 12SL's median values of a paced ECG to put them in the stored
    median's frame: the fiducial sample minus the pacing spike's sample in the stored median (the
    largest second difference of any lead)."""
    d2 = np.abs(median[:, 2:] - 2 * median[:, 1:-1] + median[:, :-2])
    spike = int(np.nanargmax(np.nanmax(d2, axis=0))) + 1
    return fiducial - spike


def match_beats(reference_ms: np.ndarray, found_ms: np.ndarray, tolerance_ms: float = 50.0) -> tuple[int, int, float]:
    """(reference beats not found within the tolerance, found beats matching no reference beat,
    largest time difference of the matched pairs in ms): each beat matches at most one other."""
    used: set[int] = set()
    worst, missed = 0.0, 0
    for t in reference_ms:
        if not len(found_ms):
            missed += 1
            continue
        order = np.argsort(np.abs(found_ms - t))
        j = next((int(k) for k in order if int(k) not in used), None)
        if j is None or abs(found_ms[j] - t) > tolerance_ms:
            missed += 1
            continue
        used.add(j)
        worst = max(worst, abs(float(found_ms[j] - t)))
    return missed, len(found_ms) - len(used), worst
