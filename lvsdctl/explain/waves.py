"""Where the attribution sits: P wave, QRS complex, ST-T segment, per lead.

neurokit2 delineates the 10 s lead II rhythm strip (every piece of the printout shares its timeline).
Its DWT delineator is known to miss or misplace P and T waves in wide-QRS rhythms such as LBBB: a
missing wave is reported, never fatal: a beat left without a QRS or ST-T gets fixed windows around its
R peak (reported, method `dwt+fixed`), and when delineation fails outright fixed windows stand in for
every beat (`fallback`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

WAVES = ("P", "QRS", "ST-T", "other")

# Fallback windows around each R peak, seconds (wide for LBBB: QRS >= 120 ms).
_FALLBACK = {"P": (-0.26, -0.10), "QRS": (-0.08, 0.10), "ST-T": (0.10, 0.45)}


@dataclass
class Delineation:
    masks: dict[str, np.ndarray]  # wave -> bool (samples,) over the 10 s timeline
    r_peaks: np.ndarray
    method: str  # "dwt", "dwt+fixed" (some beats given fixed windows), "fallback" (all) or "none"
    problems: list[str] = field(default_factory=list)


def _valid(values, n: int) -> np.ndarray:
    arr = np.asarray(values if values is not None else [], dtype=float)
    return arr[np.isfinite(arr) & (arr >= 0) & (arr < n)].astype(int)


def _pair_mask(onsets, offsets, n: int, max_len: int) -> np.ndarray:
    """Mark [onset, next offset] intervals; unmatched or implausible pairs are skipped."""
    mask = np.zeros(n, dtype=bool)
    offsets = np.sort(offsets)
    for on in np.sort(onsets):
        after = offsets[offsets > on]
        if len(after) and after[0] - on <= max_len:
            mask[on:after[0] + 1] = True
    return mask


def _fill_missing_beats(mask: np.ndarray, r_peaks: np.ndarray, window: tuple[float, float], fs: float) -> int:
    """Mark the fixed window of every beat whose window holds none of `mask` (in place); returns how many."""
    n, filled = len(mask), 0
    for peak in r_peaks:
        a, b = max(0, peak + int(window[0] * fs)), min(n, peak + int(window[1] * fs))
        if a < b and not mask[a:b].any():
            mask[a:b] = True
            filled += 1
    return filled


def delineate(lead_ii: np.ndarray, fs: float) -> Delineation:
    """Masks of P, QRS and ST-T over the strip's samples."""
    import neurokit2 as nk

    n = len(lead_ii)
    problems: list[str] = []
    signal = np.nan_to_num(np.asarray(lead_ii, dtype=float))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, info = nk.ecg_peaks(signal, sampling_rate=int(fs))
        r = _valid(info.get("ECG_R_Peaks"), n)
    except Exception as exc:  # neurokit2 raises many kinds on odd signals
        r = np.array([], dtype=int)
        problems.append(f"R-peak detection failed ({type(exc).__name__})")
    if len(r) < 2:
        problems.append(f"only {len(r)} R peak(s) found: no wave masks")
        empty = {w: np.zeros(n, dtype=bool) for w in WAVES[:-1]}
        empty["other"] = np.ones(n, dtype=bool)
        return Delineation(empty, r, "none", problems)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, waves = nk.ecg_delineate(signal, rpeaks=r, sampling_rate=int(fs), method="dwt")
        g = lambda key: _valid(waves.get(key), n)  # noqa: E731
        masks = {
            "P": _pair_mask(g("ECG_P_Onsets"), g("ECG_P_Offsets"), n, int(0.2 * fs)),
            "QRS": _pair_mask(g("ECG_R_Onsets"), g("ECG_R_Offsets"), n, int(0.25 * fs)),
            "ST-T": _pair_mask(g("ECG_R_Offsets"), g("ECG_T_Offsets"), n, int(0.6 * fs)),
        }
        for wave, mask in masks.items():
            if not mask.any():
                problems.append(f"no {wave} wave delineated")
        method = "dwt"
        # DWT often leaves single beats without QRS or T boundaries in LBBB; those beats get the fixed
        # windows, so the beat is not counted as "other". P waves are left as found (a missing P may be
        # real, e.g. atrial fibrillation).
        for wave in ("QRS", "ST-T"):
            filled = _fill_missing_beats(masks[wave], r, _FALLBACK[wave], fs)
            if filled:
                problems.append(f"{filled} of {len(r)} beats without a delineated {wave}: fixed window used")
                method = "dwt+fixed"
    except Exception as exc:
        problems.append(f"DWT delineation failed ({type(exc).__name__}): fixed windows around R peaks used")
        masks = {w: np.zeros(n, dtype=bool) for w in _FALLBACK}
        for peak in r:
            for wave, (a, b) in _FALLBACK.items():
                masks[wave][max(0, peak + int(a * fs)):min(n, peak + int(b * fs))] = True
        method = "fallback"
    # Waves never overlap in the summary: QRS wins over ST-T, ST-T over P.
    masks["ST-T"] &= ~masks["QRS"]
    masks["P"] &= ~(masks["QRS"] | masks["ST-T"])
    masks["other"] = ~(masks["P"] | masks["QRS"] | masks["ST-T"])
    return Delineation(masks, r, method, problems)


def wave_shares(attr_piece: np.ndarray, masks: dict[str, np.ndarray], start: int) -> dict[str, float]:
    """Share of |attribution| of one lead piece (starting at `start` on the timeline) in each wave."""
    a = np.abs(np.asarray(attr_piece, dtype=float))
    total = a.sum()
    end = start + len(a)
    out = {}
    for wave in WAVES:
        m = masks[wave][start:end]
        out[wave] = float(a[m].sum() / total) if total > 0 else float("nan")
    return out
