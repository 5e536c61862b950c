"""Pacemaker spikes: a ventricular-paced ECG looks like LBBB and must never count as one.

A pacing stimulus is recorded as a spike one or two samples wide: its second difference is many
times anything the heart makes (measured on the fixtures: at least 80 times the lead's 99th
percentile against at most 4.3 for every unpaced ECG, native or simulated). A beat is paced when a
spike falls within 40 ms before to 20 ms after its QRS onset; an ECG is ventricular-paced when most
of its beats are. Spikes are only visible at 250 Hz and above (not on digitised printouts).
"""

from __future__ import annotations

import numpy as np

from lvsdctl.record import LEADS12
from lvsdctl.measure.leads import FS, LeadMatrix

SPIKE_MV = 0.5  # second difference, mV per sample^2 at 500 Hz
SPIKE_RATIO = 10.0  # times the lead's 99th percentile
BEFORE_S, AFTER_S = 0.04, 0.02


def spikes(lm: LeadMatrix) -> np.ndarray:
    """Samples (at FS) of pacing spikes in any independent lead of a continuous recording."""
    if lm.kind != "continuous":
        return np.array([], dtype=int)
    rows = [LEADS12.index(lead) for lead in ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")]
    x = lm.x[rows]
    d2 = np.abs(x[:, 2:] - 2 * x[:, 1:-1] + x[:, :-2])
    with np.errstate(all="ignore"):
        p99 = np.nanpercentile(d2, 99, axis=1, keepdims=True)
        hit = (d2 >= SPIKE_MV) & (d2 >= SPIKE_RATIO * p99)
    where = np.flatnonzero(hit.any(axis=0)) + 1
    if not len(where):
        return where
    keep = np.concatenate([[True], np.diff(where) > int(0.01 * FS)])  # one spike, one sample
    return where[keep]


def paced_beats(spike_samples: np.ndarray, qrs_onsets: np.ndarray) -> np.ndarray:
    """(B,) bool: a spike lies within 40 ms before to 20 ms after the beat's QRS onset."""
    if not len(spike_samples):
        return np.zeros(len(qrs_onsets), dtype=bool)
    lo, hi = int(BEFORE_S * FS), int(AFTER_S * FS)
    return np.array([bool(((spike_samples >= on - lo) & (spike_samples <= on + hi)).any()) for on in qrs_onsets],
                    dtype=bool)
