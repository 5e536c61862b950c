"""Where output goes: humans read stderr, scripts read stdout.

stdout carries only data (`--json`, or HDF5 bytes with `-o -`), so stages pipe cleanly. On stderr,
messages are never wrapped by lvsdctl (a command quoted in an error must paste whole; the terminal
wraps long lines itself), and nothing is coloured, nor any progress bar drawn, unless stderr is a
terminal: a log redirected to a file holds no ANSI codes. NO_COLOR is honoured.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from rich.console import Console

from lvsdctl.summary import jsonable


def _stderr_console() -> Console:
    tty = bool(getattr(sys.stderr, "isatty", lambda: False)())
    return Console(stderr=True, highlight=False, force_terminal=tty, no_color=not tty or bool(os.environ.get("NO_COLOR")),
                   color_system="auto" if tty else None)


#: Tables, progress and messages for people.
err = _stderr_console()


def emit_json(obj: Any) -> None:
    """Print one JSON document on stdout (a stage's Summary is printed as its `to_dict()`)."""
    sys.stdout.write(json.dumps(jsonable(obj), indent=2) + "\n")
    sys.stdout.flush()


def line(message: str, *, style: str | None = None, label: str | None = None) -> None:
    """One message on stderr, never wrapped nor read as markup: `label: message` (the label styled)."""
    from rich.text import Text

    text = Text.assemble((f"{label}: ", style or ""), message) if label else Text(message, style=style or "")
    err.print(text, soft_wrap=True, highlight=False)


def info(message: str, quiet: bool = False) -> None:
    if not quiet:
        line(message)


def warn(message: str) -> None:
    line(message, style="yellow", label="warning")


def error(message: str, *, label: str = "error") -> None:
    line(message, style="bold red", label=label)


def to_rich(frame, title: str | None = None, *, keep: tuple[str, ...] = ()):
    """A rich Table of a pandas DataFrame (numbers right-aligned, NaN blank) that fits the terminal
    without cutting a cell: text wraps (between words, or folded inside a long name) instead of ending
    in an ellipsis, so two rows never look alike. Columns named in `keep` (and the first) are never
    narrower than their longest word."""
    import pandas as pd
    from rich.table import Table

    table = Table(title=title, show_lines=False, title_justify="left")
    for i, c in enumerate(frame.columns):
        cells = ["" if pd.isna(v) else str(v) for v in frame[c]]
        numeric = frame[c].dtype.kind in "fi"
        longest = max((len(w) for s in [str(c), *cells] for w in s.split()), default=1)
        table.add_column(str(c), justify="right" if numeric else "left", overflow="fold",
                         min_width=longest if (i == 0 or c in keep or numeric) else None)
    for row in frame.itertuples(index=False):
        table.add_row(*("" if pd.isna(v) else str(v) for v in row))
    return table
