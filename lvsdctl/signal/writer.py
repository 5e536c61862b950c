"""`/signals` of an `ecg` file, appended block by block and compressed in threads, one chunk per ECG.

HDF5 compresses a chunk in the thread that writes it, and h5py holds the interpreter's lock while it
does: lzf-compressing `/signals` that way took about 30 % of `preprocess` and stalled every other
thread meanwhile. Here each ECG's chunk is byte-shuffled and deflated (ISA-L when installed: it
releases the lock, like zlib) by a pool of threads while the next block is filtered, and the finished
bytes are written as they are (`write_direct_chunk`). The file is exactly what HDF5's own shuffle +
deflate filters would write, and every HDF5 tool reads it. lzf (h5py's own filter, with no codec
callable from Python) still goes through HDF5, in the calling thread.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor

import h5py
import numpy as np

from lvsdctl.hdf5.deflate import compress, shuffle

#: h5py's arguments for each `--compression` of /signals. gzip level 1 with the byte shuffle: as small
#: as lzf + shuffle (63 vs 64 kB per 4 x 5000 ECG), encoded here in threads, read by every HDF5 tool.
COMPRESSION = {
    "gzip": {"compression": "gzip", "compression_opts": 1, "shuffle": True},
    "lzf": {"compression": "lzf", "shuffle": True},
    "none": {},
}
GZIP_LEVEL = 1
#: ECGs encoded per thread task: enough to amortise a task's overhead, few enough to spread a block.
_TASK_ROWS = 16


def _gzip_rows(rows: np.ndarray) -> list[bytes]:
    return [compress(shuffle(row.ravel()), GZIP_LEVEL) for row in rows]


def _raw_rows(rows: np.ndarray) -> list[bytes]:
    return [row.tobytes() for row in rows]


class SignalWriter:
    """Appends (k, C, T) float32 blocks to a new, extendable `/signals` dataset of `parent`.

    At most `ahead` blocks are being encoded at once (memory stays bounded); `finish()` writes the rest.
    """

    def __init__(self, parent: h5py.Group, channels: int, samples: int, compression: str = "gzip",
                 threads: int = 2, ahead: int = 1):
        if compression not in COMPRESSION:
            raise ValueError(f"unknown compression {compression!r}: use {', '.join(COMPRESSION)}")
        self.dataset = parent.create_dataset(
            "signals", shape=(0, channels, samples), maxshape=(None, channels, samples), dtype="float32",
            chunks=(1, channels, samples), **COMPRESSION[compression])
        self._encode = {"gzip": _gzip_rows, "none": _raw_rows}.get(compression)
        self._pool = ThreadPoolExecutor(max(1, threads), thread_name_prefix="lvsdctl-signals") \
            if self._encode is not None else None
        self._pending: deque[tuple[int, list[Future]]] = deque()
        self._ahead = max(1, ahead)
        self.rows = 0

    def append(self, block: np.ndarray) -> None:
        """Queue a block of ECGs (its rows are not modified until written)."""
        block = np.ascontiguousarray(block, dtype=np.float32)
        k = len(block)
        if not k:
            return
        start = self.rows
        self.rows += k
        self.dataset.resize((self.rows, *self.dataset.shape[1:]))
        if self._pool is None:  # lzf: HDF5's filter, here
            self.dataset[start:] = block
            return
        tasks = [self._pool.submit(self._encode, block[i:i + _TASK_ROWS]) for i in range(0, k, _TASK_ROWS)]
        self._pending.append((start, tasks))
        while len(self._pending) > self._ahead:
            self._write_oldest()

    def _write_oldest(self) -> None:
        start, tasks = self._pending.popleft()
        write = self.dataset.id.write_direct_chunk
        row = start
        for task in tasks:
            for blob in task.result():
                write((row, 0, 0), blob)
                row += 1

    def flush(self) -> None:
        """Write every queued block."""
        while self._pending:
            self._write_oldest()

    def finish(self) -> None:
        """Write every queued block and stop the threads."""
        try:
            self.flush()
        finally:
            self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
