"""`read_samples`: the fast read of /raw/samples and /raw/counts gives h5py's values for every range and layout."""

import h5py
import numpy as np
import pytest

from lvsdctl.hdf5.deflate import shuffle, unshuffle
from lvsdctl.hdf5.raw import _direct_filters, read_samples


@pytest.mark.parametrize("dtype", ["float32", "int16"])
@pytest.mark.parametrize("filters", [dict(compression="gzip", compression_opts=1), {},
                                     dict(compression="lzf"), dict(compression="gzip", shuffle=True),
                                     dict(shuffle=True)])
def test_every_range_equals_h5py(tmp_path, filters, dtype):
    rng = np.random.default_rng(0)
    data = (rng.normal(size=10_000) * 1000).astype(dtype)
    data[2000:6000] = 0.0  # a run that compresses well next to noise that does not
    with h5py.File(tmp_path / "r.h5", "w") as f:
        ds = f.create_dataset("samples", data=data, chunks=(1024,), maxshape=(None,), **filters)
        assert (_direct_filters(ds) is None) == (filters.get("compression") == "lzf")  # lzf: h5py reads it
        for a, b in [(0, 10_000), (0, 1), (1023, 1025), (5000, 5000), (9999, 10_000), (17, 8191), (3072, 4096)]:
            np.testing.assert_array_equal(read_samples(ds, a, b), ds[a:b])
        assert read_samples(ds, 10, 5).size == 0


def test_unwritten_chunks_fall_back_to_h5py(tmp_path):
    with h5py.File(tmp_path / "r.h5", "w") as f:
        ds = f.create_dataset("samples", shape=(4096,), dtype="float32", chunks=(1024,), compression="gzip")
        ds[:1024] = 1.0  # chunks 1-3 never written: h5py returns the fill value
        np.testing.assert_array_equal(read_samples(ds, 0, 4096), ds[:])


@pytest.mark.parametrize("dtype", ["int16", "float32"])
def test_shuffle_is_hdf5s_shuffle_filter(tmp_path, dtype):
    """Chunks ingest shuffles itself are byte for byte what HDF5's shuffle filter stores."""
    data = (np.random.default_rng(1).normal(size=4096) * 3000).astype(dtype)
    with h5py.File(tmp_path / "s.h5", "w") as f:
        ds = f.create_dataset("x", data=data, chunks=(4096,), shuffle=True)
        _, stored = ds.id.read_direct_chunk((0,))
    assert shuffle(data).tobytes() == stored
    np.testing.assert_array_equal(unshuffle(stored, np.dtype(dtype)), data)
