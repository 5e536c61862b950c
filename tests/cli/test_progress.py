"""The CLI's one progress bar and the stages' log lines on stderr."""

from __future__ import annotations

import logging

from lvsdctl.cli import console
from lvsdctl.cli.progress import reporting


def test_log_lines_and_quiet(monkeypatch, capsys):
    from rich.console import Console

    monkeypatch.setattr(console, "err", Console(stderr=True, force_terminal=False, width=100))
    monkeypatch.setattr("lvsdctl.cli.progress.err", console.err)
    log = logging.getLogger("lvsdctl.some.stage")
    with reporting("stage") as progress:
        assert callable(progress)
        progress(1, 4)
        progress(4, 4)
        log.info("epoch 1/2: train loss 0.5")
        log.warning("something to know")
    with reporting("stage", quiet=True) as progress:
        assert progress is None
        log.info("not shown when quiet")
        log.warning("still shown")
    err = capsys.readouterr().err
    assert "epoch 1/2: train loss 0.5" in err and "warning: something to know" in err
    assert "not shown when quiet" not in err and "warning: still shown" in err
    assert not logging.getLogger("lvsdctl").handlers  # removed again


def test_a_bar_of_bytes_takes_an_unknown_total(monkeypatch, capsys):
    from rich.console import Console

    monkeypatch.setattr("lvsdctl.cli.progress.err", Console(stderr=True, force_terminal=True, width=100))
    with reporting("weights fetch", unit="bytes") as progress:
        progress(0, 0)  # a download's size not known yet
        progress(2_000_000, 4_000_000)
        assert progress.bar.tasks[0].total == 4_000_000 and progress.bar.tasks[0].completed == 2_000_000
    assert progress.bar is None  # stopped
    assert "weights fetch" in capsys.readouterr().err
