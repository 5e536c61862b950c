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


def read_state_dict(parent: h5py.Group, name: str = "weights") -> dict[str, np.ndarray]:
    """Read `/<name>` back as {key: numpy array}, in the order written."""
    return {key: parent[name][key][()] for key in parent[name]}
