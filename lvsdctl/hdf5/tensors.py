"""State dicts as plain HDF5 datasets named like their keys: weights anyone can read, no pickle."""

from __future__ import annotations

from typing import Any, Mapping

import h5py
import numpy as np


def _to_numpy(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor; bfloat16 has no numpy dtype: store float32
        value = value.detach().cpu()
        if str(value.dtype) == "torch.bfloat16":
            value = value.float()
        return value.numpy()
    return np.asarray(value)


def write_state_dict(parent: h5py.Group, state: Mapping[str, Any], name: str = "weights") -> h5py.Group:
    """Write `state` as `/<name>/<key>` datasets (keys keep their dots)."""
    if name in parent:
        del parent[name]
    group = parent.create_group(name, track_order=True)
    for key, value in state.items():
        if "/" in key:
            raise ValueError(f"state-dict key {key!r} contains '/'")
        group.create_dataset(key, data=_to_numpy(value))
    return group


#: Most bytes of weights a model file may declare (a billion float32 parameters; ECG-FM base is 0.1 billion).
#: Checked before anything is read: a dataset's declared shape costs nothing to store, so a file of a few
#: kilobytes could otherwise ask for any amount of memory.
MAX_STATE_BYTES = 4 << 30
MAX_STATE_TENSORS = 100_000


def stored_shapes(parent: h5py.Group, name: str = "weights") -> dict[str, tuple[int, ...]]:
    """{key: shape} of `/<name>`, refused (InputError, naming the file, never a key) unless every entry is a
    numeric dataset and all together hold at most MAX_STATE_BYTES."""
    from lvsdctl.errors import InputError

    where = parent.file.filename
    group = parent.get(name)
    if not isinstance(group, h5py.Group):
        raise InputError(f"{where}: no /{name} group of weights")
    if len(group) > MAX_STATE_TENSORS:
        raise InputError(f"{where}: /{name} holds {len(group)} entries (at most {MAX_STATE_TENSORS})")
    shapes, total = {}, 0
    for key in group:
        ds = group.get(key)
        if not isinstance(ds, h5py.Dataset) or ds.dtype.kind not in "fiub" or ds.ndim > 8:
            raise InputError(f"{where}: /{name} holds an entry that is not a numeric array")
        total += int(np.prod(ds.shape, dtype=np.float64)) * ds.dtype.itemsize
        shapes[key] = tuple(int(n) for n in ds.shape)
    if total > MAX_STATE_BYTES:
        raise InputError(f"{where}: /{name} declares {total / 2**30:.1f} GiB of weights (at most "
                         f"{MAX_STATE_BYTES >> 30} GiB)")
    return shapes


def read_state_dict(parent: h5py.Group, name: str = "weights") -> dict[str, np.ndarray]:
    """Read `/<name>` back as {key: numpy array}, in the order written (sizes checked first: `stored_shapes`)."""
    stored_shapes(parent, name)
    return {key: parent[name][key][()] for key in parent[name]}
