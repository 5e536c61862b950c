"""Per-record metadata: a group of equal-length 1-D datasets, one row per ECG.

Plain datasets on purpose: `pandas.DataFrame({k: f["records"][k][()] for k in f["records"]})`
reads them without lvsdctl (strings are UTF-8; use `.asstr()` in h5py to get str).
"""

from __future__ import annotations

import h5py
import numpy as np
import pandas as pd

_STR = h5py.string_dtype(encoding="utf-8")

#: Column name -> (numpy dtype or "str", default for a missing value). Order is the file's order.
RECORD_COLUMNS: dict[str, tuple[str, object]] = {
    "record_id": ("str", ""),
    "patient": ("str", ""),  # pseudonym (HMAC-SHA256 of the site's patient id), never the raw id
    "site": ("str", ""),
    "acquired": ("str", ""),  # ISO 8601, "" when unknown
    "source_sha256": ("str", ""),
    "source_format": ("str", ""),
    "fs": ("float64", np.nan),  # original sampling rate (digitised ECGs: the rhythm strip's)
    "age": ("float64", np.nan),
    "sex": ("str", ""),  # "F", "M" or ""
    "lvef": ("float64", np.nan),
    "echo_delta_days": ("float64", np.nan),  # echo date minus ECG date
    "label": ("int8", -1),  # 1 LVSD, 0 no LVSD, -1 unlabelled
    "split": ("str", ""),
    "quality": ("uint32", 0),  # bit flags, lvsdctl.signal.quality
    "qrs_ms": ("float64", np.nan),
}


def _column(values: pd.Series, dtype: str, default: object) -> np.ndarray:
    if dtype == "str":
        return np.array(["" if (v is None or (isinstance(v, float) and np.isnan(v))) else str(v)
                         for v in values], dtype=object)
    arr = pd.to_numeric(values, errors="coerce")
    if np.issubdtype(np.dtype(dtype), np.integer):
        arr = arr.fillna(default)
    return arr.to_numpy(dtype=dtype)


def write_records(parent: h5py.Group, df: pd.DataFrame, name: str = "records") -> h5py.Group:
    """Write a DataFrame as `/records`: known columns typed as RECORD_COLUMNS, others as found."""
    if name in parent:
        del parent[name]
    group = parent.create_group(name, track_order=True)
    n = len(df)
    group.attrs["n"] = n
    columns = list(RECORD_COLUMNS) + [c for c in df.columns if c not in RECORD_COLUMNS]
    for col in columns:
        dtype, default = RECORD_COLUMNS.get(col, (None, None))
        if col in df.columns:
            series = df[col]
            if dtype is None:
                dtype = "str" if series.dtype == object else str(series.dtype)
                default = "" if dtype == "str" else np.nan
            data = _column(series, dtype, default)
        else:
            data = np.full(n, default, dtype=object if dtype == "str" else dtype)
        kwargs = {"chunks": True, "compression": "gzip", "compression_opts": 1} if n > 0 else {}
        group.create_dataset(col, data=data, dtype=_STR if dtype == "str" else dtype, **kwargs)
    return group


def read_records(parent: h5py.Group, name: str = "records") -> pd.DataFrame:
    """Read `/records` into a DataFrame (strings decoded)."""
    if name not in parent:
        return pd.DataFrame({c: pd.Series(dtype=object if t == "str" else t)
                             for c, (t, _) in RECORD_COLUMNS.items()})
    group = parent[name]
    data = {}
    for col in group:
        ds = group[col]
        data[col] = ds.asstr()[()] if h5py.check_string_dtype(ds.dtype) else ds[()]
    return pd.DataFrame(data)[list(group)]


def update_column(parent: h5py.Group, col: str, values: np.ndarray, name: str = "records") -> None:
    """Replace one column in place (e.g. `split` or `quality`)."""
    df = pd.DataFrame({col: values})
    group = parent[name]
    dtype, default = RECORD_COLUMNS.get(col, ("str", ""))
    data = _column(df[col], dtype, default)
    if col in group:
        del group[col]
    group.create_dataset(col, data=data, dtype=_STR if dtype == "str" else dtype,
                         chunks=True if len(data) else None, compression="gzip" if len(data) else None)


class RecordAppender:
    """Builds `/records` block by block (memory flat however many rows): one extendable dataset per column.

    `columns`: name -> numpy dtype or "str", in file order. Blocks are dicts of column -> values; a
    column a block lacks gets its default (RECORD_COLUMNS', else "" or NaN). `finish()` sets the `n`
    attribute readers use.
    """

    def __init__(self, parent: h5py.Group, columns: dict[str, str], name: str = "records"):
        self.group = parent.create_group(name, track_order=True)
        self.columns = dict(columns)
        self._datasets = {
            col: self.group.create_dataset(col, shape=(0,), maxshape=(None,), chunks=(4096,), compression="gzip",
                                           compression_opts=1, dtype=_STR if dtype == "str" else dtype)
            for col, dtype in self.columns.items()}
        self.n = 0

    def append(self, block: dict[str, np.ndarray], rows: int) -> None:
        if not rows:
            return
        for col, ds in self._datasets.items():
            dtype = self.columns[col]
            values = block.get(col)
            if values is None:
                default = RECORD_COLUMNS.get(col, (dtype, "" if dtype == "str" else np.nan))[1]
                values = np.full(rows, default, dtype=object if dtype == "str" else dtype)
            elif dtype == "str":
                values = np.asarray(values, dtype=object)
            else:
                values = np.asarray(values).astype(dtype)
            if len(values) != rows:
                raise ValueError(f"column {col}: {len(values)} values for {rows} rows")
            ds.resize((self.n + rows,))
            ds[self.n:] = values
        self.n += rows

    def finish(self) -> None:
        self.group.attrs["n"] = self.n


def column_types(group: h5py.Group) -> dict[str, str]:
    """The columns of a `/records` group and their types ("str" for strings), in file order."""
    return {col: "str" if h5py.check_string_dtype(group[col].dtype) else group[col].dtype.str for col in group}


def read_block(group: h5py.Group, start: int, stop: int) -> dict[str, np.ndarray]:
    """Rows start..stop of every column of a `/records` group (strings decoded)."""
    return {col: (group[col].asstr()[start:stop] if h5py.check_string_dtype(group[col].dtype)
                  else group[col][start:stop]) for col in group}
