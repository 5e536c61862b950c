"""Where the attribution sits: P wave, QRS complex, ST-T segment, per lead, beat by beat.

The waves are the per-beat boundaries of `lvsdctl measure` (docs/measure.md): beats found on all
leads at once and the median beat's global boundaries placed under every beat. That replaced
neurokit2's delineation of the lead II rhythm strip alone, which on LBBB found 2 of 13 beats of a
demo ECG, sat on P waves and reported V1-V3 as 100% "other". Every printed piece shares the
recording's timeline, so one set of boundaries serves all leads. An ECG whose delineation failed
gets no wave masks (everything is "other") and says so: its shares mean nothing, and the cohort
summary leaves it out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lvsdctl.measure.analyse import BEAT_FIELDS, Analysis
from lvsdctl.measure.leads import FS as MEASURE_FS

WAVES = ("P", "QRS", "ST-T", "other")
#: One beat as `explain` stores it: its centre and boundaries, ms from the start (None: not found).
BEAT_COLUMNS = ("time_ms", *(f"{k}_ms" for k in BEAT_FIELDS))
#: Delineation statuses whose wave shares are used (a failed one is reported, never summarised).
USABLE = ("ok", "partial")


@dataclass
class Delineation:
    masks: dict[str, np.ndarray]  # wave -> bool (samples,) over the model's timeline
    status: str  # "ok", "partial" or "failed" (lvsdctl.measure.analyse)
    beats: list[dict] = field(default_factory=list)  # per beat: time_ms and boundaries in ms (None: none)
    problems: list[str] = field(default_factory=list)
    method: str = "lvsdctl.measure"
    info: dict = field(default_factory=dict)  # beats_expected, leads_used, median_source, paced

    @property
    def usable(self) -> bool:
        return self.status in USABLE

    def boundary_times_s(self) -> dict[str, list[float]]:
        """Every beat's boundaries in seconds, by kind (for drawing them on the map)."""
        out: dict[str, list[float]] = {k: [] for k in BEAT_FIELDS}
        for b in self.beats:
            for k in BEAT_FIELDS:
                if b.get(f"{k}_ms") is not None:
                    out[k].append(b[f"{k}_ms"] / 1000.0)
        return out


def from_analysis(a: Analysis, n: int, fs: float) -> Delineation:
    """Masks of P, QRS and ST-T over `n` samples at `fs` from an analysed ECG's per-beat boundaries."""
    masks = {w: np.zeros(n, dtype=bool) for w in WAVES[:-1]}
    beats = []
    times = a.beat_times_ms()
    scale = fs / MEASURE_FS
    for i in range(a.n_beats):
        b = {k: (int(v) if v >= 0 else None) for k, v in zip(BEAT_FIELDS, a.beat_bounds[i])} if len(a.beat_bounds) else {}
        beats.append({"time_ms": round(float(times[i]), 1),
                      **{f"{k}_ms": (None if v is None else round(v * 1000.0 / MEASURE_FS, 1)) for k, v in b.items()}})
        if a.status not in USABLE:
            continue
        spans = {"P": ("p_onset", "p_offset"), "QRS": ("qrs_onset", "qrs_offset"), "ST-T": ("qrs_offset", "t_offset")}
        for wave, (lo, hi) in spans.items():
            if b.get(lo) is None or b.get(hi) is None:
                continue
            start, stop = int(round(b[lo] * scale)), int(round(b[hi] * scale))
            if wave == "ST-T":
                start += 1  # the J point belongs to the QRS
            masks[wave][max(0, start):max(0, min(n, stop + 1))] = True
    # Waves never overlap in the summary: QRS wins over ST-T, ST-T over P.
    masks["ST-T"] &= ~masks["QRS"]
    masks["P"] &= ~(masks["QRS"] | masks["ST-T"])
    masks["other"] = ~(masks["P"] | masks["QRS"] | masks["ST-T"])
    info = {"beats_found": a.n_beats, "beats_expected": round(a.beats.expected, 2) if np.isfinite(a.beats.expected)
            else None, "leads_used": a.beats.leads_used, "median_source": a.median_source,
            "paced": a.ventricular_paced}
    return Delineation(masks, a.status, beats, list(dict.fromkeys(a.problems)), info=info)


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
