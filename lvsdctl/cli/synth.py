"""`lvsdctl synth`: write the embedded default, a synthetic LBBB cohort (not real patients)."""

from __future__ import annotations

from typing import Annotated

import typer

from lvsdctl.cli.app import app
from lvsdctl.cli.options import Jobs, Json, Output, Quiet, Seed

HELP = """Write a SYNTHETIC cohort of ECGs of patients with left bundle branch block, with their
echocardiograms, to try lvsdctl on (nothing comes from a real person).

Writes OUTPUT/ecg/ with GE MUSE XML exports (500 Hz, leads I, II, V1-V6,
10 s rhythm and a median beat) and image-digitised printouts (12 printed
2.5 s pieces and a 10 s lead II strip, each at its own rate in 99-221 Hz),
OUTPUT/echo.csv (patient_id, echo_date, lvef) and a README. Sites A
(2015-2024), B (2022-2024) and C (2008-2021) allow the study's temporal and
external splits. LVEF shapes the ECGs weakly (QRS width, voltage, T waves):
a good model reaches an AUROC of about 0.8-0.9. Names and IDs in the files
are invented. The same seed writes the same bytes. The generative model is
described in docs/synthetic.md.

Example:

  lvsdctl synth -o cohort/ --n-ecgs 2000 --n-patients 900 --seed 0

  lvsdctl ingest cohort/ecg --echo cohort/echo.csv --demo-secret -o raw.h5
"""


@app.command("synth", help=HELP,
             short_help="Write a SYNTHETIC LBBB cohort (MUSE XML, digitised printouts, echo table) to try lvsdctl on.")
def synth_command(
    output: Output = ...,  # type: ignore[assignment]
    n_ecgs: Annotated[int, typer.Option("--n-ecgs", min=4, help="ECGs (each with its echo) to write.")] = 2000,
    n_patients: Annotated[int, typer.Option("--n-patients", min=4, help="Distinct patients; each has 1-10 "
                                            "ECGs.")] = 900,
    digitised_share: Annotated[float, typer.Option("--digitised-share", min=0.0, max=1.0, help="Share of ECGs "
                                                   "that are digitised paper printouts (sites A and C, "
                                                   "before 2020).")] = 0.25,
    force: Annotated[bool, typer.Option("--force", help="Replace OUTPUT if it holds a cohort written by "
                                        "lvsdctl synth (any other directory is never replaced).")] = False,
    seed: Seed = 0,
    jobs: Jobs = 1,
    json_out: Json = False,
    quiet: Quiet = False,
) -> None:
    if output == "-":
        raise typer.BadParameter("synth writes a directory, so '-' (stdout) is not possible", param_hint="-o")
    from lvsdctl.cli.console import emit_json, err
    from lvsdctl.cli.progress import reporting
    from lvsdctl.synth import synthesise

    with reporting("writing synthetic ECGs", quiet=quiet) as progress:
        summary = synthesise(output, n_ecgs=n_ecgs, n_patients=n_patients, seed=seed,
                             digitised_share=digitised_share, jobs=jobs, overwrite=force, progress=progress)
    if json_out:
        emit_json(summary)
    if not quiet:
        from rich.table import Table

        table = Table("", "value", title=f"SYNTHETIC cohort in {summary.output}")
        for label, key in (("ECGs", "n_ecgs"), ("patients", "n_patients"), ("MUSE XML", "n_muse"),
                           ("digitised", "n_digitised"), ("echoes", "n_echoes"),
                           ("ECGs without echo <= 30 d", "unpaired_ecgs"), ("echoes with LVEF = 40", "echoes_lvef_40")):
            table.add_row(label, str(getattr(summary, key)))
        table.add_row("LVSD (LVEF < 40) among paired", f"{summary.lvsd_prevalence:.1%}")
        table.add_row("ECGs per site", ", ".join(f"{s}: {n}" for s, n in summary.ecgs_per_site.items()))
        table.add_row("seconds", str(summary.seconds))
        err.print(table)
