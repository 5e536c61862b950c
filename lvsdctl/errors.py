"""Errors meant for users: each carries the process exit code the CLI returns.

Messages name files, line/column or field, and the form expected: never text taken from an input's
content (a cell, an element or attribute name or value, a lead label, a library message quoting either),
which may be patient data. Every cause a user can produce is one of these; exit code 1 is left to bugs.
"""


class LvsdError(Exception):
    """Base class of every error the CLI reports without a traceback."""

    exit_code = 1


class InputError(LvsdError):
    """An input file or value is unreadable, invalid, or of the wrong kind; or an output cannot be written
    there (a directory, a path under a file, /proc, a read-only or full disk), or is being written by another
    run (`lvsdctl.outputs.OutputBusyError`)."""

    exit_code = 3


class ReadError(InputError):
    """An ECG export could not be read; the message is a one-line reason."""


class FormatError(InputError):
    """An HDF5 file is not the kind or version a command expects."""


class StrictRejectError(LvsdError):
    """`--strict` was given and at least one input was rejected."""

    exit_code = 4


class MismatchError(LvsdError):
    """Model and data disagree (preprocessing, layout, channels)."""

    exit_code = 5


class MissingResourceError(LvsdError):
    """A weights file or a configured default is missing."""

    exit_code = 6
