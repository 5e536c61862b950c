"""`lvsdctl evaluate` (metrics of a model on the validation sets), `lvsdctl predict` (per-ECG scores and
calls) and `lvsdctl calibrate` (a site's own operating point)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from lvsdctl.cli.app import app
from lvsdctl.cli.options import (
    THRESHOLD_HELP,
    BatchSize,
    Device,
    DeviceOpt,
    Jobs,
    Json,
    OptionalOutput,
    Output,
    Precision,
    PrecisionOpt,
    Quiet,
    Seed,
    Sets,
    ThresholdFrom,
    split_list,
)

#: Per-ECG results printed for runs of at most this many ECGs (any size: --table, --json).
SHOWN_ROWS = 30
_SYNTHETIC_MODEL = ("SYNTHETIC: the model was trained on synthetic ECGs only (lvsdctl synth); its scores and "
                    "calls say nothing about patients")
_SYNTHETIC_DATA = "SYNTHETIC data (lvsdctl synth): no real patient; these numbers say nothing about patients"


@app.command("evaluate", short_help=(
    "Score a model on the validation sets: Table 2 metrics with patient-bootstrap CIs, calibration."
), help=(
    "Score a model on the validation sets: accuracy, sensitivity, specificity, PPV, NPV, F1, AUROC, AUPRC "
    "(LVSD positive) with 95% CIs from a patient bootstrap, calibration, an 'Average' row, like Table 2.\n\n"
    "The threshold is frozen (chosen on the tuning set for 'youden' and 'sens:') and saved beside the model "
    "as its operating point, MODEL.threshold.json: `lvsdctl predict` and `lvsdctl explain` use it by default, "
    "so every call matches this evaluation. Evaluating again (another design, another policy) replaces it; "
    "--no-save-threshold leaves it as it is.\n\n"
    "Example: lvsdctl evaluate ssff.h5 split.h5 -o ssff-eval.h5 --threshold youden --report report.md "
    "--figures figs/"))
def evaluate_cmd(
    model: Annotated[str, typer.Argument(metavar="MODEL", help="Model checkpoint (kind 'model').")],
    data: Annotated[str, typer.Argument(metavar="DATA", help="Preprocessed, split ECG file (kind 'ecg').")],
    output: OptionalOutput = None,
    threshold: Annotated[str, typer.Option("--threshold", metavar="POLICY", help=THRESHOLD_HELP)] = "0.5",
    tune_set: Annotated[str, typer.Option("--tune-set", metavar="NAME", help="Set on which 'youden'/'sens:' thresholds are chosen.")] = "tune",
    sets: Sets = None,
    n_boot: Annotated[int, typer.Option("--bootstrap", min=0, metavar="N", help="Bootstrap replicates (patients resampled); 0 = no CIs.")] = 1000,
    report: Annotated[Optional[str], typer.Option("--report", metavar="FILE", help="Write a markdown report (TRIPOD+AI items, model card).")] = None,
    figures: Annotated[Optional[str], typer.Option("--figures", metavar="DIR", help="Folder for ROC, PR, reliability and score plots (PNG+SVG).")] = None,
    table: Annotated[Optional[str], typer.Option("--table", metavar="FILE", help="Also write the Table-2 layout as .csv, .md or .json.")] = None,
    measures: Annotated[Optional[str], typer.Option("--measures", metavar="FILE", help="`lvsdctl measure` output for these ECGs: subgroups by LBBB criterion and QRS width (not needed after `split --measures`).")] = None,
    no_save: Annotated[bool, typer.Option("--no-save-threshold", help="Do not save the frozen threshold as the model's operating point.")] = False,
    batch_size: BatchSize = 64,
    device: DeviceOpt = Device.auto,
    seed: Seed = 0,
    json_out: Json = False,
    quiet: Quiet = False,
) -> None:
    from lvsdctl.cli.console import emit_json, err, line, to_rich, warn
    from lvsdctl.cli.progress import reporting
    from lvsdctl.evaluate import evaluate
    from lvsdctl.evaluate.tables import transposed

    with reporting("evaluate", quiet=quiet) as progress:
        ev = evaluate(model, data, output, threshold=threshold, tune_set=tune_set, sets=split_list(sets),
                      n_boot=n_boot, seed=seed, batch_size=batch_size, device=device.value, report=report,
                      figures=figures, table=table, measures=measures, save_threshold=not no_save,
                      progress=progress)
    if ev.synthetic:
        warn(_SYNTHETIC_MODEL if ev.model_synthetic else _SYNTHETIC_DATA)
    if not quiet:
        saved = (f"; saved as the model's operating point in {ev.operating_point_file}" if ev.operating_point_file
                 else "; not saved as the model's operating point")
        line(f"threshold {ev.threshold.value:.4g}: {ev.threshold.origin}{saved}")
        title = "LVSD detection (95% CI, patient bootstrap)" + (", SYNTHETIC" if ev.synthetic else "")
        err.print(to_rich(transposed(ev.metrics), title=title))
    if json_out:
        emit_json(ev)


def _results_table(summary):
    """The per-ECG results for a terminal: file and record id, acquisition date and time, score, call,
    warnings (the threshold, the same for every ECG, is in the title)."""
    from rich.table import Table

    title = (f"{'SYNTHETIC: ' if summary.synthetic else ''}per-ECG results at threshold {summary.threshold:.4g} "
             f"({summary.threshold_source})")
    from lvsdctl.cli.console import err

    t = Table(title=title, title_justify="left", show_lines=True, min_width=min(len(title), err.width))
    t.add_column("File / record", overflow="fold", max_width=30)
    t.add_column("Acquired", overflow="fold")
    t.add_column("Score", justify="right", no_wrap=True)
    t.add_column("Call", no_wrap=True)
    t.add_column("Warnings", overflow="fold", ratio=1)
    for r in summary.results:
        who = "\n".join(x for x in (r["file"], r["record_id"]) if x)
        when = str(r["acquired"] or "").replace("T", "\n", 1)
        score = "" if r["score"] is None or r["score"] != r["score"] else f"{r['score']:.3f}"
        t.add_row(who, when, score, r["call"], r["warnings"] or "")
    return t


@app.command("predict", short_help=(
    "Score ECGs (an ecg file or exports): per-ECG score, call and warnings, into a predictions file."
), help=(
    "Score ECGs with a model: per-ECG LVSD probability, the call at the model's operating point (the threshold "
    "`lvsdctl evaluate` or `lvsdctl calibrate` saved beside it), and out-of-scope warnings (QRS too narrow for "
    "LBBB, signal quality, not scored: too short...), into a 'predictions' file that `lvsdctl stats compare "
    "--per-ecg` and your own scripts read. The ECGs are a preprocessed 'ecg' file, or exports (MUSE XML, "
    "DICOM, ... files or folders) that are ingested and preprocessed the model's way first.\n\n"
    f"Runs of up to {SHOWN_ROWS} ECGs print their per-ECG table; --table writes it (.csv, .md or .json) for "
    "any size, and --json lists it under 'results'. --threshold overrides the operating point, and says so.\n\n"
    "Example: lvsdctl predict ssff.h5 exports/ -o pred.h5 --table pred.csv --secret-file site.secret\n\n"
    "Example: lvsdctl predict ssff.h5 new-ecgs.h5 -o pred.h5 --threshold 0.42"))
def predict_cmd(
    model: Annotated[str, typer.Argument(metavar="MODEL", help="Model checkpoint (kind 'model').")],
    data: Annotated[list[str], typer.Argument(metavar="DATA", help="A preprocessed ECG file (kind 'ecg'), or ECG exports / folders.")],
    output: Output,
    threshold: Annotated[Optional[str], typer.Option("--threshold", metavar="VALUE", help=(
        "Decision threshold instead of the model's operating point: a number in (0, 1), or 'youden' / "
        "'sens:0.90' fitted on the labelled 'tune' set of DATA."))] = None,
    threshold_from: ThresholdFrom = None,
    sets: Sets = None,
    table: Annotated[Optional[str], typer.Option("--table", metavar="FILE", help="Write the per-ECG results as .csv, .md or .json.")] = None,
    batch_size: BatchSize = 64,
    secret_file: Annotated[Optional[str], typer.Option("--secret-file", metavar="FILE", help="Pseudonymisation secret for exports (else LVSDCTL_PSEUDONYM_SECRET), as for `ingest`.")] = None,
    demo_secret: Annotated[bool, typer.Option("--demo-secret", help="Public demo key: synthetic exports only.")] = False,
    lbbb_check: Annotated[bool, typer.Option("--lbbb-check/--no-lbbb-check", show_default=False, help="Measure every ECG and warn about those that are not LBBB (the model's intended use).")] = True,
    jobs: Jobs = 1,
    device: DeviceOpt = Device.auto,
    precision: PrecisionOpt = Precision.fp32,
    json_out: Json = False,
    quiet: Quiet = False,
) -> None:
    from lvsdctl.cli.console import emit_json, err, line, warn
    from lvsdctl.cli.progress import reporting
    from lvsdctl.evaluate import predict

    if precision.value != "fp32" and device.value in ("auto", "cpu") and not quiet:
        from lvsdctl.evaluate.precision import describe

        line(f"{describe(precision.value)} (on a CPU; ignored on a GPU)", style="yellow", label="note")
    with reporting("predict", quiet=quiet) as progress:
        summary = predict(model, data, output, threshold=threshold, threshold_from=threshold_from,
                          sets=split_list(sets), batch_size=batch_size, device=device.value,
                          secret_file=secret_file, demo_secret=demo_secret, jobs=jobs, table=table,
                          check_lbbb=lbbb_check, precision=precision.value, progress=progress)
    # shown even with -q: a file left out, or calls that mean nothing for patients, must never go unnoticed
    for w in summary.warnings:
        warn(w)
    for r in summary.rejected:
        line(f"{r['path']}: {r['reason']}", style="yellow", label="rejected")
    for reason, count in summary.not_preprocessable.items():
        line(f"{count} ECG(s) read but not preprocessable for this model: {reason}", style="yellow",
             label="not scored")
    if summary.model_synthetic:
        warn(_SYNTHETIC_MODEL)
    elif summary.data_synthetic:
        warn(_SYNTHETIC_DATA)
    for note in summary.notes:
        warn(note)
    if not quiet and summary.inputs is not None:
        where = f" (rejects in {summary.rejects_csv})" if summary.rejected and summary.rejects_csv else ""
        line(f"inputs = accepted + rejected + duplicates: {summary.inputs} = {summary.accepted} + "
             f"{len(summary.rejected)} + {summary.duplicates}{where}")
    if not quiet:
        line(f"threshold {summary.threshold:.4g}: {summary.threshold_origin}")
        if len(summary.results) <= SHOWN_ROWS:
            err.print(_results_table(summary))
        elif not table and not json_out:
            line(f"per-ECG results of {len(summary.results)} ECGs: --table FILE.csv writes them, --json lists them")
        line(f"{summary.ecgs} ECGs scored, {summary.predicted_lvsd} called LVSD -> {output}"
             + (f"; per-ECG table {summary.table}" if summary.table else ""))
    if json_out:
        emit_json(summary)


@app.command("calibrate", short_help=(
    "Choose a model's operating point (threshold) on your own labelled ECGs, without retraining."
), help=(
    "Choose the decision threshold a model is used at on a site's own labelled ECGs (e.g. a local tuning "
    "set), without retraining, and save it as the model's operating point (MODEL.threshold.json, or -o): "
    "`lvsdctl predict` and `lvsdctl explain` then use it. The scores are unchanged; only the threshold "
    "moves, so sensitivity and specificity fit your population. The operating point it replaces is kept "
    "in the file's history.\n\n"
    "The ECGs are those of --tune-set (default: 'tune' when the file has one, else every labelled ECG). "
    "Keep the ECGs you then report performance on out of it.\n\n"
    "Example: lvsdctl calibrate sqpf.h5 site-tune.h5 --threshold sens:0.90\n\n"
    "Example: lvsdctl calibrate sqpf.h5 split.h5 --tune-set tune --threshold youden -o sqpf-site.threshold.json"))
def calibrate_cmd(
    model: Annotated[str, typer.Argument(metavar="MODEL", help="Model checkpoint (kind 'model').")],
    data: Annotated[str, typer.Argument(metavar="DATA", help="Preprocessed, labelled ECG file (kind 'ecg').")],
    output: OptionalOutput = None,
    threshold: Annotated[str, typer.Option("--threshold", metavar="POLICY", help=(
        "'youden', 'sens:0.90' (target sensitivity), or a fixed number in (0, 1) whose sensitivity and "
        "specificity are measured."))] = "youden",
    tune_set: Annotated[Optional[str], typer.Option("--tune-set", metavar="NAME", help="Set of DATA to choose on (default: 'tune' if present, else every labelled ECG).")] = None,
    batch_size: BatchSize = 64,
    device: DeviceOpt = Device.auto,
    json_out: Json = False,
    quiet: Quiet = False,
) -> None:
    from lvsdctl.cli.console import emit_json, line, warn
    from lvsdctl.cli.progress import reporting
    from lvsdctl.evaluate.operating_point import calibrate

    with reporting("calibrate", quiet=quiet) as progress:
        summary = calibrate(model, data, output, threshold=threshold, tune_set=tune_set, batch_size=batch_size,
                            device=device.value, progress=progress)
    point = summary.operating_point
    if point.synthetic:
        warn(_SYNTHETIC_DATA)
    if not quiet:
        c = summary.confusion
        line(f"operating point {point.threshold:.4g}: {point.origin}")
        line(f"on {summary.ecgs} ECGs of {summary.patients} patients: TP {c['tp']}, FN {c['fn']}, FP {c['fp']}, "
             f"TN {c['tn']}")
        if summary.replaced is not None:
            line(f"replaces {summary.replaced.threshold:.4g}: {summary.replaced.describe()}")
        line(f"saved to {summary.output}")
    if json_out:
        emit_json(summary)
