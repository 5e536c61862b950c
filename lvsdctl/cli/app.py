"""The Typer application object every command module registers on.

Kept free of heavy imports: `lvsdctl --help` and shell completion must be instant.
"""

from __future__ import annotations

import os
from typing import Annotated, Optional

import typer
from typer.core import TyperGroup

from lvsdctl import __version__
from lvsdctl.errors import LvsdError


def _bug_location(exc: BaseException) -> str:
    """Where in lvsdctl an unexpected exception was raised (lvsdctl/file.py:line), for the bug report."""
    import traceback

    import lvsdctl

    package = os.path.dirname(os.path.abspath(lvsdctl.__file__))
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if os.path.abspath(f.filename).startswith(package)]
    if not frames:
        return "outside lvsdctl"
    rel = os.path.relpath(os.path.abspath(frames[-1].filename), os.path.dirname(package))
    return f"{rel.replace(os.sep, '/')}:{frames[-1].lineno}"


def _rename(args: list[str], renamed: dict[str, str]) -> tuple[list[str], list[str]]:
    """`args` with former flag spellings replaced (`--sets x` and `--sets=x`), and the notes to print."""
    out, notes = [], []
    for i, arg in enumerate(args):
        if arg == "--":
            return out + args[i:], notes
        name, eq, value = arg.partition("=")
        if name in renamed:
            new = renamed[name]
            notes.append(f"{name} is deprecated: it is now {new} (same meaning); the old spelling will be removed")
            arg = new + eq + value
        out.append(arg)
    return out, notes


class LvsdGroup(TyperGroup):
    """The root command: plain `--help` pages (lvsdctl.cli.help), former flag spellings accepted with a
    note (lvsdctl.cli.options.RENAMED), and errors as one line with their exit code.

    An LvsdError is printed as a one-line message and its exit code (no traceback, so no PHI). An
    unexpected exception (a bug) is reported by its type and place only: its message and a traceback's
    lines can quote input data. `LVSDCTL_DEBUG=1` shows the full traceback. Messages are never wrapped
    by lvsdctl (commands quoted in them must paste), and carry no colour when stderr is not a terminal.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from lvsdctl.cli.help import install

        install(self)

    def resolve_command(self, ctx: typer.Context, args: list[str]):
        name, cmd, rest = super().resolve_command(ctx, args)
        from lvsdctl.cli.options import renamed_in

        path = name or ""
        if getattr(cmd, "commands", None) and rest and not rest[0].startswith("-"):
            path = f"{path} {rest[0]}"
        rest, notes = _rename(list(rest), renamed_in(path))
        if notes:
            from lvsdctl.cli.console import warn

            for note in dict.fromkeys(notes):
                warn(note)
        return name, cmd, rest

    def invoke(self, ctx: typer.Context):  # commands list in main.py's import order
        try:
            return super().invoke(ctx)
        except LvsdError as exc:
            from lvsdctl.cli.console import error

            error(str(exc))
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            from lvsdctl.cli.console import line

            line("interrupted", style="yellow")
            ctx.exit(130)
        except Exception as exc:
            # Typer's and Click's own exceptions (usage errors, --help, Exit) are theirs to handle, and so
            # is a closed pipe (`lvsdctl ... | head`): Click exits quietly on it.
            if (type(exc).__module__.split(".")[0] in ("typer", "click") or isinstance(exc, BrokenPipeError)
                    or os.environ.get("LVSDCTL_DEBUG")):
                raise
            from lvsdctl.cli.console import error

            error(f"{type(exc).__name__} at {_bug_location(exc)}. This is a bug in lvsdctl: please report it with "
                  "the command line. LVSDCTL_DEBUG=1 shows the traceback (it may quote input data: keep it inside "
                  "the site).", label="internal error")
            ctx.exit(1)


app = typer.Typer(
    name="lvsdctl",
    cls=LvsdGroup,
    help=(
        "Detect left ventricular systolic dysfunction (LVEF < 40%) from the ECGs of patients with left "
        "bundle branch block.\n\n"
        "Each stage reads and writes HDF5, so a study is a short shell script:\n\n"
        "  lvsdctl ingest exports/ --echo echo.csv -o raw.h5\n\n"
        "  lvsdctl preprocess raw.h5 -o pre.h5\n\n"
        "  lvsdctl split pre.h5 -o split.h5\n\n"
        "  lvsdctl train split.h5 --model inceptiontime -o incep.h5\n\n"
        "Run `lvsdctl COMMAND --help` for each stage. `lvsdctl synth` writes a synthetic cohort to try it on."
    ),
    no_args_is_help=True,
    rich_markup_mode=None,  # plain help (lvsdctl.cli.help) and plain usage errors: nothing cut or boxed
    # Tracebacks with local variables could print patient data: never show them.
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"lvsdctl {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        Optional[bool],
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = None,
) -> None:
    """lvsdctl: LVSD detection from LBBB ECGs."""
