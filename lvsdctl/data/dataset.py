"""A torch Dataset over the `/signals` of an `ecg` HDF5 file, selecting rows by split.

Small sets (the study's 1,500 training ECGs are 120 MB) are read once into memory, in blocks of
rows; larger ones are streamed: each batch is read row by row in file order (`read_rows`), in the
DataLoader's worker processes, each of which opens the file itself (h5py handles must not cross
a fork). Everything the training CLI must refuse (no labels, no such set, a layout that does not
match the array, NaN) is checked here, before any training starts.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Callable, Sequence

import h5py
import numpy as np
import torch
from torch.utils.data import Dataset

from lvsdctl.data.finite import nonfinite_rows, refuse_nonfinite
from lvsdctl.errors import InputError
from lvsdctl.hdf5 import open_input

#: Read blocks of this many ECGs when loading or scanning (4 x 5000 float32 -> 20 MB).
BLOCK_ROWS = 256


def _attr(ds: h5py.Dataset, name: str, default=None):
    value = ds.attrs.get(name, default)
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, np.ndarray):
        value = [v.decode() if isinstance(v, bytes) else (v.item() if hasattr(v, "item") else v) for v in value]
    elif hasattr(value, "item"):
        value = value.item()
    return value


def read_preprocessing(signals: h5py.Dataset) -> dict:
    """What a model trained on these signals expects: layout, fs, channels, filter, normalisation (and
    the chain's name and resampling where the file records them)."""
    filt = _attr(signals, "filter")
    if isinstance(filt, str):
        try:
            filt = json.loads(filt)
        except json.JSONDecodeError:
            pass
    return {
        "layout": _attr(signals, "layout"),
        "fs": _attr(signals, "fs"),
        "channels": _attr(signals, "channels"),
        "filter": filt,
        "normalisation": _attr(signals, "normalisation", "none"),
        "shape": list(signals.shape[1:]),
        **{k: _attr(signals, k) for k in ("chain", "resample") if k in signals.attrs},
    }


def check_layout(name: str, signals: h5py.Dataset) -> None:
    """`/signals` must be (N, C, T) and agree with its own `layout` attribute (e.g. "4x5000")."""
    if signals.ndim != 3:
        raise InputError(f"{name}: /signals has shape {signals.shape}; expected (ECGs, channels, samples)")
    layout = _attr(signals, "layout")
    if layout is not None:
        try:
            c, t = (int(v) for v in str(layout).lower().split("x"))
        except ValueError:
            raise InputError(f"{name}: /signals layout {layout!r} is not of the form CxT (e.g. 4x5000)") from None
        if (c, t) != tuple(signals.shape[1:]):
            raise InputError(
                f"{name}: /signals layout says {layout} but the array holds {signals.shape[1]} channels x "
                f"{signals.shape[2]} samples: the file is inconsistent, preprocess it again"
            )


@dataclass
class SplitInfo:
    rows: np.ndarray  # row indices into /signals, increasing
    labels: np.ndarray  # int64, 0/1 (or -1 where unlabelled rows are allowed)


def select_rows(name: str, f: h5py.File, split: str | Sequence[str] | None, *, require_labels: bool) -> SplitInfo:
    if "signals" not in f:
        raise InputError(f"{name}: no /signals array; run `lvsdctl preprocess` (and `lvsdctl split`) first")
    n = f["signals"].shape[0]
    if "records" not in f or "label" not in f["records"]:
        if require_labels:
            raise InputError(f"{name}: no /records/label column; pair the ECGs with echocardiograms at ingest")
        labels = np.full(n, -1, dtype=np.int64)
    else:
        labels = f["records"]["label"][()].astype(np.int64)
    if len(labels) != n:
        raise InputError(f"{name}: /records has {len(labels)} rows but /signals {n} ECGs")
    if split is None:
        rows = np.arange(n)
    else:
        wanted = [split] if isinstance(split, str) else list(split)
        if "records" not in f or "split" not in f["records"]:
            raise InputError(f"{name}: no /records/split column; run `lvsdctl split` first")
        sets = f["records"]["split"].asstr()[()]
        rows = np.flatnonzero(np.isin(sets, wanted))
        if len(rows) == 0:
            found = ", ".join(sorted(set(sets) - {""})) or "none"
            raise InputError(
                f"{name}: no ECG in set {' or '.join(map(repr, wanted))} (sets in the file: {found}); "
                "run `lvsdctl split` or choose the set with --train-set/--tune-set"
            )
    if require_labels:
        missing = int(np.sum(labels[rows] < 0))
        if missing:
            raise InputError(
                f"{name}: {missing} of {len(rows)} ECGs in set {split!r} have no label (no paired LVEF); "
                "training needs every ECG labelled"
            )
    return SplitInfo(rows=rows, labels=labels[rows])


def read_rows(signals: h5py.Dataset, rows: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out[k] = signals[rows[k]]``: one hyperslab read per row, in file order, into ``out`` (no copy).

    For a batch of scattered rows of a chunked, compressed ``/signals`` (one ECG per chunk), h5py's
    fancy indexing (``signals[sorted_rows]``) builds a point selection that costs about 4x the
    decompression itself; row-by-row hyperslab reads run at the speed of decompression
    (benchmarks/loader_bench.py). HDF5 converts the stored type to ``out``'s on the way.
    """
    space = signals.id.get_space()
    shape = tuple(signals.shape[1:])
    memory = h5py.h5s.create_simple(shape)
    zeros = (0,) * len(shape)
    for k in np.argsort(rows, kind="stable"):
        space.select_hyperslab((int(rows[k]), *zeros), (1, *shape))
        signals.id.read(memory, space, out[k])
    return out


def scan_finite(name: str, signals: h5py.Dataset, rows: np.ndarray, keep: bool) -> np.ndarray | None:
    """Read `rows` in blocks, refusing NaN/inf; return them stacked when `keep`."""
    out = np.empty((len(rows), *signals.shape[1:]), dtype=np.float32) if keep else None
    bad: list[int] = []
    for start in range(0, len(rows), BLOCK_ROWS):
        idx = rows[start : start + BLOCK_ROWS]
        span = int(idx[-1] - idx[0] + 1)
        if span <= 2 * len(idx):
            # One contiguous read, then a selection: far faster than h5py's point selection.
            block = signals[idx[0] : idx[-1] + 1][idx - idx[0]]
        else:  # rows of this set are scattered: do not read the rows between them
            block = read_rows(signals, idx, np.empty((len(idx), *signals.shape[1:]), dtype=np.float32))
        block = block.astype(np.float32, copy=False)
        bad.extend(nonfinite_rows(block, idx).tolist())
        if keep:
            out[start : start + len(idx)] = block
    refuse_nonfinite(name, bad)
    return out


class ECGDataset(Dataset):
    """(signal float32 (C, T), label int64) pairs of one or more sets of an `ecg` file.

    `preload="auto"` keeps the rows in memory when they fit in `preload_limit` bytes.
    `transform` (e.g. per-channel z-scoring) is applied to each batch tensor as it is read.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        split: str | Sequence[str] | None = "train",
        *,
        require_labels: bool = True,
        preload: bool | str = "auto",
        preload_limit: int = 2 << 30,
        check_finite: bool = True,
        transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ):
        self.path = str(path)
        self.split = split
        self.transform = transform
        with open_input(self.path, kind={"ecg"}) as f:
            info = select_rows(self.path, f, split, require_labels=require_labels)
            signals = f["signals"]
            check_layout(self.path, signals)
            self.preprocessing = read_preprocessing(signals)
            self.shape = tuple(int(s) for s in signals.shape[1:])
            nbytes = len(info.rows) * int(np.prod(self.shape)) * 4
            keep = preload is True or (preload == "auto" and nbytes <= preload_limit)
            data = scan_finite(self.path, signals, info.rows, keep) if (check_finite or keep) else None
        self.rows = info.rows
        self.labels = torch.from_numpy(info.labels)
        self._data = torch.from_numpy(data) if keep else None
        self._file: h5py.File | None = None
        self._pid: int | None = None

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def in_memory(self) -> bool:
        return self._data is not None

    def class_counts(self) -> np.ndarray:
        return np.bincount(self.labels.clamp_min(0).numpy(), minlength=2)

    def _signals(self) -> h5py.Dataset:
        if self._file is None or self._pid != os.getpid():
            self._file = h5py.File(self.path, "r")
            self._pid = os.getpid()
        return self._file["signals"]

    def _read(self, indices: Sequence[int]) -> torch.Tensor:
        idx = np.asarray(indices, dtype=np.int64)
        if self._data is not None:
            x = self._data[torch.from_numpy(idx)]
        else:
            x = torch.empty((len(idx), *self.shape), dtype=torch.float32)
            read_rows(self._signals(), self.rows[idx], x.numpy())
        return self.transform(x) if self.transform is not None else x

    def __getitem__(self, i: int):
        return self._read([i])[0], self.labels[i]

    def __getitems__(self, indices: Sequence[int]):
        """Batched read (torch's DataLoader calls this with a whole batch of indices)."""
        x = self._read(indices)
        y = self.labels[torch.as_tensor(list(indices), dtype=torch.long)]
        return list(zip(x, y))

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_file"] = None
        return state

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def labelled_sets(path: str, train_split: str, tune_split: str | None) -> tuple[ECGDataset, ECGDataset | None]:
    """The training set (both classes required) and the optional tuning set of a supervised run.

    Everything that can be wrong with the data is found here, before a model is built.
    """
    train_set = ECGDataset(path, train_split, require_labels=True)
    counts = train_set.class_counts()
    if (counts > 0).sum() < 2:
        raise InputError(f"{path}: the training set {train_split!r} holds only one class ({counts.tolist()} ECGs "
                         "without/with LVSD); training needs both")
    tune_set = ECGDataset(path, tune_split, require_labels=True) if tune_split else None
    return train_set, tune_set
