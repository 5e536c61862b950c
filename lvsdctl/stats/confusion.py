"""What a confusion matrix of a set can print: the arithmetic of `stats audit` (GRIM-style checks).

A row of a table like the study's Table 2 reports accuracy, sensitivity, specificity, PPV, NPV and F1
of one model on one set. With the set's size N and its number of positives P (e.g. from Table 1) the
confusion matrix has only two free counts, TP in 0..P and TN in 0..N-P, so the six printed values can
be checked the way GRIM checks means (Brown & Heathers 2017). Here: printed values and their precision
(`parse_printed`), every metric of a grid of matrices (`metric_grid`), the matrices that reproduce a
set of printed cells (`solve`), one cell alone (`reachable`), and the relations between printed values
by interval arithmetic (`relations`). `lvsdctl.stats.consistency` audits whole tables with them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from lvsdctl.errors import InputError

#: The metrics one confusion matrix determines, in Table 2's order.
COUNT_METRICS = ("accuracy", "sensitivity", "specificity", "ppv", "npv", "f1")
#: Ranking metrics: checked only as means (Average rows); AUROC's granularity 1/(2 P (N-P)) is too fine
#: to constrain anything at 3 decimals for sets of this size.
RANK_METRICS = ("auroc", "auprc")
_EPS = 1e-9  # float slack on top of the half unit of the last printed digit
#: Largest set audited: every confusion matrix of the set may be enumerated (in blocks of _CELLS).
MAX_N = 100_000
_CELLS = 1 << 20


# --------------------------------------------------------------------------- printed values
@dataclass(frozen=True)
class Printed:
    """A value as printed: its number, the half unit of its last digit, and the text."""

    value: float
    half: float
    text: str

    @property
    def lo(self) -> float:
        return self.value - self.half - _EPS

    @property
    def hi(self) -> float:
        return self.value + self.half + _EPS


_NUMBER = re.compile(r"^\s*([-+]?\d*\.?\d+)\s*(%?)\s*[*†‡§a-z]*\s*$", re.IGNORECASE)


def parse_printed(text, *, decimals: int | None = None, what: str = "value") -> Printed | None:
    """'0.765*' -> Printed(0.765, 0.0005); '76.5%' -> Printed(0.765, 0.0005); '' / NaN -> None.

    The precision is the number of printed decimals (``decimals`` overrides it); values above 1 or with
    a percent sign are percentages."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return None
    raw = str(text).strip()
    if raw == "" or raw.lower() in ("nan", "n/a", "na", "-", "—"):
        return None
    m = _NUMBER.match(raw)
    if not m:
        raise InputError(f"{what}: not a number as printed (e.g. 0.765, 76.5% or 0.765*)")
    number = m.group(1)
    places = decimals if decimals is not None else (len(number.split(".")[1]) if "." in number else 0)
    value = float(number)
    scale = 100.0 if (m.group(2) or value > 1.0) else 1.0
    return Printed(value / scale, 0.5 * 10.0 ** (-places) / scale, raw)


# --------------------------------------------------------------------------- confusion-matrix arithmetic
def metric_grid(tp: np.ndarray, tn: np.ndarray, n: int, pos: int) -> dict[str, np.ndarray]:
    """Every count metric (and the alternative definitions the readings use) for arrays of TP, TN."""
    neg = n - pos
    fn, fp = pos - tp, neg - tn
    with np.errstate(divide="ignore", invalid="ignore"):
        sens = np.where(pos > 0, tp / max(pos, 1), np.nan)
        spec = np.where(neg > 0, tn / max(neg, 1), np.nan)
        ppv = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), np.nan)
        npv = np.where(tn + fn > 0, tn / np.maximum(tn + fn, 1), np.nan)
        f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1), np.nan)
        f1_neg = np.where(2 * tn + fn + fp > 0, 2 * tn / np.maximum(2 * tn + fn + fp, 1), np.nan)
        return {
            "accuracy": (tp + tn) / n, "sensitivity": sens, "specificity": spec, "ppv": ppv, "npv": npv, "f1": f1,
            "f1_negative": f1_neg, "f1_macro": (f1 + f1_neg) / 2, "balanced_accuracy": (sens + spec) / 2,
        }


def solve(constraints: dict[str, tuple[float, float]], n: int, pos: int) -> np.ndarray:
    """All (TP, TN) of a set of size ``n`` with ``pos`` positives whose metrics lie in the intervals.

    ``constraints`` maps a `metric_grid` key to (lo, hi). Sensitivity and specificity narrow TP and TN
    directly, so the grid is small whenever they are given. Returns an int array (k, 2)."""
    neg = n - pos
    if pos < 0 or neg < 0 or n <= 0:
        return np.empty((0, 2), dtype=np.int64)
    tp_lo, tp_hi, tn_lo, tn_hi = 0, pos, 0, neg
    if "sensitivity" in constraints:
        lo, hi = constraints["sensitivity"]
        if pos == 0:
            return np.empty((0, 2), dtype=np.int64)
        tp_lo, tp_hi = max(tp_lo, math.ceil(lo * pos - 1e-9)), min(tp_hi, math.floor(hi * pos + 1e-9))
    if "specificity" in constraints:
        lo, hi = constraints["specificity"]
        if neg == 0:
            return np.empty((0, 2), dtype=np.int64)
        tn_lo, tn_hi = max(tn_lo, math.ceil(lo * neg - 1e-9)), min(tn_hi, math.floor(hi * neg + 1e-9))
    if tp_lo > tp_hi or tn_lo > tn_hi:
        return np.empty((0, 2), dtype=np.int64)
    sum_lo, sum_hi = 0, n  # accuracy bounds TP + TN
    if "accuracy" in constraints:
        lo, hi = constraints["accuracy"]
        sum_lo, sum_hi = math.ceil(lo * n - 1e-9), math.floor(hi * n + 1e-9)
    found = []
    block = max(1, _CELLS // (tn_hi - tn_lo + 1))  # memory stays bounded on large sets
    for start in range(tp_lo, tp_hi + 1, block):
        tps = np.arange(start, min(start + block, tp_hi + 1))
        lo_tn, hi_tn = max(tn_lo, sum_lo - int(tps[-1])), min(tn_hi, sum_hi - int(tps[0]))
        if lo_tn > hi_tn:
            continue
        tp, tn = (g.ravel() for g in np.meshgrid(tps, np.arange(lo_tn, hi_tn + 1), indexing="ij"))
        grid = metric_grid(tp, tn, n, pos)
        ok = np.ones(tp.shape, dtype=bool)
        for key, (lo, hi) in constraints.items():
            v = grid[key]
            ok &= (v >= lo) & (v <= hi)
        found.append(np.stack([tp[ok], tn[ok]], axis=1))
    return np.concatenate(found) if found else np.empty((0, 2), dtype=np.int64)


def reachable(metric: str, lo: float, hi: float, n: int, pos: int) -> bool:
    """Whether some confusion matrix of size ``n`` with ``pos`` positives gives ``metric`` in [lo, hi]
    (GRIM for one cell): a scan over one count, not the whole (TP, TN) grid."""
    neg = n - pos

    def some_int(a: float, b: float, top: int) -> bool:
        return max(0, math.ceil(a - 1e-9)) <= min(top, math.floor(b + 1e-9))

    if metric in ("accuracy", "sensitivity", "specificity"):
        total = {"accuracy": n, "sensitivity": pos, "specificity": neg}[metric]
        return total > 0 and some_int(lo * total, hi * total, total)
    if metric in ("ppv", "npv"):  # hits / (hits + misses): hits up to `own`, misses up to `other`
        own, other = (pos, neg) if metric == "ppv" else (neg, pos)
        if lo <= 0 and other > 0:
            return True  # 0 hits
        hits = np.arange(1, own + 1, dtype=float)
        with np.errstate(divide="ignore"):
            m_lo, m_hi = hits * (1 / hi - 1), (hits * (1 / lo - 1)) if lo > 0 else np.full_like(hits, np.inf)
        return bool(np.any(np.maximum(0, np.ceil(m_lo - 1e-9)) <= np.minimum(other, np.floor(m_hi + 1e-9))))
    if metric == "f1":  # 2 TP / (2 TP + FP + FN) with FN = pos - TP, FP in 0..neg
        if lo <= 0 and n > 0:
            return True  # TP = 0
        tp = np.arange(1, pos + 1, dtype=float)
        fn = pos - tp
        with np.errstate(divide="ignore"):
            fp_lo, fp_hi = 2 * tp / hi - 2 * tp - fn, (2 * tp / lo - 2 * tp - fn) if lo > 0 else np.full_like(tp, np.inf)
        return bool(np.any(np.maximum(0, np.ceil(fp_lo - 1e-9)) <= np.minimum(neg, np.floor(fp_hi + 1e-9))))
    return bool(len(solve({metric: (lo, hi)}, n, pos)))


def matrix_dict(tp: int, tn: int, n: int, pos: int) -> dict:
    """The confusion matrix and its six metrics (rounded to 4 decimals) for the report."""
    values = metric_grid(np.array([tp]), np.array([tn]), n, pos)
    return {"tp": int(tp), "fn": int(pos - tp), "fp": int(n - pos - tn), "tn": int(tn),
            "metrics": {k: (round(float(values[k][0]), 4) if np.isfinite(values[k][0]) else None)
                        for k in COUNT_METRICS}}


def relations(v: dict[str, Printed], n: int, pos: int) -> list[dict]:
    """The consistency relations between printed values, by interval arithmetic; one dict each."""
    out = []
    prev = pos / n
    s, c = v.get("sensitivity"), v.get("specificity")
    a, p, q, f = v.get("accuracy"), v.get("ppv"), v.get("npv"), v.get("f1")

    def check(name: str, printed: Printed, lo: float, hi: float, rule: str) -> None:
        ok = printed.lo <= hi and printed.hi >= lo
        out.append({"relation": name, "rule": rule, "printed": printed.value, "implied_low": round(lo, 4),
                    "implied_high": round(hi, 4), "ok": bool(ok)})

    if s and c and a:
        check("accuracy between sensitivity and specificity", a, min(s.lo, c.lo), max(s.hi, c.hi),
              "min(sens, spec) <= accuracy <= max(sens, spec)")
        check("accuracy = prevalence-weighted sensitivity and specificity", a,
              prev * s.lo + (1 - prev) * c.lo, prev * s.hi + (1 - prev) * c.hi,
              f"accuracy = {prev:.3f} x sens + {1 - prev:.3f} x spec")
    if s and c and 0 < pos < n:
        def ppv_of(ss, cc):
            d = prev * ss + (1 - prev) * (1 - cc)
            return prev * ss / d if d > 0 else float("nan")

        def npv_of(ss, cc):
            d = (1 - prev) * cc + prev * (1 - ss)
            return (1 - prev) * cc / d if d > 0 else float("nan")

        clip = lambda x: min(max(x, 0.0), 1.0)  # noqa: E731
        s_lo, s_hi, c_lo, c_hi = clip(s.lo), clip(s.hi), clip(c.lo), clip(c.hi)
        if p:  # PPV increases with sensitivity and with specificity
            check("PPV by Bayes", p, ppv_of(s_lo, c_lo), ppv_of(s_hi, c_hi),
                  "PPV = prev sens / (prev sens + (1 - prev)(1 - spec))")
        if q:  # NPV likewise
            check("NPV by Bayes", q, npv_of(s_lo, c_lo), npv_of(s_hi, c_hi),
                  "NPV = (1 - prev) spec / ((1 - prev) spec + prev (1 - sens))")
    if f and p and s:
        hm = lambda x, y: 2 * x * y / (x + y) if x + y > 0 else 0.0  # noqa: E731
        check("F1 = harmonic mean of PPV and sensitivity", f, hm(max(p.lo, 0), max(s.lo, 0)), hm(p.hi, s.hi),
              "F1 = 2 PPV sens / (PPV + sens)")
    return out
