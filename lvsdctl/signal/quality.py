"""Per-record quality flags: a uint32 of bits, stored in the `/records/quality` column.

A record's flags are the OR of its segments' flags (each lead, piece and rhythm strip, checked on
the raw signal at its native rate, before filtering). Flagged records are kept and marked unless
`preprocess --drop-flagged`. Thresholds are module constants so a site can read what they mean:

| bit | name | set when |
|---|---|---|
| 1 | missing_lead | a lead the layout needs is absent (its place is filled with zeros) |
| 2 | flat_lead | a segment's peak-to-peak amplitude is below FLAT_MV |
| 4 | saturation | >= SATURATION_FRACTION of a segment's samples sit exactly at its maximum or minimum, at least SATURATION_MV from its mean (a clipped amplifier or a trace cut at the paper's edge) |
| 8 | nonfinite | NaN or infinite samples (interpolated over before filtering, as neurokit2 does) |
| 16 | baseline_wander | the means of consecutive 0.5 s blocks span more than BASELINE_MV |
| 32 | hf_noise | the robust SD of high-frequency noise (from the second difference) exceeds HF_NOISE_MV |
| 64 | too_short | a segment is shorter than its slot by less than the tolerance; its end is held |
"""

from __future__ import annotations

import numpy as np

MISSING_LEAD = np.uint32(1 << 0)
FLAT_LEAD = np.uint32(1 << 1)
SATURATION = np.uint32(1 << 2)
NONFINITE = np.uint32(1 << 3)
BASELINE_WANDER = np.uint32(1 << 4)
HF_NOISE = np.uint32(1 << 5)
TOO_SHORT = np.uint32(1 << 6)

#: Flag name -> bit, in bit order.
FLAGS: dict[str, np.uint32] = {
    "missing_lead": MISSING_LEAD,
    "flat_lead": FLAT_LEAD,
    "saturation": SATURATION,
    "nonfinite": NONFINITE,
    "baseline_wander": BASELINE_WANDER,
    "hf_noise": HF_NOISE,
    "too_short": TOO_SHORT,
}

FLAT_MV = 0.02  # peak-to-peak below 20 uV: no signal (a MUSE LSB is 4.88 uV)
SATURATION_FRACTION = 0.02  # 2 % of samples pinned at one extreme (0.2 s of a 10 s lead)
SATURATION_MV = 0.5
BASELINE_BLOCK_S = 0.5
BASELINE_MV = 1.5  # breathing moves the baseline ~0.1-0.5 mV; electrode motion more than 1 mV
HF_NOISE_MV = 0.05  # 50 uV RMS of broadband noise (EMG, loose electrode)


def describe(flags: int) -> list[str]:
    """Names of the bits set in one record's flags."""
    return [name for name, bit in FLAGS.items() if int(flags) & int(bit)]


def count_flags(flags: np.ndarray) -> dict[str, int]:
    """How many records carry each flag."""
    flags = np.asarray(flags, dtype=np.uint32)
    return {name: int(np.count_nonzero(flags & bit)) for name, bit in FLAGS.items()}


def segment_flags(x: np.ndarray, fs: float) -> np.ndarray:
    """Flags of each row of x (rows = segments of one rate and length, raw mV, finite), uint32."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[None]
    rows, n = x.shape
    flags = np.zeros(rows, dtype=np.uint32)
    hi, lo = x.max(axis=1), x.min(axis=1)
    ptp = hi - lo
    flags[ptp < FLAT_MV] |= FLAT_LEAD

    mean = x.mean(axis=1)
    pinned = max(3, int(np.ceil(SATURATION_FRACTION * n)))
    at_hi = np.count_nonzero(x == hi[:, None], axis=1)
    at_lo = np.count_nonzero(x == lo[:, None], axis=1)
    sat = ((at_hi >= pinned) & (hi - mean >= SATURATION_MV)) | ((at_lo >= pinned) & (mean - lo >= SATURATION_MV))
    flags[sat & (ptp >= FLAT_MV)] |= SATURATION

    block = max(1, int(BASELINE_BLOCK_S * fs))
    nb = n // block
    if nb >= 2:
        means = x[:, : nb * block].reshape(rows, nb, block).mean(axis=2)
        flags[np.ptp(means, axis=1) > BASELINE_MV] |= BASELINE_WANDER

    m = n // 3
    if m >= 3:
        # Second differences of disjoint sample triples, at most ~512 of them spread over the
        # segment (cheap, and plenty for a median). Their median absolute value ignores the QRS
        # complexes; white noise of SD s gives a second difference of SD s * sqrt(6).
        t3 = x[:, : 3 * m].reshape(rows, m, 3)[:, :: max(1, m // 512)]
        d2 = t3[:, :, 0] - 2 * t3[:, :, 1] + t3[:, :, 2]
        noise = 1.4826 * np.median(np.abs(d2), axis=1) / np.sqrt(6.0)
        flags[noise > HF_NOISE_MV] |= HF_NOISE
    return flags
