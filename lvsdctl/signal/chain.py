"""The preprocessing chain on a batch of records in memory: filter, resample, lay out, flag.

Segments are filtered at their native rate and resampled afterwards, as the study did (each 2.5 s
piece of a digitised printout on its own; each lead of a native ECG over its full length, pieces
cut afterwards). All segments of a batch that share (rate, length, output length) are stacked and
filtered as one 2-D array, so a batch costs a handful of scipy calls, not one per lead.
"""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from threadpoolctl import threadpool_limits

from lvsdctl.record import LEADS12, Segment, counts_to_mv
from lvsdctl.signal import quality as q
from lvsdctl.signal.filters import FilterSpec, apply_filter, fill_nonfinite, parse_filter
from lvsdctl.signal.layout import (
    CHANNELS,
    DURATION_S,
    LAYOUTS,
    PIECE_S,
    RHYTHM_LEAD,
    n_samples,
    piece_slots,
)
from lvsdctl.signal.resample import RESAMPLE_METHODS, resample

#: none: millivolts; zscore: per record and channel (ECG-FM's pretraining); zscore-ecg: one mean and SD
#: over all channels and samples of each record, (x - mean) / (SD + 1e-8) (ECGFounder's).
NORMALISATIONS = ("none", "zscore", "zscore-ecg")
#: Named chains: (filter, normalisation). "study" is the article's; "ecgfounder" is the one ECGFounder's
#: authors require for their weights (`util.filter_bandpass`, then `z_score_normalization`).
CHAINS = {"study": ("neurokit", "none"), "ecgfounder": ("ecgfounder", "zscore-ecg")}
#: A segment may fall short of its slot by this fraction: it is kept, flagged too_short, its end
#: held. Shorter segments reject the record.
LENGTH_TOLERANCE = 0.02
# Rows x samples filtered at once by one thread (float64, ~4 MB): small blocks keep temporaries in
# reused heap memory (fresh large allocations cost page faults) and give every thread work.
_BLOCK_SAMPLES = 1 << 19
#: The limb leads as a * I + b * II (Einthoven's and Goldberger's identities).
LIMB_IDENTITIES = {"III": (-1.0, 1.0), "aVR": (-0.5, -0.5), "aVL": (1.0, -0.5), "aVF": (-0.5, 1.0)}
_ZSCORE_EPS = 1e-6  # mV: a channel with a smaller SD is flat and becomes zeros


@dataclass(frozen=True)
class ChainConfig:
    """What preprocessing does; `attrs()` is what the output file records."""

    layout: str = "4x5000"
    fs: float = 500.0
    filter: FilterSpec = field(default_factory=FilterSpec)
    resample: str = "linear"
    normalise: str = "none"

    def __post_init__(self) -> None:
        # Files record the true shape ("4x2500" at 250 Hz): accept it for the arrangement it names.
        m = re.fullmatch(r"(4|12)x(\d+)", str(self.layout))
        if not m:
            raise ValueError(f"unknown layout {self.layout!r}: use one of {', '.join(LAYOUTS)}")
        if self.layout not in LAYOUTS and int(m.group(2)) != n_samples(self.fs):
            raise ValueError(f"layout {self.layout} does not hold 10 s at {self.fs:g} Hz")
        object.__setattr__(self, "layout", f"{m.group(1)}x5000")
        if self.resample not in RESAMPLE_METHODS:
            raise ValueError(f"unknown resampling {self.resample!r}: use one of {', '.join(RESAMPLE_METHODS)}")
        if self.normalise not in NORMALISATIONS:
            raise ValueError(f"unknown normalisation {self.normalise!r}: use one of {', '.join(NORMALISATIONS)}")
        if not self.fs > 0:
            raise ValueError(f"target rate must be positive, got {self.fs}")

    @classmethod
    def make(cls, layout="4x5000", fs=500.0, filter=None, resample="linear", normalise=None, chain=None):
        """A config from short names; ``filter`` / ``normalise`` default to those of ``chain`` (default
        "study"), and contradicting a named chain is an error."""
        if chain is not None and chain not in CHAINS:
            raise ValueError(f"unknown chain {chain!r}: use one of {', '.join(CHAINS)}")
        chain_filter, chain_norm = CHAINS[chain or "study"]
        spec = parse_filter(filter if filter is not None else chain_filter)
        norm = normalise if normalise is not None else chain_norm
        if chain is not None and (spec != parse_filter(chain_filter) or norm != chain_norm):
            raise ValueError(f"the {chain} chain is filter {chain_filter} with normalisation {chain_norm}; "
                             "leave --filter / --normalise out, or leave out --chain")
        return cls(layout=layout, fs=float(fs), filter=spec, resample=resample, normalise=norm)

    @property
    def chain(self) -> str:
        """The name of the chain this is ("study", "ecgfounder"), or "custom"."""
        for name, (filt, norm) in CHAINS.items():
            if self.filter == parse_filter(filt) and self.normalise == norm:
                return name
        return "custom"

    @classmethod
    def from_attrs(cls, pre: dict) -> "ChainConfig":
        """The chain a file or a model records (`attrs()`, a checkpoint's `preprocessing`)."""
        filt = pre.get("filter") or "neurokit"
        return cls.make(layout=pre.get("layout", "4x5000"), fs=pre.get("fs", 500.0),
                        filter=FilterSpec.from_json(filt) if isinstance(filt, dict) else filt,
                        resample=pre.get("resample", "linear"), normalise=pre.get("normalisation", "none"))

    @property
    def channels(self) -> list[str]:
        return list(CHANNELS[self.layout])

    @property
    def n_samples(self) -> int:
        return n_samples(self.fs)

    def attrs(self) -> dict:
        return {"chain": self.chain, "layout": self.layout, "fs": self.fs, "filter": self.filter.to_json(),
                "resample": self.resample, "normalisation": self.normalise,
                "order": "filter at each segment's native rate, then resample"}


@dataclass
class BatchResult:
    signals: np.ndarray  # (kept, C, T) float32, in batch order
    kept: np.ndarray  # batch positions of the rows of `signals`
    flags: np.ndarray  # uint32 per kept record
    rejected: dict[int, str]  # batch position -> reason (no patient data)


@dataclass
class _Jobs:
    """Segments to filter, and where each one's output goes."""

    seg: list[Segment] = field(default_factory=list)
    fs: list[float] = field(default_factory=list)
    n_out: list[int] = field(default_factory=list)
    rec: list[int] = field(default_factory=list)
    # per job: list of (source start, channel, destination start, length)
    dest: list[list[tuple[int, int, int, int]]] = field(default_factory=list)

    def add(self, seg: Segment, n_out: int, rec: int, dest: list[tuple[int, int, int, int]]) -> None:
        self.seg.append(seg)
        self.fs.append(float(seg.fs))
        self.n_out.append(n_out)
        self.rec.append(rec)
        self.dest.append(dest)

    def extend(self, other: "_Jobs") -> None:
        for name in ("seg", "fs", "n_out", "rec", "dest"):
            getattr(self, name).extend(getattr(other, name))


def _first_by_lead(segments: list[Segment], kind: str) -> dict[str, Segment]:
    out: dict[str, Segment] = {}
    for s in segments:
        if s.kind == kind and s.lead not in out:
            out[s.lead] = s
    return out


def _length_check(seg: Segment, slot_s: float, what: str) -> tuple[str | None, bool]:
    """(rejection reason or None, too_short flag) for a segment that must fill slot_s seconds."""
    need = slot_s * seg.fs
    n = seg.size
    if n < 2 or n < need * (1 - LENGTH_TOLERANCE):
        # Generic on purpose: reasons are counted, and a duration in each would split the count.
        return f"too short: {what} under {slot_s:g} s", False
    return None, n < need - 1


def _limb_leads_derived(rhythm: dict[str, Segment]) -> bool:
    """Are III, aVR, aVL and aVF exactly a * I + b * II (to float32 rounding) in this record?"""
    segs = [rhythm.get(lead) for lead in ("I", "II", *LIMB_IDENTITIES)]
    if any(s is None for s in segs) or len({(s.fs, s.size) for s in segs}) != 1:
        return False
    if _limb_codes_derived(segs):
        return True
    i, ii = segs[0].signal, segs[1].signal
    # A reader derives them in float32 (a rounding or two); the check in float32 adds one more:
    # 2^-21 of the operands' size bounds them all, far below any real difference between leads.
    tol = np.float32(2.0 ** -21) * (np.abs(i) + np.abs(ii)) + np.float32(1e-9)
    for seg, (a, b) in zip(segs[2:], LIMB_IDENTITIES.values()):
        if not np.all(np.abs(seg.signal - (np.float32(a) * i + np.float32(b) * ii)) <= tol):
            return False
    return True


def _limb_codes_derived(segs: list[Segment]) -> bool:
    """The same question answered exactly on integer codes (MUSE: III = II - I in counts; aVR, aVL, aVF =
    -(I + II), 2I - II, 2II - I in half-counts), without converting a sample. True here implies True from
    the float32 check (each side is then within two roundings of the other); False leaves it to that check."""
    lead_i, lead_ii, iii, avr, avl, avf = segs
    scale = lead_i.scale
    if (any(s.counts is None for s in segs) or not scale > 0 or lead_ii.scale != scale or iii.scale != scale
            or any(s.scale != scale / 2 for s in (avr, avl, avf))):
        return False
    a, b = lead_i.counts.astype(np.int32), lead_ii.counts.astype(np.int32)
    d = b - a
    return (np.array_equal(iii.counts, d) and np.array_equal(avr.counts, -(a + b))
            and np.array_equal(avl.counts, a - d) and np.array_equal(avf.counts, b + d))


@lru_cache(maxsize=16)
def _code_table(scale: float) -> np.ndarray:
    """float64(float32(code x scale)) for every int16 code, indexed by the code's bits as uint16: a
    segment's samples exactly as `Segment.signal` gives them, in one gather instead of three passes."""
    return counts_to_mv(np.arange(1 << 16, dtype=np.uint16).view(np.int16), scale).astype(np.float64)


def _stack(segments: list[Segment]) -> np.ndarray:
    """The segments (equal lengths) as rows of one float64 array."""
    out = np.empty((len(segments), segments[0].size))
    for row, seg in zip(out, segments):
        if seg.counts is not None:
            codes = np.ascontiguousarray(seg.counts, dtype=np.int16)  # native order: its bits index the table
            np.take(_code_table(seg.scale), codes.view(np.uint16), out=row, mode="clip")
        else:
            row[:] = seg.signal
    return out


def _plan_record(b: int, segments: list[Segment], cfg: ChainConfig, jobs: _Jobs,
                 limb_identities: bool = True) -> tuple[str | None, np.uint32, bool]:
    """Queue one record's segments; returns (rejection reason, flags, limb leads derived)."""
    t = cfg.n_samples
    flags = np.uint32(0)
    derive = False
    local = _Jobs()
    pieces = _first_by_lead(segments, "piece")
    rhythm = _first_by_lead(segments, "rhythm")
    if pieces:
        if cfg.layout != "4x5000":
            return ("digitised printout (2.5 s pieces): only the 4x5000 layout is possible, "
                    f"not {cfg.layout}"), flags, False
        step = t // 4
        for lead, ch, _k, start in piece_slots(cfg.fs):
            seg = pieces.get(lead)
            if seg is None:
                flags |= q.MISSING_LEAD
                continue
            reason, short = _length_check(seg, PIECE_S, f"piece {lead}")
            if reason:
                return reason, flags, False
            flags |= q.TOO_SHORT if short else 0
            local.add(seg, step, b, [(0, ch, start, step)])
        strip = rhythm.get(RHYTHM_LEAD)
        if strip is None:
            flags |= q.MISSING_LEAD
        else:
            reason, short = _length_check(strip, DURATION_S, f"rhythm strip {RHYTHM_LEAD}")
            if reason:
                return reason, flags, False
            flags |= q.TOO_SHORT if short else 0
            local.add(strip, t, b, [(0, 3, 0, t)])
    else:
        if not any(lead in rhythm for lead in LEADS12):
            return "no standard leads (I, II, III, aVR, aVL, aVF, V1-V6)", flags, False
        slots: dict[str, list[tuple[int, int, int, int]]] = {lead: [] for lead in LEADS12}
        if cfg.layout == "12x5000":
            for ch, lead in enumerate(LEADS12):
                slots[lead].append((0, ch, 0, t))
        else:
            step = t // 4
            for lead, ch, _k, start in piece_slots(cfg.fs):
                slots[lead].append((start, ch, start, step))
            slots[RHYTHM_LEAD].append((0, 3, 0, t))
        derive = limb_identities and _limb_leads_derived(rhythm)
        if derive:
            slots["I"].append((0, -1, 0, t))  # channel -1 / -2: the scratch rows of I / II
            slots["II"].append((0, -2, 0, t))
        for lead in LEADS12:
            if derive and lead in LIMB_IDENTITIES:
                continue
            seg = rhythm.get(lead)
            if seg is None:
                flags |= q.MISSING_LEAD
                continue
            reason, short = _length_check(seg, DURATION_S, f"lead {lead}")
            if reason:
                return reason, flags, False
            flags |= q.TOO_SHORT if short else 0
            local.add(seg, t, b, slots[lead])
    jobs.extend(local)  # only now: a rejected record must leave no jobs behind
    return None, flags, derive


def _zscore(x: np.ndarray) -> np.ndarray:
    """Per-record, per-channel z-score over time; flat channels become zeros."""
    mean = x.mean(axis=-1, keepdims=True, dtype=np.float64)
    sd = x.std(axis=-1, keepdims=True, dtype=np.float64)
    out = np.where(sd > _ZSCORE_EPS, (x - mean) / np.where(sd > _ZSCORE_EPS, sd, 1.0), 0.0)
    return out.astype(np.float32)


def zscore_ecg(x: np.ndarray) -> np.ndarray:
    """One z-score per record (..., C, T) over all its channels and samples, ECGFounder's
    ``(x - mean) / (std + 1e-8)`` (a flat record becomes zeros); float32 out, float64 inside."""
    out = np.empty(np.shape(x), dtype=np.float32)
    flat, dest = np.reshape(x, (-1,) + out.shape[-2:]), out.reshape((-1,) + out.shape[-2:])
    for i, record in enumerate(flat):  # one record at a time: its float64 copy stays in cache (5x faster)
        r = record.astype(np.float64)
        dest[i] = (r - r.mean()) / (r.std() + 1e-8)
    return out


def normalise(x: np.ndarray, how: str) -> np.ndarray:
    """Apply a normalisation (NORMALISATIONS) to records (N, C, T)."""
    if how == "zscore":
        return _zscore(x)
    if how == "zscore-ecg":
        return zscore_ecg(x)
    if how == "none":
        return x
    raise ValueError(f"unknown normalisation {how!r}: use one of {', '.join(NORMALISATIONS)}")


def _n_jobs(jobs: int | None) -> int:
    if jobs is not None:
        return max(1, int(jobs))
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


@lru_cache(maxsize=4)
def _pool(n: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=n, thread_name_prefix="lvsdctl-preprocess")


def process_batch(batch: list[list[Segment]], cfg: ChainConfig, jobs: int | None = None,
                  limb_identities: bool = True) -> BatchResult:
    """Filter, resample and lay out a batch of records (lists of segments) as (kept, C, T) float32.

    Work is split into row blocks of equal (rate, length) segments run on `jobs` threads (scipy's
    filters and numpy's kernels release the GIL). With `limb_identities`, records whose III, aVR,
    aVL and aVF are exactly derived from I and II (MUSE and most 8-lead devices) get those four
    computed from the processed I and II instead of being filtered again: a linear chain gives the
    same result to float32 rounding, and a third of the filtering is saved (not done for a nonlinear
    filter, e.g. ECGFounder's median baseline).
    """
    t = cfg.n_samples
    out = np.zeros((len(batch), len(cfg.channels), t), dtype=np.float32)
    flags = np.zeros(len(batch), dtype=np.uint32)
    rejected: dict[int, str] = {}
    plan = _Jobs()
    derived: list[int] = []
    limb_identities = limb_identities and cfg.filter.linear  # a median does not commute with them
    for b, segments in enumerate(batch):
        reason, fl, limb = _plan_record(b, segments, cfg, plan, limb_identities)
        if reason:
            rejected[b] = reason
        elif limb:
            derived.append(b)
        flags[b] = fl
    # Processed I and II of the records whose limb leads are derived (float64: derivation exact).
    limb_rows = {b: i for i, b in enumerate(derived)}
    limb = np.zeros((len(derived), 2, t)) if derived else None

    groups: dict[tuple[float, int, int], list[int]] = {}
    for j, (seg, fs, n_out) in enumerate(zip(plan.seg, plan.fs, plan.n_out)):
        groups.setdefault((fs, seg.size, n_out), []).append(j)
    tasks = []
    for (fs, n, n_out), ids in groups.items():
        step = max(1, _BLOCK_SAMPLES // max(n, n_out))
        tasks.extend((fs, n_out, ids[lo:lo + step]) for lo in range(0, len(ids), step))

    def run(task: tuple[float, int, list[int]]) -> tuple[list[int], np.ndarray, str | None]:
        fs, n_out, part = task
        raw, had_bad = fill_nonfinite(_stack([plan.seg[j] for j in part]), copy=False)
        seg_flags = q.segment_flags(raw, fs)
        seg_flags[had_bad] |= q.NONFINITE
        try:
            y = resample(apply_filter(raw, fs, cfg.filter), fs, cfg.fs, n_out, cfg.resample)
        except ValueError as exc:  # e.g. a band-pass edge above this segment's Nyquist frequency
            why = ("band-pass upper edge above the segment's Nyquist frequency" if "Nyquist" in str(exc)
                   else "segment too short for the filter")
            return part, seg_flags, f"cannot filter: {why}"
        for row, j in enumerate(part):  # destinations are disjoint: safe from several threads
            b = plan.rec[j]
            for src, ch, dst, length in plan.dest[j]:
                if ch < 0:
                    limb[limb_rows[b], -1 - ch] = y[row]
                else:
                    out[b, ch, dst:dst + length] = y[row, src:src + length]
        return part, seg_flags, None

    n_jobs = _n_jobs(jobs)
    # One BLAS thread per worker: parallelism comes from the workers (and an idle BLAS thread
    # spinning on a shared machine only steals time).
    with threadpool_limits(1, user_api="blas"):
        if n_jobs > 1 and len(tasks) > 1:
            results = list(_pool(n_jobs).map(run, tasks))
        else:
            results = [run(task) for task in tasks]
    for part, seg_flags, error in results:
        for row, j in enumerate(part):
            flags[plan.rec[j]] |= seg_flags[row]
            if error:
                rejected.setdefault(plan.rec[j], error)
    derived = [b for b in derived if b not in rejected]
    if derived:
        _place_derived(out, limb[[limb_rows[b] for b in derived]], np.array(derived), cfg)

    kept = np.array([b for b in range(len(batch)) if b not in rejected], dtype=np.int64)
    signals = out if len(kept) == len(batch) else out[kept]  # (a copy only when records were rejected)
    return BatchResult(signals=normalise(signals, cfg.normalise), kept=kept, flags=flags[kept], rejected=rejected)


def _place_derived(out: np.ndarray, limb: np.ndarray, records: np.ndarray, cfg: ChainConfig) -> None:
    """Write III, aVR, aVL, aVF = a * I + b * II of processed I and II into their places."""
    t = cfg.n_samples
    step = t // 4
    for lead, (a, b) in LIMB_IDENTITIES.items():
        if cfg.layout == "12x5000":
            out[records, LEADS12.index(lead)] = a * limb[:, 0] + b * limb[:, 1]
            continue
        for name, ch, _k, start in piece_slots(cfg.fs):
            if name == lead:
                window = slice(start, start + step)
                out[records, ch, window] = a * limb[:, 0, window] + b * limb[:, 1, window]
