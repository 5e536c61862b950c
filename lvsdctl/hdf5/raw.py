"""Raw ECG storage: every segment at its native rate, concatenated in one chunked array.

Layout (kind `ecg-raw`): `/raw/samples` float32 millivolts, and the segment table
`/raw/segments/{record, lead, kind, t0, fs, offset, length}`, sorted by record. One representation
covers native 12-lead ECGs, the study's digitised printouts (13 pieces at 13 rates) and median beats.
"""

from __future__ import annotations

from typing import Iterator

import h5py
import numpy as np
import pandas as pd

from lvsdctl.hdf5.deflate import decompress
from lvsdctl.hdf5.records import write_records
from lvsdctl.io.record import Segment

_STR = h5py.string_dtype(encoding="utf-8")
_CHUNK = 1 << 16  # samples per HDF5 chunk: about one 12-lead 10 s ECG at 500 Hz


class RawWriter:
    """Appends ECGs' segments to an open `ecg-raw` file, buffering so writes are large."""

    def __init__(self, f: h5py.File, flush_samples: int = 1 << 22):
        group = f.create_group("raw")
        self._samples = group.create_dataset(
            "samples", shape=(0,), maxshape=(None,), dtype="float32", chunks=(_CHUNK,),
            compression="gzip", compression_opts=1,
        )
        self._group = group
        self._buffer: list[np.ndarray] = []
        self._buffered = 0
        self._written = 0
        self._flush_at = flush_samples
        self._table: dict[str, list] = {k: [] for k in ("record", "lead", "kind", "t0", "fs", "offset", "length")}
        self.n_records = 0

    def append(self, segments: list[Segment]) -> int:
        """Add one ECG; returns its record index."""
        index = self.n_records
        for seg in segments:
            sig = np.asarray(seg.signal, dtype=np.float32).ravel()
            t = self._table
            t["record"].append(index)
            t["lead"].append(seg.lead)
            t["kind"].append(seg.kind)
            t["t0"].append(float(seg.t0))
            t["fs"].append(float(seg.fs))
            t["offset"].append(self._written + self._buffered)
            t["length"].append(len(sig))
            self._buffer.append(sig)
            self._buffered += len(sig)
        self.n_records += 1
        if self._buffered >= self._flush_at:
            self._flush()
        return index

    def _flush(self) -> None:
        if not self._buffered:
            return
        data = np.concatenate(self._buffer)
        self._samples.resize((self._written + len(data),))
        self._samples[self._written:] = data
        self._written += len(data)
        self._buffer, self._buffered = [], 0

    def finish(self, records: pd.DataFrame) -> None:
        """Flush samples, write the segment table and `/records` (one row per appended ECG)."""
        if len(records) != self.n_records:
            raise ValueError(f"{len(records)} metadata rows for {self.n_records} ECGs")
        self._flush()
        seg = self._group.create_group("segments", track_order=True)
        types = {"record": "int64", "lead": _STR, "kind": _STR, "t0": "float64", "fs": "float64",
                 "offset": "int64", "length": "int64"}
        for key, dtype in types.items():
            values = self._table[key]
            data = np.array(values, dtype=object if dtype is _STR else dtype)
            kwargs = {"chunks": True, "compression": "gzip", "compression_opts": 1} if len(data) else {}
            seg.create_dataset(key, data=data, dtype=dtype, **kwargs)
        write_records(self._group.file, records)


def _direct_readable(samples: h5py.Dataset) -> bool:
    """True when every chunk of `samples` is a plain deflate (or unfiltered) stream we can decode."""
    return (samples.ndim == 1 and samples.chunks is not None and samples.compression in (None, "gzip")
            and not samples.shuffle and not samples.fletcher32 and samples.scaleoffset is None
            and samples.dtype == np.float32)


def read_samples(samples: h5py.Dataset, start: int, stop: int, threads: int = 0) -> np.ndarray:
    """`samples[start:stop]` of the 1-D `/raw/samples`, faster for large ranges.

    HDF5 inflates gzip chunks one at a time in the calling thread; here the covering chunks are read
    raw (`read_direct_chunk`) and inflated by `threads` threads (0: one per CPU) with ISA-L when
    installed. Same bytes out; any other layout or filter falls back to h5py's own read.
    """
    if stop <= start:
        return np.empty(0, dtype=np.float32)
    if not _direct_readable(samples):
        return samples[start:stop]
    import os
    from concurrent.futures import ThreadPoolExecutor

    step = samples.chunks[0]
    first, last = start // step, (stop - 1) // step
    gzip = samples.compression == "gzip"
    dsid = samples.id

    out = np.empty((last - first + 1) * step, dtype=np.float32)  # inflated straight into place

    def chunk(k: int) -> None:
        mask, raw = dsid.read_direct_chunk((k * step,))
        data = decompress(raw) if gzip and not (mask & 1) else raw  # mask bit 0: deflate skipped for it
        if len(data) != step * 4:
            raise ValueError("unexpected chunk size")
        out[(k - first) * step:(k - first + 1) * step] = np.frombuffer(data, dtype=np.float32)

    try:
        ids = range(first, last + 1)
        if len(ids) > 1:
            with ThreadPoolExecutor(threads or os.cpu_count() or 1) as pool:
                list(pool.map(chunk, ids))
        else:
            chunk(first)
    except (KeyError, OSError, RuntimeError, ValueError):  # e.g. a chunk never written: h5py has its fill value
        return samples[start:stop]
    offset = start - first * step
    return out[offset:offset + (stop - start)]  # a view: at most two chunks more are kept alive


def iter_raw_records(f: h5py.File, chunk: int = 256, start: int = 0, stop: int | None = None,
                     kind: str | None = None) -> Iterator[tuple[int, list[Segment]]]:
    """Yield (record index, segments) in record order, reading one block of records at a time.

    Memory stays flat: only `chunk` records' samples are in memory at once. `kind` keeps only
    segments of that kind ("rhythm", "piece", "median").
    """
    seg = f["raw/segments"]
    record = seg["record"][()]
    n = int(f["records"].attrs.get("n", len(f["records/record_id"]))) if "records" in f else (
        int(record.max()) + 1 if len(record) else 0)
    stop = n if stop is None else min(stop, n)
    samples = f["raw/samples"]
    for block in range(start, stop, chunk):
        end = min(block + chunk, stop)
        lo, hi = np.searchsorted(record, [block, end])
        if lo == hi:
            for i in range(block, end):
                yield i, []
            continue
        leads = seg["lead"].asstr()[lo:hi]
        kinds = seg["kind"].asstr()[lo:hi]
        t0 = seg["t0"][lo:hi]
        fs = seg["fs"][lo:hi]
        offset = seg["offset"][lo:hi]
        length = seg["length"][lo:hi]
        base = int(offset[0])
        data = read_samples(samples, base, int(offset[-1] + length[-1]))
        by_record: dict[int, list[Segment]] = {}
        for j in range(hi - lo):
            if kind is not None and kinds[j] != kind:
                continue
            a = int(offset[j]) - base
            by_record.setdefault(int(record[lo + j]), []).append(
                Segment(lead=leads[j], signal=data[a:a + int(length[j])], fs=float(fs[j]),
                        t0=float(t0[j]), kind=kinds[j]))
        for i in range(block, end):
            yield i, by_record.get(i, [])
