"""`lvsdctl merge`: several ingest (or preprocess) outputs -> one file, for multi-site and sharded cohorts."""

from __future__ import annotations

from typing import Annotated

import typer

from lvsdctl.cli.app import app
from lvsdctl.cli.options import Json, Output, Quiet

HELP = """Join ecg-raw files (from `lvsdctl ingest`, one per site or per shard) or ecg files (from
`lvsdctl preprocess`, all made the same way) into one file of the same kind.

Example:

  lvsdctl ingest siteA/ --echo echoA.csv --site A --secret-file site.secret -o A.h5

  lvsdctl merge A.h5 B.h5 C.h5 -o all.h5

Records are copied in the order given, block by block. The same ECG export in two inputs (same
SHA-256) is written once and counted as a duplicate: inputs = written + duplicates. Every input's
provenance is kept. Inputs of different kinds, format versions or preprocessing are refused, and so are
pseudonyms made with different site secrets: one patient would have two pseudonyms, and `split` could
put them in two sets. Give every site's ingest the same secret file."""


@app.command("merge", help=HELP,
             short_help="Join ingest outputs of several sites or shards (or preprocessed files) into one.")
def merge_command(
    inputs: Annotated[list[str], typer.Argument(help="ecg-raw files, or ecg files, of one kind.",
                                                show_default=False)],
    output: Output = ...,  # type: ignore[assignment]
    allow_different_keys: Annotated[bool, typer.Option(
        "--allow-different-keys", help="Join files whose pseudonyms come from different site secrets (only "
        "when the sites share no patient: their patients cannot be linked).")] = False,
    json_out: Json = False,
    quiet: Quiet = False,
) -> None:
    from lvsdctl.cli.console import emit_json, err, line
    from lvsdctl.cli.progress import reporting
    from lvsdctl.errors import InputError
    from lvsdctl.merge import merge

    if json_out and output == "-":
        raise InputError("--json and -o - both write to stdout; choose one")
    with reporting("merge", quiet=quiet) as progress:
        summary = merge(inputs, output, allow_different_keys=allow_different_keys, progress=progress)
    if json_out:
        emit_json(summary)
    if not quiet:
        from rich.table import Table

        table = Table("input", "records", "written", "duplicates", title=f"merge -> {summary.output}")
        for f in summary.files:
            table.add_row(f["path"], str(f["records"]), str(f["written"]), str(f["duplicates"]))
        table.add_row("total", str(summary.inputs), str(summary.written), str(summary.duplicates))
        err.print(table)
        err.print(f"{summary.patients} patients, {summary.patients_in_several_inputs} of them in more than one "
                  f"input; pseudonym key(s): {', '.join(summary.key_ids) or 'not recorded'}")
        for note in summary.notes:
            line(note, style="yellow", label="note")
