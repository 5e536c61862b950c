"""A damaged or crafted ecg-raw file is refused (exit 3, naming the segment), never read out of bounds."""

from __future__ import annotations

import h5py
import numpy as np
import pandas as pd
import pytest

from lvsdctl.errors import InputError
from lvsdctl.hdf5 import atomic_output
from lvsdctl.hdf5.raw import RawWriter
from lvsdctl.record import LEADS12, Segment
from lvsdctl.signal import preprocess


@pytest.fixture
def raw(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "raw.h5"
    with atomic_output(path, kind="ecg-raw", synthetic=True) as f:
        w = RawWriter(f)
        for _ in range(3):
            w.append([Segment(lead, rng.standard_normal(1000).astype(np.float32), 100.0) for lead in LEADS12])
        w.finish(pd.DataFrame({"record_id": ["a", "b", "c"], "patient": ["p", "q", "r"], "label": [0, 1, 0]}))
    return path


def _damage(path, how: str) -> None:
    with h5py.File(path, "r+") as f:
        seg = f["raw/segments"]
        if how == "nan-rate":
            seg["fs"][5] = np.nan
        elif how == "zero-rate":
            seg["fs"][5] = 0.0
        elif how == "past-the-end":
            seg["length"][7] = 10**12
        elif how == "negative-offset":
            seg["offset"][2] = -5
        elif how == "inf-start":
            seg["t0"][0] = np.inf
        elif how == "no-lengths":
            del seg["length"]
        elif how == "no-samples":
            del f["raw/samples"]
        elif how == "records-out-of-order":
            rec = seg["record"][()]
            seg["record"][...] = rec[::-1]
        elif how == "record-past-records":
            seg["record"][-1] = 99
        elif how == "short-column":
            data = seg["kind"][()][:-1]
            del seg["kind"]
            seg.create_dataset("kind", data=data)
        elif how == "huge-row-count":
            f["records"].attrs["n"] = 10**12
        elif how == "text-row-count":
            f["records"].attrs["n"] = "many"


@pytest.mark.parametrize("how", ["nan-rate", "zero-rate", "past-the-end", "negative-offset", "inf-start",
                                 "no-lengths", "no-samples", "records-out-of-order", "record-past-records",
                                 "short-column", "huge-row-count", "text-row-count"])
def test_damaged_raw_file_is_refused(raw, tmp_path, how):
    _damage(raw, how)
    with pytest.raises(InputError) as exc:
        preprocess(str(raw), str(tmp_path / "pre.h5"), fs=100)
    assert str(raw) in str(exc.value)
    assert not (tmp_path / "pre.h5").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
