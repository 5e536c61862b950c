"""Model input layouts: the study's 4 x 5000 printout format and plain 12 x 5000.

`4x5000` (at 500 Hz, 10 s): channels 0-2 are the rows of the standard 3 x 4 printout, four 2.5 s
pieces each, and channel 3 is the 10 s lead II rhythm strip:

    channel 0: I   | aVR | V1 | V4
    channel 1: II  | aVL | V2 | V5
    channel 2: III | aVF | V3 | V6
    channel 3: II (rhythm, full 10 s)

For native 12-lead ECGs each piece is cut from the same time window of its lead (the printout's
convention): channel 0 holds I from 0-2.5 s, aVR from 2.5-5 s, V1 from 5-7.5 s, V4 from 7.5-10 s.
`12x5000` holds the 12 leads (LEADS12 order) for the full 10 s; it needs continuous leads, so
digitised printouts (2.5 s pieces only) can only take the 4x5000 layout.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from lvsdctl.record import LEADS12

LAYOUTS = ("4x5000", "12x5000")
DURATION_S = 10.0
N_PIECES = 4  # pieces per printout row
PIECE_S = DURATION_S / N_PIECES  # 2.5 s

#: Leads of channels 0-2, piece by piece (the printout's rows).
PRINTOUT_ROWS: tuple[tuple[str, ...], ...] = (
    ("I", "aVR", "V1", "V4"),
    ("II", "aVL", "V2", "V5"),
    ("III", "aVF", "V3", "V6"),
)
RHYTHM_LEAD = "II"
#: Key of the rhythm strip in `pieces_from_4ch` (lead II also appears as a 2.5 s piece).
RHYTHM_KEY = "II (rhythm)"

CHANNELS = {
    "4x5000": ["I|aVR|V1|V4", "II|aVL|V2|V5", "III|aVF|V3|V6", "II (rhythm)"],
    "12x5000": list(LEADS12),
}


def n_samples(fs: float) -> int:
    """Samples per channel: 10 s at fs (5000 at 500 Hz)."""
    return int(round(DURATION_S * fs))


@lru_cache(maxsize=16)
def piece_slots(fs: float = 500.0) -> tuple[tuple[str, int, int, int], ...]:
    """(lead, channel, piece index, first sample) of the 12 printout pieces in the 4-channel layout."""
    return tuple(piece_slots_for_length(n_samples(fs)))


def piece_length(fs: float = 500.0) -> int:
    return n_samples(fs) // N_PIECES


def channels(layout: str) -> list[str]:
    if layout not in CHANNELS:
        raise ValueError(f"unknown layout {layout!r}: use one of {', '.join(LAYOUTS)}")
    return list(CHANNELS[layout])


def four_channel_from_12(leads: np.ndarray) -> np.ndarray:
    """(..., 12, T) leads in LEADS12 order -> (..., 4, T): pieces cut from the same window of each lead."""
    t = leads.shape[-1]
    step = t // N_PIECES
    out = np.empty(leads.shape[:-2] + (4, t), dtype=leads.dtype)
    for lead, ch, k, start in piece_slots_for_length(t):
        out[..., ch, start:start + step] = leads[..., LEADS12.index(lead), start:start + step]
    out[..., 3, :] = leads[..., LEADS12.index(RHYTHM_LEAD), :]
    return out


def piece_slots_for_length(t: int) -> list[tuple[str, int, int, int]]:
    step = t // N_PIECES
    return [(lead, ch, k, k * step) for ch, row in enumerate(PRINTOUT_ROWS) for k, lead in enumerate(row)]


def pieces_from_4ch(x: np.ndarray, fs: float = 500.0) -> dict[str, tuple[float, np.ndarray]]:
    """Invert the 4-channel layout: {lead: (start time in s, samples)} for plotting and explanations.

    x is (4, T) or (..., 4, T) (e.g. attributions of a batch); the 12 pieces are keyed by lead and
    the rhythm strip by RHYTHM_KEY, with t0 = 0. Arrays are views into x.
    """
    if x.shape[-2] != 4:
        raise ValueError(f"expected 4 channels, got shape {x.shape}")
    t = x.shape[-1]
    step = t // N_PIECES
    out: dict[str, tuple[float, np.ndarray]] = {}
    for lead, ch, k, start in piece_slots_for_length(t):
        out[lead] = (start / fs, x[..., ch, start:start + step])
    out[RHYTHM_KEY] = (0.0, x[..., 3, :])
    return out
