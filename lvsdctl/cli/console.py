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


def write_document(obj: Any, output: str) -> None:
    """`-o FILE` of a command whose result is a document: that JSON in FILE ('-': on stdout)."""
    if output == "-":
        emit_json(obj)
        return
    from lvsdctl.tables import write_json

    write_json(obj, output)


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


def to_rich(frame, title: str | None = None, *, keep: tuple[str, ...] = (), width: int | None = None):
    """A rich renderable of a pandas DataFrame (numbers right-aligned, NaN blank) that fits the terminal
    (`width`, default stderr's) without cutting a cell, so two rows never look alike.

    Cells wrap between words, never inside one; the columns named in `keep` (names) never wrap. If even
    that is too wide, each row is shown as a block of `column: value` lines."""
    import io

    import pandas as pd
    from rich import box
    from rich.console import Console, Group
    from rich.table import Table
    from rich.text import Text

    width = width or err.width
    cells = {c: ["" if pd.isna(v) else str(v) for v in frame[c]] for c in frame.columns}

    def floor(c) -> int:
        whole = c in keep
        words = [len(x) for x in ([str(c)] if whole else str(c).split())]
        words += [len(v) if whole else max((len(w) for w in v.split()), default=0) for v in cells[c]]
        return max(words, default=1)

    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
                  padding=(0, 1, 0, 0))
    for c in frame.columns:
        table.add_column(str(c), justify="right" if frame[c].dtype.kind in "fi" else "left", overflow="fold",
                         min_width=floor(c), no_wrap=c in keep)
    for row in zip(*cells.values()):
        table.add_row(*row)
    probe = Console(file=io.StringIO(), width=width)
    probe.print(table, crop=False)
    if max((len(x) for x in probe.file.getvalue().splitlines()), default=0) <= width:
        return table
    blocks: list = [Text(title)] if title else []
    label = max((len(str(c)) for c in frame.columns), default=0)
    for row in zip(*cells.values()):
        blocks.append(Text(""))
        blocks += [Text(f"{str(c).ljust(label)}  {v}") for c, v in zip(frame.columns, row)]
    return Group(*blocks)
