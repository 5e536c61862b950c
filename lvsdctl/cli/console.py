"""Where output goes: humans read stderr, scripts read stdout.

stdout carries only data (`--json`, or HDF5 bytes with `-o -`), so stages pipe cleanly.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

from lvsdctl.summary import jsonable

#: Tables, progress and messages for people.
err = Console(stderr=True, highlight=False)


def emit_json(obj: Any) -> None:
    """Print one JSON document on stdout (a stage's Summary is printed as its `to_dict()`)."""
    sys.stdout.write(json.dumps(jsonable(obj), indent=2) + "\n")
    sys.stdout.flush()


def info(message: str, quiet: bool = False) -> None:
    if not quiet:
        err.print(message)


def warn(message: str) -> None:
    err.print(f"[yellow]warning:[/] {message}")


def to_rich(frame, title: str | None = None):
    """A rich Table of a pandas DataFrame (numbers right-aligned, NaN blank)."""
    import pandas as pd
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    for c in frame.columns:
        table.add_column(str(c), justify="right" if frame[c].dtype.kind in "fi" else "left")
    for row in frame.itertuples(index=False):
        table.add_row(*("" if pd.isna(v) else str(v) for v in row))
    return table
