"""How parsed samples get from ingest's worker processes back to the writer, in input order.

`ordered_map` runs tasks (runs of files) in the pool and yields their results in input order, a few
tasks in flight per worker. With `SharedSlots`, each task in flight holds a region of one shared memory
mapping: the worker writes its ECGs' samples there (`SlotSink`) and returns only offsets, and the writer
copies them out (`receive`) before the region is given to a later task. An ECG that does not fit its
slot (or any, where there are no slots: no fork) goes through a file in /dev/shm (`hand_over`), or in
the result itself as a last resort.
"""

from __future__ import annotations

import contextlib
import itertools
import mmap
import multiprocessing
import os
import tempfile
from collections import deque
from collections.abc import Callable, Iterator, Sequence

import numpy as np

#: Tasks in flight per worker process (and shared slots per worker): enough that a worker never waits
#: for the writer, few enough that memory stays bounded when writing is slower than parsing.
TASKS_AHEAD = 3
#: One ECG's samples: (float32 mV of its signal segments, int16 codes of its counted segments).
Samples = tuple[np.ndarray, np.ndarray]

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
    if "fork" not in multiprocessing.get_all_start_methods():
        return None
    try:
        _SLOTS = SharedSlots(count, size)
    except (OSError, ValueError):  # e.g. no shared memory allowed: hand-over files still work
        _SLOTS = None
    return _SLOTS


def close_slots() -> None:
    global _SLOTS
    if _SLOTS is not None:
        try:
            _SLOTS.close()
        except BufferError:  # a view still alive (e.g. in a traceback being reported): unmapped when freed
            pass
        _SLOTS = None


class SlotSink:
    """Where one task's ECGs are written in its slot, one after another."""

    def __init__(self, slot: int):
        self.slot, self.used = slot, 0

    @classmethod
    def for_slot(cls, slot: int | None) -> "SlotSink | None":
        """A sink for this task's slot (None: no slot given, or no slots in this process)."""
        return cls(slot) if slot is not None and _SLOTS is not None else None

    def reserve(self, n_f32: int, n_i16: int) -> tuple[np.ndarray, np.ndarray, tuple] | None:
        """Views for the two streams of one ECG in the slot and its hand-over token; None when full."""
        start = -(-self.used // 8) * 8  # float32 data starts aligned
        end = start + 4 * n_f32 + 2 * n_i16
        if _SLOTS is None or end > _SLOTS.size:
            return None
        self.used = end
        return (_SLOTS.view(self.slot, start, n_f32), _SLOTS.view(self.slot, start + 4 * n_f32, n_i16, np.int16),
                ("slot", self.slot, start, n_f32, n_i16))


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


def use_transfer_dir(path: str | None) -> None:
    """Hand samples that do not fit a slot over through files in `path` (workers; None: in the result)."""
    global _TRANSFER_DIR
    _TRANSFER_DIR = path


def hand_over(f32: np.ndarray, i16: np.ndarray) -> Samples | tuple:
    """What travels back for an ECG that has no room in a slot: a hand-over file's name, or the arrays."""
    if _TRANSFER_DIR is not None:
        path = os.path.join(_TRANSFER_DIR, f"{os.getpid()}-{next(_COUNTER)}.samples")
        try:
            with open(path, "wb") as fh:
                fh.write(f32.data)
                fh.write(i16.data)
            return ("file", path, f32.size, i16.size)
        except OSError:  # e.g. a small /dev/shm is full: the pipe is slower but always works
            with contextlib.suppress(OSError):
                os.unlink(path)
    return f32, i16


_COUNTER = itertools.count()


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
