"""What ingest does to one file, in a worker process when `--jobs` > 1: hash it, parse it, check it.

Nothing here raises for a bad file: a ReadError becomes its one-line reason, any other exception
"internal error: <type>" (its message could quote the file). Results come back in input order
(`ordered_map`). Each ECG's samples travel as two arrays, `Samples`: float32 millivolts for segments
given as signals, int16 codes for segments given as counts (MUSE), each stream joined in segment order.
They go back to the writer through a shared-memory slot (`SharedSlots`) or, when they do not fit or
there is none, a file in /dev/shm (`_TRANSFER_DIR`).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import mmap
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
#: Tasks in flight per worker process (and shared slots per worker): enough that a worker never waits
#: for the writer, few enough that memory stays bounded when writing is slower than parsing.
TASKS_AHEAD = 3

_READER: Callable[[str], ECGRecord] | None = None
#: Workers hand samples over through files in this folder (in /dev/shm when there is one) instead of the
#: pool's pipe: a 270 kB ECG through a 64 kB pipe costs the parent 3-10x more CPU than reading a file.
#: Used only when an ECG does not fit its task's shared slot (or no slots could be made).
_TRANSFER_DIR: str | None = None
#: The slots of the running ingest (set in the parent before the pool forks, so workers share them).
_SLOTS: "SharedSlots | None" = None


class SharedSlots:
    """Fixed-size regions of one anonymous shared memory mapping, one per task in flight.

    Made by the parent before it forks the pool, so parent and workers map the same pages. The parent
    gives each parse task a free slot; the worker writes the task's samples into it and returns only
    offsets; the parent copies them out and frees the slot before reusing it for a later task. Unlike a
    file per ECG, the pages are faulted in once and then reused: a 270 kB ECG through a fresh file cost
    about 0.3 ms of CPU (writing, reading and unlinking it), through a warm slot a memory copy.
    """

    def __init__(self, count: int, size: int):
        self.size = size
        self.buffer = mmap.mmap(-1, count * size)  # anonymous and shared: inherited across fork
        self.free: deque[int] = deque(range(count))

    def view(self, slot: int, offset: int, n: int, dtype=np.float32) -> np.ndarray:
        return np.frombuffer(self.buffer, dtype=dtype, count=n, offset=slot * self.size + offset)

    def close(self) -> None:
        self.buffer.close()


def open_slots(count: int, size: int = 16 << 20) -> SharedSlots | None:
    """Slots for `count` tasks in flight, where forked workers can share them (else None: files are used)."""
    global _SLOTS
    if "fork" not in __import__("multiprocessing").get_all_start_methods():
        return None
    try:
        _SLOTS = SharedSlots(count, size)
    except (OSError, ValueError):  # e.g. no shared memory allowed: hand-over files still work
        _SLOTS = None
    return _SLOTS


def close_slots() -> None:
    global _SLOTS
    if _SLOTS is not None:
        _SLOTS.close()
        _SLOTS = None


#: One ECG's samples: (float32 mV of its signal segments, int16 codes of its counted segments).
Samples = tuple[np.ndarray, np.ndarray]


class _SlotSink:
    """Where one task's ECGs are written in its slot, one after another."""

    def __init__(self, slot: int):
        self.slot, self.used = slot, 0

    def reserve(self, n_f32: int, n_i16: int) -> tuple[np.ndarray, np.ndarray, tuple] | None:
        """Views for the two streams of one ECG in the slot and its hand-over token; None when full."""
        start = -(-self.used // 8) * 8  # float32 data starts aligned
        end = start + 4 * n_f32 + 2 * n_i16
        if _SLOTS is None or end > _SLOTS.size:
            return None
        self.used = end
        return (_SLOTS.view(self.slot, start, n_f32), _SLOTS.view(self.slot, start + 4 * n_f32, n_i16, np.int16),
                ("slot", self.slot, start, n_f32, n_i16))


def _default_reader(path: str, data: bytes | None = None) -> ECGRecord:
    from lvsdctl.io.detect import read_ecg

    return read_ecg(path, data)


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


def receive(samples: Samples | tuple) -> Samples:
    """One ECG's samples, copied out of its slot or read back (and removed) from its hand-over file.

    Call it as soon as a result arrives: `ordered_map` reuses a task's slot once all its results are taken.
    """
    if not isinstance(samples[0], str):  # the arrays themselves (in-process)
        return samples
    if samples[0] == "slot":
        _, slot, offset, n_f32, n_i16 = samples
        if _SLOTS is None:
            raise OSError("a worker's shared slot is gone")
        return (_SLOTS.view(slot, offset, n_f32).copy(),
                _SLOTS.view(slot, offset + 4 * n_f32, n_i16, np.int16).copy())
    _, path, n_f32, n_i16 = samples
    try:
        with open(path, "rb") as fh:
            f32 = np.fromfile(fh, dtype=np.float32, count=n_f32)
            i16 = np.fromfile(fh, dtype=np.int16, count=n_i16)
    finally:
        os.unlink(path)
    if len(f32) != n_f32 or len(i16) != n_i16:
        raise OSError(f"{path}: a worker's hand-over file is short")
    return f32, i16


def one_line(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 3] + "..."


def has_synthetic_marker(head: bytes) -> bool:
    """Whether the first MARKER_SPAN bytes of a file carry the marker `lvsdctl synth` writes."""
    return any(m in head[:MARKER_SPAN] for m in SYNTHETIC_MARKERS)


def hash_one(path: str) -> tuple[str, bool, str]:
    """(sha256, carries the synthetic marker, error reason or "")."""
    return read_and_hash(path, keep=0)[:3]


#: Files up to this size are read whole once, hashed and parsed from the same bytes.
KEEP_BYTES = 8 << 20


def read_and_hash(path: str, keep: int = KEEP_BYTES) -> tuple[str, bool, str, bytes | None]:
    """(sha256, carries the synthetic marker, error reason or "", the bytes when the file is at most
    `keep` bytes long, else None: larger files are hashed in blocks and left to their reader)."""
    h = hashlib.sha256()
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):  # a FIFO or a device would block or never end
            return "", False, "not a regular file", None
        with open(path, "rb") as fh:
            if st.st_size <= keep:
                data = fh.read(keep + 1)
                if len(data) <= keep:  # (a file that grew past `keep` since the stat: hashed below)
                    h.update(data)
                    return h.hexdigest(), has_synthetic_marker(data), "", data
                fh.seek(0)
            head = fh.read(MARKER_SPAN)
            synthetic = has_synthetic_marker(head)
            h.update(head)
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except IsADirectoryError:
        return "", False, "is a directory", None
    except OSError as exc:
        return "", False, one_line(f"cannot read the file ({exc.strerror or type(exc).__name__})"), None
    return h.hexdigest(), synthetic, "", None


def hash_chunk(paths: list[str]) -> list[tuple[str, bool, str]]:
    return [hash_one(p) for p in paths]


def _record_fs(rec: ECGRecord) -> float:
    """The record's original rate: its first rhythm segment's (for digitised ECGs, the strip's)."""
    for seg in rec.segments:
        if seg.kind == "rhythm":
            return float(seg.fs)
    return float(rec.segments[0].fs) if rec.segments else float("nan")


def _check(rec: ECGRecord) -> None:
    """Last guard whatever the reader: non-empty 1-D segments at a positive rate (finiteness: `_finite`)."""
    if not isinstance(rec, ECGRecord) or not rec.segments:
        raise ReadError("no ECG signal in the file")
    for seg in rec.segments:
        data = seg.counts if seg.counts is not None else seg.signal
        if data.ndim != 1 or data.size == 0:
            raise ReadError(f"lead {seg.lead}: empty or not one-dimensional")
        if not (np.isfinite(seg.fs) and seg.fs > 0):
            raise ReadError(f"lead {seg.lead}: invalid sampling rate")
        if seg.counts is not None and not (data.dtype.kind == "i" and data.itemsize == 2
                                           and 0.0 < seg.scale * 65536.0 < 3.0e38):
            raise ReadError(f"lead {seg.lead}: integer codes that are not int16 or a scale out of range")


def _finite(rec: ECGRecord, f32: np.ndarray) -> None:
    """NaN or infinity anywhere is a ReadError naming the first such lead; one pass over the joined
    float samples (a check per segment cost 24 calls per ECG). int16 codes are finite by type, and their
    scale was checked; float32(code x scale) overflows only past float32's range, which the readers refuse."""
    if np.isfinite(f32).all():
        return
    for seg in rec.segments:
        if seg.counts is None and not np.isfinite(seg.signal).all():
            raise ReadError(f"lead {seg.lead}: non-finite samples (NaN or infinity)")


def _join(rec: ECGRecord, sink: _SlotSink | None) -> tuple[Samples, tuple | None]:
    """The ECG's two sample streams (in the task's slot when they fit) and how to hand them over."""
    signals = [np.asarray(s.signal, dtype=np.float32) for s in rec.segments if s.counts is None]
    counts = [s.counts for s in rec.segments if s.counts is not None]
    n_f32, n_i16 = sum(a.size for a in signals), sum(a.size for a in counts)
    reserved = sink.reserve(n_f32, n_i16) if sink is not None else None
    if reserved is None:
        f32, i16, token = np.empty(n_f32, dtype=np.float32), np.empty(n_i16, dtype=np.int16), None
    else:
        f32, i16, token = reserved
    for arrays, out in ((signals, f32), (counts, i16)):
        if len(arrays) == 1:
            out[:] = arrays[0]
        elif arrays:
            np.concatenate(arrays, out=out)
    return (f32, i16), token


def parse_one(path: str, sink: _SlotSink | None = None, data: bytes | None = None) -> tuple:
    """("ok", meta, samples, segments) or ("reject", reason). Never raises for a bad file.

    `samples`: the `Samples` in-process, ("slot", slot, offset, n_f32, n_i16) when written to a shared slot
    by a worker, or ("file", path, n_f32, n_i16) when handed over in a file. `segments`: [lead, kind, t0,
    fs, offset, length, scale] each, offset within its stream (scale > 0: the int16 stream).
    """
    try:  # the default reader parses the bytes already read and hashed; a custom one reads the file
        rec = _READER(path, data) if data is not None and _READER is _default_reader else _READER(path)  # type: ignore[misc]
        _check(rec)
        (f32, i16), token = _join(rec, sink)
        _finite(rec, f32)
    except ReadError as exc:
        return ("reject", one_line(str(exc)) or "unreadable file")
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - one bad file must not stop the batch
        # the message of an unexpected exception might quote the file's content: only its type
        return ("reject", f"internal error: {type(exc).__name__}")
    segments = []
    offsets = [0, 0]  # in the float32 stream, in the int16 stream
    for seg in rec.segments:
        coded = seg.counts is not None
        n = seg.size
        segments.append([str(seg.lead), str(seg.kind), float(seg.t0), float(seg.fs), offsets[coded], n,
                         float(seg.scale) if coded else 0.0])
        offsets[coded] += n
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
    if token is not None:
        return ("ok", meta, token, segments)
    if _TRANSFER_DIR is not None:
        path = os.path.join(_TRANSFER_DIR, f"{os.getpid()}-{next(_COUNTER)}.samples")
        try:
            with open(path, "wb") as fh:
                fh.write(f32.data)
                fh.write(i16.data)
            return ("ok", meta, ("file", path, f32.size, i16.size), segments)
        except OSError:  # e.g. a small /dev/shm is full: the pipe is slower but always works
            with contextlib.suppress(OSError):
                os.unlink(path)
    return ("ok", meta, (f32, i16), segments)


_COUNTER = itertools.count()


def parse_chunk(paths: list[str], slot: int | None = None) -> list[tuple]:
    """(sha256, synthetic marker, error reason or "", `parse_one`'s result or None) for each path:
    a file is read once, and hashed and parsed from the same bytes (when at most KEEP_BYTES long)."""
    sink = _SlotSink(slot) if slot is not None and _SLOTS is not None else None
    out = []
    for p in paths:
        sha, marker, err, data = read_and_hash(p)
        out.append((sha, marker, err, None if err else parse_one(p, sink, data)))
    return out


def _float(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")


def ordered_map(fn: Callable[..., list], items: Sequence[str], pool, chunk: int,
                slots: SharedSlots | None = None) -> Iterator:
    """fn over items in chunks, results in input order; at most a few chunks in flight per worker so
    memory stays bounded when writing is slower than parsing.

    With `slots`, each chunk in flight holds one slot (passed to fn as its second argument), freed when
    the caller asks for the result after the chunk's last one: callers must take the samples out of a
    result (`receive`) before asking for the next.
    """
    if pool is None:  # one at a time, so an interruption loses nothing already parsed
        for item in items:
            yield from fn([item])
        return
    ahead = max(2, TASKS_AHEAD * pool._processes)  # noqa: SLF001 - the pool's own size
    if slots is not None:
        ahead = min(ahead, len(slots.free))
    chunks = iter([list(items[i:i + chunk]) for i in range(0, len(items), chunk)])
    pending: deque = deque()

    def submit() -> bool:
        c = next(chunks, None)
        if c is None:
            return False
        slot = slots.free.popleft() if slots is not None else None
        args = (c,) if slots is None else (c, slot)
        pending.append((pool.apply_async(fn, args), slot))
        return True

    while len(pending) < ahead and submit():
        pass
    while pending:
        job, slot = pending.popleft()
        yield from job.get()
        if slot is not None:
            slots.free.append(slot)
        submit()
