"""Opening, checking and atomically writing lvsdctl HDF5 files.

Atomic: an output is written to a hidden temporary file beside the target and renamed over it only
after it is complete and flushed, so a crash or a kill never leaves a file under the final name that
looks complete. `-` stands for stdin (inputs) or stdout (outputs) so stages pipe in shell.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator

import h5py
import numpy as np

from lvsdctl import __version__
from lvsdctl.errors import FormatError, InputError
from lvsdctl.outputs import check_output, output_lock, private_temp

#: The version of the file family this lvsdctl writes (and the newest it reads). 2: `ecg-raw` files keep
#: integer-coded segments as int16 in `/raw/counts` with a per-segment `scale` (version 1 files are read too).
FORMAT_VERSION = 2

#: Root attribute: JSON list of the fingerprints (`key_id`) of the pseudonymisation secrets that made the
#: file's patient pseudonyms (written by ingest and merge; `lvsdctl.merge.inputs.key_ids` reads it).
PSEUDONYM_KEYS_ATTR = "pseudonym_key_ids"

#: What each kind of file holds (docs/formats.md has the full layout).
KINDS = {
    "ecg-raw": "ECGs as ingested: native rates, every segment kept (ingest)",
    "ecg": "preprocessed, uniform ECG arrays (preprocess, split)",
    "model": "a trained model: weights, config, history (train, finetune, pretrain)",
    "predictions": "per-ECG LVSD scores (predict)",
    "evaluation": "metrics, confidence intervals and predictions (evaluate)",
    "attributions": "per-ECG attribution maps and their summaries (explain)",
    "measures": "per-ECG beats, wave boundaries, intervals and LBBB criteria (measure)",
}

_STR = h5py.string_dtype(encoding="utf-8")

# Temporary files that stand for stdin, mapped to the name provenance should show ("-").
_STDIN_FILES: dict[str, str] = {}
_HASH_CACHE: dict[tuple[str, int, int], str] = {}


def sha256_file(path: str | os.PathLike) -> str:
    """SHA-256 of a file, streamed; cached by (path, size, mtime) within a process."""
    p = Path(path)
    st = p.stat()
    key = (str(p.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _HASH_CACHE:
        h = hashlib.sha256()
        with open(p, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        _HASH_CACHE[key] = h.hexdigest()
    return _HASH_CACHE[key]


def write_json_attr(obj: h5py.HLObject, name: str, value: Any) -> None:
    obj.attrs[name] = json.dumps(value, sort_keys=True, default=_json_default)


def read_json_attr(obj: h5py.HLObject, name: str, default: Any = None) -> Any:
    """A JSON attribute; InputError (naming the file and the attribute lvsdctl asked for) when it is not JSON."""
    if name not in obj.attrs:
        return default
    raw = obj.attrs[name]
    try:
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8")
        return json.loads(raw)
    except (ValueError, TypeError, RecursionError):
        raise InputError(f"{obj.file.filename}: attribute {name!r} of {obj.name} is not valid JSON") from None


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (Path, datetime)):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _spool_stdin() -> str:
    """h5py needs a seekable file: copy stdin to a private temporary file (a killed run's is removed by
    the next one: `private_temp`)."""
    tmp = private_temp("lvsdctl-stdin", suffix=".h5")
    try:
        with open(tmp, "wb") as out:
            shutil.copyfileobj(sys.stdin.buffer, out, 1 << 20)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise InputError(f"-: cannot keep stdin in a temporary file ({exc.strerror or type(exc).__name__})") from None
    _STDIN_FILES[tmp] = "-"
    return tmp


def check_file(f: h5py.File, kind: str | Iterable[str] | None, name: str) -> str:
    """Refuse a file of the wrong kind or a newer format version; return its kind."""
    found = f.attrs.get("lvsdctl_kind")
    if isinstance(found, bytes):
        found = found.decode()
    if found is None:
        raise FormatError(f"{name}: not an lvsdctl file (no 'lvsdctl_kind' attribute)")
    try:
        version = int(f.attrs.get("lvsdctl_format_version", 0))
    except (TypeError, ValueError):
        raise FormatError(f"{name}: its lvsdctl_format_version is not a number") from None
    if version > FORMAT_VERSION:
        raise FormatError(
            f"{name}: written with format version {version} by a newer lvsdctl; this lvsdctl "
            f"({__version__}) reads up to version {FORMAT_VERSION}: upgrade lvsdctl"
        )
    if not isinstance(found, str) or found not in KINDS:  # the text is the file's: not quoted
        raise FormatError(f"{name}: an lvsdctl file of a kind this lvsdctl does not know; upgrade lvsdctl?")
    if kind is not None:
        wanted = {kind} if isinstance(kind, str) else set(kind)
        if found not in wanted:
            raise FormatError(
                f"{name}: is an '{found}' file ({KINDS[found]}); "
                f"this command needs {' or '.join(repr(k) for k in sorted(wanted))}"
            )
    return found


@contextmanager
def open_input(path: str | os.PathLike, kind: str | Iterable[str] | None = None) -> Iterator[h5py.File]:
    """Open an lvsdctl HDF5 file for reading, checking its kind and version. `-` reads stdin."""
    name = str(path)
    if name == "-":
        real = _spool_stdin()
    else:
        real = name
        if not Path(real).exists():
            raise InputError(f"{name}: no such file")
        if Path(real).is_dir():
            raise InputError(f"{name}: is a directory, expected an HDF5 file")
    try:
        if not h5py.is_hdf5(real):
            raise InputError(f"{name}: not an HDF5 file (truncated, or another format)")
        try:
            f = h5py.File(real, "r")
        except OSError as exc:
            raise InputError(f"{name}: unreadable HDF5 file ({exc.__class__.__name__})") from None
        with f:
            check_file(f, kind, name)
            yield f
    finally:
        if name == "-":
            _STDIN_FILES.pop(real, None)
            Path(real).unlink(missing_ok=True)


def provenance(f: h5py.File) -> list[dict]:
    """The provenance entries of a file, oldest first."""
    if "provenance" not in f:
        return []
    try:
        return [json.loads(s) for s in f["provenance"].asstr()[()]]
    except (ValueError, TypeError, RecursionError, UnicodeDecodeError, AttributeError):  # text never quoted
        raise InputError(f"{f.filename}: its /provenance is not a list of JSON entries") from None


def _describe_input(item: Any) -> tuple[dict, list[dict], bool]:
    """(input description, its provenance, whether it is synthetic) for a path or an open file."""
    if isinstance(item, h5py.File):
        real = item.filename
        shown = _STDIN_FILES.get(real, real)
        kind = item.attrs.get("lvsdctl_kind")
        kind = kind.decode() if isinstance(kind, bytes) else kind
        return (
            {"path": shown, "sha256": sha256_file(real), "kind": kind},
            provenance(item),
            bool(item.attrs.get("synthetic", False)),
        )
    p = Path(item)
    desc = {"path": str(item), "sha256": sha256_file(p) if p.is_file() else None, "kind": None}
    prov: list[dict] = []
    synthetic = False
    if p.is_file() and h5py.is_hdf5(p):
        with h5py.File(p, "r") as f:
            kind = f.attrs.get("lvsdctl_kind")
            desc["kind"] = kind.decode() if isinstance(kind, bytes) else kind
            prov = provenance(f)
            synthetic = bool(f.attrs.get("synthetic", False))
    return desc, prov, synthetic


def _command_line() -> str:
    argv = list(sys.argv)
    if argv:
        argv[0] = Path(argv[0]).name
    return " ".join(argv)


@contextmanager
def atomic_output(
    path: str | os.PathLike,
    kind: str,
    *,
    inputs: Iterable[Any] = (),
    parameters: dict | None = None,
    command: str | None = None,
    synthetic: bool | None = None,
    start_from: str | os.PathLike | None = None,
) -> Iterator[h5py.File]:
    """Write an lvsdctl file atomically; `-` streams the finished file to stdout.

    `inputs` are paths or open h5py files; their provenance is carried over and this stage's entry
    (command line, version, time, input hashes, parameters) appended. `synthetic` defaults to true
    when any input file is synthetic. `start_from`: an HDF5 file that becomes the output (moved, not
    copied: ingest's sample store), completed in place; if writing fails it is moved back.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    name = str(path)
    check_output(name)  # also done by each verb before its work; here for any other caller
    with output_lock(name):
        yield from _write_atomic(name, kind, inputs, parameters, command, synthetic, start_from)


def _write_atomic(name: str, kind: str, inputs, parameters, command, synthetic, start_from) -> Iterator[h5py.File]:
    if name == "-":
        tmp = private_temp("lvsdctl-out", suffix=".h5")
        target = None
    else:
        target = Path(name)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"output {name}: cannot create its directory ({exc.strerror or type(exc).__name__})"
                             ) from None
        tmp = str(target.parent / f".{target.name}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}")

    described = [_describe_input(i) for i in inputs]
    history: list[dict] = []
    for _, prov, _ in described:
        for entry in prov:
            if entry not in history:
                history.append(entry)
    is_synthetic = synthetic if synthetic is not None else any(s for _, _, s in described)
    entry = {
        "command": command if command is not None else _command_line(),
        "lvsdctl_version": __version__,
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "kind": kind,
        "inputs": [d for d, _, _ in described],
        "parameters": parameters or {},
    }
    adopted = False
    step = "create"  # where an OSError comes from: the caller's body is the caller's; the rest is ours
    try:
        if start_from is not None:
            shutil.move(os.fspath(start_from), tmp)
            adopted = True
        with h5py.File(tmp, "r+") if adopted else h5py.File(tmp, "w", track_order=True) as f:
            f.attrs["lvsdctl_kind"] = kind
            f.attrs["lvsdctl_format_version"] = FORMAT_VERSION
            f.attrs["lvsdctl_version"] = __version__
            f.attrs["created"] = entry["time"]
            f.attrs["synthetic"] = bool(is_synthetic)
            step = "body"
            yield f
            step = "finish"
            # Provenance last: parameters may have been completed while writing.
            docs = [json.dumps(e, sort_keys=True, default=_json_default) for e in [*history, entry]]
            f.create_dataset("provenance", data=np.array(docs, dtype=object), dtype=_STR)
            f.attrs["synthetic"] = bool(f.attrs["synthetic"])
        step = "finish"
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        if target is None:
            with open(tmp, "rb") as fh:
                shutil.copyfileobj(fh, sys.stdout.buffer, 1 << 20)
            sys.stdout.buffer.flush()
        else:
            os.replace(tmp, target)
        adopted = False  # complete: nothing to give back
    except OSError as exc:
        if step == "body" or isinstance(exc, BrokenPipeError):
            raise
        # a full disk, a quota, an I/O error: the user's to fix, not a bug
        raise InputError(f"output {name}: cannot be written ({exc.strerror or type(exc).__name__})") from None
    finally:
        if adopted and os.path.exists(tmp):
            shutil.move(tmp, os.fspath(start_from))
        elif os.path.exists(tmp):
            os.unlink(tmp)
