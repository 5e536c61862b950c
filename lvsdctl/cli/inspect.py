"""`lvsdctl inspect`: what an lvsdctl file holds, and how it was made."""

from __future__ import annotations

from typing import Annotated

import typer

from lvsdctl.cli.app import app
from lvsdctl.cli.options import Json, OptionalOutput


@app.command(
    "inspect",
    short_help="Show an lvsdctl file's kind, counts, shapes and provenance.",
    help=(
        "Show what an lvsdctl HDF5 file holds: its kind, format version, record counts by split and "
        "label, array shapes, and the provenance of every stage that made it.\n\n"
        "-o writes the same description as JSON (the document --json prints).\n\n"
        "Example: lvsdctl inspect split.h5 --json"
    ),
)
def inspect_cmd(
    path: Annotated[str, typer.Argument(metavar="FILE", help="An lvsdctl HDF5 file ('-' reads stdin).")],
    output: OptionalOutput = None,
    json_out: Json = False,
) -> None:
    from lvsdctl.cli.console import emit_json, err, line, write_document
    from lvsdctl.hdf5 import describe

    info = describe(path)
    if output:
        write_document(info, output)
    if output == "-":
        return
    if json_out:
        emit_json(info)
        return
    from rich.table import Table

    line(f"{path}: {info.kind} (format v{info.format_version}, lvsdctl {info.lvsdctl_version})"
         + (" SYNTHETIC DATA" if info.synthetic else ""))
    for name, shape in info.arrays.items():
        line(f"  {name}: {shape}")
    if info.records:
        t = Table("split", "ECGs", "patients", "LVSD", "no LVSD", "unlabelled", title="records", title_justify="left")
        for row in info.records:
            t.add_row(*(str(row[k]) for k in ("split", "ecgs", "patients", "lvsd", "no_lvsd", "unlabelled")))
        err.print(t)
    for i, entry in enumerate(info.provenance, 1):
        line(f"  {i}. {entry['time']}  {entry['command']}")
