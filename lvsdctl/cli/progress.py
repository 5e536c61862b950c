"""The command's one progress bar and the stages' log lines, both on stderr.

Stages know nothing of the terminal: they take `progress(done, total)` and report through
`logging` (logger "lvsdctl.<module>"). A command wraps its stage call in `reporting(...)`:

    with reporting("ingest", quiet=quiet) as progress:
        summary = ingest(inputs, output, progress=progress)

The bar starts on the first call, not before: a stage that forks worker processes (ingest) does so
before any bar thread exists. Log lines print above the bar; `-q` keeps warnings and errors only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from lvsdctl.cli.console import err

Progress = Callable[[int, int], None]


class _ConsoleHandler(logging.Handler):
    """Log records as plain lines on the stderr console (warnings marked), never as markup."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed log call must not stop the command
            self.handleError(record)
            return
        from rich.text import Text

        line = Text.assemble(("warning: ", "yellow"), text) if record.levelno >= logging.WARNING else Text(text)
        err.print(line, highlight=False, soft_wrap=True)


class _Bar:
    """A rich progress bar started at the first report (done of total; bytes with unit="bytes")."""

    def __init__(self, label: str, unit: str = "items"):
        self.label = label
        self.unit = unit
        self.bar = None
        self.task = None

    def __call__(self, done: int, total: int) -> None:
        if self.unit == "bytes":
            total = total or None  # a download's size may not be known yet
        if self.bar is None:
            from rich.progress import (BarColumn, DownloadColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeElapsedColumn, TimeRemainingColumn, TransferSpeedColumn)

            counts = (DownloadColumn(), TransferSpeedColumn()) if self.unit == "bytes" else (MofNCompleteColumn(),)
            from rich.markup import escape

            self.bar = Progress(TextColumn(f"[bold]{escape(self.label)}"), BarColumn(), *counts,
                                TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=err,
                                transient=True)
            self.bar.start()
            self.task = self.bar.add_task(self.label, total=total)
        self.bar.update(self.task, completed=done, total=total)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


@contextmanager
def reporting(label: str, *, quiet: bool = False, unit: str = "items") -> Iterator[Progress | None]:
    """Show the stage's log lines (warnings only with `quiet`) and yield its progress callback
    (None with `quiet`: no bar). `unit="bytes"` shows sizes and a transfer rate (downloads, hashing),
    a total of 0 meaning not known yet."""
    logger = logging.getLogger("lvsdctl")
    handler = _ConsoleHandler(level=logging.WARNING if quiet else logging.INFO)
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(min(handler.level, previous or logging.WARNING))
    bar = None if quiet else _Bar(label, unit)
    try:
        yield bar
    finally:
        if bar is not None:
            bar.close()
        logger.removeHandler(handler)
        logger.setLevel(previous)
