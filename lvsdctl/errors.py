"""Errors meant for users: each carries the process exit code the CLI returns.

Messages name files and reasons, never patient data.
"""


class LvsdError(Exception):
    """Base class of every error the CLI reports without a traceback."""

    exit_code = 1


class InputError(LvsdError):
    """An input file or value is unreadable, invalid, or of the wrong kind."""

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
