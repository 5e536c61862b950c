"""Nested training state (optimizer, scheduler, RNG) to and from HDF5, without pickle.

`pack` turns a nested structure of dicts, lists, tuples, scalars, torch tensors and numpy arrays
into a JSON skeleton plus a flat {name: array} map (stored as datasets); `unpack` reverses it
exactly: dict keys keep their types (optimizer state is keyed by int), tensors keep their dtype
(bfloat16 travels as its int16 bit pattern) and float values round-trip through JSON unchanged.
"""

from __future__ import annotations

import json
from typing import Any

import h5py
import numpy as np
import torch


def pack(obj: Any, arrays: dict[str, np.ndarray]) -> Any:
    if torch.is_tensor(obj):
        t = obj.detach().cpu()
        name = f"a{len(arrays)}"
        if t.dtype == torch.bfloat16:
            arrays[name] = t.view(torch.int16).numpy()
            return {"__tensor__": name, "dtype": "bfloat16"}
        arrays[name] = t.numpy()
        return {"__tensor__": name}
    if isinstance(obj, np.ndarray):
        name = f"a{len(arrays)}"
        arrays[name] = obj
        return {"__array__": name}
    if isinstance(obj, dict):
        return {"__dict__": [[k, pack(v, arrays)] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"__tuple__": [pack(v, arrays) for v in obj]}
    if isinstance(obj, list):
        return [pack(v, arrays) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot store a {type(obj).__name__} in a training state")


def unpack(obj: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(obj, list):
        return [unpack(v, arrays) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if "__tensor__" in obj:
        t = torch.from_numpy(np.array(arrays[obj["__tensor__"]]))
        return t.view(torch.bfloat16) if obj.get("dtype") == "bfloat16" else t
    if "__array__" in obj:
        return np.array(arrays[obj["__array__"]])
    if "__dict__" in obj:
        return {k: unpack(v, arrays) for k, v in obj["__dict__"]}
    if "__tuple__" in obj:
        return tuple(unpack(v, arrays) for v in obj["__tuple__"])
    raise ValueError("malformed training state")


def write_state(group: h5py.Group, name: str, obj: Any) -> None:
    """Store `obj` as group/name: a `skeleton` JSON attribute and one dataset per array."""
    arrays: dict[str, np.ndarray] = {}
    skeleton = pack(obj, arrays)
    sub = group.create_group(name)
    sub.attrs["skeleton"] = json.dumps(skeleton)
    for key, arr in arrays.items():
        sub.create_dataset(key, data=arr)


def read_state(group: h5py.Group, name: str) -> Any:
    sub = group[name]
    arrays = {key: sub[key][()] for key in sub}
    return unpack(json.loads(sub.attrs["skeleton"]), arrays)
