"""`lvsdctl measure`: beats, wave boundaries, intervals and LBBB criteria of ECGs, into a table."""

from __future__ import annotations

from typing import Annotated

import typer

from lvsdctl.cli.app import app
from lvsdctl.cli.options import Jobs, Json, OptionalOutput, Quiet

HELP = """Measure ECGs the way LBBB needs: beats found on all leads at once, wave
boundaries (P, QRS, T) on the median beat and under every beat, heart
rate, PR, QRS, QT, QTc and QRS axis, and the LBBB criteria: the ECG
machine's own statement (which rule matched, never its text), the
article's conventional criteria, AHA/ACCF/HRS 2009 and Strauss's strict
criteria. Each ECG says how sure it is: status ok/partial/failed, beats
found against beats expected from the RR, leads used, what failed.

Inputs: exports (MUSE, Philips, HL7 aECG, DICOM, SCP, WFDB, digitised
XML; files, folders, globs) or one lvsdctl file (ecg-raw from ingest, or
ecg from preprocess). Output: .csv (one row per ECG) or .h5 (also every
beat's boundaries), '-' for CSV on stdout; --json prints every ECG.

Examples:

  lvsdctl measure exports/ -o measures.csv

  lvsdctl measure raw.h5 -o measures.h5

  lvsdctl split pre.h5 --measures measures.h5 --criterion strauss -o split.h5

docs/measure.md explains the methods and their agreement with GE 12SL."""


@app.command("measure", help=HELP,
             short_help="Beats, wave boundaries, intervals and LBBB criteria of ECGs (CSV or HDF5).")
def measure_command(
    inputs: Annotated[list[str], typer.Argument(help="ECG exports, folders or globs, or one lvsdctl "
                                                "HDF5 file (ecg-raw or ecg).", show_default=False)],
    output: OptionalOutput = None,
    jobs: Jobs = 1,
    json_out: Json = False,
    quiet: Quiet = False,
) -> None:
    from lvsdctl.cli.console import emit_json, err
    from lvsdctl.errors import InputError
    from lvsdctl.measure import measure

    if output is None and not json_out:
        raise InputError("nowhere to write: give -o measures.csv (or .h5, or '-'), or --json")
    if json_out and output == "-":
        raise InputError("--json and -o - both write to stdout; choose one")
    from lvsdctl.cli.progress import reporting

    # every rejected file is logged as a warning by the stage: shown even with -q or --json
    with reporting("measure", quiet=quiet or json_out) as progress:
        summary = measure(inputs, output, jobs=jobs, progress=progress)
    if json_out:
        emit_json(summary)
    if quiet:
        return
    from rich.table import Table

    err.print(f"inputs = measured + rejected + duplicates: {summary.inputs} = {summary.measured} + "
              f"{len(summary.rejected)} + {summary.duplicates}")
    t = Table("", "ECGs", title="delineation and LBBB criteria" + (" (SYNTHETIC data)" if summary.synthetic else ""))
    for status in ("ok", "partial", "failed"):
        t.add_row(f"status {status}", str(summary.statuses.get(status, 0)))
    for name, n in summary.lbbb.items():
        t.add_row(f"LBBB: {name}", str(n))
    err.print(t)
    if summary.output:
        err.print(f"wrote {summary.output}")
