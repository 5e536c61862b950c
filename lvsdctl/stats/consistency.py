"""`stats audit` on a whole table: is each row's printed threshold metrics one confusion matrix?

For every row (model, set) with the set's size and positive count, `lvsdctl.stats.confusion` checks
(see there for the arithmetic):

- **reachability** of each cell alone: some TP (or TN) gives a value that rounds to the printed one;
- **consistency relations** between printed values, by interval arithmetic at printed precision:
  accuracy lies between sensitivity and specificity, weighted by prevalence; PPV and NPV follow from
  sensitivity, specificity and prevalence (Bayes); F1 is the harmonic mean of PPV and sensitivity;
- **one matrix for the whole row**: some (TP, TN) reproduces every printed cell at once.

For a row that fails, `lvsdctl.stats.audit_readings` searches the nearest readings under which it is
consistent (another positive count, two columns exchanged, the classes exchanged, macro-averaged F1,
one misprinted cell, ...) with the confusion matrix each implies, and `corrected_table` applies the
exchanges found, for `stats compare` to run on the table as published and as corrected. "Average" rows
are checked as means of the model's set rows. `audit_table(table, sizes)` does it; the stage's verb,
`lvsdctl.stats.audit` (in `api`), adds the article's tables and the files.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lvsdctl.errors import InputError
from lvsdctl.stats.confusion import (COUNT_METRICS, MAX_N, RANK_METRICS, Printed, matrix_dict, parse_printed, reachable,
                                     relations, solve)
from lvsdctl.summary import Summary

#: Column names of a sizes table (compared after `_norm`: lower case, '_', '.' and '-' as spaces).
_SIZE_ALIASES = {
    "set": "validation_set", "dataset": "validation_set", "validation set": "validation_set",
    "total": "n", "size": "n", "ecgs": "n", "pairs": "n", "n ecgs": "n",
    "pos": "positives", "positive": "positives", "lvsd": "positives", "cases": "positives", "n positive": "positives",
}


# --------------------------------------------------------------------------- results
@dataclass
class RowAudit:
    model: str
    validation_set: str
    n: int
    positives: int
    printed: dict[str, str]
    unreachable: list[str]  # cells no confusion matrix of this size reaches alone
    relations: list[dict]
    matrices: int  # confusion matrices that reproduce the whole row
    matrix: dict | None  # the matrix when exactly one does (else the first)
    readings: list[dict] = field(default_factory=list)  # nearest consistent readings (failing rows)
    values: dict[str, Printed] = field(default_factory=dict, repr=False)  # the printed cells, parsed

    @property
    def consistent(self) -> bool:
        return self.matrices > 0

    def failed_relations(self) -> list[str]:
        return [r["relation"] for r in self.relations if not r["ok"]]

    def to_dict(self) -> dict:
        return {"model": self.model, "validation_set": self.validation_set, "n": self.n,
                "positives": self.positives, "printed": self.printed, "consistent": self.consistent,
                "unreachable": self.unreachable, "relations": self.relations, "matrices": self.matrices,
                "matrix": self.matrix, "readings": self.readings}


@dataclass
class AverageAudit:
    model: str
    row: str
    metric: str
    printed: float
    mean_low: float
    mean_high: float
    sets: list[str]
    ok: bool

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class SetFinding:
    """For a set whose rows fail with the given positive count: the counts that fit most rows."""

    validation_set: str
    n: int
    positives: int
    rows: int
    consistent_as_given: int
    best_positives: list[int]
    consistent_with_best: int

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class AuditResult(Summary):
    """What `audit` found: each row checked, the Average cells, the set-level findings, what was not checked."""

    rows: list[RowAudit]
    averages: list[AverageAudit]
    sets: list[SetFinding]
    not_checked: list[str]
    source: str = "table"

    @property
    def failing(self) -> list[RowAudit]:
        return [r for r in self.rows if not r.consistent]

    def to_dict(self) -> dict:
        return {"source": self.source, "rows_checked": len(self.rows), "rows_consistent": sum(r.consistent for r in self.rows),
                "rows": [r.to_dict() for r in self.rows], "averages": [a.to_dict() for a in self.averages],
                "averages_inconsistent": [a.to_dict() for a in self.averages if not a.ok],
                "sets": [s.to_dict() for s in self.sets], "not_checked": self.not_checked,
                "findings": findings(self)}

    def markdown(self) -> str:
        """Findings as a list, then one table row per checked row."""
        from lvsdctl.tables import to_markdown

        return ("\n".join(f"- {line}" for line in findings(self)) + "\n\n"
                + to_markdown(self.frame().fillna("")))

    def frame(self) -> pd.DataFrame:
        """One line per checked row (the CSV output)."""
        out = []
        for r in self.rows:
            best = r.readings[0] if r.readings else None
            out.append({
                "model": r.model, "validation_set": r.validation_set, "n": r.n, "positives": r.positives,
                "consistent": r.consistent, "matrices": r.matrices,
                "tp": r.matrix["tp"] if r.matrix else None, "fn": r.matrix["fn"] if r.matrix else None,
                "fp": r.matrix["fp"] if r.matrix else None, "tn": r.matrix["tn"] if r.matrix else None,
                "unreachable": ";".join(r.unreachable), "failed_relations": ";".join(r.failed_relations()),
                "nearest_reading": best["reading"] if best else "",
                "reading_matrix": (f"TP={best['matrix']['tp']} FN={best['matrix']['fn']} FP={best['matrix']['fp']} "
                                   f"TN={best['matrix']['tn']}" if best else ""),
            })
        return pd.DataFrame(out)


# --------------------------------------------------------------------------- inputs
def _norm(name: str) -> str:
    return re.sub(r"[\s._-]+", " ", str(name).strip().lower())


#: The largest table file read (a published table is a few kB): bounded before anything is read.
MAX_TABLE_BYTES = 16 << 20


def _read_csv(path: str, **options) -> pd.DataFrame:
    """A CSV as text cells; InputError (naming the file and the reason, never its text) otherwise."""
    try:
        size = os.stat(path).st_size
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or type(exc).__name__})") from None
    if not os.path.isfile(path):
        raise InputError(f"{path}: not a regular file")
    if size > MAX_TABLE_BYTES:
        raise InputError(f"{path}: {size:,} bytes; a table of metrics or set sizes is at most {MAX_TABLE_BYTES:,}")
    try:
        return pd.read_csv(path, dtype=str, encoding="utf-8", **options)
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: empty (no header, no rows)") from None
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputError(f"{path}: cannot read as CSV ({type(exc).__name__})") from None


def read_sizes(sizes: pd.DataFrame | str, *, source: str = "sizes") -> dict[str, tuple[int, int]]:
    """{set name (normalised): (n, positives)} from a frame or CSV with validation_set, n, positives."""
    if not isinstance(sizes, pd.DataFrame):
        source = str(sizes)
        sizes = _read_csv(sizes, comment="#")
    df = sizes.rename(columns=lambda c: _SIZE_ALIASES.get(_norm(c), _norm(c)))
    missing = {"validation_set", "n", "positives"} - set(df.columns)
    if missing:
        raise InputError(f"{source}: missing column(s) {', '.join(sorted(missing))}; "
                         "expected validation_set, n, positives")
    out = {}
    for line, row in enumerate(df.itertuples(index=False), start=2):  # errors name the line, never a cell's text
        try:
            n, pos = int(str(row.n).replace(",", "")), int(str(row.positives).replace(",", ""))
        except ValueError:
            raise InputError(f"{source}: line {line}: n and positives must be whole numbers") from None
        if not 0 <= pos <= n or n == 0:
            raise InputError(f"{source}: line {line}: need 0 <= positives <= n and n > 0")
        if n > MAX_N:
            raise InputError(f"{source}: line {line} has n = {n}; the audit enumerates confusion "
                             f"matrices and takes sets of up to {MAX_N:,}")
        out[_norm(row.validation_set)] = (n, pos)
    return out


def read_table(table: pd.DataFrame | str, *, source: str = "table") -> pd.DataFrame:
    """A long table model, validation_set, metric, value (values kept as printed text)."""
    from lvsdctl.stats.comparison import METRIC_ALIASES

    if not isinstance(table, pd.DataFrame):
        source = str(table)
        table = _read_csv(table, keep_default_na=False)
    df = table.rename(columns=lambda c: {"set": "validation_set", "dataset": "validation_set",
                                         "validation set": "validation_set"}.get(_norm(c), _norm(c)))
    wide_metrics = [c for c in df.columns if METRIC_ALIASES.get(c) in (*COUNT_METRICS, *RANK_METRICS)]
    if {"model", "validation_set"} <= set(df.columns) and "metric" not in df.columns and wide_metrics:
        df = df.melt(id_vars=["model", "validation_set"], value_vars=wide_metrics, var_name="metric", value_name="value",
                     ignore_index=False)  # the index stays the data row (errors name it)
    missing = {"model", "validation_set", "metric", "value"} - set(df.columns)
    if missing:
        raise InputError(f"{source}: missing column(s) {', '.join(sorted(missing))}; expected model, validation_set, "
                         "metric, value (or one column per metric)")
    out = df[["model", "validation_set", "metric", "value"]].astype(str).apply(lambda s: s.str.strip())
    out["metric"] = out["metric"].str.lower().map(lambda m: METRIC_ALIASES.get(m, m))
    return out


def _metric(name: str) -> str:
    """A metric's name for an error message: a known one, else not the table's text."""
    return name if name in (*COUNT_METRICS, *RANK_METRICS) else "value of an unknown metric"


# --------------------------------------------------------------------------- the audit of a table
def audit_table(table: pd.DataFrame | str, sizes: pd.DataFrame | str | dict, *, decimals: int | None = None,
          max_readings: int = 5, source: str | None = None) -> AuditResult:
    """Check every row of ``table`` against the set sizes; see the module docstring."""
    from lvsdctl.stats.audit_readings import nearest_readings, set_findings
    from lvsdctl.stats.comparison import AVERAGE_NAMES

    src = source or (str(table) if not isinstance(table, pd.DataFrame) else "table")
    long = read_table(table, source=src)
    if isinstance(sizes, dict):
        sizes = pd.DataFrame([{"validation_set": k, "n": v[0], "positives": v[1]} for k, v in sizes.items()])
    size_map = read_sizes(sizes, source="sizes")
    rows, not_checked, printed_by_row = [], [], {}
    for (model, vset), g in long.groupby(["model", "validation_set"], sort=False):
        if _norm(vset) in AVERAGE_NAMES:
            continue
        values = {}
        for r in g.itertuples():
            if r.metric in values:
                raise InputError(f"{src}: data row {r.Index + 1}: a second {_metric(r.metric)} for its model and set")
            values[r.metric] = parse_printed(r.value, decimals=decimals, what=f"{src}: data row {r.Index + 1}, "
                                             f"{_metric(r.metric)}")
        printed_by_row[(model, vset)] = values
        counts = {k: v for k, v in values.items() if k in COUNT_METRICS and v is not None}
        if _norm(vset) not in size_map:
            not_checked.append(f"{model} / {vset}: no size for set '{vset}' in the sizes table")
            continue
        if len(counts) < 2:
            not_checked.append(f"{model} / {vset}: fewer than two of {', '.join(COUNT_METRICS)}")
            continue
        n, pos = size_map[_norm(vset)]
        rows.append(_audit_row(model, vset, counts, n, pos))
    sets = set_findings(rows, size_map)
    for row in rows:
        if not row.consistent:
            hint = next((s.best_positives for s in sets if s.validation_set == row.validation_set), [])
            row.readings = nearest_readings(row, size_map, prefer_positives=hint, limit=max_readings)
    averages = _audit_averages(long, printed_by_row, decimals)
    return AuditResult(rows, averages, sets, not_checked, src)


def _audit_row(model: str, vset: str, counts: dict[str, Printed], n: int, pos: int) -> RowAudit:
    unreachable = [k for k, v in counts.items() if not reachable(k, v.lo, v.hi, n, pos)]
    found = solve({k: (v.lo, v.hi) for k, v in counts.items()}, n, pos)
    matrix = matrix_dict(*found[0], n, pos) if len(found) else None
    return RowAudit(model, vset, n, pos, {k: v.text for k, v in counts.items()}, unreachable,
                    relations(counts, n, pos), len(found), matrix, values=counts)


def _audit_averages(long: pd.DataFrame, printed_by_row: dict, decimals: int | None) -> list[AverageAudit]:
    """Each Average cell against the mean of the model's set rows (each known to +-half a unit)."""
    from lvsdctl.stats.comparison import AVERAGE_NAMES

    out = []
    avg = long[long["validation_set"].map(_norm).isin(AVERAGE_NAMES)]
    for r in avg.itertuples(index=False):
        printed = parse_printed(r.value, decimals=decimals, what=f"an Average row's {_metric(r.metric)}")
        parts = [(s, v[r.metric]) for (m, s), v in printed_by_row.items()
                 if m == r.model and v.get(r.metric) is not None]
        if printed is None or not parts:
            continue
        lo = float(np.mean([p.value - p.half for _, p in parts]))
        hi = float(np.mean([p.value + p.half for _, p in parts]))
        ok = printed.lo <= hi and printed.hi >= lo
        out.append(AverageAudit(r.model, r.validation_set, r.metric, printed.value, round(lo, 5), round(hi, 5),
                                [s for s, _ in parts], bool(ok)))
    return out


def findings(result: AuditResult) -> list[str]:
    """The audit in plain sentences (what the CLI prints and the docs quote): sets first, then patterns
    shared by a model's rows, then each row the set-level finding does not explain, then Average cells."""
    lines = [f"{sum(r.consistent for r in result.rows)} of {len(result.rows)} rows are reachable from one confusion "
             "matrix of the given set size and positive count."]
    explained = {}  # set -> the positive count that explains its rows
    for s in result.sets:
        if s.best_positives and s.positives not in s.best_positives:
            best = s.best_positives[0]
            explained[s.validation_set] = best
            lines.append(f"set '{s.validation_set}' (n={s.n}): {s.consistent_as_given} of {s.rows} rows fit its "
                         f"{s.positives} positives, {s.consistent_with_best} fit {' or '.join(map(str, s.best_positives))}: "
                         f"the table was computed with {best} positives ({best / s.n:.1%}), or the sizes misprint the count")
    by_model: dict[str, list[RowAudit]] = {}
    for r in result.failing:
        by_model.setdefault(r.model, []).append(r)
    for model, rows in by_model.items():
        changes = [set(r.readings[0]["reading"].split("; ")) if r.readings else set() for r in rows]
        shared = {c for c in set.intersection(*changes) if "positives instead of" not in c}
        if len(rows) > 1 and shared:
            lines.append(f"{model}: {'; '.join(sorted(shared))} in every inconsistent row "
                         f"({', '.join(r.validation_set for r in rows)})")
    for r in result.failing:
        best = r.readings[0] if r.readings else None
        if best and best["reading"] == f"{explained.get(r.validation_set)} positives instead of {r.positives}":
            continue  # the set-level line says it
        what = ([f"unreachable alone: {', '.join(r.unreachable)}"] if r.unreachable else []) + (
            [f"fails: {'; '.join(r.failed_relations())}"] if r.failed_relations() else [])
        tail = (f"; nearest reading: {best['reading']} (TP={best['matrix']['tp']}, FN={best['matrix']['fn']}, "
                f"FP={best['matrix']['fp']}, TN={best['matrix']['tn']})" if best else
                "; no reading within two changes makes it consistent")
        lines.append(f"{r.model} / {r.validation_set}: inconsistent ({'; '.join(what) or 'no single matrix'}){tail}")
    for a in result.averages:
        if not a.ok:
            lines.append(f"{a.model} / {a.row} / {a.metric}: printed {a.printed:g}, but the mean of "
                         f"{', '.join(a.sets)} lies in [{a.mean_low:.4f}, {a.mean_high:.4f}]")
    lines.extend(f"not checked: {t}" for t in result.not_checked)
    return lines
