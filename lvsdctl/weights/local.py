"""The weights directory: where checkpoints live on this machine, their recorded hashes, `resolve`.

Files keep their official names (``physionet_finetuned.pt``), so a file copied in by hand on an
air-gapped server is found exactly like a fetched one. ``fetch`` writes, beside each file, the
SHA-256 it got in ``sha256sum`` format (``FILE.sha256``: ``sha256sum -c`` checks it too).
Nothing here downloads: ``resolve`` only finds files, and says how to get a missing one.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Callable

from lvsdctl.errors import MissingResourceError
from lvsdctl.weights import catalog as _catalog

log = logging.getLogger(__name__)

WEIGHTS_DIR_ENV = "LVSDCTL_WEIGHTS_DIR"
DEFAULT_WEIGHTS_DIR = Path("~/.cache/lvsdctl/weights")
RECORD_SUFFIX = ".sha256"
_CHUNK = 8 << 20

Progress = Callable[[int, int], None]


def weights_dir(directory: str | os.PathLike | None = None) -> Path:
    """``directory`` if given, else ``$LVSDCTL_WEIGHTS_DIR``, else ``~/.cache/lvsdctl/weights``."""
    if directory is not None:
        return Path(directory).expanduser()
    env = os.environ.get(WEIGHTS_DIR_ENV)
    return Path(env).expanduser() if env else DEFAULT_WEIGHTS_DIR.expanduser()


def sha256_file(path: str | os.PathLike, progress: Progress | None = None, *, offset: int = 0,
                total: int | None = None) -> str:
    """Hex SHA-256 of a file, read in 8 MiB blocks; ``progress(offset + done, total)`` as it goes."""
    h = hashlib.sha256()
    size = os.path.getsize(path)
    total = total if total is not None else offset + size
    done = 0
    with open(path, "rb", buffering=0) as fh:
        while True:
            block = fh.read(_CHUNK)
            if not block:
                break
            h.update(block)
            done += len(block)
            if progress is not None:
                progress(offset + done, total)
    return h.hexdigest()


def record_path(path: Path) -> Path:
    return path.with_name(path.name + RECORD_SUFFIX)


def read_record(path: Path) -> str | None:
    """The SHA-256 recorded beside ``path`` by ``fetch`` (None if absent or unreadable)."""
    try:
        text = record_path(path).read_text(encoding="ascii").split()
    except (OSError, UnicodeDecodeError):
        return None
    return text[0].lower() if text and _catalog.is_sha256(text[0].lower()) else None


def write_record(path: Path, sha256: str) -> Path:
    """Write ``FILE.sha256`` atomically (``sha256sum`` format)."""
    rec = record_path(path)
    tmp = rec.with_name(f".{rec.name}.tmp-{os.getpid()}")  # a killed run's: removed by the next fetch
    try:
        tmp.write_text(f"{sha256}  {path.name}\n", encoding="ascii")
        os.replace(tmp, rec)
    finally:
        tmp.unlink(missing_ok=True)
    return rec


def missing_message(entry: _catalog.WeightsEntry, directory: Path) -> str:
    """What to do when a catalogued file is not in the weights directory (online and offline routes)."""
    what = "ECG-FM" if entry.family == "ecgfm" else "ECGFounder" if entry.family == "ecgfounder" else entry.family
    pin = f"revision {entry.revision[:12]}" if entry.revision != "main" else "branch main"
    sha = f", SHA-256 {entry.sha256}" if entry.sha256 else ""
    return (
        f"{what} weights '{entry.name}' ({entry.filename}) are not in the weights directory {directory}.\n"
        f"  Fetch them (on a machine with internet): lvsdctl weights fetch {entry.name}\n"
        f"  Offline: copy {entry.filename} ({entry.repo}, {pin}{sha}; {entry.page}) into {directory} "
        f"(the weights directory is ${WEIGHTS_DIR_ENV}, default {DEFAULT_WEIGHTS_DIR}), or pass --weights PATH."
    )


def resolve(name_or_path: str | os.PathLike, *, weights_dir: str | os.PathLike | None = None) -> Path:
    """The local file of a catalog entry (by name or official file name) or an explicit path.

    Never downloads. A catalogued file missing from the weights directory raises
    ``MissingResourceError`` (exit code 6) with the exact ``lvsdctl weights fetch NAME`` line and the
    offline route; a path that does not exist raises it too. A file whose size differs from the
    published one is logged (``lvsdctl weights verify`` hashes it).
    """
    directory = _weights_dir_arg(weights_dir)
    text = os.fspath(name_or_path)
    entry = _catalog.lookup(text, _catalog.CATALOG) if isinstance(name_or_path, str) else None
    if entry is not None and not (os.sep in text or Path(text).is_file()):
        path = directory / entry.filename
        if not path.is_file():
            raise MissingResourceError(missing_message(entry, directory))
        if entry.size is not None and path.stat().st_size != entry.size:
            log.warning("%s: %d bytes, but the published %s is %d bytes: an incomplete copy or another file; "
                        "`lvsdctl weights verify %s` checks it", path, path.stat().st_size, entry.filename,
                        entry.size, entry.name)
        return path
    path = Path(text).expanduser()
    if not path.is_file():
        known = ", ".join(e.name for e in _catalog.CATALOG)
        raise MissingResourceError(
            f"{path}: weights file not found (give a file, or a name from `lvsdctl weights list`: {known})"
        )
    return path


def describe(path: str | os.PathLike) -> dict:
    """What the catalog knows of a local file, from its name and the hash recorded at fetch (no hashing)."""
    path = Path(path)
    entry = _catalog.lookup(path.name)
    recorded = read_record(path)
    out: dict = {"catalog_name": entry.name if entry else None, "recorded_sha256": recorded}
    if entry is not None and recorded is not None:
        out["version"] = entry.identify(recorded) or (
            "fetched (the catalog pins no hash)" if entry.sha256 is None else "differs from the published file")
    return out


def _weights_dir_arg(directory: str | os.PathLike | None) -> Path:
    return weights_dir(directory)
