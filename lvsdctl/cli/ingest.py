"""`lvsdctl ingest`: ECG exports + an echo table -> one raw ECG dataset (HDF5)."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from lvsdctl.cli.app import app
from lvsdctl.cli.options import Compression, Jobs, Json, LvefCutoff, Output, Quiet, Strict


class Policy(str, Enum):
    nearest = "nearest"
    before_only = "before-only"
    after_only = "after-only"


HELP = """Read ECG exports (GE MUSE XML, digitised XML, HL7 aECG, DICOM, WFDB, Philips XML, SCP-ECG; the
format is detected from each file's content), pair each with the nearest echo of the same patient,
label it (LVSD = LVEF < 40, --lvef-cutoff) and write one `ecg-raw` HDF5 file.

Example:

  export LVSDCTL_PSEUDONYM_SECRET=$(cat site.secret)

  lvsdctl ingest exports/ --echo echo.csv -o raw.h5 -j 2

Inputs are files, directories (read recursively), globs, or --from-list FILE ('-' = stdin).
Patients are pseudonymised with HMAC-SHA256 and the site's secret (--secret-file or
LVSDCTL_PSEUDONYM_SECRET); names, birth dates and free text are never read. Every file is accounted
for: inputs = accepted + rejected + duplicates; rejected files and reasons go to
OUTPUT.rejects.csv/.json. Interrupted? Run the same command again with --resume.
"""


@app.command("ingest", help=HELP,
             short_help="ECG exports (MUSE, Philips, HL7 aECG, DICOM, WFDB, SCP...) + echo table -> ecg-raw HDF5.")
def ingest_command(
    inputs: Annotated[Optional[list[str]], typer.Argument(help="ECG files, directories or globs.",
                                                          show_default=False)] = None,
    output: Output = ...,  # type: ignore[assignment]
    echo: Annotated[Optional[str], typer.Option("--echo", metavar="FILE", help="Echo table (CSV or .xlsx): patient id, echo date, "
                                                "LVEF.")] = None,
    from_list: Annotated[Optional[str], typer.Option("--from-list", metavar="FILE", help="File with one input path per line "
                                                     "('-' reads stdin).")] = None,
    echo_patient_col: Annotated[str, typer.Option("--echo-patient-col", metavar="COLUMN", help="Echo table column of patient ids.")]
    = "patient_id",
    echo_date_col: Annotated[str, typer.Option("--echo-date-col", metavar="COLUMN", help="Echo table column of echo dates.")]
    = "echo_date",
    echo_lvef_col: Annotated[str, typer.Option("--echo-lvef-col", metavar="COLUMN", help="Echo table column of LVEF (%).")] = "lvef",
    echo_date_format: Annotated[Optional[str], typer.Option(
        "--echo-date-format", metavar="FORMAT", help="strptime format of the echo dates, e.g. '%d/%m/%Y' (default: ISO 8601 "
        "YYYY-MM-DD; never guessed).")] = None,
    window_days: Annotated[int, typer.Option("--window-days", metavar="DAYS", min=0, help="Pair an ECG with an echo at most this "
                                             "many days apart (inclusive).")] = 30,
    policy: Annotated[Policy, typer.Option("--policy", help="nearest: closest echo (tie: the earlier); "
                                           "before-only: echo on or before the ECG day; after-only: on or "
                                           "after.")] = Policy.nearest,
    lvef_cutoff: LvefCutoff = 40.0,
    drop_unpaired: Annotated[bool, typer.Option("--drop-unpaired", help="Leave ECGs without an echo out of the "
                                                "output (they are still counted); default: keep them with "
                                                "label -1.")] = False,
    secret_file: Annotated[Optional[str], typer.Option("--secret-file", metavar="FILE", help="File holding the site's "
                                                       "pseudonymisation secret (else LVSDCTL_PSEUDONYM_SECRET).")]
    = None,
    demo_secret: Annotated[bool, typer.Option("--demo-secret", help="Use the public demo key: synthetic data "
                                              "only (refused for real exports).")] = False,
    keep_patient_id: Annotated[bool, typer.Option("--keep-patient-id", help="Also write the RAW patient id "
                                                  "(column patient_id). Only for data that may hold it.")] = False,
    site: Annotated[Optional[str], typer.Option("--site", metavar="NAME", help="Site name for every ECG of this run (overrides "
                                                "the exports').")] = None,
    synthetic: Annotated[bool, typer.Option("--synthetic", help="Declare the inputs not real patients: marks "
                                            "the output synthetic and allows --demo-secret (`lvsdctl synth` "
                                            "exports are recognised without it).")] = False,
    rejects: Annotated[Optional[str], typer.Option("--rejects", metavar="FILE", help="Rejects report CSV (a .json is written "
                                                   "beside it); default OUTPUT.rejects.csv.")] = None,
    compression: Annotated[Compression, typer.Option("--compression", help="Compression of the samples: gzip "
                                                     "(level 1, read by every HDF5 tool), lzf (40% larger) or none "
                                                     "(2.8x larger).")]
    = Compression.gzip,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted run: files it finished are "
                                         "not parsed again.")] = False,
    jobs: Jobs = 1,
    strict: Strict = False,
    json_out: Json = False,
    quiet: Quiet = False,
) -> None:
    from lvsdctl.cli.console import emit_json, err, line, warn
    from lvsdctl.cli.progress import reporting
    from lvsdctl.errors import InputError, StrictRejectError
    from lvsdctl.ingest import IngestOptions, ingest

    if not inputs and from_list is None:
        raise InputError("no inputs: give ECG files, directories or globs, or --from-list FILE")
    if json_out and output == "-":
        raise InputError("--json and -o - both write to stdout; choose one")
    options = IngestOptions(window_days=window_days, policy=policy.value, threshold=lvef_cutoff,
                            drop_unpaired=drop_unpaired, keep_patient_id=keep_patient_id, site=site,
                            synthetic=True if synthetic else None, compression=compression.value,
                            echo_patient_col=echo_patient_col, echo_date_col=echo_date_col,
                            echo_lvef_col=echo_lvef_col, echo_date_format=echo_date_format)
    with reporting("ingest", quiet=quiet) as progress:
        summary = ingest(inputs or [], output, echo, options, secret=secret_file, demo_secret=demo_secret,
                         from_list=from_list, rejects=rejects, jobs=jobs, resume=resume, progress=progress)
    for note in summary.notes:
        warn(note)
    if not quiet:
        err.print(_summary_table(summary))
        # Rejected files as plain lines, never cut to the terminal's width: the path is what users need.
        for r in summary.rejects[:10]:
            line(f"{r.path}: {r.reason}", style="red", label="rejected")
        if len(summary.rejects) > 10:
            line(f"... and {len(summary.rejects) - 10} more rejected: see {summary.rejects_csv}")
    if json_out:
        emit_json(summary)
    if strict and summary.rejected:
        where = f"; see {summary.rejects_csv}" if summary.rejects_csv else ""
        raise StrictRejectError(f"{summary.rejected} of {summary.inputs} input files were rejected (--strict){where}")


def _summary_table(summary):
    """The human summary: the file count identity first, then pairing, echo table and rejects."""
    from rich.table import Table

    t = Table(title=f"ingest -> {summary.output}", show_header=False, title_justify="left")
    t.add_column(style="bold")
    t.add_column(justify="right")
    t.add_row("inputs = accepted + rejected + duplicates",
              f"{summary.inputs} = {summary.accepted} + {summary.rejected} + {summary.duplicates}")
    t.add_row("records written", str(summary.written))
    if summary.dropped_unpaired:
        t.add_row("dropped (no echo, --drop-unpaired)", str(summary.dropped_unpaired))
    if summary.resumed:
        t.add_row("taken from the interrupted run", str(summary.resumed))
    if summary.skipped:
        t.add_row("passed over in directories (hidden, WFDB data files)", str(summary.skipped))
    for key, value in summary.pairing.items():
        t.add_row(key.replace("_", " "), str(value))
    if summary.echo:
        e = summary.echo
        t.add_row("echo rows (used / invalid / duplicate)", f"{e['rows']} ({e['used']} / {e['invalid']} / "
                  f"{e['duplicates']})")
    if summary.synthetic:
        t.add_row("synthetic data", "yes")
    t.add_row("files per second", f"{summary.files_per_second:.0f}")
    if summary.rejects_csv:
        t.add_row("rejects report", summary.rejects_csv)
    return t
