"""`lvsdctl stats`: the study's statistics (Table 1 cohort table, Table 2 / Fig. 3 model comparison)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from lvsdctl.cli.app import app
from lvsdctl.cli.options import Json, OptionalOutput, Quiet, Seed

stats_app = typer.Typer(
    short_help="The study's statistics: Table 1 (cohort), Table 2 and Fig. 3 (compare).",
    help=(
        "The study's statistics.\n\n"
        "  lvsdctl stats cohort split.h5                      Table 1 with p-values\n\n"
        "  lvsdctl stats compare a-eval.h5 b-eval.h5 c-eval.h5  RM-ANOVA, Friedman, Wilcoxon+Holm\n\n"
        "  lvsdctl stats compare --csv table2.csv --figure fig3.png\n\n"
        "  lvsdctl stats compare --study                      re-analyse the article's Table 2"
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
)
app.add_typer(stats_app, name="stats")


def _check_output_suffix(output: Optional[str]) -> None:
    """Fail before any work when -o names a format these commands cannot write."""
    if output and not output.lower().endswith((".csv", ".md", ".json")):
        from lvsdctl.errors import InputError

        raise InputError(f"{output}: -o writes .csv, .md or .json (use --json for stdout)")


def _split_list(text: Optional[str]) -> Optional[list[str]]:
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


@stats_app.command("cohort", short_help="Table 1: the cohort per set with p-values (ANOVA/Welch by Levene, chi-square).")
def cohort(
    data: Annotated[str, typer.Argument(help="An 'ecg' file after `lvsdctl split` ('-' reads stdin).")],
    output: OptionalOutput = None,
    separate_tuning: Annotated[bool, typer.Option("--separate-tuning", help="Show training and tuning as two sets (the study merges them).")] = False,
    unit: Annotated[str, typer.Option("--unit", help="'ecg' (each ECG-echo pair, as the study) or 'patient' (first pair of each patient).")] = "ecg",
    levene_center: Annotated[str, typer.Option("--levene-center", help="Levene's test centre: 'median' (Brown-Forsythe, scipy's default) or 'mean' (Levene's original).")] = "median",
    json_out: Json = False,
    quiet: Quiet = False,
) -> None:
    """Table 1: patients, ECG-echo pairs, age, females, LVEF and LVSD per set, with p-values.

    Continuous variables: Levene's test picks one-way ANOVA or Welch's ANOVA (Shapiro-Wilk reported);
    categorical: chi-square. -o writes .csv, .md or .json.

    Example: lvsdctl stats cohort split.h5 -o table1.md
    """
    from lvsdctl.cli.console import emit_json, err
    from lvsdctl.evaluate.tables import to_rich, write_frame
    from lvsdctl.hdf5 import open_input, read_records
    from lvsdctl.stats.cohort import cohort_table

    with open_input(data, kind={"ecg", "ecg-raw", "predictions", "evaluation"}) as f:
        records = read_records(f)
    if levene_center not in ("median", "mean"):
        from lvsdctl.errors import InputError

        raise InputError(f"--levene-center must be 'median' or 'mean', got {levene_center!r}")
    _check_output_suffix(output)
    table = cohort_table(records, combine_train_tune=not separate_tuning, unit=unit, source=data,
                         levene_center=levene_center)
    frame = table.to_frame()
    if output:
        if output.lower().endswith(".json"):
            import json
            from pathlib import Path

            from lvsdctl.stats.output import _clean

            Path(output).write_text(json.dumps(_clean(table.to_dict()), indent=2), encoding="utf-8")
        else:
            write_frame(frame, output)
    if not quiet:
        err.print(to_rich(table.to_frame(short=True), title=f"Cohort ({'ECG-echo pairs' if unit == 'ecg' else 'patients'})"))
    if json_out:
        emit_json(table.to_dict())


@stats_app.command("compare", short_help="Model comparison (Table 2, Fig. 3): RM-ANOVA, Friedman, Wilcoxon + Holm; per-ECG DeLong and McNemar.")
def compare(
    files: Annotated[Optional[list[str]], typer.Argument(help="Evaluation files (one per model) from `lvsdctl evaluate`.", show_default=False)] = None,
    csv: Annotated[Optional[str], typer.Option("--csv", help="Read metrics from a CSV with columns model, validation_set, metric, value instead.")] = None,
    study: Annotated[bool, typer.Option("--study", help="Use the article's Table 2 (shipped with lvsdctl).")] = False,
    models: Annotated[Optional[str], typer.Option("--models", help="Comma-separated subset of models.")] = None,
    sets: Annotated[Optional[str], typer.Option("--sets", help="Comma-separated subset of validation sets.")] = None,
    metrics: Annotated[Optional[str], typer.Option("--metrics", help="Comma-separated subset of metrics (accuracy,sensitivity,...).")] = None,
    keep_average: Annotated[bool, typer.Option("--keep-average", help="Also use the 'Average' rows as blocks (they are means of the others; off by default).")] = False,
    per_ecg: Annotated[bool, typer.Option("--per-ecg", help="Also compare the models ECG by ECG (DeLong, patient bootstrap, McNemar; needs evaluation/prediction files of the same ECGs).")] = False,
    figure: Annotated[Optional[str], typer.Option("--figure", help="Write the matrix of adjusted p-values (Fig. 3) as PNG and SVG.")] = None,
    table_out: Annotated[Optional[str], typer.Option("--table", help="Also write the models' metrics in Table 2's layout (.csv, .md or .json).")] = None,
    output: OptionalOutput = None,
    alpha: Annotated[float, typer.Option("--alpha", help="Significance level.")] = 0.05,
    n_boot: Annotated[int, typer.Option("--bootstrap", help="Replicates of the patient bootstrap (--per-ecg).")] = 1000,
    seed: Seed = 0,
    json_out: Json = False,
    quiet: Quiet = False,
) -> None:
    """Compare 3+ models the study's way: repeated-measures ANOVA and Friedman test with the model as
    within factor and each (validation set, metric) cell as a block, then pairwise Wilcoxon signed-rank
    tests with Holm's correction. Normality of the differences (Shapiro-Wilk) and sphericity (Mauchly)
    are reported. -o writes .csv (pairwise), .md or .json (everything).

    Examples:

      lvsdctl stats compare fcn-eval.h5 incep-eval.h5 ssff-eval.h5 --figure fig3

      lvsdctl stats compare --study    (F = 16.67, p < 0.001, as the article reports)

      lvsdctl stats compare a-pred.h5 b-pred.h5    (two models, ECG by ECG: DeLong, McNemar)
    """
    from lvsdctl.cli.console import emit_json, err
    from lvsdctl.errors import InputError
    from lvsdctl.stats.compare import compare_models, read_metric_csv, study_table2
    from lvsdctl.stats.output import compare_summary_lines, fmt_p, pairwise_frame, print_frame, write_compare

    _check_output_suffix(output)
    _check_output_suffix(table_out)
    sources = sum([bool(files), csv is not None, study])
    if sources != 1:
        raise InputError("give evaluation files, or --csv TABLE.csv, or --study (exactly one of them)")
    if per_ecg and not files:
        raise InputError("--per-ecg needs evaluation or prediction files")
    if files:
        from lvsdctl.stats.inputs import file_kinds

        if "predictions" in file_kinds(files):
            per_ecg = True  # prediction files hold no metric table: compare them ECG by ECG only
    result, skipped = None, None
    if csv is not None:
        table = read_metric_csv(csv)
    elif study:
        table = study_table2()
    else:
        from lvsdctl.stats.inputs import metrics_from_evaluations

        table = metrics_from_evaluations(files) if "predictions" not in file_kinds(files) else None
    if table is not None:
        try:
            result = compare_models(table, keep_average=keep_average, models=_split_list(models),
                                    sets=_split_list(sets), metrics=_split_list(metrics), alpha=alpha)
        except InputError as exc:
            if not per_ecg:
                raise
            skipped = str(exc)  # e.g. two models: the per-ECG tests still apply
    paired = None
    if per_ecg:
        from lvsdctl.stats.inputs import predictions_from_files
        from lvsdctl.stats.paired import compare_predictions

        paired = compare_predictions(predictions_from_files(files), sets=_split_list(sets), n_boot=n_boot,
                                     seed=seed, alpha=alpha)
    if figure and result is not None:
        from lvsdctl.stats.figures import pvalue_matrix_figure

        written = pvalue_matrix_figure(result.p_matrix(), figure, alpha=alpha)
        if not quiet:
            err.print("figure: " + ", ".join(str(p) for p in written))
    if output:
        if result is not None:
            write_compare(result, output, paired)
        else:
            from lvsdctl.evaluate.tables import write_frame

            write_frame(paired, output)
    if table_out and table is not None:
        from lvsdctl.evaluate.tables import table2, with_average, write_frame
        from lvsdctl.stats.compare import AVERAGE_NAMES

        long = table.rename(columns={"validation_set": "set"})
        if not long["set"].str.lower().isin(AVERAGE_NAMES).any():
            long = with_average(long)
        write_frame(table2(long, with_ci=False), table_out)
    if not quiet:
        if skipped:
            err.print(f"[yellow]model-level comparison skipped:[/] {skipped}")
        if result is not None:
            for line in compare_summary_lines(result):
                err.print(line)
            print_frame(err, pairwise_frame(result), "Pairwise Wilcoxon signed-rank, Holm-adjusted")
        if paired is not None:
            shown = paired.assign(p=paired["p"].map(fmt_p), p_holm=paired["p_holm"].map(fmt_p))
            print_frame(err, shown.round(3), "Per-ECG comparisons (Holm within set and test)")
    if json_out:
        d = result.to_dict() if result is not None else {"skipped": skipped}
        if paired is not None:
            d["per_ecg"] = paired.to_dict(orient="records")
        emit_json(d)


@stats_app.command("audit", short_help="Check a published table: can one confusion matrix give each row's metrics?")
def audit_cmd(
    table: Annotated[Optional[str], typer.Argument(help="CSV: model, validation_set, metric, value (or one column per metric).", show_default=False)] = None,
    sizes: Annotated[Optional[str], typer.Option("--sizes", help="CSV: validation_set, n, positives (e.g. from Table 1).")] = None,
    study: Annotated[bool, typer.Option("--study", help="The article's Table 2 and Table 1 (shipped with lvsdctl).")] = False,
    corrected: Annotated[Optional[str], typer.Option("--corrected", help="Write the table with the exchanges found undone (.csv), for `stats compare --csv`.")] = None,
    decimals: Annotated[Optional[int], typer.Option("--decimals", min=0, help="Printed precision (default: each value's own decimals).")] = None,
    output: OptionalOutput = None,
    json_out: Json = False,
    quiet: Quiet = False,
) -> None:
    """GRIM-style audit of a published table of threshold metrics. For each row (model, set) with the
    set's size and positive count: is each of accuracy, sensitivity, specificity, PPV, NPV and F1
    reachable at its printed precision, do they satisfy the relations between them (accuracy between
    sensitivity and specificity weighted by prevalence, PPV and NPV by Bayes, F1), and does one
    confusion matrix give them all? For a row that fails: which cells cannot be reached, and the
    nearest consistent reading (another positive count, two columns exchanged, the classes exchanged,
    a misprinted cell, ...) with the confusion matrix it implies. "Average" rows are checked as means.
    -o writes .md, .csv (one line per row) or .json.

    Examples:

      lvsdctl stats audit --study          (the article's Table 2 against its Table 1)

      lvsdctl stats audit table2.csv --sizes table1.csv --corrected fixed.csv
    """
    from lvsdctl.cli.console import emit_json, err
    from lvsdctl.errors import InputError
    from lvsdctl.stats.audit import audit, findings
    from lvsdctl.stats.audit_readings import corrected_table

    _check_output_suffix(output)
    if corrected and not corrected.lower().endswith(".csv"):
        raise InputError(f"{corrected}: --corrected writes a .csv table")
    if study:
        import io

        from lvsdctl.study.published import published

        pub = published()
        table_in = table or pub.table2()
        sizes_in = sizes or io.StringIO(pub.table1_text())
        source = table or "the article's Table 2"
    else:
        if table is None or sizes is None:
            raise InputError("give TABLE.csv and --sizes SIZES.csv (or --study for the article's tables)")
        table_in, sizes_in, source = table, sizes, table
    from lvsdctl.stats.audit import read_sizes

    result = audit(table_in, read_sizes(sizes_in, source=sizes or "the article's Table 1"), decimals=decimals,
                   source=source)
    if output:
        from pathlib import Path

        fmt = Path(output).suffix.lower()
        if fmt == ".json":
            import json

            from lvsdctl.stats.output import _clean

            Path(output).write_text(json.dumps(_clean(result.to_dict()), indent=2), encoding="utf-8")
        elif fmt == ".csv":
            result.frame().to_csv(output, index=False)
        else:
            Path(output).write_text(result.markdown(), encoding="utf-8")
    if corrected:
        corrected_table(table_in, result).to_csv(corrected, index=False)
    if not quiet:
        for line in findings(result):
            err.print(f"- {line}", highlight=False, markup=False)
        if study:
            err.print(f"source: {pub.citation['text']}", highlight=False)
    if json_out:
        emit_json(result.to_dict())
