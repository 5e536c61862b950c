"""`lvsdctl inspect`: what an lvsdctl file holds, and how it was made."""

from __future__ import annotations

from typing import Annotated

import typer

from lvsdctl.cli.app import app
from lvsdctl.cli.options import Json


@app.command(
    "inspect",
    short_help="Show an lvsdctl file's kind, counts, shapes and provenance.",
    help=(
        "Show what an lvsdctl HDF5 file holds: its kind, format version, record counts by split and "
        "label, array shapes, and the provenance of every stage that made it.\n\n"
        "Example: lvsdctl inspect split.h5 --json"
    ),
)
def inspect_cmd(
    path: Annotated[str, typer.Argument(help="An lvsdctl HDF5 file ('-' reads stdin).")],
    json_out: Json = False,
) -> None:
    from lvsdctl.cli.console import emit_json, err
    from lvsdctl.hdf5 import describe

    info = describe(path)
    if json_out:
        emit_json(info)
        return
    from rich.table import Table

    err.print(f"[bold]{path}[/]: {info.kind} (format v{info.format_version}, lvsdctl "
              f"{info.lvsdctl_version}){' [yellow]SYNTHETIC DATA[/]' if info.synthetic else ''}")
    for name, shape in info.arrays.items():
        err.print(f"  {name}: {shape}")
    if info.records:
        t = Table("split", "ECGs", "patients", "LVSD", "no LVSD", "unlabelled", title="records")
        for row in info.records:
            t.add_row(*(str(row[k]) for k in ("split", "ecgs", "patients", "lvsd", "no_lvsd", "unlabelled")))
        err.print(t)
    for i, entry in enumerate(info.provenance, 1):
        err.print(f"  {i}. {entry['time']}  {entry['command']}")
