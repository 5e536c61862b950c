"""`lvsdctl stats`: the study's statistics (Table 1 cohort table, Table 2 / Fig. 3 model comparison,
the audit of a published table)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from lvsdctl.cli.app import app
from lvsdctl.cli.options import Json, OptionalOutput, Quiet, Seed, Sets, split_list

stats_app = typer.Typer(
    short_help="The study's statistics: Table 1 (cohort), Table 2 and Fig. 3 (compare), audit.",
    help=(
        "The study's statistics.\n\n"
        "  # Table 1 with p-values\n"
        "  lvsdctl stats cohort split.h5 -o table1.md\n\n"
        "  # RM-ANOVA, Friedman, Wilcoxon + Holm (Table 2, Fig. 3)\n"
        "  lvsdctl stats compare a-eval.h5 b-eval.h5 c-eval.h5 --figure fig3\n\n"
        "  lvsdctl stats compare --csv table2.csv --figure fig3.png\n\n"
        "  # re-analyse the article's Table 2\n"
        "  lvsdctl stats compare --study\n\n"
        "  # GRIM-style check of Table 2\n"
        "  lvsdctl stats audit --study"
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(stats_app, name="stats")


@stats_app.command("cohort", short_help="Table 1: the cohort per set with p-values (ANOVA/Welch by Levene, chi-square).")
def cohort(
    data: Annotated[str, typer.Argument(help="An 'ecg' file after `lvsdctl split` ('-' reads stdin).")],
    output: OptionalOutput = None,
    separate_tuning: Annotated[bool, typer.Option("--separate-tuning", help="Show training and tuning as two sets (the study merges them).")] = False,
    unit: Annotated[str, typer.Option("--unit", metavar="[ecg|patient]", help="'ecg' (each ECG-echo pair, as the study) or 'patient' (first pair of each patient).")] = "ecg",
    levene_center: Annotated[str, typer.Option("--levene-center", metavar="[median|mean]", help="Levene's test centre: 'median' (Brown-Forsythe, scipy's default) or 'mean' (Levene's original).")] = "median",
    json_out: Json = False,
    quiet: Quiet = False,
) -> None:
    """Table 1: patients, ECG-echo pairs, age, females, LVEF and LVSD per set, with p-values.

    Continuous variables: Levene's test picks one-way ANOVA or Welch's ANOVA (Shapiro-Wilk reported);
    categorical: chi-square. -o writes .csv, .md or .json.

    Example: lvsdctl stats cohort split.h5 -o table1.md
    """
    from lvsdctl.cli.console import emit_json, err, line, to_rich, warn
    from lvsdctl.stats import cohort as cohort_table
    from lvsdctl.tables import SYNTHETIC_NOTE

    table = cohort_table(data, output, combine_train_tune=not separate_tuning, unit=unit, levene_center=levene_center)
    if table.synthetic:
        warn(SYNTHETIC_NOTE)
    if not quiet:
        err.print(to_rich(table.to_frame(short=True), title=("SYNTHETIC: " if table.synthetic else "")
                          + f"Cohort ({'ECG-echo pairs' if unit == 'ecg' else 'patients'})"))
        line(table.caption)
    if json_out:
        emit_json(table)


@stats_app.command("compare", short_help="Model comparison (Table 2, Fig. 3): RM-ANOVA, Friedman, Wilcoxon + Holm; per-ECG DeLong and McNemar.")
def compare(
    files: Annotated[Optional[list[str]], typer.Argument(help="Evaluation files (one per model) from `lvsdctl evaluate`.", show_default=False)] = None,
    csv: Annotated[Optional[str], typer.Option("--csv", metavar="FILE", help="Read metrics from a CSV with columns model, validation_set, metric, value instead.")] = None,
    study: Annotated[bool, typer.Option("--study", help="Use the article's Table 2 (shipped with lvsdctl).")] = False,
    models: Annotated[Optional[str], typer.Option("--models", metavar="NAMES", help="Comma-separated subset of models.")] = None,
    sets: Sets = None,
    metrics: Annotated[Optional[str], typer.Option("--metrics", metavar="NAMES", help="Comma-separated subset of metrics (accuracy,sensitivity,...).")] = None,
    keep_average: Annotated[bool, typer.Option("--keep-average", help="Also use the 'Average' rows as blocks (they are means of the others; off by default).")] = False,
    per_ecg: Annotated[bool, typer.Option("--per-ecg", help="Also compare the models ECG by ECG (DeLong, patient bootstrap, McNemar; needs evaluation/prediction files of the same ECGs).")] = False,
    figure: Annotated[Optional[str], typer.Option("--figure", metavar="FILE", help="Write the matrix of adjusted p-values (Fig. 3) as PNG and SVG.")] = None,
    table_out: Annotated[Optional[str], typer.Option("--table", metavar="FILE", help="Also write the models' metrics in Table 2's layout (.csv, .md or .json).")] = None,
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

      # the article's own Table 2: F = 16.67, p < 0.001, as it reports
      lvsdctl stats compare --study

      # two models, ECG by ECG: DeLong, McNemar
      lvsdctl stats compare a-pred.h5 b-pred.h5
    """
    from lvsdctl.cli.console import emit_json, err, line, to_rich, warn
    from lvsdctl.stats import compare as compare_models
    from lvsdctl.stats.output import compare_summary_lines, fmt_p, pairwise_frame
    from lvsdctl.tables import SYNTHETIC_NOTE

    out = compare_models(files, csv=csv, study=study, models=split_list(models), sets=split_list(sets),
                         metrics=split_list(metrics), keep_average=keep_average, per_ecg=per_ecg, figure=figure,
                         table=table_out, output=output, alpha=alpha, n_boot=n_boot, seed=seed)
    if out.synthetic:
        warn(SYNTHETIC_NOTE)
    if not quiet:
        tag = "SYNTHETIC: " if out.synthetic else ""
        if out.files:
            line("figure: " + ", ".join(out.files))
        if out.skipped:
            line(out.skipped, style="yellow", label="model-level comparison skipped")
        if out.result is not None:
            for text in compare_summary_lines(out.result):
                line(text)
            err.print(to_rich(pairwise_frame(out.result), tag + "Pairwise Wilcoxon signed-rank, Holm-adjusted",
                              keep=("Model A", "Model B")))
        if out.per_ecg is not None:
            shown = out.per_ecg.assign(p=out.per_ecg["p"].map(fmt_p), p_holm=out.per_ecg["p_holm"].map(fmt_p))
            err.print(to_rich(shown.round(3), tag + "Per-ECG comparisons (Holm within set and test)",
                              keep=("model_a", "model_b")))
    if json_out:
        emit_json(out)


@stats_app.command("audit", short_help="Check a published table: can one confusion matrix give each row's metrics?")
def audit_cmd(
    table: Annotated[Optional[str], typer.Argument(help="CSV: model, validation_set, metric, value (or one column per metric).", show_default=False)] = None,
    sizes: Annotated[Optional[str], typer.Option("--sizes", metavar="FILE", help="CSV: validation_set, n, positives (e.g. from Table 1).")] = None,
    study: Annotated[bool, typer.Option("--study", help="The article's Table 2 and Table 1 (shipped with lvsdctl).")] = False,
    corrected: Annotated[Optional[str], typer.Option("--corrected", metavar="FILE", help="Write the table with the exchanges found undone (.csv), for `stats compare --csv`.")] = None,
    decimals: Annotated[Optional[int], typer.Option("--decimals", min=0, metavar="N", help="Printed precision (default: each value's own decimals).")] = None,
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

      # the article's Table 2 against its Table 1
      lvsdctl stats audit --study

      lvsdctl stats audit table2.csv --sizes table1.csv --corrected fixed.csv
    """
    from lvsdctl.cli.console import emit_json, line
    from lvsdctl.stats import audit
    from lvsdctl.stats.consistency import findings

    result = audit(table, sizes, study=study, decimals=decimals, output=output, corrected=corrected)
    if not quiet:
        for text in findings(result):
            line(f"- {text}")
        if study:
            from lvsdctl.study.published import published

            line(f"source: {published().citation['text']}")
    if json_out:
        emit_json(result)
