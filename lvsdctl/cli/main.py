"""Entry point: imports every command module so it registers on `app`, then runs it."""

from __future__ import annotations

import importlib

from lvsdctl.cli.app import app

#: Command modules, one per subcommand. Each imports its heavy stage code inside the command body.
#: Listed in `lvsdctl --help` in this order (the pipeline's).
COMMAND_MODULES = [
    "synth",
    "ingest",
    "merge",
    "preprocess",
    "measure",
    "split",
    "train",
    "finetune",
    "pretrain",
    "evaluate",
    "stats",
    "explain",
    "study",
    "inspect",
    "weights",
]

for _name in COMMAND_MODULES:
    try:
        importlib.import_module(f"lvsdctl.cli.{_name}")
    except ModuleNotFoundError as _exc:
        # A command whose module is not built yet is simply not listed.
        if _exc.name != f"lvsdctl.cli.{_name}":
            raise


def run() -> None:
    app()


if __name__ == "__main__":
    run()
