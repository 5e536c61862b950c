"""`/signals` compressed in threads is what HDF5's own filters would store, and reads back exactly."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from lvsdctl.signal.writer import COMPRESSION, SignalWriter


@pytest.mark.parametrize("compression", sorted(COMPRESSION))
def test_blocks_read_back_exactly(tmp_path, compression):
    rng = np.random.default_rng(0)
    blocks = [rng.standard_normal((k, 4, 500)).astype(np.float32) for k in (3, 0, 40, 1, 17)]
    with h5py.File(tmp_path / "s.h5", "w") as f:
        w = SignalWriter(f, 4, 500, compression, threads=2)
        for b in blocks:
            w.append(b)
        w.finish()
    with h5py.File(tmp_path / "s.h5") as f:
        ds = f["signals"]
        assert ds.chunks == (1, 4, 500) and ds.shape == (61, 4, 500)
        assert ds.compression == COMPRESSION[compression].get("compression")
        np.testing.assert_array_equal(ds[()], np.concatenate(blocks))


def test_gzip_chunks_are_hdf5s_shuffle_and_deflate(tmp_path):
    """Any HDF5 reader decodes them: here HDF5 itself, through a copy made by h5py's own pipeline."""
    x = np.random.default_rng(1).standard_normal((5, 4, 300)).astype(np.float32)
    with h5py.File(tmp_path / "a.h5", "w") as f:
        w = SignalWriter(f, 4, 300, "gzip")
        w.append(x)
        w.finish()
        f.create_dataset("copy", data=f["signals"][()], chunks=(1, 4, 300), **COMPRESSION["gzip"])
        assert f["signals"].id.get_create_plist().get_nfilters() == f["copy"].id.get_create_plist().get_nfilters()
        np.testing.assert_array_equal(f["copy"][()], x)
    with h5py.File(tmp_path / "a.h5") as f:
        np.testing.assert_array_equal(f["signals"][2], x[2])  # a single chunk, through HDF5's filters


def test_an_error_stops_the_threads(tmp_path):
    with h5py.File(tmp_path / "e.h5", "w") as f:
        w = SignalWriter(f, 2, 10, "gzip", threads=2)
        w.append(np.zeros((3, 2, 10), dtype=np.float32))
        w.close()  # as preprocess does when the chain fails: the pool is shut, nothing hangs
        assert w._pool is None
