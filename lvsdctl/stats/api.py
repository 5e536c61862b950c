"""The `stats` stage's verbs: `cohort` (Table 1 with p-values), `compare` (Table 2 / Fig. 3) and
`audit` (GRIM-style checks of a published table).

    from lvsdctl.stats import audit, cohort, compare
    table = cohort("split.h5", output="table1.md")
    result = compare(["a-eval.h5", "b-eval.h5", "c-eval.h5"], figure="fig3")
    found = audit(study=True, corrected="table2-corrected.csv")

Each reads lvsdctl files (or a metric CSV, or the article's Table 2), computes, writes what it is
asked to, and returns a dataclass whose `to_dict()` is what `--json` prints.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import pandas as pd

from lvsdctl.errors import InputError
from lvsdctl.outputs import claims_outputs
from lvsdctl.stats.comparison import CompareResult
from lvsdctl.stats.consistency import AuditResult
from lvsdctl.stats.table1 import CohortTable
from lvsdctl.summary import Summary
from lvsdctl.tables import table_format

#: Kinds of file that hold the /records a cohort table is computed from.
COHORT_KINDS = {"ecg", "ecg-raw", "predictions", "evaluation"}
LEVENE_CENTERS = ("median", "mean")


@claims_outputs("output")
def cohort(data: str | os.PathLike, output: str | os.PathLike | None = None, *, combine_train_tune: bool = True,
           unit: str = "ecg", levene_center: str = "median") -> CohortTable:
    """Table 1 of a split file, with p-values; `output` (.csv, .md or .json) gets a copy."""
    from lvsdctl.hdf5 import open_input, read_records
    from lvsdctl.stats.table1 import cohort_table
    from lvsdctl.tables import write_frame, write_json

    if levene_center not in LEVENE_CENTERS:
        raise InputError(f"--levene-center must be 'median' or 'mean', got {levene_center!r}")
    fmt = table_format(output) if output else None  # before any work
    with open_input(data, kind=COHORT_KINDS) as f:
        records = read_records(f)
        synthetic = bool(f.attrs.get("synthetic", False))
    table = cohort_table(records, combine_train_tune=combine_train_tune, unit=unit, source=str(data),
                         levene_center=levene_center)
    table.synthetic = synthetic
    if fmt == "json":
        write_json(table.to_dict(), output)
    elif fmt:
        write_frame(table.to_frame(), output, caption=table.caption, synthetic=synthetic)
    return table


@dataclass
class Comparison(Summary):
    """A model comparison: the study's tests across models (`result`, None when skipped or not asked)
    and/or the per-ECG tests between pairs of models (`per_ecg`)."""

    result: CompareResult | None = None
    skipped: str | None = None  # why the model-level comparison was not possible (e.g. two models)
    per_ecg: pd.DataFrame | None = None
    metrics: pd.DataFrame | None = None  # the long metric table compared (model, validation_set, metric, value)
    files: list[str] = field(default_factory=list)  # figures written
    synthetic: bool = False  # an input is synthetic (data, or a model trained on it)

    def to_dict(self) -> dict:
        d = self.result.to_dict() if self.result is not None else {"skipped": self.skipped}
        d["synthetic"] = self.synthetic
        if self.per_ecg is not None:
            d["per_ecg"] = self.per_ecg.to_dict(orient="records")
        return d


@claims_outputs("figure", "table", "output")
def compare(files: list[str | os.PathLike] | None = None, *, csv: str | os.PathLike | None = None,
            study: bool = False, models: list[str] | None = None, sets: list[str] | None = None,
            metrics: list[str] | None = None, keep_average: bool = False, per_ecg: bool = False,
            figure: str | os.PathLike | None = None, table: str | os.PathLike | None = None,
            output: str | os.PathLike | None = None, alpha: float = 0.05, n_boot: int = 1000,
            seed: int = 0) -> Comparison:
    """Compare models from evaluation/prediction `files`, a metric `csv`, or the article's Table 2 (`study`).

    3+ models: repeated-measures ANOVA and Friedman across models, pairwise Wilcoxon + Holm. With
    `per_ecg` (implied by prediction files) the models are also compared ECG by ECG (DeLong, patient
    bootstrap, McNemar). `figure`: the matrix of adjusted p-values (Fig. 3); `table`: the metrics in
    Table 2's layout; `output`: the comparison (.csv, .md or .json).
    """
    from lvsdctl.stats.comparison import compare_models, read_metric_csv, study_table2

    for path in (output, table):
        if path:
            table_format(path)  # before any work
    files = [str(f) for f in files or []]
    if sum([bool(files), csv is not None, study]) != 1:
        raise InputError("give evaluation files, or --csv TABLE.csv, or --study (exactly one of them)")
    if per_ecg and not files:
        raise InputError("--per-ecg needs evaluation or prediction files")
    long, synthetic = None, False
    if files:
        from lvsdctl.stats.inputs import file_kinds, metrics_from_evaluations

        kinds, synthetic = file_kinds(files)
        if "predictions" in kinds:
            per_ecg = True  # prediction files hold no metric table: compare them ECG by ECG only
        else:
            long = metrics_from_evaluations(files)
    else:
        long = read_metric_csv(csv) if csv is not None else study_table2()
    out = Comparison(metrics=long, synthetic=synthetic)
    if long is not None:
        try:
            out.result = compare_models(long, keep_average=keep_average, models=models, sets=sets, metrics=metrics,
                                        alpha=alpha)
        except InputError as exc:
            if not per_ecg:
                raise
            out.skipped = str(exc)  # e.g. two models: the per-ECG tests still apply
    if per_ecg:
        from lvsdctl.stats.inputs import predictions_from_files
        from lvsdctl.stats.paired import compare_predictions

        out.per_ecg = compare_predictions(predictions_from_files(files), sets=sets, n_boot=n_boot, seed=seed,
                                          alpha=alpha)
    if figure and out.result is not None:
        from lvsdctl.stats.figures import pvalue_matrix_figure

        out.files = [str(p) for p in pvalue_matrix_figure(out.result.p_matrix(), figure, alpha=alpha,
                                                          synthetic=synthetic)]
    if output:
        _write_output(out, output)
    if table and long is not None:
        _write_table2(long, table, synthetic=synthetic)
    return out


def _write_output(out: Comparison, path: str | os.PathLike) -> None:
    from lvsdctl.stats.output import write_compare
    from lvsdctl.tables import write_frame

    if out.result is not None:
        write_compare(out.result, path, out.per_ecg, synthetic=out.synthetic)
    elif out.per_ecg is not None:
        write_frame(out.per_ecg, path, caption="Per-ECG comparisons (Holm within set and test)",
                    synthetic=out.synthetic)


def _write_table2(long: pd.DataFrame, path: str | os.PathLike, *, synthetic: bool = False) -> None:
    """The compared metrics in Table 2's layout (with the "Average" rows the study shows)."""
    from lvsdctl.evaluate.tables import table2, with_average
    from lvsdctl.stats.comparison import AVERAGE_NAMES
    from lvsdctl.tables import write_frame

    long = long.rename(columns={"validation_set": "set"})
    if not long["set"].str.lower().isin(AVERAGE_NAMES).any():
        long = with_average(long)
    write_frame(table2(long, with_ci=False), path, synthetic=synthetic,
                caption="Table 2: the models' metrics per validation set; Average is the plain mean over the sets")


@claims_outputs("output", "corrected")
def audit(table: pd.DataFrame | str | os.PathLike | None = None, sizes: pd.DataFrame | str | os.PathLike | dict | None = None,
          *, study: bool = False, decimals: int | None = None, output: str | os.PathLike | None = None,
          corrected: str | os.PathLike | None = None, max_readings: int = 5, source: str | None = None) -> AuditResult:
    """Audit a published table of threshold metrics against its sets' sizes (`lvsdctl.stats.consistency`).

    `table`: model, validation_set, metric, value (or one column per metric), values as printed (a CSV
    or a frame); `sizes`: each set's n and positives (a CSV, a frame or {set: (n, positives)}). `study`:
    the article's Table 2 and Table 1 (shipped with lvsdctl), either replaceable. `output`: the audit as
    .md (findings and one line per row), .csv (one line per row) or .json; `corrected`: the table with the
    exchanges found undone (.csv), for `compare(csv=...)`. `decimals` overrides each value's printed precision.
    """
    from lvsdctl.stats.audit_readings import corrected_table
    from lvsdctl.stats.consistency import audit_table
    from lvsdctl.tables import write_frame, write_json, write_text

    fmt = table_format(output) if output else None  # before any work
    if corrected and not str(corrected).lower().endswith(".csv"):
        raise InputError(f"{corrected}: --corrected writes a .csv table")
    if study:
        from lvsdctl.study.published import published

        pub = published()
        if table is None:
            table, source = pub.table2(), source or "the article's Table 2"
        sizes = sizes if sizes is not None else pub.sizes()
    elif table is None or sizes is None:
        raise InputError("give TABLE.csv and --sizes SIZES.csv (or --study for the article's tables)")
    if isinstance(table, os.PathLike):
        table = str(table)
    if isinstance(sizes, os.PathLike):
        sizes = str(sizes)
    result = audit_table(table, sizes, decimals=decimals, max_readings=max_readings, source=source)
    if fmt == "json":
        write_json(result, output)
    elif fmt == "csv":
        write_frame(result.frame(), output)
    elif fmt == "md":
        write_text(output, result.markdown())
    if corrected:
        write_frame(corrected_table(table, result), corrected)
    return result


__all__ = ["AuditResult", "Comparison", "audit", "cohort", "compare"]
