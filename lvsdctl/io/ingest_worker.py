"""What ingest does to one file, in a worker process when `--jobs` > 1: hash it, parse it, check it.

Nothing here raises for a bad file: a ReadError becomes its one-line reason, any other exception
"internal error: <type>" (its message could quote the file). Samples go back to the writer through
a file in /dev/shm (see _TRANSFER_DIR), results in input order (`ordered_map`).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import signal
import stat
import tempfile
from collections import deque
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from lvsdctl.errors import ReadError
from lvsdctl.io.record import ECGRecord

#: The marker every `lvsdctl synth` export carries near its start (the MUSE files' opening comment
#: "SYNTHETIC ECG written by lvsdctl-synth", the digitised files' `digitiser="lvsdctl-synth"`).
SYNTHETIC_MARKERS = (b"lvsdctl-synth",)
MARKER_SPAN = 8192
_MAX_REASON = 300

_READER: Callable[[str], ECGRecord] | None = None
#: Workers hand samples over through files in this folder (in /dev/shm when there is one) instead of the
#: pool's pipe: a 270 kB ECG through a 64 kB pipe costs the parent 3-10x more CPU than reading a file.
_TRANSFER_DIR: str | None = None


def _default_reader(path: str) -> ECGRecord:
    from lvsdctl.io.detect import read_ecg

    return read_ecg(path)


def init_worker(reader: Callable[[str], ECGRecord] | None) -> None:
    """Use `reader` (tests, benchmarks) or the format-detecting `read_ecg` in this process."""
    global _READER
    from lvsdctl.io.alloc import tune_allocator

    tune_allocator()  # bulk reading: keep freed heap instead of faulting it back in per file
    _READER = reader or _default_reader


def init_pool_worker(reader: Callable[[str], ECGRecord] | None, transfer_dir: str) -> None:
    """Workers leave Ctrl-C to the parent, which commits what is finished and stops the pool."""
    global _TRANSFER_DIR
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _TRANSFER_DIR = transfer_dir
    init_worker(reader)


def make_transfer_dir() -> str:
    """A private folder for hand-over files, in memory (/dev/shm) where the system has one."""
    shm = "/dev/shm"
    base = shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None
    return tempfile.mkdtemp(prefix="lvsdctl-ingest-", dir=base)


def receive(samples: list[np.ndarray] | tuple) -> list[np.ndarray]:
    """The arrays of one ECG, read back (and removed) when a worker handed them over in a file."""
    if isinstance(samples, list):
        return samples
    _, path, n = samples
    try:
        data = np.fromfile(path, dtype=np.float32, count=n)
    finally:
        os.unlink(path)
    if len(data) != n:
        raise OSError(f"{path}: a worker's hand-over file is short ({len(data)} of {n} samples)")
    return [data]


def one_line(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 3] + "..."


def has_synthetic_marker(head: bytes) -> bool:
    """Whether the first MARKER_SPAN bytes of a file carry the marker `lvsdctl synth` writes."""
    return any(m in head[:MARKER_SPAN] for m in SYNTHETIC_MARKERS)


def hash_one(path: str) -> tuple[str, bool, str]:
    """(sha256, carries the synthetic marker, error reason or "")."""
    h = hashlib.sha256()
    synthetic = False
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO or a device would block or never end
            return "", False, "not a regular file"
        with open(path, "rb") as fh:
            head = fh.read(MARKER_SPAN)
            synthetic = has_synthetic_marker(head)
            h.update(head)
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except IsADirectoryError:
        return "", False, "is a directory"
    except OSError as exc:
        return "", False, one_line(f"cannot read the file ({exc.strerror or type(exc).__name__})")
    return h.hexdigest(), synthetic, ""


def hash_chunk(paths: list[str]) -> list[tuple[str, bool, str]]:
    return [hash_one(p) for p in paths]


def _record_fs(rec: ECGRecord) -> float:
    """The record's original rate: its first rhythm segment's (for digitised ECGs, the strip's)."""
    for seg in rec.segments:
        if seg.kind == "rhythm":
            return float(seg.fs)
    return float(rec.segments[0].fs) if rec.segments else float("nan")


def _check(rec: ECGRecord, signals: list[np.ndarray]) -> None:
    """Last guard whatever the reader: finite, non-empty 1-D segments at a positive rate."""
    if not isinstance(rec, ECGRecord) or not rec.segments:
        raise ReadError("no ECG signal in the file")
    for seg, sig in zip(rec.segments, signals):
        if sig.ndim != 1 or sig.size == 0:
            raise ReadError(f"lead {seg.lead}: empty or not one-dimensional")
        if not (np.isfinite(seg.fs) and seg.fs > 0):
            raise ReadError(f"lead {seg.lead}: invalid sampling rate")
        if not np.isfinite(sig).all():
            raise ReadError(f"lead {seg.lead}: non-finite samples (NaN or infinity)")


def parse_one(path: str) -> tuple:
    """("ok", meta, samples, segments) or ("reject", reason). Never raises for a bad file.

    `samples`: the segments' arrays (in-process), or ("file", path, n) when handed over by a worker.
    """
    try:
        rec = _READER(path)  # type: ignore[misc]
        signals = [np.asarray(s.signal, dtype=np.float32) for s in getattr(rec, "segments", None) or ()]
        _check(rec, signals)
    except ReadError as exc:
        return ("reject", one_line(str(exc)) or "unreadable file")
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - one bad file must not stop the batch
        # the message of an unexpected exception might quote the file's content: only its type
        return ("reject", f"internal error: {type(exc).__name__}")
    segments = []
    offset = 0
    for seg, sig in zip(rec.segments, signals):
        segments.append([str(seg.lead), str(seg.kind), float(seg.t0), float(seg.fs), offset, int(sig.size)])
        offset += int(sig.size)
    acquired = rec.acquired.isoformat() if rec.acquired is not None else ""
    meta = {
        "patient_id": rec.patient_id,
        "acquired": acquired,
        "age": float(rec.age) if rec.age is not None else float("nan"),
        "sex": rec.sex if rec.sex in ("F", "M") else "",
        "site": rec.site or "",
        "source_format": rec.source_format,
        "fs": _record_fs(rec),
        "qrs_ms": _float(rec.extra.get("qrs_ms")),
        "synthetic": bool(rec.extra.get("synthetic", False)),
    }
    if _TRANSFER_DIR is not None:
        path = os.path.join(_TRANSFER_DIR, f"{os.getpid()}-{next(_COUNTER)}.f32")
        try:
            with open(path, "wb") as fh:
                for sig in signals:
                    fh.write(np.ascontiguousarray(sig).data)
            return ("ok", meta, ("file", path, offset), segments)
        except OSError:  # e.g. a small /dev/shm is full: the pipe is slower but always works
            with contextlib.suppress(OSError):
                os.unlink(path)
    return ("ok", meta, signals, segments)


_COUNTER = itertools.count()


def parse_chunk(paths: list[str]) -> list[tuple]:
    return [parse_one(p) for p in paths]


def _float(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")


def ordered_map(fn: Callable[[list[str]], list], items: Sequence[str], pool, chunk: int) -> Iterator:
    """fn over items in chunks, results in input order; at most a few chunks in flight per worker so
    memory stays bounded when writing is slower than parsing."""
    if pool is None:  # one at a time, so an interruption loses nothing already parsed
        for item in items:
            yield from fn([item])
        return
    chunks = [list(items[i:i + chunk]) for i in range(0, len(items), chunk)]
    pending: deque = deque()
    ahead = max(2, 3 * pool._processes)  # noqa: SLF001 - the pool's own size
    it = iter(chunks)
    for c in it:
        pending.append(pool.apply_async(fn, (c,)))
        if len(pending) >= ahead:
            break
    while pending:
        results = pending.popleft().get()
        nxt = next(it, None)
        if nxt is not None:
            pending.append(pool.apply_async(fn, (nxt,)))
        yield from results
