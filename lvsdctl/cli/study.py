"""`lvsdctl study`: the article's whole experiment on a site's data, as a script, and its report."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from lvsdctl.cli.app import app
from lvsdctl.cli.options import Device, DeviceOpt, Json, OptionalOutput, Quiet, Seed

#: `study done` exit codes: 0 done (skip the step); these when the step must run.
NOT_DONE, RESUMABLE = 10, 11

study_app = typer.Typer(
    short_help="The whole study: the grid as a script (script), its report beside the article (report).",
    help=(
        "The article's whole experiment on your data: 4 baselines, the 14 ECG-FM strategies, ECG-FM from "
        "scratch, every evaluation, DeepLIFT summaries, then one report beside the article's numbers.\n\n"
        "  lvsdctl study script split.h5 --runs runs/ --preset paper\n\n"
        "  # run it; again after any stop\n"
        "  bash runs/study.sh\n\n"
        "  lvsdctl study report runs/ -o runs/report.md"
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(study_app, name="study")


class PresetName(str, Enum):
    quick = "quick"
    paper = "paper"


@study_app.command("script", short_help="Write the study as an editable, resumable bash script of lvsdctl calls.", help=(
    "Write the study as a bash script (default RUNS/study.sh; -o - prints it). Nothing is trained now.\n\n"
    "Every line is an ordinary lvsdctl call. A step whose output is done (complete, made by the same command from "
    "the same inputs: `lvsdctl study done`) is kept, an interrupted training resumes, so running the script again "
    "after a stop finishes the study. Paths and settings are variables at the top: DEVICE=cuda bash runs/study.sh\n\n"
    "Example: lvsdctl study script split.h5 --runs runs/ --preset paper --torchrun 4"))
def script_cmd(
    split: Annotated[str, typer.Argument(help="The split ECG file (lvsdctl split) the study runs on.")],
    runs: Annotated[str, typer.Option("--runs", metavar="DIR", help="Run directory: models/, eval/, explain/, report.md go here.", show_default=False)],
    preset: Annotated[PresetName, typer.Option("--preset", help="paper: the article's recipe (GPU); quick: a CPU trial.")] = PresetName.quick,
    output: OptionalOutput = None,
    torchrun: Annotated[Optional[int], typer.Option("--torchrun", min=1, metavar="N", help="Train with torchrun on N processes (GPUs).")] = None,
    ss_weights: Annotated[Optional[str], typer.Option("--ss-weights", metavar="NAME|FILE", help="Single-step start instead of ecgfm-pretrained: a catalog name (`lvsdctl weights list`) or a file.")] = None,
    sq_weights: Annotated[Optional[str], typer.Option("--sq-weights", metavar="NAME|FILE", help="Sequential start instead of ecgfm-physionet-finetuned: a catalog name or a file.")] = None,
    ecgfounder: Annotated[bool, typer.Option("--ecgfounder", help="Beyond the article: also fine-tune and evaluate ECGFounder with the same strategies (FF, PF1-6, AF).")] = False,
    ecgfounder_weights: Annotated[Optional[str], typer.Option("--ecgfounder-weights", metavar="NAME|FILE", help="ECGFounder's start instead of ecgfounder-12lead: a catalog name or a file.")] = None,
    ecgfounder_split: Annotated[Optional[str], typer.Option("--ecgfounder-split", metavar="FILE", help="ECGFounder's data instead of SPLIT: the same split preprocessed with --chain ecgfounder.")] = None,
    device: DeviceOpt = Device.auto,
    seed: Seed = 0,
    json_out: Json = False,
    quiet: Quiet = False,
) -> None:
    import sys

    from lvsdctl.cli.console import emit_json, line, warn
    from lvsdctl.cli.progress import reporting
    from lvsdctl.study import script

    with reporting("study script", quiet=quiet) as progress:
        summary = script(split, runs, preset=preset.value, output=output, torchrun=torchrun, ss_weights=ss_weights,
                         sq_weights=sq_weights, ecgfounder=ecgfounder,
                         ecgfounder_weights=ecgfounder_weights, ecgfounder_split=ecgfounder_split, seed=seed,
                         device=device.value, progress=progress)
    if output == "-":
        sys.stdout.write(summary.text)
    if json_out:
        emit_json(summary)
    if not quiet:
        line(f"{summary.steps} steps ({summary.trainings} trainings, {summary.evaluations} evaluations, "
             f"{summary.explanations} explanations) on sets {', '.join(summary.validation_sets)}, preset "
             f"{summary.preset}" + (" SYNTHETIC DATA" if summary.synthetic else ""))
        for w in summary.warnings:
            warn(w)
        if output != "-":
            line(f"run it: bash {summary.script}")


@study_app.command("done", short_help="Exit 0 when a step's -o output is done (complete, same command, same inputs).", help=(
    "Tell a script whether to run a step: exit 0 when the command's -o output exists, is a complete lvsdctl file, "
    "was made by this same command (--device, -j, -q, --json and --resume aside) and its inputs are unchanged "
    "since; exit 10 when the step must run; exit 11 when it must run and an interrupted training can continue "
    "with --resume.\n\n"
    "Example: lvsdctl study done -- train split.h5 -o fcn.h5 || echo must run"))
def done_cmd(
    words: Annotated[list[str], typer.Argument(help="The step's lvsdctl command, after --.", show_default=False)],
    json_out: Json = False,
    quiet: Quiet = False,
) -> None:
    from lvsdctl.cli.console import emit_json, line
    from lvsdctl.study import done

    status = done(list(words))
    if json_out:
        emit_json(status)
    if not quiet:
        line(f"{status.output}: {status.reason}" + (" (resumable)" if status.resumable else ""))
    if not status.done:
        raise typer.Exit(RESUMABLE if status.resumable else NOT_DONE)


@study_app.command("report", short_help="The reproduction report: this site's Table 2, 3, S1/S2, Fig. 3/4 beside the article.", help=(
    "Gather the run directory's evaluations and attributions into one markdown report (figures in REPORT_files/): "
    "Table 2 with CIs, the model comparison (RM-ANOVA, Friedman, Wilcoxon + Holm, Fig. 3), Table 3, the SS and Sq "
    "families (S1/S2), attribution summaries (Fig. 4), every number beside the article's with the difference and "
    "its 95% CI, the article's Table 2 audited, and the models that are missing. Synthetic data are flagged at "
    "the top.\n\n"
    "Example: lvsdctl study report runs/ -o runs/report.md --html runs/report.html"))
def report_cmd(
    runs: Annotated[str, typer.Argument(metavar="RUNS", help="The run directory (--runs of `lvsdctl study script`).")],
    output: OptionalOutput = None,
    html: Annotated[Optional[str], typer.Option("--html", metavar="FILE", help="Also write the report as one HTML page.")] = None,
    alpha: Annotated[float, typer.Option("--alpha", help="Significance level of the tests.")] = 0.05,
    json_out: Json = False,
    quiet: Quiet = False,
) -> None:
    from lvsdctl.cli.console import emit_json, line
    from lvsdctl.cli.progress import reporting
    from lvsdctl.study import report

    target = output or f"{runs.rstrip('/')}/report.md"
    if target == "-":
        from lvsdctl.errors import InputError

        raise InputError("the report has figures beside it: give -o REPORT.md, not -")
    with reporting("study report", quiet=quiet) as progress:
        summary = report(runs, target, html=html, alpha=alpha, progress=progress)
    if json_out:
        emit_json(summary)
    if not quiet:
        line(f"{summary.models_evaluated} of {summary.models_expected} models evaluated"
             + (" SYNTHETIC DATA" if summary.synthetic else "") + f" -> {summary.output}"
             + (f", {summary.html}" if summary.html else ""))
        for what, names in summary.missing.items():
            line(", ".join(names), style="yellow", label=f"missing {what}")
