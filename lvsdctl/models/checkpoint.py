"""Model checkpoints as HDF5 files of kind `model`: readable with plain h5py, never pickled.

Layout (docs/formats.md): `/weights/<state-dict key>` datasets; root attributes `model_name`,
`config`, `history`, `preprocessing` (JSON) and `task`. `create_model(model_name, **config)`
rebuilds the network, so a checkpoint is self-describing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

import h5py
import numpy as np
import torch
from torch import nn

from lvsdctl.errors import InputError, MismatchError
from lvsdctl.hdf5 import atomic_output, open_input, read_json_attr, read_state_dict, write_json_attr, write_state_dict
from lvsdctl.models.registry import create_model, model_config

#: JSON root attributes every checkpoint has, plus those a writer may add (e.g. "selection").
JSON_ATTRS = ("config", "history", "preprocessing")


def save_checkpoint(
    path: str | os.PathLike,
    model: nn.Module,
    *,
    model_name: str | None = None,
    config: dict | None = None,
    history: list[dict] | None = None,
    preprocessing: dict | None = None,
    inputs: Iterable[Any] = (),
    parameters: dict | None = None,
    extra: dict[str, Any] | None = None,
    task: str = "lvsd",
    command: str | None = None,
    write: Callable[[h5py.File], None] | None = None,
) -> None:
    """Write `model` atomically; `config` defaults to the config the model was built from.

    `extra` adds JSON root attributes (e.g. `selection`: which epoch was kept and why); `write(f)` adds
    anything else inside the same atomic write (the training engine's resume state does).
    """
    model = getattr(model, "module", model)  # unwrap DDP
    name = model_name or getattr(model, "model_name", None)
    if not name:
        raise ValueError("save_checkpoint needs a model_name for a model not built by create_model")
    with atomic_output(path, kind="model", inputs=list(inputs), parameters=parameters or {}, command=command) as f:
        write_state_dict(f, model.state_dict())
        f.attrs["model_name"] = name
        f.attrs["task"] = task
        write_json_attr(f, "config", config if config is not None else model_config(model))
        write_json_attr(f, "history", history or [])
        write_json_attr(f, "preprocessing", preprocessing or {})
        for key, value in (extra or {}).items():
            write_json_attr(f, key, value)
        if write is not None:
            write(f)


def read_meta(f) -> dict[str, Any]:
    """Decoded root attributes of an open checkpoint (JSON attributes parsed)."""
    meta: dict[str, Any] = {}
    for key in f.attrs:
        value = f.attrs[key]
        if isinstance(value, bytes):
            value = value.decode()
        if isinstance(value, str) and value[:1] in "{[" and key not in ("model_name", "task"):
            value = read_json_attr(f, key)
        elif hasattr(value, "item"):
            value = value.item()
        meta[key] = value
    return meta


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> tuple[nn.Module, dict]:
    """Rebuild the model a checkpoint holds, weights loaded strictly, in eval mode."""
    with open_input(path, kind={"model"}) as f:
        meta = read_meta(f)
        if "weights" not in f:
            raise InputError(f"{path}: model file has no /weights group")
        state = read_state_dict(f)
    name = meta.get("model_name")
    try:
        model = create_model(name, **(meta.get("config") or {}))
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{path}: cannot rebuild model {name!r}: {exc}") from None
    tensors = {k: torch.as_tensor(np.asarray(v)) for k, v in state.items()}
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[:3]
        raise InputError(f"{path}: weights do not fit model {name!r}: {' '.join(first)}") from None
    model.to(map_location).eval()
    return model, meta


def check_preprocessing(expected: dict, found: dict, *, model_path: str, data_path: str) -> None:
    """Refuse data preprocessed differently from what the model was trained on (exit code 5)."""
    keys = ("layout", "fs", "filter", "normalisation")
    diffs = [
        f"{k}: model {expected.get(k)!r}, data {found.get(k)!r}"
        for k in keys
        if k in expected and expected.get(k) != found.get(k)
    ]
    if diffs:
        raise MismatchError(
            f"{data_path} was not preprocessed like the data {model_path} was trained on ("
            + "; ".join(diffs)
            + "): run `lvsdctl preprocess` with the model's settings"
        )
