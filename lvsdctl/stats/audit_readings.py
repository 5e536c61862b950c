"""The nearest readings under which an inconsistent row of a published table becomes consistent.

A reading changes how the printed row is read, one elementary change at a time:

- another positive count for the set (its size kept), or another set's size (rows of two sets mixed up);
- two columns exchanged (e.g. specificity printed under NPV and NPV under specificity);
- the classes exchanged: every metric computed with the negative class as positive (sensitivity and
  specificity, PPV and NPV exchanged, F1 that of the negative class): what a confusion matrix unpacked
  in the wrong orientation gives;
- another definition: F1 macro-averaged over both classes, accuracy as balanced accuracy;
- values truncated instead of rounded;
- one misprinted cell (the others fit one matrix; the value they imply is given).

Readings are searched with one change, then two (another positive count or set size combined with any
other change, or two other changes), and ranked by the number of changes; among equals, a positive
count that fits the set's other rows first, then the nearest count, then the most specific (fewest
matrices). Each comes with the confusion matrix it implies. `corrected_table` applies the best
reading's exchanges to the table.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lvsdctl.stats.confusion import Printed, matrix_dict, solve
from lvsdctl.stats.consistency import AuditResult, SetFinding, _norm

_LABEL = {"accuracy": "accuracy", "sensitivity": "sensitivity", "specificity": "specificity", "ppv": "PPV",
          "npv": "NPV", "f1": "F1"}
_CLASS_SWAP = {"sensitivity": "specificity", "specificity": "sensitivity", "ppv": "npv", "npv": "ppv",
               "f1": "f1_negative", "accuracy": "accuracy"}


@dataclass(frozen=True, eq=False)
class Change:
    """One elementary change; ``key`` maps a printed column to the quantity it is read as."""

    text: str
    key: dict = field(default_factory=dict)  # printed metric -> metric_grid key it is read as
    drop: str | None = None  # a misprinted column, left out of the constraints
    truncated: bool = False
    moves: dict = field(default_factory=dict)  # for the corrected table: dst column <- value printed under src


def _changes(present: list[str]) -> list[Change]:
    out = []
    for a, b in itertools.combinations(present, 2):
        out.append(Change(f"{_LABEL[a]} and {_LABEL[b]} exchanged", key={a: b, b: a}, moves={a: b, b: a}))
    if {"sensitivity", "specificity"} <= set(present):
        out.append(Change("the classes exchanged (LVSD taken as negative: sensitivity/specificity and PPV/NPV "
                          "exchanged, F1 of the negative class)",
                          key={m: _CLASS_SWAP[m] for m in present},
                          moves={m: _CLASS_SWAP[m] for m in present if m not in ("f1", "accuracy")}))
    if "f1" in present:
        out.append(Change("F1 macro-averaged over both classes", key={"f1": "f1_macro"}))
    if "accuracy" in present:
        out.append(Change("accuracy is balanced accuracy (mean of sensitivity and specificity)",
                          key={"accuracy": "balanced_accuracy"}))
    out.append(Change("values truncated, not rounded", truncated=True))
    out.extend(Change(f"{_LABEL[m]} misprinted", drop=m) for m in present)
    return out


def _constraints(values: dict[str, Printed], changes: tuple[Change, ...]) -> dict[str, tuple[float, float]] | None:
    key = {m: m for m in values}
    for ch in changes:
        if ch.key:
            if any(key[m] != m for m in ch.key):  # two changes on one column: not a combination we read
                return None
            key.update(ch.key)
    dropped = {ch.drop for ch in changes if ch.drop}
    truncated = any(ch.truncated for ch in changes)
    out = {}
    for m, v in values.items():
        if m in dropped:
            continue
        lo, hi = (v.value - 1e-9, v.value + 2 * v.half - 1e-9) if truncated else (v.lo, v.hi)
        if key[m] in out:
            return None
        out[key[m]] = (lo, hi)
    return out


def _reading(changes, n, pos, given_pos, found, set_label=None) -> dict:
    parts = [ch.text for ch in changes]
    if set_label:
        parts.insert(0, set_label)
    elif pos != given_pos:
        parts.insert(0, f"{pos} positives instead of {given_pos}")
    tp, tn = (int(x) for x in found[0])
    matrix = matrix_dict(tp, tn, n, pos)
    out = {"reading": "; ".join(parts), "changes": len(parts), "n": n, "positives": pos, "matrices": len(found),
           "matrix": matrix}
    moves = {dst: src for ch in changes for dst, src in ch.moves.items()}
    if moves:
        out["moves"] = moves
    drop = next((ch.drop for ch in changes if ch.drop), None)
    if drop:
        implied = sorted({matrix_dict(int(a), int(b), n, pos)["metrics"][drop] for a, b in found})
        out["implied"] = {drop: implied[0] if len(implied) == 1 else [implied[0], implied[-1]]}
        out["reading"] += f" (the other cells give {_LABEL[drop]} = " + (
            f"{implied[0]:.4f})" if len(implied) == 1 else f"{implied[0]:.4f}-{implied[-1]:.4f})")
    if len(found) == 1 and any(ch.key.get("f1") == "f1_negative" for ch in changes):
        out["derived"] = {"f1": matrix["metrics"]["f1"]}  # the LVSD F1 the class exchange hid
    return out


#: Sets up to this size are searched over every positive count; larger ones within +-max(50, 2.5%) of it.
FULL_SCAN = 2000


def positive_counts(n: int, given: int) -> range:
    """The positive counts a search tries for a set of size ``n`` given ``given``."""
    if n <= FULL_SCAN:
        return range(n + 1)
    half = max(50, n // 40)
    return range(max(0, given - half), min(n, given + half) + 1)


def nearest_readings(row, size_map: dict[str, tuple[int, int]], *, prefer_positives: list[int] | None = None,
                     limit: int = 5) -> list[dict]:
    """Consistent readings of a failing row (a `RowAudit`) with the fewest changes (at most two), best first."""
    n, given, values = row.n, row.positives, row.values
    prefer = set(prefer_positives or [])
    singles = _changes(list(values))
    found: list[tuple[tuple, dict]] = []

    def attempt(changes: tuple[Change, ...], nn: int, pos: int, set_label: str | None = None) -> None:
        cons = _constraints(values, changes)
        if cons is None or len(cons) < 2:
            return
        if pos != given and not {"sensitivity", "specificity"} & set(cons):
            return  # another count with neither anchor: too loose to mean anything (and slow on large sets)
        sol = solve(cons, nn, pos)
        if len(sol):
            r = _reading(changes, nn, pos, given, sol, set_label)
            rank = (r["changes"], 0 if pos in prefer else 1, abs(pos - given) if not set_label else 0, len(sol))
            found.append((rank, r))

    other_sets = [(name, nn, pp) for name, (nn, pp) in size_map.items() if (nn, pp) != (n, given)]
    for ch in singles:  # one change
        attempt((ch,), n, given)
    for pos in positive_counts(n, given):
        if pos != given:
            attempt((), n, pos)
    for name, nn, pp in other_sets:
        attempt((), nn, pp, f"the size of set '{name}' (n={nn}, {pp} positives)")
    if not found or min(r["changes"] for _, r in found) > 1:  # two changes
        for ch in singles:
            for pos in positive_counts(n, given):
                if pos != given:
                    attempt((ch,), n, pos)
            for name, nn, pp in other_sets:
                attempt((ch,), nn, pp, f"the size of set '{name}' (n={nn}, {pp} positives)")
        for a, b in itertools.combinations(singles, 2):
            if not (a.drop and b.drop):
                attempt((a, b), n, given)
    found.sort(key=lambda t: t[0])
    seen, out = set(), []
    for rank, r in found:
        if r["reading"] not in seen:
            seen.add(r["reading"])
            out.append({**r, "rank": list(rank[:3])})
    return out[:limit]


def set_findings(rows, size_map: dict[str, tuple[int, int]]) -> list[SetFinding]:
    """For each set with a failing row: which positive counts make the most of its rows consistent
    (reported when at least two rows agree on a count other than the given one)."""
    out = []
    by_set: dict[str, list] = {}
    for r in rows:
        by_set.setdefault(r.validation_set, []).append(r)
    for vset, rs in by_set.items():
        if all(r.consistent for r in rs):
            continue
        n, given = size_map[_norm(vset)]
        counts = {}
        for pos in positive_counts(n, given):
            counts[pos] = sum(bool(len(solve({m: (v.lo, v.hi) for m, v in r.values.items()}, n, pos))) for r in rs)
        best = max(counts.values())
        as_given = counts[given]
        best_pos = sorted((p for p, c in counts.items() if c == best), key=lambda p: abs(p - given))
        # One row cannot tell a wrong count from the row's own error: a set-level reading needs two rows.
        out.append(SetFinding(vset, n, given, len(rs), as_given, best_pos if best > as_given and best >= 2 else [], best))
    return out


def corrected_table(table: pd.DataFrame | str, result: AuditResult) -> pd.DataFrame:
    """The table with every exchange the audit found undone (values moved back, never invented), and
    the Average cells of the affected metrics recomputed as means of the corrected set rows.

    Only readings that move printed values (column or class exchanges) are applied, and only when no
    other reading ranks as well with other moves (an ambiguous row is left as printed); another
    positive count changes no value, and a misprinted cell has no single correction."""
    from lvsdctl.stats.comparison import AVERAGE_NAMES
    from lvsdctl.stats.confusion import parse_printed
    from lvsdctl.stats.consistency import read_table

    long = read_table(table).copy()
    touched: dict[str, set[str]] = {}
    for r in result.failing:
        best = r.readings[0] if r.readings else None
        if not best or not (best.get("moves") or best.get("derived")):
            continue
        if any(o["rank"] == best["rank"] and o.get("moves") != best.get("moves") for o in r.readings[1:]):
            continue  # ambiguous
        sel = (long["model"] == r.model) & (long["validation_set"] == r.validation_set)
        current = dict(zip(long.loc[sel, "metric"], long.loc[sel, "value"]))
        for dst, src in best.get("moves", {}).items():  # the value printed under `src` belongs under `dst`
            long.loc[sel & (long["metric"] == dst), "value"] = current[src]
            touched.setdefault(r.model, set()).add(dst)
        for metric, value in best.get("derived", {}).items():  # e.g. the LVSD F1 a class exchange hid
            places = max(0, -int(round(math.log10(2 * r.values[metric].half))))
            long.loc[sel & (long["metric"] == metric), "value"] = f"{value:.{places}f}"
            touched.setdefault(r.model, set()).add(metric)
    for model, metrics in touched.items():
        for metric in metrics:
            sets = long[(long["model"] == model) & (long["metric"] == metric)
                        & ~long["validation_set"].map(_norm).isin(AVERAGE_NAMES)]
            avg_sel = ((long["model"] == model) & (long["metric"] == metric)
                       & long["validation_set"].map(_norm).isin(AVERAGE_NAMES))
            if avg_sel.any() and len(sets):
                printed = [parse_printed(v) for v in sets["value"]]
                places = max(0, -int(round(math.log10(2 * printed[0].half))))
                long.loc[avg_sel, "value"] = f"{np.mean([p.value for p in printed]):.{places}f}"
    return long


__all__ = ["Change", "corrected_table", "nearest_readings", "set_findings"]
