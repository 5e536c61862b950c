"""`lvsdctl evaluate` (metrics of a model on the validation sets) and `lvsdctl predict` (scores)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from lvsdctl.cli.app import app
from lvsdctl.cli.options import (
    Device, DeviceOpt, Jobs, Json, OptionalOutput, Output, Precision, PrecisionOpt, Quiet, Seed, split_list,
)

_THRESHOLD_HELP = ("Decision threshold: a number (0.5, the study), 'youden' or 'sens:0.90' (target sensitivity), "
                   "the last two chosen on the tuning set only, then frozen.")


@app.command("evaluate", short_help=(
    "Score a model on the validation sets: Table 2 metrics with patient-bootstrap CIs, calibration."
), help=(
    "Score a model on the validation sets: accuracy, sensitivity, specificity, PPV, NPV, F1, AUROC, AUPRC "
    "(LVSD positive) with 95% CIs from a patient bootstrap, calibration, an 'Average' row, like Table 2.\n\n"
    "Example: lvsdctl evaluate ssff.h5 split.h5 -o ssff-eval.h5 --threshold youden --report report.md "
    "--figures figs/"))
def evaluate_cmd(
    model: Annotated[str, typer.Argument(help="Model checkpoint (kind 'model').")],
    data: Annotated[str, typer.Argument(help="Preprocessed, split ECG file (kind 'ecg').")],
    output: OptionalOutput = None,
    threshold: Annotated[str, typer.Option("--threshold", help=_THRESHOLD_HELP)] = "0.5",
    tune_set: Annotated[str, typer.Option("--tune-set", help="Set on which 'youden'/'sens:' thresholds are chosen.")] = "tune",
    sets: Annotated[Optional[str], typer.Option("--sets", help="Comma-separated validation sets (default: every set but train/tune).")] = None,
    n_boot: Annotated[int, typer.Option("--bootstrap", min=0, help="Bootstrap replicates (patients resampled); 0 = no CIs.")] = 1000,
    report: Annotated[Optional[str], typer.Option("--report", help="Write a markdown report (TRIPOD+AI items, model card).")] = None,
    figures: Annotated[Optional[str], typer.Option("--figures", help="Folder for ROC, PR, reliability and score plots (PNG+SVG).")] = None,
    table: Annotated[Optional[str], typer.Option("--table", help="Also write the Table-2 layout as .csv, .md or .json.")] = None,
    measures: Annotated[Optional[str], typer.Option("--measures", help="`lvsdctl measure` output for these ECGs: subgroups by LBBB criterion and QRS width (not needed after `split --measures`).")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="ECGs per inference batch.")] = 64,
    device: DeviceOpt = Device.auto,
    seed: Seed = 0,
    json_out: Json = False,
    quiet: Quiet = False,
) -> None:
    from lvsdctl.cli.console import emit_json, err, to_rich
    from lvsdctl.cli.progress import reporting
    from lvsdctl.evaluate import evaluate
    from lvsdctl.evaluate.tables import transposed

    with reporting("evaluate", quiet=quiet) as progress:
        ev = evaluate(model, data, output, threshold=threshold, tune_set=tune_set, sets=split_list(sets),
                      n_boot=n_boot, seed=seed, batch_size=batch_size, device=device.value, report=report,
                      figures=figures, table=table, measures=measures, progress=progress)
    if not quiet:
        err.print(f"threshold {ev.threshold.value:.4g}: {ev.threshold.origin}")
        err.print(to_rich(transposed(ev.metrics), title="LVSD detection (95% CI, patient bootstrap)"))
    if json_out:
        emit_json(ev)


@app.command("predict", short_help=(
    "Score ECGs (an ecg file or exports) with a model into a predictions file."
), help=(
    "Score ECGs with a model: per-ECG LVSD probability and the call at a threshold, into a 'predictions' "
    "file that `lvsdctl stats compare --per-ecg` and your own scripts read. The ECGs are a preprocessed "
    "'ecg' file, or exports (MUSE XML, DICOM, ... files or folders) that are ingested and preprocessed "
    "the model's way first.\n\n"
    "Example: lvsdctl predict ssff.h5 new-ecgs.h5 -o pred.h5 --threshold 0.42\n\n"
    "Example: lvsdctl predict ssff.h5 exports/*.xml -o pred.h5 --secret-file site.secret"))
def predict_cmd(
    model: Annotated[str, typer.Argument(help="Model checkpoint (kind 'model').")],
    data: Annotated[list[str], typer.Argument(help="A preprocessed ECG file (kind 'ecg'), or ECG exports / folders.")],
    output: Output,
    threshold: Annotated[str, typer.Option("--threshold", help=_THRESHOLD_HELP)] = "0.5",
    sets: Annotated[Optional[str], typer.Option("--sets", help="Comma-separated sets to score (default: every ECG).")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="ECGs per inference batch.")] = 64,
    secret_file: Annotated[Optional[str], typer.Option("--secret-file", help="Pseudonymisation secret for exports (else LVSDCTL_PSEUDONYM_SECRET), as for `ingest`.")] = None,
    demo_secret: Annotated[bool, typer.Option("--demo-secret", help="Public demo key: synthetic exports only.")] = False,
    lbbb_check: Annotated[bool, typer.Option("--lbbb-check/--no-lbbb-check", help="Measure every ECG and warn about those that are not LBBB (the model's intended use).")] = True,
    jobs: Jobs = 1,
    device: DeviceOpt = Device.auto,
    precision: PrecisionOpt = Precision.fp32,
    json_out: Json = False,
    quiet: Quiet = False,
) -> None:
    from lvsdctl.cli.console import emit_json, err
    from lvsdctl.cli.progress import reporting
    from lvsdctl.evaluate import predict

    if precision.value != "fp32" and device.value in ("auto", "cpu") and not quiet:
        from lvsdctl.evaluate.precision import describe

        err.print(f"[yellow]note:[/] {describe(precision.value)} (on a CPU; ignored on a GPU)", markup=True)
    with reporting("predict", quiet=quiet) as progress:
        summary = predict(model, data, output, threshold=threshold, sets=split_list(sets), batch_size=batch_size,
                          device=device.value, secret_file=secret_file, demo_secret=demo_secret, jobs=jobs,
                          check_lbbb=lbbb_check, precision=precision.value, progress=progress)
    for w in summary.warnings:  # shown even with -q: never a silent score
        err.print(f"[yellow]warning:[/] {w}", markup=True, highlight=False)
    for r in summary.rejected:  # shown even with -q: a file left out must never go unnoticed
        err.print(f"[yellow]rejected[/] {r['path']}: {r['reason']}", markup=True, highlight=False)
    for reason, count in summary.not_preprocessable.items():
        err.print(f"[yellow]not scored[/] {count} ECG(s) read but not preprocessable for this model: {reason}",
                  markup=True, highlight=False)
    if not quiet and summary.inputs is not None:
        where = f" (rejects in {summary.rejects_csv})" if summary.rejected and summary.rejects_csv else ""
        err.print(f"inputs = accepted + rejected + duplicates: {summary.inputs} = {summary.accepted} + "
                  f"{len(summary.rejected)} + {summary.duplicates}{where}")
    if not quiet:
        err.print(f"{summary.ecgs} ECGs scored, {summary.predicted_lvsd} called LVSD at threshold "
                  f"{summary.threshold:.4g} ({summary.threshold_origin}) -> {output}")
    if json_out:
        emit_json(summary)
