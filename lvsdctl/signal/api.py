"""`preprocess`: an `ecg-raw` file in, model-ready `ecg` arrays out, streamed in chunks.

Memory stays flat whatever the number of records: records are read `chunk` at a time
(`iter_raw_records`), processed as one vectorised batch (`chain.process_batch`), appended to the
resizable `/signals` dataset (compressed in threads by `writer.SignalWriter`), and their `/records` rows copied column by column without pandas.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import h5py
import numpy as np

from lvsdctl.alloc import tune_allocator
from lvsdctl.errors import InputError
from lvsdctl.hdf5 import atomic_output, open_input, write_json_attr
from lvsdctl.hdf5.raw import iter_raw_records
from lvsdctl.outputs import claims_outputs
from lvsdctl.record import Segment
from lvsdctl.signal import quality as q
from lvsdctl.signal.chain import ChainConfig, _n_jobs, process_batch
from lvsdctl.signal.writer import COMPRESSION, SignalWriter
from lvsdctl.summary import Summary


#: Segment kinds the chain uses: median beats are left out (never converted to millivolts).
_KINDS = ("rhythm", "piece")


def _batches(f: h5py.File, chunk: int) -> Iterator[tuple[int, list[list[Segment]]]]:
    batch: list[list[Segment]] = []
    start = 0
    for i, segments in iter_raw_records(f, chunk=chunk, kind=_KINDS):
        if not batch:
            start = i
        batch.append(segments)
        if len(batch) == chunk:
            yield start, batch
            batch = []
    if batch:
        yield start, batch


def _prefetched(items: Iterator, depth: int = 1) -> Iterator:
    """`items`, produced one block ahead in a background thread.

    Reading and inflating the next block of raw samples (zlib/ISA-L release the GIL) then overlaps
    the filtering of this one. The producer stops, and is joined, when the consumer stops early, so
    the input file is never closed under it.
    """
    import queue
    import threading

    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def put(entry) -> bool:
        while not stop.is_set():
            try:
                q.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((True, item)):
                    return
            put((True, done))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the consumer
            put((False, exc))

    worker = threading.Thread(target=produce, name="lvsdctl-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            ok, item = q.get()
            if not ok:
                raise item
            if item is done:
                return
            yield item
    finally:
        stop.set()
        worker.join()


class _RecordCopier:
    """Appends selected rows of the input's `/records` to the output's, column by column.

    Kept row numbers are buffered and copied FLUSH_ROWS at a time, so memory stays bounded and
    HDF5 sees a few large reads and writes instead of one per column per chunk.
    """

    FLUSH_ROWS = 1 << 15

    def __init__(self, src: h5py.Group, dst_parent: h5py.File):
        self.src = {name: ds for name, ds in src.items()}
        group = dst_parent.create_group("records", track_order=True)
        self.group = group
        self.dst = {}
        for name, ds in self.src.items():
            self.dst[name] = group.create_dataset(name, shape=(0,), maxshape=(None,), dtype=ds.dtype,
                                                  chunks=(4096,), compression="gzip", compression_opts=1)
        if "quality" not in self.dst:
            self.dst["quality"] = group.create_dataset("quality", shape=(0,), maxshape=(None,), dtype="uint32",
                                                       chunks=(4096,), compression="gzip", compression_opts=1)
        self.n = 0
        self._rows: list[np.ndarray] = []
        self._flags: list[np.ndarray] = []
        self._buffered = 0

    def append(self, rows: np.ndarray, flags: np.ndarray) -> None:
        """Queue input rows `rows` (absolute, increasing) with their new quality flags."""
        self._rows.append(np.asarray(rows, dtype=np.int64))
        self._flags.append(np.asarray(flags, dtype=np.uint32))
        self._buffered += len(rows)
        if self._buffered >= self.FLUSH_ROWS:
            self._flush()

    def _flush(self) -> None:
        if not self._buffered:
            self._rows, self._flags = [], []
            return
        rows, flags = np.concatenate(self._rows), np.concatenate(self._flags)
        lo, hi = int(rows[0]), int(rows[-1]) + 1
        k = len(rows)
        for name, out in self.dst.items():
            if name in self.src:
                values = self.src[name][lo:hi][rows - lo]
            else:
                values = np.zeros(k, dtype=out.dtype)
            if name == "quality":
                values = values.astype(np.uint32) | flags
            out.resize((self.n + k,))
            out[self.n:] = values
        self.n += k
        self._rows, self._flags, self._buffered = [], [], 0

    def finish(self) -> None:
        self._flush()
        self.group.attrs["n"] = self.n


def _n_records(f: h5py.File, name: str) -> int:
    if "records" not in f or "raw" not in f:
        raise InputError(f"{name}: no /records or /raw group: not a complete ecg-raw file")
    rec = f["records"]
    try:
        n = int(rec.attrs.get("n", len(rec["record_id"]) if "record_id" in rec else 0))
    except (TypeError, ValueError):
        raise InputError(f"{name}: /records has no row count") from None
    if any(not isinstance(rec[c], h5py.Dataset) or rec[c].ndim != 1 or len(rec[c]) != n for c in rec):
        raise InputError(f"{name}: the columns of /records differ in length: not a complete ecg-raw file")
    return n


@dataclass
class PreprocessSummary(Summary):
    """What `preprocess` did: `inputs == kept + dropped`, reasons and quality flags counted, the chain."""

    input: str
    output: str
    inputs: int
    kept: int
    dropped: int  # rejected + dropped_flagged
    rejected: int
    rejected_reasons: dict[str, int]
    flagged: int  # kept or not, records with a quality flag
    dropped_flagged: int  # left out by drop_flagged
    flags: dict[str, int]  # records per quality flag
    chain: str  # study, ecgfounder, or custom (filter and normalisation of no named chain)
    layout: str
    fs: float
    filter: dict
    resample: str
    normalisation: str
    order: str
    seconds: float
    ecgs_per_s: float | None


@claims_outputs("output")
def preprocess(
    input: str,
    output: str,
    layout: str = "4x5000",
    fs: float = 500.0,
    filter: str | None = None,
    resample: str = "linear",
    normalise: str | None = None,
    drop_flagged: bool = False,
    chunk: int = 256,
    progress: Callable[[int, int], None] | None = None,
    jobs: int | None = None,
    compression: str = "gzip",
    chain: str | None = None,
) -> PreprocessSummary:
    """Preprocess an `ecg-raw` file into an `ecg` file; returns what it did.

    Every input record is either kept (possibly flagged, see `lvsdctl.signal.quality`) or dropped:
    rejected (too short, wrong layout for its type, no leads), or flagged with `drop_flagged`.
    `inputs == kept + dropped`; reasons are counted in the summary. `compression` of /signals:
    "gzip" (level 1 + byte shuffle, encoded in threads; every HDF5 tool reads it), "lzf" (h5py's own
    filter, run by HDF5 in one thread) or "none".
    `progress(done, total)` is called after every chunk of records.
    ``chain`` names a filter + normalisation (``chain.CHAINS``: "study", the default, or
    "ecgfounder"); ``filter`` / ``normalise`` default to the chain's.
    """
    if compression not in COMPRESSION:
        raise InputError(f"unknown compression {compression!r}: use gzip, lzf or none")
    if chunk < 1:
        raise ValueError("chunk must be at least 1")
    try:
        cfg = ChainConfig.make(layout=layout, fs=fs, filter=filter, resample=resample, normalise=normalise,
                               chain=chain)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    started = time.perf_counter()
    tune_allocator(16 << 20)  # block-sized temporaries reuse heap pages instead of faulting in fresh ones
    reasons: Counter[str] = Counter()
    flag_counts: Counter[str] = Counter()
    n_in = kept = flagged = dropped_flagged = 0
    params = {**cfg.attrs(), "drop_flagged": drop_flagged, "chunk": chunk, "compression": compression}
    with open_input(input, kind={"ecg-raw"}) as f:
        n_total = _n_records(f, str(input))
        with atomic_output(output, kind="ecg", inputs=[f], parameters=params) as out:
            c, t = len(cfg.channels), cfg.n_samples
            writer = SignalWriter(out, c, t, compression, threads=_n_jobs(jobs))
            signals = writer.dataset
            # "4x5000" at 500 Hz; at another rate the attribute gives the true shape ("4x2500").
            signals.attrs["layout"] = f"{c}x{t}"
            signals.attrs["arrangement"] = cfg.layout
            signals.attrs["fs"] = cfg.fs
            signals.attrs["channels"] = np.array(cfg.channels, dtype=h5py.string_dtype())
            signals.attrs["normalisation"] = cfg.normalise
            signals.attrs["chain"] = cfg.chain
            signals.attrs["resample"] = cfg.resample
            write_json_attr(signals, "filter", cfg.filter.to_json())
            write_json_attr(out, "preprocessing", cfg.attrs())
            records = _RecordCopier(f["records"], out)
            try:
                for start, batch in _prefetched(_batches(f, chunk)):
                    res = process_batch(batch, cfg, jobs=jobs)
                    n_in += len(batch)
                    reasons.update(res.rejected.values())
                    is_flagged = res.flags != 0
                    flagged += int(is_flagged.sum())
                    for name, count in q.count_flags(res.flags).items():
                        flag_counts[name] += count
                    keep = ~is_flagged if drop_flagged else np.ones(len(res.kept), dtype=bool)
                    dropped_flagged += int((~keep).sum())
                    rows = res.kept[keep]
                    # compressed in threads while the next block is filtered
                    writer.append(res.signals if keep.all() else res.signals[keep])
                    records.append(start + rows, res.flags[keep])
                    kept += len(rows)
                    if progress is not None:
                        progress(n_in, n_total)
                writer.finish()
            finally:
                writer.close()
            records.finish()
    seconds = time.perf_counter() - started
    rejected = sum(reasons.values())
    return PreprocessSummary(
        input=str(input), output=str(output), inputs=n_in, kept=kept, dropped=rejected + dropped_flagged,
        rejected=rejected, rejected_reasons=dict(reasons.most_common()), flagged=flagged,
        dropped_flagged=dropped_flagged, flags={k: v for k, v in flag_counts.items() if v}, **cfg.attrs(),
        seconds=round(seconds, 3), ecgs_per_s=round(n_in / seconds, 1) if seconds > 0 else None,
    )
