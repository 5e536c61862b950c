"""`lvsdctl explain`: DeepLIFT attribution maps, for one ECG or a whole validation set."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from lvsdctl.cli.app import app
from lvsdctl.cli.options import Json, Precision, PrecisionOpt, Quiet, ThresholdFrom


@app.command(
    "explain",
    short_help="DeepLIFT attribution map of one ECG (Fig. 4), or of a whole set.",
    help=(
        "Show which parts of an ECG drive the model's LVSD score (DeepLIFT, all-zero reference, as the study).\n\n"
        "One ECG, straight from an export (MUSE, Philips, HL7 aECG, DICOM, WFDB, digitised XML), run through the "
        "model's own preprocessing: draws the study's Fig. 4 (12 leads as the printout's 2.5 s pieces and the "
        "rhythm strip on ECG paper, coloured by attribution) into -o (default map.png) and writes the share of "
        "attribution in the P wave, QRS complex and ST-T segment of every lead beside it (MAP.waves.csv / .json, "
        "and every beat's wave boundaries in MAP.beats.csv), from the beats and boundaries of `lvsdctl "
        "measure`; --show-waves draws those boundaries faintly on the map. The call uses the model's operating "
        "point (saved by `lvsdctl evaluate` or `lvsdctl calibrate`), as `lvsdctl predict` does; the map says "
        "which threshold, and any warning (e.g. not LBBB: the model is meant for LBBB).\n\n"
        "  lvsdctl explain ecg.xml --model sqpf.h5 -o map.png --format svg --format pdf\n\n"
        "  lvsdctl explain split.h5 --record 3fa2c9e01b7d44aa --model sqpf.h5 -o map.png\n\n"
        "A whole set (cohort mode, -o is the attributions file): mean attribution per lead and per wave, by "
        "true/false positives/negatives.\n\n"
        "  lvsdctl explain split.h5 --set internal --model sqpf.h5 -o attributions.h5 --figure cohort.png\n\n"
        "Without --model the model is $LVSDCTL_MODEL, or `model = \"...\"` in ~/.config/lvsdctl/config.toml. "
        "--method ig gives Integrated Gradients, exact for LSTM and attention models where DeepLIFT's rules do not hold."
    ),
)
def explain_cmd(
    source: Annotated[str, typer.Argument(metavar="SOURCE", help="An ECG export file, or an `ecg` HDF5 file with --record or --set.")],
    model: Annotated[Optional[str], typer.Option("--model", "-m", metavar="FILE", help="Model checkpoint (.h5) to explain.")] = None,
    output: Annotated[Optional[str], typer.Option("-o", "--output", metavar="FILE", help=(
        "One ECG: the map (.png, .svg or .pdf; default map.png). Cohort mode: the attributions file (.h5)."))] = None,
    formats: Annotated[list[str], typer.Option("--format", metavar="EXT", help="Also write the map in these formats (svg, pdf, png).")] = [],
    record: Annotated[Optional[str], typer.Option("--record", metavar="ID", help="record_id of one ECG in an HDF5 dataset.")] = None,
    split: Annotated[Optional[str], typer.Option("--set", metavar="NAME", help="Cohort mode: explain every ECG of this set.")] = None,
    figure: Annotated[Optional[str], typer.Option("--figure", metavar="FILE", help="Cohort mode: summary figure (.png).")] = None,
    method: Annotated[str, typer.Option("--method", metavar="[deeplift|ig]", help="deeplift (the study) or ig (Integrated Gradients).")] = "deeplift",
    threshold: Annotated[Optional[float], typer.Option("--threshold", metavar="VALUE", help="Decision threshold in (0, 1) instead of the model's operating point.")] = None,
    threshold_from: ThresholdFrom = None,
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, metavar="N", help="Cohort mode: at most this many ECGs.")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, metavar="N", help="Cohort mode: ECGs per batch.")] = 16,
    show_waves: Annotated[bool, typer.Option("--show-waves", help="Draw the P, QRS and T boundaries faintly on "
                                             "the map.")] = False,
    precision: PrecisionOpt = Precision.fp32,
    json_out: Json = False,
    quiet: Quiet = False,
) -> None:
    from lvsdctl.cli.console import emit_json, err, line, warn
    from lvsdctl.errors import InputError

    if method not in ("deeplift", "ig"):
        raise InputError(f"--method must be deeplift or ig, not {method!r}")
    if precision.value == "int8":
        raise InputError("--precision int8: attributions need gradients, which int8-quantized layers do not "
                         "have; use fp32 or bf16 (int8 is for `lvsdctl predict`)")
    if precision.value != "fp32" and not quiet:
        from lvsdctl.evaluate.precision import describe

        line(describe(precision.value), style="yellow", label="note")
    if split is not None:
        from lvsdctl.cli.progress import reporting
        from lvsdctl.explain import explain_cohort
        from lvsdctl.explain.api import default_model

        if not output:
            raise InputError("cohort mode (--set) needs -o attributions.h5")
        with reporting("explain", quiet=quiet or json_out) as progress:
            summary = explain_cohort(source, model_path=model or default_model(), output=output, split=split,
                                     method=method, threshold=threshold, threshold_from=threshold_from,
                                     batch_size=batch_size, limit=limit, figure=figure, progress=progress,
                                     precision=precision.value)
        if summary.synthetic:
            warn("SYNTHETIC: synthetic ECGs, or a model trained on them; nothing here says anything about patients")
        for w in summary.warnings:  # shown even with -q: never a silent score
            warn(w)
        if json_out:
            emit_json(summary)
        elif not quiet:
            if summary.excluded_failed_delineation:
                line(f"{summary.excluded_failed_delineation} ECG(s) left out of the wave summary: delineation failed")
            line(f"explained {summary.ecgs} ECGs of set {split!r} -> {output}  groups: {summary.groups}  "
                 f"max |convergence delta| {summary.max_abs_convergence_delta:.2e}")
            line(f"threshold {summary.threshold:.4g}: {summary.threshold_origin}")
            if summary.caveat:
                line(summary.caveat, style="yellow", label="note")
            for f in summary.files:
                line(f"  figure: {f}")
        return
    from lvsdctl.explain import explain

    summary = explain(source, model_path=model, record=record, output=output, formats=tuple(formats),
                      method=method, threshold=threshold, threshold_from=threshold_from, show_waves=show_waves,
                      precision=precision.value)
    if summary.model_synthetic:
        warn("SYNTHETIC: the model was trained on synthetic ECGs only (lvsdctl synth); its call says nothing "
             "about a patient")
    for note in summary.notes:
        warn(note)
    for w in summary.warnings:  # shown even with -q or --json: never a silent score
        warn(w)
    if json_out:
        emit_json(summary)
        return
    if quiet:
        return
    from rich.table import Table

    line(f"prediction {summary.prediction}: LVSD score {summary.score:.3f}, threshold {summary.threshold:.4g} "
         f"({summary.threshold_origin}); convergence delta {summary.convergence_delta:.2e}")
    if summary.caveat:
        line(summary.caveat, style="yellow", label="note")
    d = summary.delineation
    line(f"delineation {d['status']}: {d['beats_found']} beats ({d['beats_expected']} expected from the RR), "
         f"median beat {d['median_source'] or 'none'}")
    for p in d["problems"]:
        line(p, style="yellow", label="delineation")
    t = Table("lead", "P", "QRS", "ST-T", "other", title="share of |attribution| per wave", title_justify="left")
    for row in summary.waves:
        t.add_row(row["lead"], *(f"{row[w]:.2f}" if row[w] == row[w] else "-" for w in ("P", "QRS", "ST-T", "other")))
    err.print(t)
    for f in summary.files:
        line(f"  wrote {f}")
