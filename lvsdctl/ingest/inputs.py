"""Which files an ingest reads: files, directories (recursively), globs and file lists, in a stable order.

An argument that names nothing stays an input, to be rejected with a reason, so a typo is counted
rather than lost. Walks pass over hidden files and WFDB data files (read through their `.hea`).
"""

from __future__ import annotations

import glob
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from lvsdctl.errors import InputError


@dataclass(frozen=True)
class InputFile:
    """One input: a path, and a reason when it names no file (rejected, but counted)."""

    path: str
    missing: str = ""  # a reason when the argument names no readable file


def _has_magic(s: str) -> bool:
    return any(c in s for c in "*?[")


def _passed_over(path: str) -> bool:
    """Files a directory walk or a glob does not take as inputs: hidden files, and the data files of
    a WFDB record (read through its header)."""
    from lvsdctl.io.detect import is_companion_file

    return os.path.basename(path).startswith(".") or is_companion_file(path)


def _walk(root: Path, exclude: set[str]) -> tuple[list[str], int]:
    """Files under `root`, sorted; hidden folders and `_passed_over` files counted, not listed."""
    found: list[str] = []
    skipped = 0
    for dirpath, dirnames, filenames in os.walk(root):
        skipped += sum(d.startswith(".") for d in dirnames)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")
                             and os.path.abspath(os.path.join(dirpath, d)) not in exclude)
        for name in sorted(filenames):
            full = os.path.normpath(os.path.join(dirpath, name))
            if os.path.abspath(full) in exclude:
                continue
            if _passed_over(full):
                skipped += 1
                continue
            found.append(full)
    return found, skipped


def _read_list(from_list: str | os.PathLike) -> list[str]:
    """Paths from a list file (`-` = stdin): one per line; blank lines and `#` comments ignored."""
    if str(from_list) == "-":
        text = sys.stdin.read()
    else:
        try:
            text = Path(from_list).read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"{from_list}: cannot read the file list ({exc.strerror})") from None
        except UnicodeDecodeError:
            raise InputError(f"{from_list}: the file list is not UTF-8 text") from None
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def expand_inputs(inputs: Iterable[str | os.PathLike], from_list: str | os.PathLike | None = None,
                  exclude: Iterable[str | os.PathLike] = ()) -> tuple[list[InputFile], int]:
    """The input files in a stable order, and how many files directory walks passed over.

    Arguments keep their order; a directory contributes its files recursively, sorted; a glob its
    matches, sorted. An argument that names nothing is kept as an input to be rejected, so it is
    counted rather than silently lost.
    """
    excluded = {os.path.abspath(os.fspath(e)) for e in exclude}  # the output, its state and reports
    if isinstance(inputs, (str, os.PathLike)):  # one path, not its characters
        inputs = [inputs]
    args = [os.fspath(a) for a in inputs]
    if from_list is not None:
        args += _read_list(from_list)
    out: list[InputFile] = []
    skipped = 0

    def add_path(p: str) -> None:
        nonlocal skipped
        if os.path.isdir(p):
            files, n = _walk(Path(p), excluded)
            skipped += n
            out.extend(InputFile(f) for f in files)
        elif os.path.abspath(p) not in excluded:
            out.append(InputFile(p))

    for arg in args:
        if os.path.exists(arg):
            add_path(arg)
        elif _has_magic(arg):
            matches = sorted(glob.glob(arg, recursive=True))
            if not matches:
                out.append(InputFile(arg, "no file matches this pattern"))
            for m in matches:
                if os.path.isfile(m) and _passed_over(m):
                    skipped += 1
                else:
                    add_path(m)
        else:
            out.append(InputFile(arg, "no such file"))
    return out, skipped


