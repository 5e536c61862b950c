"""`lvsdctl split`: assign every ECG to train / tune / validation sets without patient leakage."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from lvsdctl.cli.app import app
from lvsdctl.cli.options import Json, Output, Quiet, Seed


class Criterion(str, Enum):
    statement = "statement"
    conventional = "conventional"
    aha2009 = "aha2009"
    strauss = "strauss"


class Straddle(str, Enum):
    first = "first"
    drop = "drop"
    error = "error"
    allow = "allow"


HELP = """Fill the `split` column of a preprocessed file by site and acquisition date, dividing the development set into train and tune at random (stratified by label, grouped by patient, from --seed).

Example:

  lvsdctl split pre.h5 -o split.h5 --seed 42 --table table1.csv

The built-in design (--design study) is the study's: train + tune = site A up to 2023-12-31, internal = site A in 2024, external1 = site C, external2 = site B. Another design is a small JSON or TOML file of ordered rules, e.g. design.toml:

  tune_fraction = 0.2

  [[rules]]
  set = "train+tune"
  site = ["A"]
  until = "2023-12-31"

  [[rules]]
  set = "internal"
  site = ["A"]
  from = "2024-01-01"

With --measures (the output of `lvsdctl measure` for these ECGs) the records gain the LBBB criteria, the delineation status and the measured intervals (for `evaluate` subgroups and `stats cohort`), and --criterion statement|conventional|aha2009|strauss keeps ECGs not meeting that LBBB criterion out of every set:

  lvsdctl split pre.h5 --measures measures.h5 --criterion strauss -o split.h5

A patient never lands in two sets: one whose ECGs straddle a rule boundary goes where their first ECG goes (--straddle first), is left out (drop), stops the run (error), or, only if you say so, stays in both (allow). Unlabelled ECGs go to no set unless --include-unlabelled. Table 1 of the study (patients, pairs, age, sex, LVEF, LVSD) is printed per set. """


@app.command("split", help=HELP,
             short_help="Assign train/tune/validation sets by site and date, grouped by patient.")
def split_command(
    input: Annotated[str, typer.Argument(help="An ecg (or ecg-raw) HDF5 file ('-' reads stdin).",
                                         show_default=False)],
    output: Output = ...,  # type: ignore[assignment]
    design: Annotated[str, typer.Option("--design", metavar="DESIGN", help="'study' or a JSON/TOML design file.")] = "study",
    seed: Seed = 0,
    tune_fraction: Annotated[Optional[float], typer.Option("--tune-fraction", min=0.01, max=0.99,
                                                           help="Share of train+tune patients' ECGs in tune "
                                                           "(default: the design's, 0.2; realised as 1/k "
                                                           "patient folds).")] = None,
    straddle: Annotated[Straddle, typer.Option("--straddle", help="Patients with ECGs in two sets: first (by "
                                               "their first ECG), drop, error, allow.")] = Straddle.first,
    include_unlabelled: Annotated[bool, typer.Option("--include-unlabelled", help="Assign unlabelled ECGs "
                                                     "(label -1) too.")] = False,
    table: Annotated[Optional[str], typer.Option("--table", metavar="FILE", help="Also write Table 1 as .csv, .md or .json.")] = None,
    measures: Annotated[Optional[str], typer.Option("--measures", metavar="FILE", help="`lvsdctl measure` output "
                                                    "(.csv or .h5) for these ECGs: adds LBBB criteria and "
                                                    "intervals to the records.")] = None,
    criterion: Annotated[Optional[Criterion], typer.Option("--criterion", help="Only ECGs meeting this LBBB "
                                                           "criterion go to a set (needs --measures).")] = None,
    json_out: Json = False,
    quiet: Quiet = False,
) -> None:
    from lvsdctl.cli.console import emit_json, err, line, warn
    from lvsdctl.data import split
    from lvsdctl.errors import InputError

    if json_out and output == "-":
        raise InputError("--json and -o - both write to stdout; choose one")
    if criterion is not None and measures is None:
        raise InputError("--criterion needs --measures (the output of `lvsdctl measure` for these ECGs)")
    report = split(input, output, design=design, seed=seed, tune_fraction=tune_fraction,
                   straddle=straddle.value, include_unlabelled=include_unlabelled, table=table,
                   measures=measures, criterion=criterion.value if criterion else None)
    if report.unmeasured:
        warn(f"{report.unmeasured} ECG(s) have no row in {measures}: their criteria are unknown "
             "(they meet no criterion)")
    if report.straddling_patients:
        warn(f"{report.straddling_patients} patient(s) had ECGs in more than one set: "
             f"{report.straddling_ecgs_moved} ECG(s) moved, {report.straddling_ecgs_dropped} dropped "
             f"(--straddle {report.straddle_policy})")
    if not report.assigned:
        sites = ", ".join(f"{k or '(none)'} ({v})" for k, v in list(report.data_sites.items())[:10])
        why = ("every ECG matched is unlabelled (ingest with --echo, or --include-unlabelled)"
               if report.unlabelled_excluded else f"no ECG matches the design's rules; sites in the data: {sites}")
        warn(f"no ECG was assigned to a set: {why}. A design file names your sites and dates (see --help).")
    if not quiet:
        err.print(_table1(report))
        left = report.records - report.assigned
        line(f"{report.assigned} of {report.records} ECGs assigned; {left} in no set "
             f"({report.unmatched} match no rule, {report.unlabelled_excluded} unlabelled"
             + (f", {report.criterion_excluded} not LBBB by {report.criterion}" if report.criterion else "")
             + ")")
    if json_out:
        emit_json(report)


def _fmt(mean, sd) -> str:
    return "-" if mean is None else f"{mean:.1f} ({sd:.1f})" if sd is not None else f"{mean:.1f}"


def _table1(report):
    """Table 1 as the terminal shows it: set names whole, cells wrapped between words to fit."""
    import pandas as pd

    from lvsdctl.cli.console import to_rich

    rows = report.table1
    pct = lambda n, p: f"{n} ({p:.1f})" if p is not None else str(n)  # noqa: E731
    lines = {"Patients": [str(r["patients"]) for r in rows],
             "ECG-echo pairs": [str(r["pairs"]) for r in rows],
             "Age, mean (SD)": [_fmt(r["age_mean"], r["age_sd"]) for r in rows],
             "Females, n (%) of pairs": [pct(r["females_n"], r["females_pct"]) for r in rows],
             "LVEF %, mean (SD)": [_fmt(r["lvef_mean"], r["lvef_sd"]) for r in rows],
             "LVSD, n (%) of pairs": [pct(r["lvsd_n"], r["lvsd_pct"]) for r in rows]}
    frame = pd.DataFrame([[label, *values] for label, values in lines.items()],
                         columns=["", *(r["set"] for r in rows)])
    title = (f"{'SYNTHETIC data: ' if report.synthetic else ''}Table 1 (seed {report.seed}, design "
             f"{report.design['name']}); patients counted once, other counts per ECG-echo pair")
    return to_rich(frame, title)
