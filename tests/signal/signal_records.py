"""Hand-made records for the signal tests (imported by test modules; not a test itself)."""

from __future__ import annotations

import numpy as np

from lvsdctl.record import LEADS12, Segment
from lvsdctl.signal.layout import PRINTOUT_ROWS


def native_segments(leads: np.ndarray, fs: float = 500.0) -> list[Segment]:
    return [Segment(lead, np.asarray(leads[i], dtype=np.float32), fs) for i, lead in enumerate(LEADS12)]


def digitised_segments(rng: np.random.Generator, value=None) -> list[Segment]:
    """A digitised printout: 12 pieces of 2.5 s and a 10 s lead II strip, each at its own rate.

    `value(lead, n, fs)` gives each piece's samples (default: smooth random ECG-like noise).
    """
    segs = []
    for row in PRINTOUT_ROWS:
        for k, lead in enumerate(row):
            n = int(rng.integers(248, 553))
            fs = n / 2.5
            sig = value(lead, n, fs) if value else np.cumsum(rng.standard_normal(n)) * 0.02
            segs.append(Segment(lead, np.asarray(sig, dtype=np.float32), fs, t0=2.5 * k, kind="piece"))
    n = int(rng.integers(990, 2211))
    sig = value("II", n, n / 10) if value else np.cumsum(rng.standard_normal(n)) * 0.02
    segs.append(Segment("II", np.asarray(sig, dtype=np.float32), n / 10, kind="rhythm"))
    return segs
