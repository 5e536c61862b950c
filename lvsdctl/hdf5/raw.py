"""Raw ECG storage: every segment at its native rate, concatenated in one chunked array.

Layout (kind `ecg-raw`): two sample streams, `/raw/samples` (float32 millivolts) and `/raw/counts`
(int16 codes of formats that store integers, such as MUSE), and the segment table
`/raw/segments/{record, lead, kind, t0, fs, offset, length, scale}`, sorted by record. A segment with
`scale` 0 lies in `/raw/samples`; with `scale` > 0 in `/raw/counts`, and its millivolts are
float32(code x scale). Files of format version 1 have no `/raw/counts` and no `scale`: every segment
is float32. One representation covers native 12-lead ECGs, the study's digitised printouts (13 pieces
at 13 rates) and median beats.
"""

from __future__ import annotations

from typing import Iterable, Iterator

import h5py
import numpy as np
import pandas as pd

from lvsdctl.errors import FormatError
from lvsdctl.hdf5.deflate import decompress, unshuffle
from lvsdctl.hdf5.records import write_records
from lvsdctl.record import Segment

_STR = h5py.string_dtype(encoding="utf-8")
#: Samples per HDF5 chunk of either stream: about one 12-lead 10 s ECG at 500 Hz.
CHUNK = 1 << 16
#: The two sample streams under /raw: name and dtype. A segment with scale 0 lies in the first.
STREAMS = (("samples", np.float32), ("counts", np.int16))
#: The segment table's columns and their types.
SEGMENT_TYPES = {"record": "int64", "lead": _STR, "kind": _STR, "t0": "float64", "fs": "float64",
                 "offset": "int64", "length": "int64", "scale": "float64"}


def create_streams(group: h5py.Group, compression: dict) -> list[h5py.Dataset]:
    """Both sample streams in `group`, empty and extendable (`compression`: h5py's keyword arguments).
    The int16 codes are byte-shuffled when compressed (HDF5's shuffle filter: their high bytes are
    mostly 0x00/0xff); float32 samples compress better without it."""
    return [group.create_dataset(name, shape=(0,), maxshape=(None,), dtype=dtype, chunks=(CHUNK,),
                                 shuffle=dtype is np.int16 and bool(compression), **compression)
            for name, dtype in STREAMS]


def write_segment_table(group: h5py.Group, table: dict) -> None:
    """`group/segments`: one dataset per column of SEGMENT_TYPES, from `table` (column -> values)."""
    seg = group.create_group("segments", track_order=True)
    for key, dtype in SEGMENT_TYPES.items():
        data = np.array(table[key], dtype=object if dtype is _STR else dtype)
        kwargs = {"chunks": True, "compression": "gzip", "compression_opts": 1} if len(data) else {}
        seg.create_dataset(key, data=data, dtype=dtype, **kwargs)


class RawWriter:
    """Appends ECGs' segments to an open `ecg-raw` file, buffering so writes are large.

    Segments given as int16 counts (`Segment.counts`) are stored as such in `/raw/counts`, the others as
    float32 in `/raw/samples`.
    """

    def __init__(self, f: h5py.File, flush_samples: int = 1 << 22):
        group = f.create_group("raw")
        self._streams = create_streams(group, {"compression": "gzip", "compression_opts": 1})
        self._group = group
        self._buffer: list[list[np.ndarray]] = [[], []]
        self._buffered = [0, 0]
        self._written = [0, 0]
        self._flush_at = flush_samples
        self._table: dict[str, list] = {k: [] for k in SEGMENT_TYPES}
        self._done: list[dict[str, np.ndarray]] = []  # table rows of flushed ECGs, as compact arrays
        self.n_records = 0

    def append(self, segments: list[Segment]) -> int:
        """Add one ECG; returns its record index."""
        index = self.n_records
        for seg in segments:
            coded = seg.counts is not None
            data = (np.asarray(seg.counts, dtype=np.int16) if coded
                    else np.asarray(seg.signal, dtype=np.float32)).ravel()
            t = self._table
            t["record"].append(index)
            t["lead"].append(seg.lead)
            t["kind"].append(seg.kind)
            t["t0"].append(float(seg.t0))
            t["fs"].append(float(seg.fs))
            t["offset"].append(self._written[coded] + self._buffered[coded])
            t["length"].append(len(data))
            t["scale"].append(float(seg.scale) if coded else 0.0)
            self._buffer[coded].append(data)
            self._buffered[coded] += len(data)
        self.n_records += 1
        if sum(self._buffered) >= self._flush_at:
            self._flush()
        return index

    def _flush(self) -> None:
        for k, ds in enumerate(self._streams):
            if not self._buffered[k]:
                continue
            data = np.concatenate(self._buffer[k])
            ds.resize((self._written[k] + len(data),))
            ds[self._written[k]:] = data
            self._written[k] += len(data)
            self._buffer[k], self._buffered[k] = [], 0
        if self._table["record"]:  # Python lists cost ~150 bytes a segment: arrays a fifth of that
            self._done.append({k: np.array(v, dtype=object if SEGMENT_TYPES[k] is _STR else SEGMENT_TYPES[k])
                               for k, v in self._table.items()})
            self._table = {k: [] for k in SEGMENT_TYPES}

    def finish(self, records: pd.DataFrame | None) -> None:
        """Flush samples, write the segment table and `/records` (one row per appended ECG; None: the
        caller writes `/records` itself, e.g. block by block)."""
        if records is not None and len(records) != self.n_records:
            raise ValueError(f"{len(records)} metadata rows for {self.n_records} ECGs")
        self._flush()
        table = {k: np.concatenate([part[k] for part in self._done]) if self._done else np.empty(0, dtype=dtype)
                 for k, dtype in SEGMENT_TYPES.items()}
        write_segment_table(self._group, table)
        if records is not None:
            write_records(self._group.file, records)


_SHUFFLE, _DEFLATE = 2, 1  # HDF5 filter ids (H5Z_FILTER_SHUFFLE, H5Z_FILTER_DEFLATE)


def _direct_filters(samples: h5py.Dataset) -> list[int] | None:
    """The dataset's filter pipeline (ids, in order) when it is one we decode ourselves: none, deflate,
    shuffle, or shuffle then deflate; None for anything else (h5py reads it)."""
    if not (samples.ndim == 1 and samples.chunks is not None and samples.dtype in (np.float32, np.int16)):
        return None
    plist = samples.id.get_create_plist()
    filters = [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]
    return filters if filters in ([], [_DEFLATE], [_SHUFFLE], [_SHUFFLE, _DEFLATE]) else None


def read_samples(samples: h5py.Dataset, start: int, stop: int, threads: int = 0) -> np.ndarray:
    """`samples[start:stop]` of the 1-D `/raw/samples` or `/raw/counts`, faster for large ranges.

    HDF5 inflates gzip chunks one at a time in the calling thread; here the covering chunks are read
    raw (`read_direct_chunk`) and inflated (and unshuffled) by `threads` threads (0: one per CPU), with
    ISA-L when installed. Same values out; any other layout or filter falls back to h5py's own read.
    """
    if stop <= start:
        return np.empty(0, dtype=samples.dtype)
    filters = _direct_filters(samples)
    if filters is None:
        return samples[start:stop]
    import os
    from concurrent.futures import ThreadPoolExecutor

    step = samples.chunks[0]
    first, last = start // step, (stop - 1) // step
    dsid = samples.id

    dtype = samples.dtype
    out = np.empty((last - first + 1) * step, dtype=dtype)  # inflated straight into place

    def chunk(k: int) -> None:
        mask, data = dsid.read_direct_chunk((k * step,))
        for i in reversed(range(len(filters))):  # undo the pipeline; mask bit i: filter i skipped here
            if not mask & (1 << i):
                data = decompress(data) if filters[i] == _DEFLATE else unshuffle(data, dtype)
        values = np.frombuffer(data, dtype=dtype)
        if values.size != step:
            raise ValueError("unexpected chunk size")
        out[(k - first) * step:(k - first + 1) * step] = values

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


class _SegmentCursor:
    """Where blocks of records start in the sorted `/raw/segments/record` column, found by reading it
    WINDOW rows at a time (never whole: at a million ECGs it alone would be 190 MB). Each window is
    checked as it is read: record numbers in order and within the file's `n` records (FormatError)."""

    WINDOW = 1 << 16

    def __init__(self, column: h5py.Dataset, n: int, filename: str):
        self._column = column
        self._rows = len(column)
        self._n, self._filename = n, filename
        self._start = 0
        self._values = np.empty(0, dtype=np.int64)

    def _read(self, following: int) -> np.ndarray:
        values = self._column[following:following + self.WINDOW]
        previous = self._values[-1:] if len(self._values) else values[:0]
        if len(values) and (values.min() < 0 or values.max() >= self._n
                            or (np.diff(np.concatenate([previous, values])) < 0).any()):
            raise FormatError(f"{self._filename}: the segment table is inconsistent (its records are not in "
                              "order or not in /records)")
        return values

    def first_row_of(self, record: int) -> int:
        """The first segment row of a record numbered `record` or more (the table's length if none).
        Calls must ask for non-decreasing records."""
        while True:
            if len(self._values) and self._values[-1] >= record:
                return self._start + int(np.searchsorted(self._values, record))
            following = self._start + len(self._values)
            if following >= self._rows:
                return self._rows
            self._start, self._values = following, self._read(following)


def _record_count(f: h5py.File, seg: h5py.Group) -> int:
    """The file's number of records, and FormatError if the segment table's columns differ in length."""
    if len({len(seg[c]) for c in SEGMENT_TYPES if c in seg}) > 1:
        raise FormatError(f"{f.filename}: the segment table is inconsistent (its columns differ in length)")
    try:
        if "records" in f:
            return int(f["records"].attrs.get("n", len(f["records/record_id"])))
    except (KeyError, TypeError, ValueError):
        raise FormatError(f"{f.filename}: /records has no record_id column") from None
    column = seg["record"]
    return int(column[-1]) + 1 if len(column) else 0


#: Rates a segment may have (Hz): what any reader accepts (lvsdctl.io.leads.RATE_RANGE).
_RATES = (1.0, 100_000.0)


def _check_segments(f: h5py.File, streams, lo: int, t0, fs, offset, length, scale) -> None:
    """FormatError (exit 3, naming the first bad segment) unless every segment of a block lies within its
    stream and has a finite start, a rate in range and a finite, non-negative scale: an ecg-raw file is
    an input like any other, and its numbers decide what is read and allocated."""
    coded = np.nan_to_num(scale, nan=-1.0) > 0
    sizes = np.where(coded, streams[1].shape[0] if streams[1] is not None else 0, streams[0].shape[0])
    bad = ~(np.isfinite(t0) & np.isfinite(fs) & (fs >= _RATES[0]) & (fs <= _RATES[1]) & np.isfinite(scale)
            & (scale >= 0) & (offset >= 0) & (length >= 0) & (length <= sizes) & (offset <= sizes - length))
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        raise FormatError(f"{f.filename}: segment {lo + j} of /raw/segments is inconsistent (outside its sample "
                          "stream, or a start, rate or scale that is not a finite number in range)")


def iter_raw_records(f: h5py.File, chunk: int = 256, start: int = 0, stop: int | None = None,
                     kind: str | Iterable[str] | None = None) -> Iterator[tuple[int, list[Segment]]]:
    """Yield (record index, segments) in record order, reading one block of records at a time.

    Memory stays flat: only `chunk` records' samples (and their rows of the segment table) are in
    memory at once. `kind` keeps only segments of that kind or kinds ("rhythm", "piece", "median").
    """
    missing = [f"raw/segments/{c}" for c in ("record", "lead", "kind", "t0", "fs", "offset", "length")
               if f"raw/segments/{c}" not in f] + ([] if "raw/samples" in f else ["raw/samples"])
    if missing:
        raise FormatError(f"{f.filename}: not a complete ecg-raw file (no /{missing[0]})")
    seg = f["raw/segments"]
    n = _record_count(f, seg)
    stop = n if stop is None else min(stop, n)
    wanted = None if kind is None else {kind} if isinstance(kind, str) else set(kind)
    streams = (f["raw/samples"], f["raw/counts"] if "raw/counts" in f else None)
    has_scale = "scale" in seg  # format version 1: no scale, every segment float32
    cursor = _SegmentCursor(seg["record"], n, f.filename)
    hi = cursor.first_row_of(start)
    for block in range(start, stop, chunk):
        end = min(block + chunk, stop)
        lo, hi = hi, cursor.first_row_of(end)
        if lo == hi:
            for i in range(block, end):
                yield i, []
            continue
        record = seg["record"][lo:hi]
        kinds = seg["kind"].asstr()[lo:hi]
        use = np.ones(hi - lo, dtype=bool) if wanted is None else np.isin(kinds, list(wanted))
        leads = seg["lead"].asstr()[lo:hi]
        t0 = seg["t0"][lo:hi]
        fs = seg["fs"][lo:hi]
        offset = seg["offset"][lo:hi]
        length = seg["length"][lo:hi]
        scale = seg["scale"][lo:hi] if has_scale else np.zeros(hi - lo)
        _check_segments(f, streams, lo, t0, fs, offset, length, scale)
        coded = scale > 0
        data, base = [], []
        for k, ds in enumerate(streams):  # each stream's range covering this block's wanted segments
            mine = use & (coded == bool(k))
            if not mine.any():
                data.append(None)
                base.append(0)
                continue
            if ds is None:
                raise FormatError(f"{f.filename}: segments with a scale but no /raw/counts")
            a, b = int(offset[mine].min()), int((offset[mine] + length[mine]).max())
            data.append(read_samples(ds, a, b))
            base.append(a)
        by_record: dict[int, list[Segment]] = {}
        for j in np.flatnonzero(use).tolist():
            k = int(coded[j])
            a = int(offset[j]) - base[k]
            piece = data[k][a:a + int(length[j])]
            segment = (Segment(leads[j], None, float(fs[j]), float(t0[j]), kinds[j], counts=piece,
                               scale=float(scale[j])) if k
                       else Segment(lead=leads[j], signal=piece, fs=float(fs[j]), t0=float(t0[j]), kind=kinds[j]))
            by_record.setdefault(int(record[j]), []).append(segment)
        for i in range(block, end):
            yield i, by_record.get(i, [])
